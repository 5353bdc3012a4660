package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/nitro"
)

// nitroVector is a production (non-debug) enclave's document, verified at
// its own timestamp (its leaf lives three hours).
const nitroVector = "nitro/evervault-2022-10-13-nondebug/attestation_doc.cbor"

var nitroTime = time.UnixMilli(1665651482136).UTC()

// BenchmarkVerifyNitro compares, on the same real document in the same run,
// cloudra's warm verification (the cabundle's CA links verified once and
// cached; the leaf's link, the document's signature, every certificate's
// validity, the timestamp and the default policy checked on every call)
// with the floor: the two ECDSA P-384 verifications no verifier can skip
// (the document's ES384 signature over its Sig_structure, and the leaf
// certificate's signature by the instance CA), with pre-parsed keys and a
// pre-built Sig_structure. No anchor: the Go Nitro verifier (hf/nitrite) is
// not served by the module proxy here. /cold is a new verifier per call
// (every link verified: five P-384 verifications).
func BenchmarkVerifyNitro(b *testing.B) {
	doc := read(b, nitroVector)
	v, err := nitro.NewVerifier()
	if err != nil {
		b.Fatal(err)
	}
	opts := cloudra.Options{Time: nitroTime}
	ev := nitro.Evidence{Document: doc}
	pol := &nitro.Policy{}
	verifyCloudra := func(b *testing.B) {
		res, err := v.Verify(context.Background(), ev, pol, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatalf("cloudra rejects the benchmark document: %v", err)
		}
	}
	verifyCold := func(b *testing.B) {
		v, err := nitro.NewVerifier()
		if err != nil {
			b.Fatal(err)
		}
		res, err := v.Verify(context.Background(), ev, pol, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			b.Fatalf("cloudra rejects the benchmark document: %v", err)
		}
	}

	d, err := nitro.ParseDocument(doc)
	if err != nil {
		b.Fatal(err)
	}
	a := d.Attestation
	leaf, err := x509.ParseCertificate(a.Certificate)
	if err != nil {
		b.Fatal(err)
	}
	instance, err := x509.ParseCertificate(a.CABundle[len(a.CABundle)-1])
	if err != nil {
		b.Fatal(err)
	}
	// Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052 §4.4).
	tbs, err := cbor.Marshal([]any{"Signature1", d.Protected, []byte{}, d.Payload})
	if err != nil {
		b.Fatal(err)
	}
	docKey := leaf.PublicKey.(*ecdsa.PublicKey)
	instKey := instance.PublicKey.(*ecdsa.PublicKey)
	r, s := new(big.Int).SetBytes(d.Signature[:48]), new(big.Int).SetBytes(d.Signature[48:])
	verifyRaw := func(b *testing.B) {
		h := sha512.Sum384(tbs)
		if !ecdsa.Verify(docKey, h[:], r, s) {
			b.Fatal("raw document signature does not verify")
		}
		hl := sha512.Sum384(leaf.RawTBSCertificate)
		if !ecdsa.VerifyASN1(instKey, hl[:], leaf.Signature) {
			b.Fatal("raw leaf signature does not verify")
		}
	}
	verifyCloudra(b) // warm: the CA links are verified once and cached
	b.Run("cloudra", loop(verifyCloudra))
	b.Run("raw", loop(verifyRaw))
	b.Run("cold", loop(verifyCold))
	b.Run("interleaved", func(b *testing.B) {
		interleaved(b, "cloudra", verifyCloudra, "raw", verifyRaw)
	})
	b.Run("interleaved-cold", func(b *testing.B) {
		interleaved(b, "cold", verifyCold, "raw", verifyRaw)
	})
}

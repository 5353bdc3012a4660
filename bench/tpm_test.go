package bench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tpm"
)

// tpmVector is a real Azure vTPM quote (RSA-2048 RSASSA-SHA256 AK = the
// paravisor's HCLAkPub, 24 SHA-256 PCRs, nonce "challenge").
const tpmVector = "azure-hcl/trustee-az-snp-vtpm-milan-2023/"

// BenchmarkVerifyTPMQuote: cloudra's whole quote verification (parse
// TPMS_ATTEST, RSA signature over the exact bytes, nonce, PCR digest from 24
// supplied PCR values, AK pin, policy) vs the raw RSA-2048 PKCS#1 v1.5
// verification of the same message with a pre-parsed key.
//
// On a loaded machine the two sub-benchmarks run seconds apart under
// different load; /interleaved alternates the same two operations one by
// one and reports the medians of their per-call times and their ratio
// (cloudra/raw), which load spikes barely move.
func BenchmarkVerifyTPMQuote(b *testing.B) {
	akPEM := read(b, tpmVector+"hcl_akpub.pem")
	attest := read(b, tpmVector+"quote_v1.tpms_attest.bin")
	sig := read(b, tpmVector+"quote_v1.signature_rsassa_sha256.bin")
	ak, err := tpm.ParsePublic(akPEM)
	if err != nil {
		b.Fatal(err)
	}
	pcrs, err := tpm.ParsePCRValues(read(b, tpmVector+"quote_v1.pcrs_sha256.json"))
	if err != nil {
		b.Fatal(err)
	}
	q := tpm.Quote{Attest: attest, Signature: sig, PlainSignature: true, PCRs: pcrs}
	fp, err := ak.Fingerprint()
	if err != nil {
		b.Fatal(err)
	}
	pol := &tpm.Policy{AKPins: []string{hex.EncodeToString(fp[:])}}
	opts := cloudra.Options{Time: time.Date(2023, 5, 3, 21, 22, 19, 0, time.UTC)}
	nonce := []byte("challenge")
	verifyCloudra := func(b *testing.B) {
		r, err := tpm.VerifyQuote(context.Background(), q, tpm.AK{Public: ak}, nonce, pol, opts)
		if err != nil || r.Verdict != cloudra.Pass {
			b.Fatal(err, r.FailureClasses())
		}
	}
	pub := ak.Key.(*rsa.PublicKey)
	verifyRaw := func(b *testing.B) {
		h := sha256.Sum256(attest)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cloudra", loop(verifyCloudra))
	b.Run("raw", loop(verifyRaw))
	b.Run("interleaved", func(b *testing.B) {
		interleaved(b, "cloudra", verifyCloudra, "raw", verifyRaw)
	})
}

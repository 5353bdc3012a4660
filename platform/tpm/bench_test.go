package tpm

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/eventlog"
)

// BenchmarkVerifyQuote is the whole quote verification of a real Azure
// quote (parse, RSA-2048 PKCS#1 v1.5 SHA-256, nonce, 24-PCR digest, pin);
// compare with BenchmarkRSA2048Verify (target ≤ 1.2×).
func BenchmarkVerifyQuote(b *testing.B) {
	dir := "azure-hcl/trustee-az-snp-vtpm-milan-2023/"
	ak, err := ParsePublic(vectortest.Read(b, dir+"hcl_akpub.pem"))
	if err != nil {
		b.Fatal(err)
	}
	pcrs, err := ParsePCRValues(vectortest.Read(b, dir+"quote_v1.pcrs_sha256.json"))
	if err != nil {
		b.Fatal(err)
	}
	q := Quote{Attest: vectortest.Read(b, dir+"quote_v1.tpms_attest.bin"),
		Signature: vectortest.Read(b, dir+"quote_v1.signature_rsassa_sha256.bin"), PlainSignature: true, PCRs: pcrs}
	fp, _ := ak.Fingerprint()
	pol := &Policy{AKPins: []string{string(hexOf(fp[:]))}}
	nonce := []byte("challenge")
	b.ReportAllocs()
	for b.Loop() {
		r, err := VerifyQuote(context.Background(), q, AK{Public: ak}, nonce, pol, cloudra.Options{})
		if err != nil || r.Verdict != cloudra.Pass {
			b.Fatal(err, r.FailureClasses())
		}
	}
}

// BenchmarkRSA2048Verify is the primitive alone: SHA-256 and RSA-2048
// PKCS#1 v1.5 over the same 122 bytes.
func BenchmarkRSA2048Verify(b *testing.B) {
	dir := "azure-hcl/trustee-az-snp-vtpm-milan-2023/"
	ak, _ := ParsePublic(vectortest.Read(b, dir+"hcl_akpub.pem"))
	msg := vectortest.Read(b, dir+"quote_v1.tpms_attest.bin")
	sig := vectortest.Read(b, dir+"quote_v1.signature_rsassa_sha256.bin")
	k := ak.Key.(*rsa.PublicKey)
	for b.Loop() {
		d := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventLogReplay measures parse + SHA-256 replay; bytes/s is the
// cost per MB of log.
func BenchmarkEventLogReplay(b *testing.B) {
	raw := vectortest.Read(b, "eventlog/go-tpm-tools-gce-and-other-logs/ubuntu-2404-amd-sevsnp.bin")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		l, err := eventlog.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eventlog.Replay(l, eventlog.AlgSHA256); err != nil {
			b.Fatal(err)
		}
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return out
}

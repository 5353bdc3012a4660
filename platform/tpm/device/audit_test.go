package device_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/swtpmtest"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/platform/tpm/device"
)

// A quote the device code collects from a TPM (swtpm) passes the full
// verifier — AK attributes from the TPM's own TPM2B_PUBLIC, AK pinned by
// its Name, PCR values in tpm2-tools format — and the pitfall mutations
// fail with their classes: D3 (nonce), D2 (PCR values moved after the
// quote), D4 (signature checked against the EK instead of the AK).
func TestAuditDeviceQuoteThroughVerifier(t *testing.T) {
	sim := swtpmtest.Start(t)
	tp := sim.Open(t)
	for _, alg := range []device.Alg{device.AlgRSA, device.AlgECC} {
		t.Run(string(alg), func(t *testing.T) {
			handle := uint32(0x81000010)
			if alg == device.AlgECC {
				handle = 0x81000011
			}
			ak, err := device.EnsureAK(tp, alg, handle, 0)
			if err != nil {
				t.Fatal(err)
			}
			sel, _ := device.ParsePCRSelection("sha1:0,1+sha256:0-7,16")
			nonce := []byte("audit-nonce-0123")
			q, err := device.Quote(tp, handle, nonce, sel)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := tpm.ParsePublic(q.AK.Public)
			if err != nil {
				t.Fatal(err)
			}
			pcrFile, err := q.TPM2ToolsPCRs()
			if err != nil {
				t.Fatal(err)
			}
			pcrs, err := tpm.ParsePCRValues(pcrFile)
			if err != nil {
				t.Fatal(err)
			}
			pol := &tpm.Policy{AKPins: []string{hex.EncodeToString(ak.Name)}, Banks: []string{"sha1", "sha256"}}
			quote := tpm.Quote{Attest: q.Attest, Signature: q.Signature, PCRs: pcrs}
			r, err := tpm.VerifyQuote(context.Background(), quote, tpm.AK{Public: pub}, nonce, pol, cloudra.Options{})
			r = checktest.Result(t, r, err)
			if r.Verdict != cloudra.Pass {
				t.Fatalf("device quote: %s %v %+v", r.Verdict, r.FailureClasses(), r.Checks)
			}
			if c, _ := r.Check("ak.attributes"); c.Outcome != cloudra.OutcomePass {
				t.Errorf("ak.attributes %+v", c)
			}

			// D3: another nonce.
			r, _ = tpm.VerifyQuote(context.Background(), quote, tpm.AK{Public: pub}, []byte("audit-nonce-0124"), pol, cloudra.Options{})
			checktest.WantOnly(t, r, "quote.nonce", cloudra.ClassFresh)

			// D2: PCR 16 extended after the quote; values read now.
			if _, err := (tpm2.PCREvent{PCRHandle: tpm2.AuthHandle{Handle: 16, Auth: tpm2.PasswordAuth(nil)},
				EventData: tpm2.TPM2BEvent{Buffer: []byte("after the quote")}}).Execute(tp); err != nil {
				t.Fatal(err)
			}
			now, err := device.ReadPCRs(tp, q.Selection)
			if err != nil {
				t.Fatal(err)
			}
			moved, err := device.TPM2ToolsPCRs(q.Selection, now)
			if err != nil {
				t.Fatal(err)
			}
			quote.PCRs, err = tpm.ParsePCRValues(moved)
			if err != nil {
				t.Fatal(err)
			}
			r, _ = tpm.VerifyQuote(context.Background(), quote, tpm.AK{Public: pub}, nonce, pol, cloudra.Options{})
			checktest.WantOnly(t, r, "quote.pcr-digest", cloudra.ClassBinding)

			// D4: the quote checked against the EK's public key.
			ek, err := device.EnsureEK(tp, alg, device.DefaultEKHandle(alg))
			if err != nil {
				t.Fatal(err)
			}
			ekPub, err := tpm.ParsePublic(ek.Public)
			if err != nil {
				t.Fatal(err)
			}
			quote.PCRs = pcrs
			r, _ = tpm.VerifyQuote(context.Background(), quote, tpm.AK{Public: ekPub, BoundBy: "test"}, nonce, nil, cloudra.Options{})
			if c, _ := r.Check("quote.signature"); r.Verdict != cloudra.Fail || c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassSig {
				t.Errorf("quote against the EK: %s %+v", r.Verdict, c)
			}
			// The EK is a restricted decryption key, never an AK.
			if c, _ := r.Check("ak.attributes"); c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassChain {
				t.Errorf("EK as AK: ak.attributes %+v", c)
			}
		})
	}
}

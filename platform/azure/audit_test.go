package azure

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/tpm"
)

// The tests in this file close the vTPM-quote gaps found when
// docs/pitfalls-tpm.md E3, A1 and A4 were mapped to tests: the same quote
// mutations the tpm package rejects are rejected, with the same class,
// when the quote arrives inside Azure evidence.

// flipFirmwareVersion changes one byte of the quote's firmwareVersion: the
// quote still parses, only its signature breaks.
func flipFirmwareVersion(t *testing.T, q *tpm.Quote) {
	t.Helper()
	a, err := tpm.ParseAttest(q.Attest)
	if err != nil {
		t.Fatal(err)
	}
	off := 4 + 2 + 2 + len(a.QualifiedSigner) + 2 + len(a.ExtraData) + 17
	q.Attest = append([]byte(nil), q.Attest...)
	q.Attest[off+7] ^= 1
	if _, err := tpm.ParseAttest(q.Attest); err != nil {
		t.Fatalf("flipped quote no longer parses: %v", err)
	}
}

// TestAuditVTPMQuoteMutations: for every Azure vector with a vTPM quote
// (SNP and TDX paravisors), one byte of the signed quote, one byte of the
// signature, one PCR value and the nonce are each rejected with the class
// of the check that owns them, and a signature failure returns no claims.
func TestAuditVTPMQuoteMutations(t *testing.T) {
	av := newVerifier(t)
	for _, v := range vectors {
		if len(v.quotes) == 0 {
			continue
		}
		t.Run(v.dir, func(t *testing.T) {
			ev, col, opts := evidence(t, v)

			bad := ev
			q := *ev.Quote
			flipFirmwareVersion(t, &q)
			bad.Quote = &q
			r, err := av.Verify(context.Background(), bad, col, Sections{}, opts)
			r = checktest.Result(t, r, err)
			tp := checktest.Part(t, r, tpm.Platform)
			checktest.WantFail(t, tp, "quote.signature", cloudra.ClassSig)
			if tp.Claims != nil {
				t.Error("quote claims returned with a bad quote signature")
			}
			checktest.WantFail(t, r, CheckAKBinding, cloudra.ClassBinding)

			q = *ev.Quote
			q.Signature = append([]byte(nil), q.Signature...)
			q.Signature[len(q.Signature)/2] ^= 0x40
			bad.Quote = &q
			r, _ = av.Verify(context.Background(), bad, col, Sections{}, opts)
			checktest.WantFail(t, checktest.Part(t, r, tpm.Platform), "quote.signature", cloudra.ClassSig)
			checktest.WantFail(t, r, CheckAKBinding, cloudra.ClassBinding)

			if v.pcrs {
				q = *ev.Quote
				p := tpm.PCRs{}
				for i, val := range q.PCRs[tpm.AlgSHA256] {
					p.Set(tpm.AlgSHA256, i, val)
				}
				p[tpm.AlgSHA256][0] = make([]byte, 32)
				q.PCRs = p
				bad.Quote = &q
				r, _ = av.Verify(context.Background(), bad, col, Sections{}, opts)
				checktest.WantFail(t, checktest.Part(t, r, tpm.Platform), "quote.pcr-digest", cloudra.ClassBinding)
			}

			bad = ev
			bad.Nonce = append(append([]byte(nil), ev.Nonce...), 0)
			r, _ = av.Verify(context.Background(), bad, col, Sections{}, opts)
			checktest.WantFail(t, checktest.Part(t, r, tpm.Platform), "quote.nonce", cloudra.ClassFresh)
			// v2 evidence stays fresh through its user-data echo.
			if v.userData == nil && !hasViolation(r, RuleFreshness) {
				t.Errorf("wrong nonce without a freshness violation\n%s", checktest.Dump(r))
			}
		})
	}
}

// TestAuditNoVersionSwitch (E3): there is no evidence-format version that
// turns the user-data check off. The v1 evidence (no user-data in its
// claims) fails an expected echo exactly as v0 does, and a quote with an
// empty nonce is not fresh.
func TestAuditNoVersionSwitch(t *testing.T) {
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[2]) // evidence-v1
	ev.UserData = []byte("challenge")
	r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
	r = checktest.Result(t, r, err)
	checktest.WantFail(t, r, CheckUserData, cloudra.ClassBinding)

	ev, col, opts = evidence(t, vectors[2])
	ev.Nonce = nil
	r, _ = av.Verify(context.Background(), ev, col, Sections{}, opts)
	checktest.WantFail(t, checktest.Part(t, r, tpm.Platform), "quote.nonce", cloudra.ClassFresh)
}

package azure

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
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

// wantTPMFail asserts the verdict fails and the named check of the "tpm"
// part failed with class. The part is looked up by platform: a TDX part
// also has checks named quote.* (the TD quote's), which Result.Check
// would find first.
func wantTPMFail(t *testing.T, r *cloudra.Result, check string, class cloudra.Class) *cloudra.Result {
	t.Helper()
	if r.Verdict != cloudra.Fail {
		t.Fatalf("verdict %s\n%s", r.Verdict, dump(r))
	}
	for _, p := range r.Parts {
		if p.Platform != tpm.Platform {
			continue
		}
		for _, c := range p.Checks {
			if c.Name == check && c.Outcome == cloudra.OutcomeFail {
				if c.Class != class {
					t.Fatalf("%s class %s, want %s\n%s", check, c.Class, class, dump(r))
				}
				return p
			}
		}
		t.Fatalf("tpm check %s did not fail\n%s", check, dump(r))
	}
	t.Fatalf("no tpm part\n%s", dump(r))
	return nil
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
			if err != nil {
				t.Fatal(err)
			}
			if tp := wantTPMFail(t, r, "quote.signature", cloudra.ClassSig); tp.Claims != nil {
				t.Error("quote claims returned with a bad quote signature")
			}
			wantFail(t, r, CheckAKBinding, cloudra.ClassBinding)

			q = *ev.Quote
			q.Signature = append([]byte(nil), q.Signature...)
			q.Signature[len(q.Signature)/2] ^= 0x40
			bad.Quote = &q
			r, _ = av.Verify(context.Background(), bad, col, Sections{}, opts)
			wantTPMFail(t, r, "quote.signature", cloudra.ClassSig)
			wantFail(t, r, CheckAKBinding, cloudra.ClassBinding)

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
				wantTPMFail(t, r, "quote.pcr-digest", cloudra.ClassBinding)
			}

			bad = ev
			bad.Nonce = append(append([]byte(nil), ev.Nonce...), 0)
			r, _ = av.Verify(context.Background(), bad, col, Sections{}, opts)
			wantTPMFail(t, r, "quote.nonce", cloudra.ClassFresh)
			// v2 evidence stays fresh through its user-data echo.
			if v.userData == nil && !hasViolation(r, RuleFreshness) {
				t.Errorf("wrong nonce without a freshness violation\n%s", dump(r))
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
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, r, CheckUserData, cloudra.ClassBinding)

	ev, col, opts = evidence(t, vectors[2])
	ev.Nonce = nil
	r, _ = av.Verify(context.Background(), ev, col, Sections{}, opts)
	wantTPMFail(t, r, "quote.nonce", cloudra.ClassFresh)
}

package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
)

// rejectedCase is one real vector, verified as it is (pass, except for
// gosevguest's debug guest) and with one bit of its signed body flipped
// (a signature failure).
type rejectedCase struct {
	evidence, collateral, at string
	flip                     int // offset of the flipped byte, inside the signed body
	pass                     bool
	check                    string // the check the flip fails
}

var rejectedCases = []rejectedCase{
	{"snp/gosevguest-milan-v2-vcek/attestation.bin", "snp/gosevguest-milan-v2-vcek", "2022-09-25T00:55:28Z", 0x90, false, "report.signature"},
	{"snp/virtee-sev-milan-v2-vcek/report.bin", "snp/virtee-sev-milan-v2-vcek", "2023-04-04T19:23:43Z", 0x90, true, "report.signature"},
	{"tdx/dcapqvl-v4-uptodate/quote.bin", "tdx/dcapqvl-v4-uptodate/collateral", "2025-07-01T00:00:00Z", 48 + 0x100, true, "quote.signature"},
}

// wantRejected asserts the contract of every Verify: a verdict other than
// pass comes with a *cloudra.RejectedError carrying that result, matching
// cloudra.ErrRejected and naming the failed check; a pass with a nil error.
func wantRejected(t *testing.T, what string, res *cloudra.Result, err error, pass bool, check string) {
	t.Helper()
	if pass {
		if err != nil || res == nil || res.Verdict != cloudra.Pass {
			t.Fatalf("%s: want pass and no error, got %v, %v", what, res, err)
		}
		return
	}
	var rej *cloudra.RejectedError
	if !errors.As(err, &rej) || !errors.Is(err, cloudra.ErrRejected) {
		t.Fatalf("%s: error %v, want a *cloudra.RejectedError", what, err)
	}
	if res == nil || rej.Result != res || res.Verdict != cloudra.Fail {
		t.Fatalf("%s: the rejection carries %p, the result is %p (%v)", what, rej.Result, res, res)
	}
	if c, ok := res.Check(check); check != "" && (!ok || c.Outcome != cloudra.OutcomeFail) {
		t.Fatalf("%s: %s did not fail: %+v", what, check, res.Checks)
	}
	if check != "" && !strings.Contains(err.Error(), check) {
		t.Errorf("%s: %q does not name %s", what, err, check)
	}
}

// TestRejectedVerdictIsAnError: a caller that only checks the error of
// sevsnp's, tdx's or the dispatcher's Verify never accepts a forged report
// or quote, and the result of the rejection still carries every check.
func TestRejectedVerdictIsAnError(t *testing.T) {
	vs, err := platform.New()
	if err != nil {
		t.Fatal(err)
	}
	d := newDirectVerifiers(t)
	ctx := context.Background()
	for _, c := range rejectedCases {
		vec := loadVector(t, c.evidence, c.collateral, c.at)
		kind, data, col, opts := vec.kind, vec.data, vec.col, vec.opts
		flipped := append([]byte(nil), data...)
		flipped[c.flip] ^= 0x01
		for _, v := range []struct {
			what string
			data []byte
			pass bool
			// check that fails; the unflipped debug guest fails policy
			check string
		}{
			{c.evidence, data, c.pass, ""},
			{c.evidence + " flipped", flipped, false, c.check},
		} {
			res, err := d.verify(t, kind, v.data, col, opts)
			wantRejected(t, v.what, res, err, v.pass, v.check)
			res, err = vs.Verify(ctx, platform.Input{
				Bundle:     &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{{Kind: kind, Data: v.data}}},
				Collateral: col, Options: opts})
			wantRejected(t, v.what+" (dispatcher)", res, err, v.pass, v.check)
		}
	}
}

// TestRejectedPartKeepsTheCombinedResult: a bundle of two primaries, one
// rejected, gives the combined result with both parts and all their checks,
// and a *cloudra.RejectedError carrying it.
func TestRejectedPartKeepsTheCombinedResult(t *testing.T) {
	vs, err := platform.New()
	if err != nil {
		t.Fatal(err)
	}
	v := loadVector(t, "snp/virtee-sev-milan-v2-vcek/report.bin", "snp/virtee-sev-milan-v2-vcek", "2023-04-04T19:23:43Z")
	good, col, at := v.data, v.col, v.opts.Time
	bad := append([]byte(nil), good...)
	bad[0x90] ^= 1
	res, err := vs.Verify(context.Background(), platform.Input{
		Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{
			{Kind: cloudra.KindSNPReport, Data: good}, {Kind: cloudra.KindSNPReport, Data: bad}}},
		Collateral: col, Options: cloudra.Options{Time: at}})
	wantRejected(t, "good+flipped", res, err, false, "")
	if len(res.Parts) != 2 || res.Parts[0].Verdict != cloudra.Pass || res.Parts[1].Verdict != cloudra.Fail {
		t.Fatalf("parts %+v", res.Parts)
	}
	if c, _ := res.Parts[1].Check("report.signature"); c.Outcome != cloudra.OutcomeFail || !strings.Contains(err.Error(), "report.signature (sig)") {
		t.Fatalf("report.signature %+v; error %q", c, err)
	}
	if len(res.Parts[0].Checks) == 0 || len(res.Parts[1].Checks) == 0 {
		t.Fatal("a part lost its checks")
	}
}

package seam

import (
	"errors"
	"slices"

	"github.com/cloudra/cloudra"
)

// CheckFreshness is the check that says whether the evidence answered the
// relying party's challenge (pass), or that no expected value was given so
// freshness was not checked (skip, with a warning).
const CheckFreshness = "freshness"

// NoteFreshness records CheckFreshness on r: pass when an expected value was
// given and answered; skip with a warning when none was given. A value that
// was given and not answered is already a failed binding or freshness check.
// what names the expected value ("REPORT_DATA", "nonce").
func NoteFreshness(r *cloudra.Result, expected, answered bool, what string) {
	switch {
	case !expected:
		r.Add(CheckFreshness, cloudra.OutcomeSkip, "", "no expected value ("+what+") from the relying party: freshness not checked")
		r.Warn("freshness not checked: no expected value (%s) was given, so this evidence may be a replay", what)
	case answered:
		r.Add(CheckFreshness, cloudra.OutcomePass, "", "the evidence carries the relying party's "+what)
	}
	r.Finish()
}

// FailedCheck reports whether r has the named check and it failed.
func FailedCheck(r *cloudra.Result, name string) bool {
	c, ok := r.Check(name)
	return ok && c.Outcome == cloudra.OutcomeFail
}

// WithReportData returns the policy section with its expected REPORT_DATA
// (field) set to the challenge, on a copy (the caller's section is never
// written), or the section itself when there is no challenge.
func WithReportData[T any](sec *T, challenge []byte, field ReportDataField[T]) *T {
	if len(challenge) == 0 {
		return sec
	}
	var c T
	if sec != nil {
		c = *sec
	}
	*field(&c) = append(cloudra.HexBytes(nil), challenge...)
	return &c
}

func sortedKinds[V any](m map[cloudra.Kind]V) []cloudra.Kind {
	ks := make([]cloudra.Kind, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Decided takes a verifier's rejection as its result (nil error), leaving
// any other error: a platform adds its own checks to a rejected result, a
// composite keeps a rejected part, and both then return r, r.Err().
func Decided(r *cloudra.Result, err error) (*cloudra.Result, error) {
	if errors.Is(err, cloudra.ErrRejected) && r != nil {
		return r, nil
	}
	return r, err
}

package dcaptest

import (
	"slices"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
)

// Dump renders a result's checks and violations, one a line, for test
// failure messages.
func Dump(r *cloudra.Result) string {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString("  " + c.Name + " " + string(c.Outcome) + " " + string(c.Class) + " " + c.Detail + "\n")
	}
	for _, v := range r.Violations {
		b.WriteString("  violation " + v.Rule + " want " + v.Want + " got " + v.Got + "\n")
	}
	return b.String()
}

// WantViolations reports each rule of want that is not among res's
// violations.
func WantViolations(t testing.TB, res *cloudra.Result, want []string) {
	t.Helper()
	var rules []string
	for _, x := range res.Violations {
		rules = append(rules, x.Rule)
	}
	for _, r := range want {
		if !slices.Contains(rules, r) {
			t.Errorf("violation %s missing (have %v)", r, rules)
		}
	}
}

// WantAuthentic reports each failure of res in a class that a genuine
// quote with current collateral never has: sig, chain, parse, fresh,
// collateral.
func WantAuthentic(t testing.TB, res *cloudra.Result) {
	t.Helper()
	for _, c := range []cloudra.Class{cloudra.ClassSig, cloudra.ClassChain, cloudra.ClassParse, cloudra.ClassFresh, cloudra.ClassCollateral} {
		if res.HasFailure(c) {
			t.Errorf("unexpected %s failure\n%s", c, Dump(res))
		}
	}
}

// WantStatusFail reports a result whose tcb.status check did not fail in
// class policy, or whose TCB status is not status.
func WantStatusFail(t testing.TB, res *cloudra.Result, status string) {
	t.Helper()
	checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
	if res.TCB.Status != status {
		t.Errorf("status %s", res.TCB.Status)
	}
}

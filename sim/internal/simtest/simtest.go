// Package simtest holds what the SGX and TDX simulators' tests share: the
// verifier's view of the simulated root, and the checks on a rejected
// result.
package simtest

import (
	"crypto/x509"
	"testing"

	"github.com/cloudra/cloudra"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
)

// Root returns the simulated root CA for seed from a PKI built separately
// from the same seed, as a verifier in another process would build it.
func Root(t testing.TB, seed string) *x509.Certificate {
	t.Helper()
	pki, err := sgxsim.NewPKI([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return pki.Root()
}

// Failed reports whether res has a failed check named name or a violation
// of the rule name.
func Failed(res *cloudra.Result, name string) bool {
	if c, ok := res.Check(name); ok && c.Outcome == cloudra.OutcomeFail {
		return true
	}
	for _, v := range res.Violations {
		if v.Rule == name {
			return true
		}
	}
	return false
}

// Rejected reports, as errors of the case name, a result that passes, has
// no failure of class, or where check (a check's name or a policy rule)
// did not fail. It returns false when res passed, so that a caller skips
// what only a rejection can show.
func Rejected(t testing.TB, name string, res *cloudra.Result, class cloudra.Class, check string) bool {
	t.Helper()
	if res.Verdict == cloudra.Pass {
		t.Errorf("%s: accepted", name)
		return false
	}
	if !res.HasFailure(class) {
		t.Errorf("%s: failure classes %v, want %s", name, res.FailureClasses(), class)
	}
	if !Failed(res, check) {
		t.Errorf("%s: %s did not fail: %+v %+v", name, check, res.Checks, res.Violations)
	}
	return true
}

// Package simtest holds what the simulators' tests share, most of it the
// SGX and TDX ones: the instant they verify at, a simulator built from a
// seed and its quote and collateral, the verifier's view of the simulated
// root, the round trip through the verifier, and the checks on a rejected
// result.
package simtest

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
)

// VerifyTime is the instant the simulator tests make collateral for and
// verify at: inside the validity of the simulated collateral.
var VerifyTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// Simulator is what sgxsim.Platform and tdxsim.Platform share: a quote
// made with quote options Q, and collateral for it.
type Simulator[Q any] interface {
	Quote(reportData [64]byte, o Q) ([]byte, error)
	Collateral(at time.Time, o sgxsim.CollateralOptions) (*cloudra.Collateral, error)
}

// New returns the simulator newSim (sgxsim.New, tdxsim.New or snpsim.New)
// builds from seed.
func New[P any](t testing.TB, seed string, newSim func([]byte) (P, error)) P {
	t.Helper()
	p, err := newSim([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Material returns a quote p makes with q over zero report data, and the
// collateral p makes with c at VerifyTime.
func Material[Q any](t testing.TB, p Simulator[Q], q Q, c sgxsim.CollateralOptions) ([]byte, *cloudra.Collateral) {
	t.Helper()
	quote, err := p.Quote([64]byte{}, q)
	if err != nil {
		t.Fatal(err)
	}
	col, err := p.Collateral(VerifyTime, c)
	if err != nil {
		t.Fatal(err)
	}
	return quote, col
}

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

// Verifier returns a verifier made by newVerifier (sgx.NewVerifier or
// tdx.NewVerifier) trusting the simulated root for seed through withRoot
// (their WithTestRoot).
func Verifier[V, O any](t testing.TB, seed string, newVerifier func(...O) (V, error), withRoot func(*x509.Certificate) O) V {
	t.Helper()
	v, err := newVerifier(withRoot(Root(t, seed)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// RoundTrip checks that verify accepts a simulated quote at at as
// UpToDate when test roots are allowed, and rejects it on the chain when
// they are not. It returns the accepted result; name labels the messages.
func RoundTrip(t testing.TB, name string, at time.Time, verify func(cloudra.Options) (*cloudra.Result, error)) *cloudra.Result {
	t.Helper()
	res, err := verify(cloudra.Options{Time: at, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass || res.TCB == nil || res.TCB.Status != "UpToDate" {
		t.Fatalf("%s: verdict %s, TCB %+v: %+v %+v", name, res.Verdict, res.TCB, res.Checks, res.Violations)
	}
	bad, err := verify(cloudra.Options{Time: at})
	bad = checktest.Result(t, bad, err)
	if bad.Verdict == cloudra.Pass || !bad.HasFailure(cloudra.ClassChain) {
		t.Fatalf("%s: simulated quote without AllowTestRoots: %s %v", name, bad.Verdict, bad.FailureClasses())
	}
	return res
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

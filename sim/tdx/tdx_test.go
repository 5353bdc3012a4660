package tdxsim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/sim/internal/simtest"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

func verifier(t *testing.T, seed string) *tdx.Verifier {
	t.Helper()
	return simtest.Verifier(t, seed, tdx.NewVerifier, tdx.WithTestRoot)
}

// TestTDXAccepts: the project's TDX verifier accepts simulated v4, v5/TD 1.0
// and v5/TD 1.5 quotes as UpToDate with the simulated collateral when test
// roots are allowed, and rejects them on the chain when they are not.
func TestTDXAccepts(t *testing.T) {
	const seed = "tdx round trip"
	p := simtest.New(t, seed, tdxsim.New)
	col, err := p.Collateral(simtest.VerifyTime, sgxsim.CollateralOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, seed)
	for _, o := range []tdxsim.QuoteOptions{{}, {Version: 5}, {Version: 5, TD15: true}} {
		raw, err := p.Provider(o).Report([64]byte{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		res := simtest.RoundTrip(t, fmt.Sprintf("%+v", o), simtest.VerifyTime, func(opts cloudra.Options) (*cloudra.Result, error) {
			return v.Verify(context.Background(), tdx.Evidence{Quote: raw.Quote}, col, nil, opts)
		})
		if c, ok := res.Check("tdx-module.identity"); !ok || c.Outcome != cloudra.OutcomePass {
			t.Errorf("%+v: module identity not checked", o)
		}
	}
}

// TestTDXNegative: each negative option fails in the expected class and
// check.
func TestTDXNegative(t *testing.T) {
	const seed = "tdx negative"
	p := simtest.New(t, seed, tdxsim.New)
	v := verifier(t, seed)
	cases := []struct {
		name   string
		q      tdxsim.QuoteOptions
		c      sgxsim.CollateralOptions
		at     time.Time
		class  cloudra.Class
		check  string // the check that must fail, or the violated rule
		status string // the TCB status, when one is reached
	}{
		{"debug", tdxsim.QuoteOptions{Debug: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassPolicy, "td-attributes.debug", "UpToDate"},
		{"out-of-date platform", tdxsim.QuoteOptions{OutOfDateTCB: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassPolicy, "tcb.status", "OutOfDate"},
		{"out-of-date module", tdxsim.QuoteOptions{OutOfDateModule: true, Version: 5, TD15: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassPolicy, "tcb.status", "OutOfDate"},
		{"tampered", tdxsim.QuoteOptions{TamperSignedBytes: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassSig, "quote.signature", ""},
		{"revoked", tdxsim.QuoteOptions{}, sgxsim.CollateralOptions{RevokePCK: true}, simtest.VerifyTime, cloudra.ClassChain, "pck.crl", ""},
		{"expired collateral", tdxsim.QuoteOptions{}, sgxsim.CollateralOptions{}, simtest.VerifyTime.Add(sgxsim.CollateralValidity), cloudra.ClassFresh, "pck.crl", ""},
	}
	for _, c := range cases {
		q, col := simtest.Material(t, p, c.q, c.c)
		res, err := v.Verify(context.Background(), tdx.Evidence{Quote: q}, col, nil, cloudra.Options{Time: c.at, AllowTestRoots: true})
		res = checktest.Result(t, res, err)
		if !simtest.Rejected(t, c.name, res, c.class, c.check) {
			continue
		}
		if c.status != "" && (res.TCB == nil || res.TCB.Status != c.status) {
			t.Errorf("%s: TCB %+v, want %s", c.name, res.TCB, c.status)
		}
	}
}

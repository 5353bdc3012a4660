package sgxsim_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/sim/internal/simtest"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
)

func verifier(t *testing.T, seed string) *sgx.Verifier {
	t.Helper()
	return simtest.Verifier(t, seed, sgx.NewVerifier, sgx.WithTestRoot)
}

// TestSGXAccepts: the project's SGX verifier accepts a simulated quote as
// UpToDate with the simulated collateral when test roots are allowed, and
// rejects it on the chain when they are not.
func TestSGXAccepts(t *testing.T) {
	const seed = "sgx round trip"
	p := simtest.New(t, seed, sgxsim.New)
	raw, err := p.Provider(sgxsim.QuoteOptions{}).Report([64]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	col, err := p.Collateral(simtest.VerifyTime, sgxsim.CollateralOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, seed)
	simtest.RoundTrip(t, "sgx", simtest.VerifyTime, func(o cloudra.Options) (*cloudra.Result, error) {
		return v.Verify(context.Background(), sgx.Evidence{Quote: raw.Quote}, col, nil, o)
	})
}

// TestSGXFromFolder: the collateral files, written to a folder and read
// back by collateral.LoadDir, verify the quote (the --collateral DIR path).
func TestSGXFromFolder(t *testing.T) {
	const seed = "sgx folder"
	p := simtest.New(t, seed, sgxsim.New)
	dir := t.TempDir()
	files, err := p.CollateralFiles(simtest.VerifyTime, sgxsim.CollateralOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	col, skipped, err := collateral.LoadDir(dir)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("LoadDir: %v %v", err, skipped)
	}
	q, err := p.Quote([64]byte{}, sgxsim.QuoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := verifier(t, seed).Verify(context.Background(), sgx.Evidence{Quote: q}, col, nil, cloudra.Options{Time: simtest.VerifyTime, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass {
		t.Fatalf("verdict %s: %+v", res.Verdict, res.Checks)
	}
	// Each file classifies as the kind it declares, and the files
	// classified one by one (how collateral travelling in an evidence
	// bundle is read) verify the quote too.
	merged := &cloudra.Collateral{}
	for _, f := range files {
		c, err := collateral.Classify(f.Data, f.Name)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		ok := false
		switch f.Kind {
		case cloudra.KindPCSJSON:
			ok = len(c.Documents) == 1
		case cloudra.KindCRL:
			ok = len(c.CRLs) == 1
		case cloudra.KindCertificate:
			ok = len(c.Certificates) == 2
		}
		if !ok {
			t.Errorf("%s does not classify as %s", f.Name, f.Kind)
		}
		merged.Merge(c)
	}
	res, err = verifier(t, seed).Verify(context.Background(), sgx.Evidence{Quote: q}, merged, nil, cloudra.Options{Time: simtest.VerifyTime, AllowTestRoots: true})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("bundle-style collateral: %v %+v", err, res)
	}
}

// TestSGXNegative: each negative option fails in the expected class and
// check.
func TestSGXNegative(t *testing.T) {
	const seed = "sgx negative"
	p := simtest.New(t, seed, sgxsim.New)
	v := verifier(t, seed)
	cases := []struct {
		name  string
		q     sgxsim.QuoteOptions
		c     sgxsim.CollateralOptions
		at    time.Time
		class cloudra.Class
		check string // the check that must fail, or the violated rule
	}{
		{"debug", sgxsim.QuoteOptions{Debug: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassPolicy, "attributes.debug"},
		{"out-of-date", sgxsim.QuoteOptions{OutOfDateTCB: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassPolicy, "tcb.status"},
		{"tampered", sgxsim.QuoteOptions{TamperSignedBytes: true}, sgxsim.CollateralOptions{}, simtest.VerifyTime, cloudra.ClassSig, "quote.signature"},
		{"revoked", sgxsim.QuoteOptions{}, sgxsim.CollateralOptions{RevokePCK: true}, simtest.VerifyTime, cloudra.ClassChain, "pck.crl"},
		{"expired collateral", sgxsim.QuoteOptions{}, sgxsim.CollateralOptions{}, simtest.VerifyTime.Add(sgxsim.CollateralValidity), cloudra.ClassFresh, "pck.crl"},
	}
	for _, c := range cases {
		q, col := simtest.Material(t, p, c.q, c.c)
		res, err := v.Verify(context.Background(), sgx.Evidence{Quote: q}, col, nil, cloudra.Options{Time: c.at, AllowTestRoots: true})
		res = checktest.Result(t, res, err)
		simtest.Rejected(t, c.name, res, c.class, c.check)
	}
	// The out-of-date quote's status and advisory.
	q, col := simtest.Material(t, p, sgxsim.QuoteOptions{OutOfDateTCB: true}, sgxsim.CollateralOptions{})
	res, _ := v.Verify(context.Background(), sgx.Evidence{Quote: q}, col, nil, cloudra.Options{Time: simtest.VerifyTime, AllowTestRoots: true})
	if res.TCB == nil || res.TCB.Status != "OutOfDate" || len(res.TCB.Advisories) != 1 || res.TCB.Advisories[0] != sgxsim.SimulatedAdvisory {
		t.Errorf("out-of-date TCB %+v", res.TCB)
	}
}

package snpsim_test

import (
	"context"
	"testing"
	"time"

	cloudra "github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/sevsnp"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

var verifyTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func verifier(t *testing.T, p *snpsim.Platform) *sevsnp.Verifier {
	t.Helper()
	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	return sevsnp.NewVerifier(roots.WithTestARK(snpsim.Product, p.ARK()))
}

// TestSevsnpAccepts: the project's own SNP verifier parses and verifies a
// simulated extended report (certificates from the table) when test roots
// are allowed, and rejects it on the chain when they are not.
func TestSevsnpAccepts(t *testing.T) {
	p, err := snpsim.New([]byte("sevsnp round trip"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Provider(snpsim.ReportOptions{Extended: true}).Report([64]byte{1, 2, 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sevsnp.ParseReport(raw.Report)
	if err != nil {
		t.Fatalf("ParseReport: %v", err)
	}
	if r.Version != 3 || r.VMPL != 0 || r.ReportData[0] != 1 {
		t.Errorf("parsed %+v", r)
	}
	if _, err := sevsnp.ParseCertTable(raw.CertTable); err != nil {
		t.Fatalf("ParseCertTable: %v", err)
	}
	// A verifier in another "process": a fresh platform from the same seed
	// supplies the ARK; the certificates come from the report's table.
	q, _ := snpsim.New([]byte("sevsnp round trip"))
	v := verifier(t, q)
	ev := sevsnp.Evidence{Report: raw.Report, CertTable: raw.CertTable}
	res, err := v.Verify(context.Background(), ev, nil, nil, cloudra.Options{Time: verifyTime, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Pass {
		t.Fatalf("verdict %s: %+v", res.Verdict, res.Checks)
	}
	res, err = v.Verify(context.Background(), ev, nil, nil, cloudra.Options{Time: verifyTime})
	if err == nil && res.Verdict == cloudra.Pass {
		t.Fatal("simulated report accepted without AllowTestRoots")
	}
}

// TestSevsnpNegative: each negative option fails in the expected class.
func TestSevsnpNegative(t *testing.T) {
	p, err := snpsim.New([]byte("sevsnp negative"))
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, p)
	two := uint32(2)
	old := snpsim.TCB{Bootloader: 3, SNP: 8, Microcode: 0x60}
	cases := []struct {
		name string
		o    snpsim.ReportOptions
		want cloudra.Class
		// check, when set, is the check that must fail.
		check string
	}{
		{"debug", snpsim.ReportOptions{Debug: true}, cloudra.ClassPolicy, ""},
		{"other-vmpl", snpsim.ReportOptions{VMPL: &two}, cloudra.ClassPolicy, ""},
		// The VCEK was issued for the platform TCB; sevsnp classes the
		// SPL mismatch as policy under check leaf.tcb.
		{"wrong-tcb", snpsim.ReportOptions{ReportedTCB: &old}, cloudra.ClassPolicy, "leaf.tcb"},
		{"tampered", snpsim.ReportOptions{TamperSignedBytes: true}, cloudra.ClassSig, ""},
	}
	for _, c := range cases {
		c.o.Extended = true
		raw, err := p.Provider(c.o).Report([64]byte{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := v.Verify(context.Background(), sevsnp.Evidence{Report: raw.Report, CertTable: raw.CertTable}, nil, nil,
			cloudra.Options{Time: verifyTime, AllowTestRoots: true})
		res = checktest.Result(t, res, err)
		if res.Verdict == cloudra.Pass {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !res.HasFailure(c.want) {
			t.Errorf("%s: failure classes %v, want %s", c.name, res.FailureClasses(), c.want)
		}
		if c.check != "" {
			if ch, ok := res.Check(c.check); !ok || ch.Outcome != cloudra.OutcomeFail {
				t.Errorf("%s: check %s did not fail", c.name, c.check)
			}
		}
	}
}

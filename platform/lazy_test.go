package platform

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/simroots"
	"github.com/cloudra/cloudra/sim"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// built returns the names of the platforms whose verifiers b has built.
func (b *built) names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for name, o := range b.verifiers {
		if o.v != nil || o.err != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestOneShotBuildsOnlyWhatItNeeds: verifying an SEV-SNP report builds the
// SEV-SNP verifier and nothing else (no DCAP pipeline, no Intel root, no
// TPM or Azure verifier), and New builds nothing at all.
func TestOneShotBuildsOnlyWhatItNeeds(t *testing.T) {
	vs, err := New(WithTestRoots(simroots.Demo))
	if err != nil {
		t.Fatal(err)
	}
	if got := append(vs.plain.names(), vs.test.names()...); len(got) != 0 {
		t.Fatalf("New built %v", got)
	}
	p, err := snpsim.New([]byte(sim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	report, err := p.Report([64]byte{}, 0, snpsim.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindSNPReport, Data: report},
		{Kind: cloudra.KindSNPCertTable, Data: p.CertTable()},
	}}
	res, err := vs.Verify(context.Background(), Input{Bundle: b,
		Options: cloudra.Options{Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), AllowTestRoots: true}})
	checktest.WantPass(t, checktest.Result(t, res, err))
	if got := vs.test.names(); !slices.Equal(got, []string{"sev-snp"}) {
		t.Errorf("built %v, want only sev-snp", got)
	}
	if got := vs.plain.names(); len(got) != 0 {
		t.Errorf("the pinned-roots verifiers built %v for a test-roots verification", got)
	}
}

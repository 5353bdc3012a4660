package sevsnp

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

func TestPolicyFile(t *testing.T) {
	p, err := policy.Parse([]byte(`
version: 1
sev-snp:
  report-data: "0102"
  measurements: ["`+string(bytes.Repeat([]byte("ab"), 48))+`"]
  vmpl: 2
  allow-debug: false
  allow-provisional: false
  min-tcb: {bootloader: 3, tee: 0, snp: 8, microcode: 115}
  signer: vcek
  require-crl: true
  require-platform-info: [smt-en]
  product: Milan
`), PolicySection())
	if err != nil {
		t.Fatal(err)
	}
	s := PolicyOf(p)
	if s == nil || len(s.ReportData) != 2 || len(s.Measurements[0]) != 48 || *s.VMPL != 2 || s.MinTCB.Microcode != 115 ||
		s.Signer != "vcek" || !s.RequireCRL || *s.AllowProvisional || s.Product != "Milan" {
		t.Fatalf("%+v", s)
	}
	if _, err := policy.Parse([]byte(`{"version":1,"sev-snp":{"alow-debug":true}}`), PolicySection()); err == nil {
		t.Error("misspelt rule accepted")
	}
}

// The verifier is safe for concurrent use (run with -race).
func TestConcurrentVerify(t *testing.T) {
	f := newFixture(t, Milan, false)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				res, err := f.v.Verify(context.Background(), Evidence{Report: f.report}, f.col, nil, f.opts)
				if err != nil || res.Verdict != cloudra.Pass {
					t.Errorf("%v %v", err, res.FailureClasses())
				}
			}
		}()
	}
	wg.Wait()
}

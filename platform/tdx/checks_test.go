package tdx

import (
	"slices"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
)

// TestPassChecks: an honest TD quote v4 with complete collateral passes every
// step of DCAP quote verification, in this order, and is UpToDate.
func TestPassChecks(t *testing.T) {
	k := testKit()
	res := run(t, forgedVerifier(t, k), k, k.TDQuote(4, false).Bytes(), k.Collateral(true), &Policy{ReportData: make([]byte, 64)})
	if res.Verdict != cloudra.Pass || res.TCB.Status != "UpToDate" {
		t.Fatalf("%s %s\n%s", res.Verdict, res.TCB.Status, dcaptest.Dump(res))
	}
	want := []string{
		"quote.parse", "quote.signature", "pck.chain", "qe-report.signature", "qe-report.binding",
		"pck.crl", "root-ca.crl", "tcb-info.verify", "tcb-info.match", "tdx-module.identity",
		"tcb.platform", "qe-identity.verify", "qe-identity.match", "tcb.status",
	}
	var got []string
	for _, c := range res.Checks {
		got = append(got, c.Name)
		if c.Outcome != cloudra.OutcomePass {
			t.Errorf("%s: %s", c.Name, c.Outcome)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("checks\n got %v\nwant %v", got, want)
	}
}

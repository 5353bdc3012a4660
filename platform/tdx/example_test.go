package tdx_test

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/tdx"
)

// A TD quote from a forged Intel-like platform, verified with its
// collateral. Production code passes the collateral the collateral package
// fetched from Intel PCS, and no test root.
func ExampleVerifier_Verify() {
	k := dcaptest.New(dcaptest.DefaultConfig())
	v, err := tdx.NewVerifier(tdx.WithTestRoot(k.Root))
	if err != nil {
		panic(err)
	}
	quote := k.TDQuote(4, false).Bytes()
	pol := &tdx.Policy{ReportData: make([]byte, 64)}
	res, err := v.Verify(context.Background(), tdx.Evidence{Quote: quote}, k.Collateral(true), pol, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	if err != nil {
		panic(err) // no time, or collateral missing: no decision
	}
	fmt.Println(res.Verdict, res.TCB.Status)
	for _, c := range res.Checks {
		fmt.Println(c.Name, c.Outcome)
	}
	// Output:
	// pass UpToDate
	// quote.parse pass
	// quote.signature pass
	// pck.chain pass
	// qe-report.signature pass
	// qe-report.binding pass
	// pck.crl pass
	// root-ca.crl pass
	// tcb-info.verify pass
	// tcb-info.match pass
	// tdx-module.identity pass
	// tcb.platform pass
	// qe-identity.verify pass
	// qe-identity.match pass
	// tcb.status pass
}

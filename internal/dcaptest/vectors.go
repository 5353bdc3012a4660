// Package dcaptest is test support for DCAP verifiers: a loader for the
// shared real collateral and a forge kit minting an Intel-like P-256 PKI
// (root, PCK CA, PCK leaf, TCB signer), quotes and collateral. Nothing here
// is trusted by shipped code: the forged root is accepted only through an
// explicit test-root option together with Options.AllowTestRoots.
package dcaptest

import (
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// LoadCollateral reads a vector's collateral folder (layout of
// ../shared/vectors/tdx/*/collateral): TCB Info and QE Identity with their
// issuer chains, the PCK CRL with its issuer chain, and the Root CA CRL.
func LoadCollateral(t testing.TB, dir string) *cloudra.Collateral {
	t.Helper()
	col := &cloudra.Collateral{}
	col.Documents = append(col.Documents,
		cloudra.Document{Kind: "tcb-info", Raw: vectortest.Read(t, dir+"/tcb_info.json"), IssuerChain: vectortest.Read(t, dir+"/tcb_info_issuer_chain.pem"), Source: dir + "/tcb_info.json"},
		cloudra.Document{Kind: "qe-identity", Raw: vectortest.Read(t, dir+"/qe_identity.json"), IssuerChain: vectortest.Read(t, dir+"/qe_identity_issuer_chain.pem"), Source: dir + "/qe_identity.json"},
	)
	for _, f := range []string{"root_ca_crl.der", "pck_crl.der"} {
		crl, err := pcs.ParseCRL(vectortest.Read(t, dir+"/"+f))
		if err != nil {
			t.Fatalf("%s/%s: %v", dir, f, err)
		}
		col.AddCRL(crl)
	}
	for _, c := range pcs.ParsePEMChain(vectortest.Read(t, dir+"/pck_crl_issuer_chain.pem")) {
		col.AddCertificate(c)
	}
	return col
}

package pcs_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// TestTCBSigningCertMustBeEndEntity: the "Intel SGX TCB Signing"
// certificate signs TCB Info and QE Identity and nothing else. One that is a
// CA, asserts keyCertSign or cRLSign, or lacks the digitalSignature key
// usage Intel sets is refused as a chain failure, even when the pinned
// (here: test) root signed it; Intel's profile is accepted.
func TestTCBSigningCertMustBeEndEntity(t *testing.T) {
	ds, cc := x509.KeyUsageDigitalSignature, x509.KeyUsageContentCommitment
	k := dcaptest.New(dcaptest.DefaultConfig())
	for _, c := range []struct {
		name string
		tmpl x509.Certificate
		ok   bool
	}{
		{"Intel profile: CA:FALSE, digitalSignature, nonRepudiation", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | cc}, true},
		{"no basic constraints", x509.Certificate{KeyUsage: ds | cc}, true},
		{"CA:TRUE with keyCertSign", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: ds | x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, false},
		{"CA:TRUE with digitalSignature only", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: ds | cc}, false},
		{"CA:FALSE with keyCertSign", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | x509.KeyUsageCertSign}, false},
		{"CA:FALSE with cRLSign", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | x509.KeyUsageCRLSign}, false},
		{"no key usage", x509.Certificate{BasicConstraintsValid: true}, false},
		{"key usage without digitalSignature", x509.Certificate{BasicConstraintsValid: true, KeyUsage: cc}, false},
	} {
		tmpl := c.tmpl
		tmpl.Subject = pkix.Name{CommonName: pcs.TCBSigningCN}
		tmpl.NotBefore, tmpl.NotAfter = k.Now.AddDate(-1, 0, 0), k.Now.AddDate(1, 0, 0)
		k.TCBSigner = k.Issue(&tmpl, k.Root, k.RootKey, k.TCBKey)
		col := k.Collateral(true)
		_, errInfo := pcs.FindTCBInfo(col, pcs.TDX, k.FMSPC, k.Root, k.Now)
		_, errID := pcs.FindQEIdentity(col, pcs.TDX, k.Root, k.Now)
		for what, err := range map[string]error{"tcb info": errInfo, "qe identity": errID} {
			if c.ok && err != nil {
				t.Errorf("%s: %s: %v", c.name, what, err)
			}
			if !c.ok && !errors.Is(err, pcs.ErrChain) {
				t.Errorf("%s: %s: %v, want ErrChain", c.name, what, err)
			}
		}
	}
}

// TestTCBSigningRootMustBeCA: the root passed to verification must be a CA
// allowed to sign certificates; CheckSignatureFrom alone accepts a parent
// without key usage.
func TestTCBSigningRootMustBeCA(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	root := k.Issue(&x509.Certificate{Subject: k.Root.Subject, BasicConstraintsValid: true, IsCA: true,
		NotBefore: k.Root.NotBefore, NotAfter: k.Root.NotAfter}, nil, k.RootKey, k.RootKey)
	k.Root = root
	k.TCBSigner = k.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: pcs.TCBSigningCN}, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: k.Now.AddDate(-1, 0, 0), NotAfter: k.Now.AddDate(1, 0, 0)}, root, k.RootKey, k.TCBKey)
	// No CRL: x509 refuses to sign one with a root without key usage.
	col := &cloudra.Collateral{Documents: []cloudra.Document{{Kind: "tcb-info", Raw: k.SignTCBInfo(k.DefaultTCBInfo(true).Marshal()), IssuerChain: k.IssuerChainPEM()}}}
	if _, err := pcs.FindTCBInfo(col, pcs.TDX, k.FMSPC, root, k.Now); !errors.Is(err, pcs.ErrChain) {
		t.Errorf("root without key usage: %v, want ErrChain", err)
	}
}

package dcap_test

import (
	"crypto/x509"
	"errors"
	"testing"

	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
)

// TestPCKChainCARoles: the PCK CA must be CA:TRUE with keyCertSign and
// pathlen 0, as Intel issues it, and the root's path length constraint must
// allow the PCK CA below it. x509's CheckSignatureFrom alone accepts a
// parent without key usage, so each case is re-issued under the same name
// and key: only the role changes.
func TestPCKChainCARoles(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	cs, crl := x509.KeyUsageCertSign, x509.KeyUsageCRLSign
	for _, c := range []struct {
		name   string
		root   bool // the variant replaces the root, else the PCK CA
		tmpl   x509.Certificate
		wantOK bool
	}{
		{"PCK CA as Intel issues it", false, x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: cs | crl}, true},
		{"PCK CA without pathlen", false, x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: cs | crl}, true},
		{"PCK CA without key usage", false, x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true}, false},
		{"PCK CA with pathlen 1", false, x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1, KeyUsage: cs | crl}, false},
		{"root with pathlen 1 as Intel's", true, x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1, KeyUsage: cs | crl}, true},
		{"root with pathlen 0", true, x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: cs | crl}, false},
		{"root without key usage", true, x509.Certificate{BasicConstraintsValid: true, IsCA: true}, false},
	} {
		root, ca := k.Root, k.CA
		tmpl := c.tmpl
		if c.root {
			tmpl.RawSubject, tmpl.NotBefore, tmpl.NotAfter = k.Root.RawSubject, k.Root.NotBefore, k.Root.NotAfter
			root = k.Issue(&tmpl, nil, k.RootKey, k.RootKey)
		} else {
			tmpl.RawSubject, tmpl.NotBefore, tmpl.NotAfter = k.CA.RawSubject, k.CA.NotBefore, k.CA.NotAfter
			ca = k.Issue(&tmpl, k.Root, k.RootKey, k.CAKey)
		}
		_, err := dcap.VerifyPCKChain([]*x509.Certificate{k.PCK, ca}, []*x509.Certificate{root}, k.Now)
		if c.wantOK && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.wantOK && !errors.Is(err, dcap.ErrChain) {
			t.Errorf("%s: %v, want ErrChain", c.name, err)
		}
	}
}

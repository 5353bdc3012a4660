package dcapverify

import (
	"crypto/x509"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
)

// Trust is the root set of a DCAP verifier: the pinned Intel SGX Root CA,
// and test roots (a simulator's, a test's forged Intel-like root) that are
// trusted only for verifications whose cloudra.Options.AllowTestRoots is
// set. Nothing the quote or the collateral carries is ever added to it.
type Trust struct {
	intel *x509.Certificate
	test  []*x509.Certificate
}

// NewTrust returns a Trust holding the pinned Intel SGX Root CA (package
// intelroot checks its fingerprint).
func NewTrust() (Trust, error) {
	root, err := intelroot.Certificate()
	if err != nil {
		return Trust{}, err
	}
	return Trust{intel: root}, nil
}

// AddTestRoot adds a test root CA.
func (t *Trust) AddTestRoot(root *x509.Certificate) { t.test = append(t.test, root) }

// Roots returns the roots for one verification: Intel's, then the test
// roots when opts.AllowTestRoots is set. The slice is fresh on each call.
func (t *Trust) Roots(opts cloudra.Options) []*x509.Certificate {
	r := []*x509.Certificate{t.intel}
	if opts.AllowTestRoots {
		r = append(r, t.test...)
	}
	return r
}

package sevsnp

import (
	"crypto/rand"
	"crypto/x509"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/sevsnptest"
)

// leafVariant verifies the fixture's report under a leaf re-issued with the
// same key but with basic constraints CA:TRUE (ca) and/or key usage ku.
func leafVariant(t *testing.T, vlek, ca bool, ku x509.KeyUsage) *cloudra.Result {
	t.Helper()
	f := newFixture(t, Milan, vlek)
	lo := sevsnptest.LeafOptions{VLEK: vlek, TCB: testTCB, Key: f.key, CA: ca, KeyUsage: ku}
	if !vlek {
		lo.HWID = append([]byte(nil), f.ro.ChipID[:]...)
	}
	leaf, _, err := f.amd.Leaf(lo)
	if err != nil {
		t.Fatal(err)
	}
	f.col = &cloudra.Collateral{}
	f.col.AddCertificate(leaf)
	if vlek {
		f.col.AddCertificate(f.amd.ASVK)
	} else {
		f.col.AddCertificate(f.amd.ASK)
	}
	return f.verify(Evidence{Report: f.report}, nil)
}

func endEntityCases(t *testing.T, vlek bool) {
	// AMD's own leaves: no basic constraints, no key usage.
	checktest.WantPass(t, leafVariant(t, vlek, false, 0))
	checktest.WantFail(t, leafVariant(t, vlek, true, 0), checkLeaf, cloudra.ClassChain)
	checktest.WantFail(t, leafVariant(t, vlek, true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign), checkLeaf, cloudra.ClassChain)
	checktest.WantFail(t, leafVariant(t, vlek, false, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign), checkLeaf, cloudra.ClassChain)
	checktest.WantFail(t, leafVariant(t, vlek, false, x509.KeyUsageDigitalSignature|x509.KeyUsageCRLSign), checkLeaf, cloudra.ClassChain)
}

// TestVCEKMustBeEndEntity: a VCEK signs reports and nothing else; a
// CA:TRUE VCEK, or one asserting keyCertSign or cRLSign, is refused even
// when its signature over the report and its chain verify.
func TestVCEKMustBeEndEntity(t *testing.T) { endEntityCases(t, false) }

// TestVLEKMustBeEndEntity: as TestVCEKMustBeEndEntity, for a VLEK.
func TestVLEKMustBeEndEntity(t *testing.T) { endEntityCases(t, true) }

// TestLeafKeyUsageChecked: AMD issues VCEKs and VLEKs without a key usage
// extension, and that is accepted; a leaf that carries one must assert
// digitalSignature.
func TestLeafKeyUsageChecked(t *testing.T) {
	for _, vlek := range []bool{false, true} {
		checktest.WantPass(t, leafVariant(t, vlek, false, 0))
		checktest.WantPass(t, leafVariant(t, vlek, false, x509.KeyUsageDigitalSignature))
		checktest.WantFail(t, leafVariant(t, vlek, false, x509.KeyUsageKeyAgreement), checkLeaf, cloudra.ClassChain)
	}
}

// TestARKMustAllowIntermediate: a (test) ARK whose path length constraint
// is 0 cannot issue the ASK, which is a CA.
func TestARKMustAllowIntermediate(t *testing.T) {
	f := newFixture(t, Milan, false)
	a := f.amd
	tmpl := &x509.Certificate{SerialNumber: a.ARK.SerialNumber, RawSubject: a.ARK.RawSubject, NotBefore: a.ARK.NotBefore, NotAfter: a.ARK.NotAfter,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: x509.SHA384WithRSAPSS}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &a.ARKKey.PublicKey, a.ARKKey)
	if err != nil {
		t.Fatal(err)
	}
	ark, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	f.v = NewVerifier(testRoots(t).WithTestARK(Milan, ark))
	res := f.verify(Evidence{Report: f.report}, nil)
	c, ok := res.Check(checkARK)
	if res.Verdict != cloudra.Fail || !ok || c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassChain {
		t.Errorf("ARK with pathlen 0: %s %+v", res.Verdict, res.Checks)
	}
}

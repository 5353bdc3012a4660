package dcapverify

import (
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
)

func TestTrustRoots(t *testing.T) {
	tr, err := NewTrust()
	if err != nil {
		t.Fatal(err)
	}
	test := &x509.Certificate{Raw: []byte("test root")}
	tr.AddTestRoot(test)
	if r := tr.Roots(cloudra.Options{}); len(r) != 1 || r[0] == test || r[0].Subject.CommonName != "Intel SGX Root CA" {
		t.Errorf("without AllowTestRoots: %v", r)
	}
	r := tr.Roots(cloudra.Options{AllowTestRoots: true})
	if len(r) != 2 || r[1] != test {
		t.Errorf("with AllowTestRoots: %v", r)
	}
	r[0] = nil // callers may keep or change what they get
	if tr.Roots(cloudra.Options{})[0] == nil {
		t.Error("Roots shares its slice between calls")
	}
}

func TestOutcomeSigner(t *testing.T) {
	if s := (&Outcome{}).Signer(); s != "" {
		t.Errorf("no chain: %q", s)
	}
	o := &Outcome{Chain: &dcap.PCKChain{Leaf: &x509.Certificate{SerialNumber: big.NewInt(0xabc)}, CA: "platform"}}
	if got, want := o.Signer(), "PCK certificate abc (platform CA)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

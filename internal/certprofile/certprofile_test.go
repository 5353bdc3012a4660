package certprofile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

func mint(t *testing.T, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.Subject = pkix.Name{CommonName: "x"}
	tmpl.NotBefore, tmpl.NotAfter = time.Unix(0, 0), time.Unix(1<<32, 0)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEndEntity: an end entity is not a CA, does not assert
// keyCertSign or cRLSign, asserts digitalSignature when it has key usage,
// and has key usage where the vendor profile requires it.
func TestEndEntity(t *testing.T) {
	ds := x509.KeyUsageDigitalSignature
	for _, c := range []struct {
		name     string
		tmpl     x509.Certificate
		require  bool
		wantFail bool
	}{
		{"Intel profile: CA:FALSE, digitalSignature|nonRepudiation", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | x509.KeyUsageContentCommitment}, true, false},
		{"AMD profile: no extensions", x509.Certificate{}, false, false},
		{"no key usage where required", x509.Certificate{BasicConstraintsValid: true}, true, true},
		{"CA:TRUE", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: ds}, false, true},
		{"keyCertSign", x509.Certificate{KeyUsage: ds | x509.KeyUsageCertSign}, false, true},
		{"cRLSign", x509.Certificate{KeyUsage: ds | x509.KeyUsageCRLSign}, false, true},
		{"keyEncipherment only", x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment}, false, true},
	} {
		err := EndEntity(mint(t, &c.tmpl), c.require)
		if (err != nil) != c.wantFail {
			t.Errorf("%s: %v, want failure %v", c.name, err, c.wantFail)
		}
	}
}

// TestIssuingCA: an intermediate is CA:TRUE with keyCertSign and a
// path length constraint that allows the rest of the path.
func TestIssuingCA(t *testing.T) {
	cs := x509.KeyUsageCertSign
	for _, c := range []struct {
		name     string
		tmpl     x509.Certificate
		cas      int
		wantFail bool
	}{
		{"pathlen 0 issuing a leaf", x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: cs}, 0, false},
		{"pathlen 1 issuing a CA", x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1, KeyUsage: cs | x509.KeyUsageCRLSign}, 1, false},
		{"no pathlen issuing a CA", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: cs}, 1, false},
		{"pathlen 0 issuing a CA", x509.Certificate{BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: cs}, 1, true},
		{"CA:FALSE", x509.Certificate{BasicConstraintsValid: true, KeyUsage: cs}, 0, true},
		{"no basic constraints", x509.Certificate{KeyUsage: cs}, 0, true},
		{"no keyCertSign", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCRLSign}, 0, true},
		{"no key usage", x509.Certificate{BasicConstraintsValid: true, IsCA: true}, 0, true},
	} {
		err := IssuingCA(mint(t, &c.tmpl), c.cas)
		if (err != nil) != c.wantFail {
			t.Errorf("%s: %v, want failure %v", c.name, err, c.wantFail)
		}
	}
}

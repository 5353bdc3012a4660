package pinnedroot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"
)

func mint(t *testing.T, signer *ecdsa.PrivateKey) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if signer == nil {
		signer = k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pin(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// TestParse: a self-signed root matching its pin loads; a changed byte (a
// pin mismatch) and a root not signed by its own key are refused, each
// naming why.
func TestParse(t *testing.T) {
	der := mint(t, nil)
	if _, err := Parse("x", der, pin(der)); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), der...)
	bad[len(bad)-1] ^= 1
	if _, err := Parse("x", bad, pin(der)); err == nil || !strings.Contains(err.Error(), "does not match pin") {
		t.Errorf("changed byte: %v", err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notSelf := mint(t, other)
	if _, err := Parse("x", notSelf, pin(notSelf)); err == nil || !strings.Contains(err.Error(), "not self-signed") {
		t.Errorf("not self-signed: %v", err)
	}
	if _, err := Parse("x", []byte{1, 2, 3}, pin([]byte{1, 2, 3})); err == nil || !strings.Contains(err.Error(), "parse embedded root") {
		t.Errorf("garbage: %v", err)
	}
}

package intelroot

import (
	"testing"
)

func TestCertificate(t *testing.T) {
	c, err := Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "Intel SGX Root CA" || !c.IsCA {
		t.Fatalf("unexpected root %q CA=%v", c.Subject.CommonName, c.IsCA)
	}
	if !Is(c) {
		t.Fatal("Is(root) = false")
	}
	c2, _ := Certificate()
	if c2 != c {
		t.Fatal("root parsed twice")
	}
}

func TestPinMismatch(t *testing.T) {
	der := DER()
	der[len(der)-1] ^= 1
	if _, err := parsePinned(der); err == nil {
		t.Fatal("altered root accepted")
	}
	if Is(nil) {
		t.Fatal("Is(nil) = true")
	}
}

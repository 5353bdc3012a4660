package roots

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestLoad(t *testing.T) {
	sets, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSignatures(sets); err != nil {
		t.Fatal(err)
	}
	for _, p := range Products() {
		s := sets[p]
		if s == nil || s.ARK.Subject.CommonName != "ARK-"+p || s.ASK.Subject.CommonName != "SEV-"+p || s.ASVK.Subject.CommonName != "SEV-VLEK-"+p {
			t.Fatalf("%s: %+v", p, s)
		}
		sum := sha256.Sum256(s.ARK.Raw)
		if want, _ := Fingerprint("ark-" + lower(p) + ".pem"); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s ARK fingerprint", p)
		}
	}
}

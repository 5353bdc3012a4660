package tpmalg

import (
	"crypto"
	"testing"
)

func TestParse(t *testing.T) {
	for in, id := range map[string]uint16{
		"sha1": 4, "SHA-256": 0xb, " sha384 ": 0xc, "0x000d": 0xd, "0xD": 0xd, "sm3": 0x12, "sm3_256": 0x12,
	} {
		if h, ok := Parse(in); !ok || h.ID != id {
			t.Errorf("Parse(%q) = %v %v, want %#x", in, h.ID, ok, id)
		}
	}
	for _, in := range []string{"", "md5", "0x12", "0x04", "sha"} {
		if _, ok := Parse(in); ok {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestByID(t *testing.T) {
	if h, ok := ByID(0x000C); !ok || h.Name != "sha384" || h.Size != 48 || h.Go != crypto.SHA384 {
		t.Errorf("ByID(0x000C) = %+v %v", h, ok)
	}
	if h, ok := ByID(0x0012); !ok || h.Go != 0 || h.Size != 32 {
		t.Errorf("ByID(SM3) = %+v %v", h, ok)
	}
	if _, ok := ByID(0x0001); ok {
		t.Error("ByID(TPM_ALG_RSA) accepted")
	}
}

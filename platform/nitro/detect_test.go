package nitro

import (
	"crypto/rand"
	"testing"
)

// TestCOSESign1RecognisedByItsHead: bytes that merely start with 0x84 (a raw
// RSA signature, one time in 256) are not taken for a COSE_Sign1, and a
// minimal tagged head is.
func TestCOSESign1RecognisedByItsHead(t *testing.T) {
	// Random bytes that start as an array of four: with the head checked,
	// about one in 2^17 passes, against one in 256 by the first byte.
	sig := make([]byte, 256)
	taken := 0
	const tries = 100000
	for range tries {
		if _, err := rand.Read(sig); err != nil {
			t.Fatal(err)
		}
		sig[0] = 0x84
		if looksLikeCOSESign1(sig) {
			taken++
		}
	}
	if taken > 2 {
		t.Errorf("%d of %d random inputs starting 0x84 taken for a COSE_Sign1", taken, tries)
	}
	for _, b := range [][]byte{{0x84}, {0x84, 0x40}, {0x84, 0x40, 0xa0}, {0xd2, 0x84, 0x5f}, {0x84, 0x58}, {0x84, 0x41, 0x00}} {
		if looksLikeCOSESign1(b) {
			t.Errorf("%x taken for a COSE_Sign1", b)
		}
	}
	if !looksLikeCOSESign1([]byte{0xd2, 0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x40}) {
		t.Error("a minimal tagged COSE_Sign1 head is not recognised")
	}
}

package platform

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestNitroDocumentRecognisedByItsHead: the real Nitro attestation documents
// are recognised (so a bundle carrying one is refused, never verified on the
// rest), and bytes that merely start with 0x84 (a raw RSA signature, one
// time in 256) are not.
func TestNitroDocumentRecognisedByItsHead(t *testing.T) {
	dir := filepath.Join(vectortest.Dir(t), "nitro")
	docs, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	found := 0
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		if k, _, err := Detect(b); err == nil && k == cloudra.KindNitroDoc {
			found++
		}
	}
	if found == 0 {
		t.Errorf("no Nitro attestation document among %d files in %s is recognised", len(docs), dir)
	}
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
		if isCOSESign1(sig) {
			taken++
		}
	}
	if taken > 2 {
		t.Errorf("%d of %d random inputs starting 0x84 taken for a COSE_Sign1", taken, tries)
	}
	for _, b := range [][]byte{{0x84}, {0x84, 0x40}, {0x84, 0x40, 0xa0}, {0xd2, 0x84, 0x5f}, {0x84, 0x58}, {0x84, 0x41, 0x00}} {
		if isCOSESign1(b) {
			t.Errorf("%x taken for a COSE_Sign1", b)
		}
	}
	if !isCOSESign1([]byte{0xd2, 0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x40}) {
		t.Error("a minimal tagged COSE_Sign1 head is not recognised")
	}
}

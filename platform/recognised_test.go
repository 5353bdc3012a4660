package platform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestNitroDocumentRecognisedByItsHead: the real Nitro attestation documents
// are recognised by the dispatcher (platform/nitro tests that bytes that
// merely start with 0x84 are not).
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
}

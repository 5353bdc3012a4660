// Package vectortest locates the shared real-evidence collection for tests.
//
// Tests read vectors from ../shared/vectors relative to the directory holding
// go.mod, and skip cleanly when it is absent. Nothing is ever copied into the
// repository or downloaded.
package vectortest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Dir returns the absolute path of the shared vectors folder, or skips t.
func Dir(t testing.TB) string {
	t.Helper()
	d, ok := Find()
	if !ok {
		t.Skip("shared vectors not present")
	}
	return d
}

// Find walks up from the working directory to go.mod and looks for
// ../shared/vectors beside the project root. CLOUDRA_VECTORS overrides it.
func Find() (string, bool) {
	if d := os.Getenv("CLOUDRA_VECTORS"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, true
		}
		return "", false
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			v := filepath.Join(dir, "..", "shared", "vectors")
			if st, err := os.Stat(v); err == nil && st.IsDir() {
				return filepath.Clean(v), true
			}
			// bench/ is a nested module: keep walking up once more.
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

// Read returns the bytes of a file below the vectors folder, or skips t when
// the collection is absent. A missing file inside a present collection fails.
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), rel))
	if err != nil {
		t.Fatalf("vector %s: %v", rel, err)
	}
	return b
}

// Time parses an RFC 3339 verification time from a PROVENANCE table.
func Time(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

package boundedio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	if b, err := ReadAll(strings.NewReader("abcd"), 4); err != nil || string(b) != "abcd" {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	if _, err := ReadAll(strings.NewReader("abcde"), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the bound: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abcde"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 5); err != nil || string(b) != "abcde" {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	_, err := ReadFile(p, 4)
	if !errors.Is(err, ErrTooLarge) || err.Error() != p+": larger than 4 bytes" {
		t.Fatalf("over the bound: %v", err)
	}
	if _, err := ReadFile(p+"x", 4); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

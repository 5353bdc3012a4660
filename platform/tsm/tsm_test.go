package tsm_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra/internal/tsmtest"
	"github.com/cloudra/cloudra/platform/tsm"
)

func echo(in []byte, lvl uint32) ([]byte, []byte, error) {
	out := append([]byte{byte(lvl)}, in...)
	return out, []byte("aux"), nil
}

func newFake(t *testing.T, provider string, floor int) (*tsmtest.Fake, tsm.Client) {
	t.Helper()
	root := t.TempDir()
	f, err := tsmtest.New(root, provider, floor, echo)
	if err != nil {
		t.Fatal(err)
	}
	return f, tsm.Client{FS: f, Root: root}
}

func u32(v uint32) *uint32 { return &v }

func TestGet(t *testing.T) {
	f, c := newFake(t, tsm.ProviderSEVGuest, 0)
	in := bytes.Repeat([]byte{7}, 64)
	r, err := c.Get(tsm.Request{InBlob: in, PrivLevel: u32(2), AuxBlob: true, Provider: tsm.ProviderSEVGuest})
	if err != nil {
		t.Fatal(err)
	}
	if r.Provider != "sev_guest" || r.OutBlob[0] != 2 || !bytes.Equal(r.OutBlob[1:], in) || string(r.AuxBlob) != "aux" {
		t.Errorf("response %+v", r)
	}
	if r.Generation != 2 {
		t.Errorf("generation %d, want 2 (inblob + privlevel)", r.Generation)
	}
	if f.Entries != 1 || f.Removed != 1 {
		t.Errorf("entries %d removed %d", f.Entries, f.Removed)
	}
}

func TestNoPrivLevel(t *testing.T) {
	_, c := newFake(t, tsm.ProviderTDXGuest, -1)
	r, err := c.Get(tsm.Request{InBlob: []byte("nonce")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Generation != 1 || r.AuxBlob != nil {
		t.Errorf("%+v", r)
	}
	// Asking for a privlevel from a provider without one is a clear error.
	if _, err := c.Get(tsm.Request{InBlob: []byte("n"), PrivLevel: u32(0)}); err == nil {
		t.Error("privlevel on tdx_guest accepted")
	}
}

func TestPrivLevelFloor(t *testing.T) {
	f, c := newFake(t, tsm.ProviderSEVGuest, 2)
	_, err := c.Get(tsm.Request{InBlob: make([]byte, 64), PrivLevel: u32(0)})
	var pe *tsm.PrivLevelError
	if !errors.As(err, &pe) || pe.Floor != 2 || pe.Requested != 0 {
		t.Fatalf("err = %v, want PrivLevelError floor 2", err)
	}
	if f.Removed != f.Entries {
		t.Error("entry leaked on error")
	}
	if _, err := c.Get(tsm.Request{InBlob: make([]byte, 64), PrivLevel: u32(4)}); err == nil {
		t.Error("privlevel 4 accepted")
	}
	p, floor, err := c.Probe()
	if err != nil || p != "sev_guest" || floor != 2 {
		t.Errorf("Probe = %q %d %v", p, floor, err)
	}
}

func TestGenerationRace(t *testing.T) {
	f, c := newFake(t, tsm.ProviderSEVGuest, 0)
	f.Interfere = func(f *tsmtest.Fake, entry string) {
		if err := f.WriteFile(filepath.Join(entry, "inblob"), []byte("someone else")); err != nil {
			t.Error(err)
		}
	}
	_, err := c.Get(tsm.Request{InBlob: make([]byte, 64), PrivLevel: u32(0)})
	var ge *tsm.GenerationError
	if !errors.As(err, &ge) || ge.Want != 2 || ge.Got != 3 || ge.Attribute != "outblob" {
		t.Fatalf("err = %v, want GenerationError", err)
	}
}

func TestWrongProvider(t *testing.T) {
	_, c := newFake(t, tsm.ProviderTDXGuest, -1)
	_, err := c.Get(tsm.Request{InBlob: make([]byte, 64), Provider: tsm.ProviderSEVGuest})
	if !errors.Is(err, tsm.ErrProvider) {
		t.Fatalf("err = %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	c := tsm.Client{Root: filepath.Join(t.TempDir(), "nope")}
	if err := c.Available(); !errors.Is(err, tsm.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Get(tsm.Request{}); !errors.Is(err, tsm.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestInBlobTooLong(t *testing.T) {
	_, c := newFake(t, tsm.ProviderSEVGuest, 0)
	if _, err := c.Get(tsm.Request{InBlob: make([]byte, 65)}); err == nil {
		t.Fatal("65-byte inblob accepted")
	}
}

// TestOSPrimitives exercises the real OS implementation without a kernel
// behind it: WriteFile never creates a missing attribute, and entries are
// removed with rmdir.
func TestOSPrimitives(t *testing.T) {
	d := t.TempDir()
	p := filepath.Join(d, "attr")
	if err := (tsm.OS{}).WriteFile(p, []byte("x")); err == nil {
		t.Error("WriteFile created a missing attribute")
	}
	e, err := (tsm.OS{}).MkdirTemp(d, "e-")
	if err != nil {
		t.Fatal(err)
	}
	if err := (tsm.OS{}).Remove(e); err != nil {
		t.Fatal(err)
	}
}

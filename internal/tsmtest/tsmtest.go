// Package tsmtest is a fake configfs-tsm for tests. It keeps the entry tree
// as real files in a directory (usually t.TempDir()) and plays the kernel's
// part of the ABI (Documentation/ABI/testing/configfs-tsm): mkdir populates
// the attributes, writes bump generation, privlevel is checked against
// privlevel_floor, and reading outblob runs the provider.
//
// It is for tests only and never imported by shipped code.
package tsmtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cloudra/cloudra/platform/tsm"
)

// Fake implements [tsm.FS].
type Fake struct {
	// Root is the configfs-tsm root (the directory holding report/).
	Root string
	// Provider is written to each entry's provider attribute.
	Provider string
	// PrivLevelFloor is privlevel_floor; negative means the provider has no
	// privlevel/privlevel_floor attributes (tdx_guest).
	PrivLevelFloor int
	// Generate answers outblob/auxblob reads for the entry's inputs.
	Generate func(inblob []byte, privlevel uint32) (out, aux []byte, err error)
	// NoAuxBlob hides the auxblob attribute.
	NoAuxBlob bool
	// Interfere, when set, runs after outblob is produced and before it is
	// returned, with the entry directory: tests write to the entry from
	// there to emulate a concurrent process.
	Interfere func(f *Fake, entry string)

	// Entries counts created entries; Removed counts removed ones.
	Entries, Removed int
}

var _ tsm.FS = (*Fake)(nil)

// New creates root/report and returns a fake with provider p.
func New(root, provider string, floor int, gen func([]byte, uint32) ([]byte, []byte, error)) (*Fake, error) {
	if err := os.MkdirAll(filepath.Join(root, "report"), 0o755); err != nil {
		return nil, err
	}
	return &Fake{Root: root, Provider: provider, PrivLevelFloor: floor, Generate: gen}, nil
}

// MkdirTemp implements [tsm.FS] and populates the entry like configfs.
func (f *Fake) MkdirTemp(dir, pattern string) (string, error) {
	if filepath.Clean(dir) != filepath.Join(f.Root, "report") {
		return "", fmt.Errorf("mkdir %s: %w", dir, fs.ErrNotExist)
	}
	e, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	attrs := map[string]string{"provider": f.Provider + "\n", "generation": "0\n", "inblob": "", "outblob": ""}
	if f.PrivLevelFloor >= 0 {
		attrs["privlevel"] = ""
		attrs["privlevel_floor"] = strconv.Itoa(f.PrivLevelFloor) + "\n"
	}
	if !f.NoAuxBlob {
		attrs["auxblob"] = ""
	}
	for name, v := range attrs {
		if err := os.WriteFile(filepath.Join(e, name), []byte(v), 0o644); err != nil {
			return "", err
		}
	}
	f.Entries++
	return e, nil
}

func (f *Fake) bump(entry string) error {
	b, err := os.ReadFile(filepath.Join(entry, "generation"))
	if err != nil {
		return err
	}
	g, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(entry, "generation"), []byte(strconv.FormatUint(g+1, 10)+"\n"), 0o644)
}

// WriteFile implements [tsm.FS]: only the writable attributes, with the
// kernel's validation (EINVAL for oversized inblob or out-of-range
// privlevel), each write bumping generation.
func (f *Fake) WriteFile(name string, data []byte) error {
	entry, attr := filepath.Split(name)
	entry = filepath.Clean(entry)
	if _, err := os.Stat(name); err != nil {
		return err // attribute not visible for this provider
	}
	switch attr {
	case "inblob":
		if len(data) > tsm.MaxInBlob {
			return &fs.PathError{Op: "write", Path: name, Err: syscall.EINVAL}
		}
	case "privlevel":
		v, err := strconv.ParseUint(strings.TrimSuffix(string(data), "\n"), 10, 32)
		if err != nil || int(v) < f.PrivLevelFloor || v > tsm.MaxPrivLevel {
			return &fs.PathError{Op: "write", Path: name, Err: syscall.EINVAL}
		}
	default:
		return &fs.PathError{Op: "write", Path: name, Err: syscall.EACCES}
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return err
	}
	return f.bump(entry)
}

// Bump increments an entry's generation as a foreign write would.
func (f *Fake) Bump(entry string) error { return f.bump(entry) }

// ReadFile implements [tsm.FS]; outblob and auxblob run Generate.
func (f *Fake) ReadFile(name string) ([]byte, error) {
	entry, attr := filepath.Split(name)
	entry = filepath.Clean(entry)
	switch attr {
	case "inblob", "privlevel":
		return nil, &fs.PathError{Op: "read", Path: name, Err: syscall.EACCES}
	case "outblob", "auxblob":
		if _, err := os.Stat(name); err != nil {
			return nil, err
		}
		in, err := os.ReadFile(filepath.Join(entry, "inblob"))
		if err != nil {
			return nil, err
		}
		var lvl uint32
		if f.PrivLevelFloor >= 0 {
			lvl = uint32(f.PrivLevelFloor)
			if b, err := os.ReadFile(filepath.Join(entry, "privlevel")); err == nil && len(b) > 0 {
				v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
				if err != nil {
					return nil, err
				}
				lvl = uint32(v)
			}
		}
		if f.Generate == nil {
			return nil, errors.New("tsmtest: no Generate")
		}
		out, aux, err := f.Generate(in, lvl)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if f.Interfere != nil && attr == "outblob" {
			f.Interfere(f, entry)
		}
		if attr == "outblob" {
			return out, nil
		}
		return aux, nil
	}
	return os.ReadFile(name)
}

// Remove implements [tsm.FS].
func (f *Fake) Remove(name string) error {
	if err := os.RemoveAll(name); err != nil {
		return err
	}
	f.Removed++
	return nil
}

// Stat implements [tsm.FS].
func (f *Fake) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

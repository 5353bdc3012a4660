// Package tsm requests attestation reports through the Linux configfs-tsm
// interface (/sys/kernel/config/tsm/report), shared by the SEV-SNP and TDX
// device packages.
//
// The ABI is Documentation/ABI/testing/configfs-tsm (Linux ≥ 6.7): a report
// entry is a directory created with mkdir below report/; the kernel fills it
// with attributes. inblob (WO, ≤ 64 bytes) and privlevel (WO) are inputs;
// outblob (RO) is the report in the format named by provider (RO,
// "sev_guest" or "tdx_guest"); auxblob (RO) is supplemental data (for
// sev_guest the GHCB certificate table); privlevel_floor (RO) is the lowest
// privlevel the kernel accepts; generation (RO) counts writes to the entry.
//
// A configfs entry may be shared with another process that writes to it
// between our write and our read. The ABI's answer is generation: read it
// after creating the entry, count our own writes, and after reading outblob
// check that generation equals the count. Client.Get does exactly that and
// fails with a *GenerationError otherwise.
//
// This package does no parsing of the blobs; it only moves bytes.
package tsm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra/internal/boundedio"
)

// DefaultRoot is where configfs-tsm is mounted on Linux.
const DefaultRoot = "/sys/kernel/config/tsm"

// Providers as written by the kernel in the provider attribute.
const (
	ProviderSEVGuest = "sev_guest"
	ProviderTDXGuest = "tdx_guest"
)

// MaxInBlob is the largest inblob the ABI accepts.
const MaxInBlob = 64

// MaxPrivLevel is TSM_PRIVLEVEL_MAX (include/linux/tsm.h): SEV-SNP VMPL 3.
const MaxPrivLevel = 3

// maxBlob bounds every attribute read. The kernel caps the SNP certificate
// table at SEV_FW_BLOB_MAX_SIZE (16 KiB) and a TDX quote buffer at a few
// pages; 1 MiB leaves room without trusting the file size.
const maxBlob = 1 << 20

// FS is the file-system surface configfs-tsm needs. [OS] is the real one;
// tests substitute a fake that emulates the kernel's side of the ABI.
type FS interface {
	// MkdirTemp creates a new entry directory in dir (os.MkdirTemp
	// semantics); configfs populates it with the attributes.
	MkdirTemp(dir, pattern string) (string, error)
	// ReadFile returns an attribute's contents.
	ReadFile(name string) ([]byte, error)
	// WriteFile writes an attribute in a single write(2).
	WriteFile(name string, data []byte) error
	// Remove removes an entry directory (rmdir(2); configfs refuses to
	// unlink attributes, so RemoveAll is wrong here).
	Remove(name string) error
	// Stat reports whether a path exists.
	Stat(name string) (fs.FileInfo, error)
}

// OS is the real configfs.
type OS struct{}

// MkdirTemp implements [FS].
func (OS) MkdirTemp(dir, pattern string) (string, error) { return os.MkdirTemp(dir, pattern) }

// ReadFile implements [FS]; the read is bounded.
func (OS) ReadFile(name string) ([]byte, error) { return boundedio.ReadFile(name, maxBlob) }

// WriteFile implements [FS] with one write(2) and no O_CREATE: the kernel
// creates attributes, a missing one means the provider does not support it.
func (OS) WriteFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	n, err := f.Write(data)
	if err == nil && n != len(data) {
		err = io.ErrShortWrite
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove implements [FS].
func (OS) Remove(name string) error { return os.Remove(name) }

// Stat implements [FS].
func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// ErrUnavailable is returned when configfs-tsm is not mounted or has no
// report subsystem (kernel < 6.7, CONFIG_TSM_REPORTS off, configfs not
// mounted). Callers fall back to the platform's device node.
var ErrUnavailable = errors.New("tsm: configfs-tsm report interface not available")

// ErrProvider is wrapped when the entry's provider is not the one expected
// (a TDX guest asked for an SEV-SNP report, or the reverse).
var ErrProvider = errors.New("tsm: unexpected provider")

// GenerationError reports that an entry was written by someone else between
// our writes and our read: the outblob may answer another caller's inblob.
type GenerationError struct {
	Attribute string
	Want, Got uint64
}

func (e *GenerationError) Error() string {
	return fmt.Sprintf("tsm: generation of the report entry changed while reading %s (want %d, got %d): "+
		"another process wrote to the entry; hint: retry, and do not share configfs-tsm entries between processes",
		e.Attribute, e.Want, e.Got)
}

// PrivLevelError reports a privlevel below privlevel_floor. On SEV-SNP the
// floor is the VMPL the guest kernel runs at (its VMPCK): a VMPL-2 guest
// (Sakura Internet) cannot ask for a VMPL-0 report.
type PrivLevelError struct {
	Requested, Floor uint32
}

func (e *PrivLevelError) Error() string {
	return fmt.Sprintf("tsm: privlevel %d is below privlevel_floor %d (the guest kernel runs at privilege level %d); "+
		"hint: request privilege level %d or higher", e.Requested, e.Floor, e.Floor, e.Floor)
}

// Client requests reports from one configfs-tsm mount.
type Client struct {
	// FS defaults to [OS].
	FS FS
	// Root defaults to [DefaultRoot].
	Root string
}

func (c Client) fs() FS {
	if c.FS == nil {
		return OS{}
	}
	return c.FS
}

func (c Client) reportDir() string {
	root := c.Root
	if root == "" {
		root = DefaultRoot
	}
	return filepath.Join(root, "report")
}

// Available returns nil when the report subsystem exists, else an error
// wrapping [ErrUnavailable].
func (c Client) Available() error {
	d := c.reportDir()
	st, err := c.fs().Stat(d)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnavailable, d)
	}
	return nil
}

// Request describes one report.
type Request struct {
	// InBlob is written to inblob (at most 64 bytes; sev_guest requires
	// exactly 64).
	InBlob []byte
	// PrivLevel, when set, is written to privlevel after checking
	// privlevel_floor. Leave nil for providers without privilege levels
	// (tdx_guest has no privlevel attribute).
	PrivLevel *uint32
	// AuxBlob asks for auxblob too.
	AuxBlob bool
	// Provider, when set, is the provider the entry must name.
	Provider string
}

// Response is what the kernel returned.
type Response struct {
	Provider string
	OutBlob  []byte
	// AuxBlob is nil when not requested or empty.
	AuxBlob []byte
	// Generation is the generation value the reads were checked against.
	Generation uint64
}

// Probe creates and removes an entry to learn the provider and the
// privlevel floor (floor is -1 when the provider has no privlevel_floor).
func (c Client) Probe() (provider string, floor int, err error) {
	if err := c.Available(); err != nil {
		return "", 0, err
	}
	fsys := c.fs()
	entry, err := fsys.MkdirTemp(c.reportDir(), "cloudra-")
	if err != nil {
		return "", 0, fmt.Errorf("tsm: create report entry: %w", err)
	}
	defer fsys.Remove(entry)
	provider, err = readProvider(fsys, entry)
	if err != nil {
		return "", 0, err
	}
	floor = -1
	if b, err := fsys.ReadFile(filepath.Join(entry, "privlevel_floor")); err == nil {
		v, err := parseUint(b, 32)
		if err != nil {
			return "", 0, fmt.Errorf("tsm: privlevel_floor: %w", err)
		}
		floor = int(v)
	}
	return provider, floor, nil
}

// Get creates a fresh entry, writes the request, reads the blobs, checks
// the generation after every read, and removes the entry.
func (c Client) Get(req Request) (resp *Response, err error) {
	if len(req.InBlob) > MaxInBlob {
		return nil, fmt.Errorf("tsm: inblob is %d bytes, at most %d allowed", len(req.InBlob), MaxInBlob)
	}
	if err := c.Available(); err != nil {
		return nil, err
	}
	fsys := c.fs()
	entry, err := fsys.MkdirTemp(c.reportDir(), "cloudra-")
	if err != nil {
		return nil, fmt.Errorf("tsm: create report entry: %w", err)
	}
	defer func() {
		if rerr := fsys.Remove(entry); rerr != nil && err == nil {
			err = fmt.Errorf("tsm: remove report entry %s: %w", entry, rerr)
			resp = nil
		}
	}()
	attr := func(name string) string { return filepath.Join(entry, name) }

	provider, err := readProvider(fsys, entry)
	if err != nil {
		return nil, err
	}
	if req.Provider != "" && provider != req.Provider {
		return nil, fmt.Errorf("%w: configfs-tsm provider is %q, want %q", ErrProvider, provider, req.Provider)
	}
	gen, err := readGeneration(fsys, entry)
	if err != nil {
		return nil, err
	}
	if req.PrivLevel != nil {
		lvl := *req.PrivLevel
		if lvl > MaxPrivLevel {
			return nil, fmt.Errorf("tsm: privlevel %d above the maximum %d", lvl, MaxPrivLevel)
		}
		b, err := fsys.ReadFile(attr("privlevel_floor"))
		if err != nil {
			return nil, fmt.Errorf("tsm: provider %q has no privlevel_floor: %w", provider, err)
		}
		floor, err := parseUint(b, 32)
		if err != nil {
			return nil, fmt.Errorf("tsm: privlevel_floor: %w", err)
		}
		if uint64(lvl) < floor {
			return nil, &PrivLevelError{Requested: lvl, Floor: uint32(floor)}
		}
	}

	// Writes: each increments generation by one.
	if err := fsys.WriteFile(attr("inblob"), req.InBlob); err != nil {
		return nil, fmt.Errorf("tsm: write inblob: %w", err)
	}
	gen++
	if req.PrivLevel != nil {
		if err := fsys.WriteFile(attr("privlevel"), []byte(strconv.FormatUint(uint64(*req.PrivLevel), 10))); err != nil {
			return nil, fmt.Errorf("tsm: write privlevel: %w", err)
		}
		gen++
	}

	read := func(name string) ([]byte, error) {
		b, err := fsys.ReadFile(attr(name))
		if err != nil {
			return nil, fmt.Errorf("tsm: read %s: %w", name, err)
		}
		got, err := readGeneration(fsys, entry)
		if err != nil {
			return nil, err
		}
		if got != gen {
			return nil, &GenerationError{Attribute: name, Want: gen, Got: got}
		}
		return b, nil
	}
	out, err := read("outblob")
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tsm: provider %q returned an empty outblob", provider)
	}
	resp = &Response{Provider: provider, OutBlob: out, Generation: gen}
	if req.AuxBlob {
		aux, err := read("auxblob")
		if err != nil {
			return nil, err
		}
		if len(aux) > 0 {
			resp.AuxBlob = aux
		}
	}
	return resp, nil
}

func readProvider(fsys FS, entry string) (string, error) {
	b, err := fsys.ReadFile(filepath.Join(entry, "provider"))
	if err != nil {
		return "", fmt.Errorf("tsm: read provider: %w", err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

func readGeneration(fsys FS, entry string) (uint64, error) {
	b, err := fsys.ReadFile(filepath.Join(entry, "generation"))
	if err != nil {
		return 0, fmt.Errorf("tsm: read generation: %w", err)
	}
	v, err := parseUint(b, 64)
	if err != nil {
		return 0, fmt.Errorf("tsm: generation: %w", err)
	}
	return v, nil
}

// parseUint follows the kernel's kstrtouint grammar: decimal, one optional
// trailing newline.
func parseUint(b []byte, bits int) (uint64, error) {
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	return strconv.ParseUint(s, 10, bits)
}

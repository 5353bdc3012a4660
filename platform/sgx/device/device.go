// Package device collects SGX quotes from inside an enclave run by Gramine,
// through its /dev/attestation pseudo-filesystem (Gramine documentation,
// "Attestation": attestation_type, user_report_data, quote).
//
// Flow: write the 64-byte REPORT_DATA to user_report_data, read quote. The
// files are per-enclave state, not per-open: two threads of one enclave
// interleaving write and read get each other's quotes, so a [Provider]
// serialises its own calls, and callers should share one Provider.
//
// Native SGX SDK enclaves (Azure DCsv3 with Humane-RAFW-MAA) obtain
// quotes through the AESM/QE3 libraries inside the application; cloudra
// takes such quotes as files (cloudra verify) instead.
package device

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cloudra/cloudra/internal/boundedio"
)

// DefaultRoot is Gramine's attestation pseudo-filesystem.
const DefaultRoot = "/dev/attestation"

// Interface is reported in [Raw.Interface].
const Interface = "gramine:/dev/attestation"

// Raw is the collected evidence.
type Raw struct {
	// Quote is the DCAP quote v3 as Gramine returned it.
	Quote []byte
	// AttestationType is Gramine's attestation_type ("dcap").
	AttestationType string
	Interface       string
}

// Provider produces SGX quotes.
type Provider interface {
	Report(reportData [64]byte) (*Raw, error)
}

// Options configures the interface.
type Options struct {
	// Root is the /dev/attestation directory; tests point it at a fake tree.
	Root string
}

// ErrNoInterface is returned outside a Gramine SGX enclave.
var ErrNoInterface = errors.New("sgx/device: no /dev/attestation (not running inside a Gramine SGX enclave)")

// maxQuote bounds the quote read (a DCAP quote with its PCK chain is ~5 KiB).
const maxQuote = 1 << 20

// Open checks that Gramine offers DCAP attestation.
func Open(opts Options) (Provider, error) {
	root := opts.Root
	if root == "" {
		root = DefaultRoot
	}
	b, err := boundedio.ReadFile(filepath.Join(root, "attestation_type"), 64)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrNoInterface, err)
		}
		return nil, fmt.Errorf("sgx/device: read attestation_type: %w", err)
	}
	typ := strings.TrimSpace(string(b))
	switch typ {
	case "dcap":
	case "none":
		return nil, errors.New(`sgx/device: Gramine attestation_type is "none"; hint: set sgx.remote_attestation = "dcap" in the manifest`)
	case "epid":
		return nil, errors.New(`sgx/device: Gramine attestation_type is "epid"; EPID attestation is retired, hint: use sgx.remote_attestation = "dcap"`)
	default:
		return nil, fmt.Errorf("sgx/device: unknown Gramine attestation_type %q", typ)
	}
	return &provider{root: root, typ: typ}, nil
}

type provider struct {
	mu   sync.Mutex
	root string
	typ  string
}

// SGX quote v3 layout (Intel ECDSA Quote Library API and TDX DCAP Quoting Library API): 48-byte header, 384-byte report
// body with REPORT_DATA at body offset 320.
const (
	quoteHeaderSize = 48
	offReportData   = quoteHeaderSize + 320
)

func (p *provider) Report(reportData [64]byte) (*Raw, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(p.root, "user_report_data"), os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("sgx/device: open user_report_data: %w", err)
	}
	n, err := f.Write(reportData[:])
	if err == nil && n != len(reportData) {
		err = io.ErrShortWrite
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("sgx/device: write user_report_data: %w", err)
	}
	q, err := boundedio.ReadFile(filepath.Join(p.root, "quote"), maxQuote)
	if err != nil {
		return nil, fmt.Errorf("sgx/device: read quote: %w (hint: the host needs a running AESM/QE3 and PCCS access)", err)
	}
	if len(q) < offReportData+64 {
		return nil, fmt.Errorf("sgx/device: quote is %d bytes, too short", len(q))
	}
	if v := binary.LittleEndian.Uint16(q); v != 3 {
		return nil, fmt.Errorf("sgx/device: quote version %d, want 3", v)
	}
	if !bytes.Equal(q[offReportData:offReportData+64], reportData[:]) {
		return nil, errors.New("sgx/device: quote carries other REPORT_DATA than requested (another thread of the enclave may have written user_report_data)")
	}
	return &Raw{Quote: q, AttestationType: p.typ, Interface: Interface}, nil
}

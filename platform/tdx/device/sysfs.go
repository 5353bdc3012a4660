package device

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cloudra/cloudra/internal/boundedio"
)

// SysOptions locates sysfs; tests point Root at a fake tree.
type SysOptions struct {
	// Root is prepended to every sysfs path; default "/".
	Root string
}

func (o SysOptions) path(p string) string {
	if o.Root == "" {
		return p
	}
	return filepath.Join(o.Root, p)
}

// CCEL locations: the ACPI table (signature "CCEL", header + log area
// address and length) and the event log it points to, which the kernel
// exposes below tables/data/ (drivers/acpi/sysfs.c, CCEL data support).
const (
	ccelTablePath = "/sys/firmware/acpi/tables/CCEL"
	ccelDataPath  = "/sys/firmware/acpi/tables/data/CCEL"
)

// maxCCEL bounds each read (the CCEL log area is 64 KiB on common TDVFs;
// 16 MiB is cloudra.MaxArtifactSize).
const maxCCEL = 16 << 20

// CCEL is the Confidential Computing Event Log as the guest sees it.
type CCEL struct {
	// Table is the raw ACPI CCEL table.
	Table []byte
	// Log is the raw event log (TCG2 crypto-agile format, RTMR-indexed),
	// including unused trailing space as exposed by the kernel.
	Log []byte
}

// ErrNoCCEL is returned when the firmware offers no CCEL (Azure TDX).
var ErrNoCCEL = errors.New("tdx/device: no CCEL table (the firmware does not offer an event log; Azure TDX never does)")

// ReadCCEL reads the CCEL table and its event log. A missing table wraps
// ErrNoCCEL; a table without the data file returns the table and an error.
func ReadCCEL(o SysOptions) (*CCEL, error) {
	t, err := boundedio.ReadFile(o.path(ccelTablePath), maxCCEL)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrNoCCEL, err)
		}
		return nil, fmt.Errorf("tdx/device: read CCEL table: %w", err)
	}
	if len(t) < 4 || string(t[:4]) != "CCEL" {
		return nil, fmt.Errorf("tdx/device: %s does not start with the ACPI signature CCEL", ccelTablePath)
	}
	l, err := boundedio.ReadFile(o.path(ccelDataPath), maxCCEL)
	if err != nil {
		return &CCEL{Table: t}, fmt.Errorf("tdx/device: read CCEL event log: %w (hint: the kernel may not export ACPI table data)", err)
	}
	return &CCEL{Table: t, Log: l}, nil
}

// RTMR sysfs (Documentation/ABI/testing/sysfs-devices-virtual-misc-tdx_guest,
// Linux ≥ 6.16): rtmr[0-3]:sha384 read the current value; a write of exactly
// 48 bytes at offset 0 extends the register (RTMR = SHA-384(RTMR ‖ data)).
const rtmrPath = "/sys/devices/virtual/misc/tdx_guest/measurements/rtmr%d:sha384"

// RTMRSize is the size of an RTMR and of an extend value.
const RTMRSize = 48

// ErrNoRTMRSysfs is wrapped when the kernel has no measurement sysfs.
var ErrNoRTMRSysfs = errors.New("tdx/device: no RTMR sysfs (needs Linux ≥ 6.16 with the tdx_guest driver)")

func rtmrFile(o SysOptions, index int) (string, error) {
	if index < 0 || index > 3 {
		return "", fmt.Errorf("tdx/device: RTMR index %d out of range 0..3", index)
	}
	return o.path(fmt.Sprintf(rtmrPath, index)), nil
}

// ReadRTMR returns the current value of RTMR[index].
func ReadRTMR(o SysOptions, index int) ([RTMRSize]byte, error) {
	var v [RTMRSize]byte
	p, err := rtmrFile(o, index)
	if err != nil {
		return v, err
	}
	b, err := boundedio.ReadFile(p, RTMRSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return v, fmt.Errorf("%w: %v", ErrNoRTMRSysfs, err)
		}
		return v, fmt.Errorf("tdx/device: read RTMR%d: %w", index, err)
	}
	if len(b) != RTMRSize {
		return v, fmt.Errorf("tdx/device: RTMR%d is %d bytes, want %d", index, len(b), RTMRSize)
	}
	copy(v[:], b)
	return v, nil
}

// ExtendRTMR extends RTMR[index] with a 48-byte digest, in one write at
// offset 0 (partial writes fail with EINVAL). RTMR 0 and 1 are normally
// owned by firmware and boot loader; extending them breaks a replay of the
// CCEL, so callers should use 2 or 3 and log the event they measured.
func ExtendRTMR(o SysOptions, index int, digest [RTMRSize]byte) error {
	p, err := rtmrFile(o, index)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %v", ErrNoRTMRSysfs, err)
		}
		return fmt.Errorf("tdx/device: extend RTMR%d: %w", index, err)
	}
	n, err := f.WriteAt(digest[:], 0)
	if err == nil && n != RTMRSize {
		err = io.ErrShortWrite
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("tdx/device: extend RTMR%d: %w", index, err)
	}
	return nil
}

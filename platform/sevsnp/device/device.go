// Package device collects SEV-SNP attestation reports inside a guest.
//
// Two kernel interfaces exist, tried in this order by [Open]:
//
//  1. configfs-tsm (Linux ≥ 6.7, /sys/kernel/config/tsm/report, provider
//     "sev_guest"): privlevel is the VMPL, privlevel_floor the lowest VMPL the
//     guest may ask for, auxblob the extended-report certificate table; see
//     package [github.com/cloudra/cloudra/platform/tsm].
//  2. /dev/sev-guest (Linux ≥ 5.19): SNP_GET_EXT_REPORT when extended
//     evidence is wanted, else SNP_GET_REPORT (include/uapi/linux/sev-guest.h).
//
// The package returns raw bytes only; parsing and verification live in
// package sevsnp. Azure exposes no /dev/sev-guest (its report comes from the
// vTPM, platform/azure).
package device

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/cloudra/cloudra/internal/guestdev"
	"github.com/cloudra/cloudra/platform/tsm"
)

// Interface names reported in [Raw.Interface].
const (
	InterfaceTSM    = "configfs-tsm"
	InterfaceDevice = "/dev/sev-guest"
)

// DefaultDevicePath is the sev-guest misc device.
const DefaultDevicePath = "/dev/sev-guest"

// ReportSize is the size of ATTESTATION_REPORT (versions 2–5).
const ReportSize = 0x4A0

// Report offsets checked at collection time (SEV-SNP ABI spec, Table 22).
const (
	offVMPL       = 0x30
	offReportData = 0x50
)

// Raw is what the guest collected, unparsed.
type Raw struct {
	// Report is the ATTESTATION_REPORT as the firmware produced it.
	Report []byte
	// CertTable is the GHCB extended-report certificate table (nil for a
	// standard report or when the host supplied none). It comes from the
	// host and is untrusted.
	CertTable []byte
	// Interface is InterfaceTSM or InterfaceDevice (or "simulated").
	Interface string
}

// Provider produces SEV-SNP reports.
type Provider interface {
	// Report asks the firmware for a report carrying reportData at the
	// given VMPL. The VMPL must be at or above the guest's own (privlevel
	// floor); the report states the VMPL asked for.
	Report(reportData [64]byte, vmpl uint32) (*Raw, error)
}

// Options selects and configures the interface.
type Options struct {
	// TSMRoot is the configfs-tsm root; default tsm.DefaultRoot.
	TSMRoot string
	// DevicePath is the sev-guest device; default DefaultDevicePath.
	DevicePath string
	// Extended asks for the host's certificate table too.
	Extended bool
	// Interface forces one interface (InterfaceTSM or InterfaceDevice);
	// empty tries configfs-tsm then the device.
	Interface string

	// TSM replaces the configfs file system (tests); nil is the real one.
	TSM tsm.FS
	// OpenDevice replaces the device opener (tests); nil is [OpenDevice].
	OpenDevice func(path string) (Device, error)
}

// ErrUnsupportedOS is returned off Linux.
var ErrUnsupportedOS = errors.New("sevsnp/device: SEV-SNP guest interfaces are only available on Linux")

// ErrNoInterface is returned when neither interface is present.
var ErrNoInterface = errors.New("sevsnp/device: no SEV-SNP guest interface")

// Open returns a provider on the first interface present.
func Open(opts Options) (Provider, error) {
	open := opts.OpenDevice
	if open == nil {
		open = OpenDevice
	}
	p := guestdev.Platform{
		Pkg:         "sevsnp/device",
		Provider:    tsm.ProviderSEVGuest,
		NotGuest:    "this guest is not an SEV-SNP guest",
		TSM:         InterfaceTSM,
		Device:      InterfaceDevice,
		DevicePath:  DefaultDevicePath,
		DeviceHint:  "run inside an SEV-SNP guest with the sev-guest driver loaded (modprobe sev-guest) and as root",
		NoInterface: ErrNoInterface,
		Unsupported: ErrUnsupportedOS,
	}
	c := tsm.Client{FS: opts.TSM, Root: opts.TSMRoot}
	ch, err := guestdev.Open(p, c, opts.Interface, opts.DevicePath, open)
	switch {
	case err != nil:
		return nil, err
	case ch.TSM:
		return &tsmProvider{c: c, floor: ch.Floor, extended: opts.Extended}, nil
	}
	return &devProvider{path: ch.Path, open: open, extended: opts.Extended}, nil
}

// tsmProvider uses configfs-tsm.
type tsmProvider struct {
	c        tsm.Client
	floor    int
	extended bool
}

func (p *tsmProvider) Report(reportData [64]byte, vmpl uint32) (*Raw, error) {
	if p.floor >= 0 && int64(vmpl) < int64(p.floor) {
		return nil, fmt.Errorf("sevsnp/device: %w", &tsm.PrivLevelError{Requested: vmpl, Floor: uint32(p.floor)})
	}
	r, err := p.c.Get(tsm.Request{
		InBlob:    reportData[:],
		PrivLevel: &vmpl,
		AuxBlob:   p.extended,
		Provider:  tsm.ProviderSEVGuest,
	})
	if err != nil {
		return nil, fmt.Errorf("sevsnp/device: %w", err)
	}
	if err := checkReport(r.OutBlob, reportData, vmpl); err != nil {
		return nil, err
	}
	return &Raw{Report: r.OutBlob, CertTable: r.AuxBlob, Interface: InterfaceTSM}, nil
}

// devProvider uses /dev/sev-guest, opening it per request.
type devProvider struct {
	path     string
	open     func(string) (Device, error)
	extended bool
}

// maxGrow bounds the certificate-buffer retries.
const maxGrow = 3

func (p *devProvider) Report(reportData [64]byte, vmpl uint32) (*Raw, error) {
	return guestdev.Use("sevsnp/device", p.path, p.open, func(d Device) (*Raw, error) {
		return p.report(d, reportData, vmpl)
	})
}

// report asks the open device d for a report (SNP_GET_REPORT, or
// SNP_GET_EXT_REPORT when extended evidence is wanted).
func (p *devProvider) report(d Device, reportData [64]byte, vmpl uint32) (*Raw, error) {
	var resp ReportResp
	req := ReportReq{UserData: reportData, VMPL: vmpl}
	if !p.extended {
		ei, err := d.GetReport(&req, &resp)
		if err != nil {
			return nil, ioctlError("SNP_GET_REPORT", ei, err)
		}
		rep, err := decodeResp(&resp, vmpl)
		if err != nil {
			return nil, err
		}
		if err := checkReport(rep, reportData, vmpl); err != nil {
			return nil, err
		}
		return &Raw{Report: rep, Interface: InterfaceDevice}, nil
	}

	// Two pages hold VCEK+ASK+ARK (≈ 5 KiB); the kernel caps the buffer at
	// SEV_FW_BLOB_MAX_SIZE (16 KiB) and tells us when it needs more.
	n := uint32(2 * pageSize)
	for attempt := 0; ; attempt++ {
		certs := make([]byte, n)
		ext := ExtReportReq{Data: req, CertsLen: n}
		ei, err := d.GetExtReport(&ext, &resp, certs)
		if err != nil {
			if ei.VMMError() == VMMErrInvalidLen && (errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENOSPC)) {
				need := ext.CertsLen
				if attempt >= maxGrow || need <= n || need > maxCertsLen || need%pageSize != 0 {
					return nil, fmt.Errorf("sevsnp/device: SNP_GET_EXT_REPORT: host asks for a %d-byte certificate buffer "+
						"(had %d, attempt %d): refusing", need, n, attempt+1)
				}
				n = need
				continue
			}
			return nil, ioctlError("SNP_GET_EXT_REPORT", ei, err)
		}
		rep, err := decodeResp(&resp, vmpl)
		if err != nil {
			return nil, err
		}
		if err := checkReport(rep, reportData, vmpl); err != nil {
			return nil, err
		}
		return &Raw{Report: rep, CertTable: TrimCertTable(certs), Interface: InterfaceDevice}, nil
	}
}

func ioctlError(name string, ei ExitInfo, err error) error {
	hint := ""
	if errors.Is(err, syscall.EIO) {
		hint = "; hint: the kernel disables the VMPCK after a failed guest request, a reboot may be needed"
	}
	if errors.Is(err, syscall.ENOTTY) {
		hint = "; hint: the kernel or host does not support this request"
	}
	return fmt.Errorf("sevsnp/device: %s: %w (%v)%s", name, err, ei, hint)
}

// Firmware status codes in MSG_REPORT_RSP (psp-sev.h).
const (
	statusInvalidParam = 0x16 // SEV_RET_INVALID_PARAM
	statusInvalidKey   = 0x27 // SEV_RET_INVALID_KEY
)

// decodeResp reads MSG_REPORT_RSP: u32 status, u32 report_size, 24
// reserved bytes, report.
func decodeResp(resp *ReportResp, vmpl uint32) ([]byte, error) {
	d := resp.Data[:]
	status := binary.LittleEndian.Uint32(d[0:4])
	size := binary.LittleEndian.Uint32(d[4:8])
	switch status {
	case 0:
	case statusInvalidParam:
		return nil, fmt.Errorf("sevsnp/device: firmware rejected the request (INVALID_PARAM, status 0x%x); "+
			"hint: VMPL %d may be below the guest's own VMPL (Sakura Internet guests run at VMPL 2)", status, vmpl)
	case statusInvalidKey:
		return nil, fmt.Errorf("sevsnp/device: firmware rejected the request (INVALID_KEY, status 0x%x)", status)
	default:
		return nil, fmt.Errorf("sevsnp/device: firmware status 0x%x", status)
	}
	if uint64(size) > uint64(len(d)-32) || size < ReportSize {
		return nil, fmt.Errorf("sevsnp/device: firmware report_size %d out of range [%d, %d]", size, ReportSize, len(d)-32)
	}
	return bytes.Clone(d[32 : 32+size]), nil
}

// checkReport catches a report answering another request before it is
// stored as evidence. The verifier checks these again.
func checkReport(rep []byte, reportData [64]byte, vmpl uint32) error {
	if len(rep) < ReportSize {
		return fmt.Errorf("sevsnp/device: report is %d bytes, want %d", len(rep), ReportSize)
	}
	if !bytes.Equal(rep[offReportData:offReportData+64], reportData[:]) {
		return errors.New("sevsnp/device: report carries other REPORT_DATA than requested")
	}
	if got := binary.LittleEndian.Uint32(rep[offVMPL:]); got != vmpl {
		return fmt.Errorf("sevsnp/device: report states VMPL %d, requested %d", got, vmpl)
	}
	return nil
}

// certEntrySize is one GHCB certificate-table entry: GUID ‖ u32 offset ‖
// u32 length.
const certEntrySize = 24

// TrimCertTable cuts a certificate buffer to the bytes the table uses, the
// way the kernel does for configfs-tsm's auxblob (sev-guest.c
// sev_report_new): up to the largest offset+length before the all-zero
// terminator. It returns nil for an empty table. Out-of-range entries are
// left for the parser to reject; the buffer is only shortened, never
// extended.
func TrimCertTable(buf []byte) []byte {
	var end uint64
	i := 0
	for ; (i+1)*certEntrySize <= len(buf); i++ {
		e := buf[i*certEntrySize : (i+1)*certEntrySize]
		if allZero(e) {
			break
		}
		off := uint64(binary.LittleEndian.Uint32(e[16:20]))
		n := uint64(binary.LittleEndian.Uint32(e[20:24]))
		end = max(end, off+n)
	}
	if end == 0 {
		return nil
	}
	end = max(end, uint64(i+1)*certEntrySize) // keep the terminator
	if end > uint64(len(buf)) {
		end = uint64(len(buf))
	}
	return bytes.Clone(buf[:end])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

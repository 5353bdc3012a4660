// Package device collects TDX evidence inside a trust domain.
//
// Interfaces, tried in this order by [Open]:
//
//  1. configfs-tsm (Linux ≥ 6.7, provider "tdx_guest"): outblob is a DCAP
//     quote (v4 or v5) produced by the host's quoting service through the
//     GetQuote TDVMCALL; see package [github.com/cloudra/cloudra/platform/tsm].
//  2. /dev/tdx_guest (Linux ≥ 6.2) TDX_CMD_GET_REPORT0
//     (include/uapi/linux/tdx-guest.h): a TDREPORT only. A TDREPORT is MACed
//     for the local platform, not signed: turning it into a quote needs the
//     host's Quote Generation Service (QGS, over vsock or the GetQuote
//     TDVMCALL), which this package does not implement.
//
// Also here: the CCEL ACPI table and event log ([ReadCCEL]) and RTMR
// read/extend through the sysfs measurement registers of Linux ≥ 6.16
// ([ReadRTMR], [ExtendRTMR]). The TDX_CMD_EXTEND_RTMR ioctl found in some
// vendor trees is not in the mainline header and is not used.
//
// Azure TDX exposes neither interface to the guest (its TDREPORT comes from
// the vTPM and the quote from IMDS; platform/azure).
package device

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra/internal/guestdev"
	"github.com/cloudra/cloudra/platform/tsm"
)

// Interface names reported in [Raw.Interface].
const (
	InterfaceTSM    = "configfs-tsm"
	InterfaceDevice = "/dev/tdx_guest"
)

// DefaultDevicePath is the tdx_guest misc device.
const DefaultDevicePath = "/dev/tdx_guest"

// Sizes from include/uapi/linux/tdx-guest.h.
const (
	ReportDataSize = 64   // TDX_REPORTDATA_LEN
	TDReportSize   = 1024 // TDX_REPORT_LEN
)

// offTDReportData is REPORTDATA inside TDREPORT_STRUCT (REPORTMACSTRUCT at
// 0, its REPORTDATA at 128; drivers/virt/coco/tdx-guest TDREPORT_reportdata).
const offTDReportData = 128

// Raw is the collected evidence, unparsed.
type Raw struct {
	// Quote is the DCAP quote (configfs-tsm); nil on the TDREPORT path.
	Quote []byte
	// TDReport is the TDREPORT_STRUCT (/dev/tdx_guest); nil on the quote path.
	TDReport []byte
	// Interface is InterfaceTSM or InterfaceDevice.
	Interface string
}

// Provider produces TDX evidence for a REPORT_DATA.
type Provider interface {
	Report(reportData [64]byte) (*Raw, error)
}

// Options selects and configures the interface.
type Options struct {
	// TSMRoot is the configfs-tsm root; default tsm.DefaultRoot.
	TSMRoot string
	// DevicePath is the tdx_guest device; default DefaultDevicePath.
	DevicePath string
	// Interface forces InterfaceTSM or InterfaceDevice; empty tries both.
	Interface string

	// TSM replaces the configfs file system (tests).
	TSM tsm.FS
	// OpenDevice replaces the device opener (tests); nil is [OpenDevice].
	OpenDevice func(path string) (Device, error)
}

// ReportReq is struct tdx_report_req (1088 bytes).
type ReportReq struct {
	ReportData [ReportDataSize]byte
	TDReport   [TDReportSize]byte
}

// ioctlGetReport0 is TDX_CMD_GET_REPORT0 = _IOWR('T', 1, struct
// tdx_report_req) = 3<<30 | 1088<<16 | 'T'<<8 | 1.
const ioctlGetReport0 = 0xC4405401

// Device is one open /dev/tdx_guest.
type Device interface {
	// GetReport0 issues TDX_CMD_GET_REPORT0: the kernel reads
	// req.ReportData and fills req.TDReport.
	GetReport0(req *ReportReq) error
	Close() error
}

// ErrUnsupportedOS is returned off Linux.
var ErrUnsupportedOS = errors.New("tdx/device: TDX guest interfaces are only available on Linux")

// ErrNoInterface is returned when neither interface is present.
var ErrNoInterface = errors.New("tdx/device: no TDX guest interface")

// Open returns a provider on the first interface present.
func Open(opts Options) (Provider, error) {
	open := opts.OpenDevice
	if open == nil {
		open = OpenDevice
	}
	p := guestdev.Platform{
		Pkg:         "tdx/device",
		Provider:    tsm.ProviderTDXGuest,
		NotGuest:    "this guest is not a TDX guest",
		TSM:         InterfaceTSM,
		Device:      InterfaceDevice,
		DevicePath:  DefaultDevicePath,
		DeviceHint:  "run inside a TDX guest with the tdx_guest driver, as root",
		NoInterface: ErrNoInterface,
		Unsupported: ErrUnsupportedOS,
	}
	c := tsm.Client{FS: opts.TSM, Root: opts.TSMRoot}
	ch, err := guestdev.Open(p, c, opts.Interface, opts.DevicePath, open)
	switch {
	case err != nil:
		return nil, err
	case ch.TSM:
		return &tsmProvider{c: c}, nil
	}
	return &devProvider{path: ch.Path, open: open}, nil
}

type tsmProvider struct{ c tsm.Client }

func (p *tsmProvider) Report(reportData [64]byte) (*Raw, error) {
	r, err := p.c.Get(tsm.Request{InBlob: reportData[:], Provider: tsm.ProviderTDXGuest})
	if err != nil {
		return nil, fmt.Errorf("tdx/device: %w (hint: configfs-tsm quotes need the host's quote generation service)", err)
	}
	if err := checkQuote(r.OutBlob, reportData); err != nil {
		return nil, err
	}
	return &Raw{Quote: r.OutBlob, Interface: InterfaceTSM}, nil
}

type devProvider struct {
	path string
	open func(string) (Device, error)
}

func (p *devProvider) Report(reportData [64]byte) (*Raw, error) {
	return guestdev.Use("tdx/device", p.path, p.open, func(d Device) (*Raw, error) {
		return report(d, reportData)
	})
}

// report asks the open device d for a TDREPORT (TDX_CMD_GET_REPORT0).
func report(d Device, reportData [64]byte) (*Raw, error) {
	req := &ReportReq{ReportData: reportData}
	if err := d.GetReport0(req); err != nil {
		return nil, fmt.Errorf("tdx/device: TDX_CMD_GET_REPORT0: %w", err)
	}
	if !bytes.Equal(req.TDReport[offTDReportData:offTDReportData+ReportDataSize], reportData[:]) {
		return nil, errors.New("tdx/device: TDREPORT carries other REPORTDATA than requested")
	}
	return &Raw{TDReport: bytes.Clone(req.TDReport[:]), Interface: InterfaceDevice}, nil
}

// Quote layout facts used by the collection-time check (Intel ECDSA Quote Library API and TDX DCAP Quoting Library API):
// 48-byte header, TEE type 0x81 at 4; v4 body at 0x30 with REPORT_DATA at
// body offset 520; v5 has a 6-byte body descriptor (type u16, size u32)
// before the body.
const (
	quoteHeaderSize = 48
	teeTypeTDX      = 0x81
	bodyReportData  = 520
)

// checkQuote catches a quote answering another request before it becomes
// evidence; the verifier checks it again.
func checkQuote(q []byte, reportData [64]byte) error {
	if len(q) < quoteHeaderSize {
		return fmt.Errorf("tdx/device: quote is %d bytes", len(q))
	}
	ver := binary.LittleEndian.Uint16(q[0:])
	if tee := binary.LittleEndian.Uint32(q[4:]); tee != teeTypeTDX {
		return fmt.Errorf("tdx/device: quote TEE type 0x%x, want 0x%x (TDX)", tee, teeTypeTDX)
	}
	var off int
	switch ver {
	case 4:
		off = quoteHeaderSize + bodyReportData
	case 5:
		off = quoteHeaderSize + 6 + bodyReportData
	default:
		return fmt.Errorf("tdx/device: quote version %d, want 4 or 5", ver)
	}
	if len(q) < off+ReportDataSize {
		return fmt.Errorf("tdx/device: quote is %d bytes, too short for REPORT_DATA", len(q))
	}
	if !bytes.Equal(q[off:off+ReportDataSize], reportData[:]) {
		return errors.New("tdx/device: quote carries other REPORT_DATA than requested")
	}
	return nil
}

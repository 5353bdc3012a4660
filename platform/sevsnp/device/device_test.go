package device

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cloudra/cloudra/internal/tsmtest"
	"github.com/cloudra/cloudra/platform/tsm"
)

// fakeReport builds a report-shaped buffer with REPORT_DATA and VMPL set.
func fakeReport(rd []byte, vmpl uint32) []byte {
	r := make([]byte, ReportSize)
	binary.LittleEndian.PutUint32(r[0:], 3)
	binary.LittleEndian.PutUint32(r[offVMPL:], vmpl)
	copy(r[offReportData:], rd)
	return r
}

// fakeCertTable is a table with one entry and 3000 bytes of "certificate".
func fakeCertTable() []byte {
	t := make([]byte, 48+3000)
	copy(t[0:16], []byte{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd})
	binary.LittleEndian.PutUint32(t[16:], 48)
	binary.LittleEndian.PutUint32(t[20:], 3000)
	for i := 48; i < len(t); i++ {
		t[i] = byte(i)
	}
	return t
}

// fakeKernel plays sev-guest.c: it reads the request structs the way
// get_report/get_ext_report do and fills the response.
type fakeKernel struct {
	guestVMPL uint32 // VMPCK in use; lower VMPLs are refused by the firmware
	certs     []byte // host's certificate table (GHCB), nil = none
	noExt     bool   // host without extended guest requests
	opens     int
	closes    int
	calls     []string
	lastReq   ReportReq
}

type fakeDev struct{ k *fakeKernel }

func (k *fakeKernel) open(path string) (Device, error) {
	k.opens++
	return fakeDev{k}, nil
}

func (d fakeDev) Close() error { d.k.closes++; return nil }

func (k *fakeKernel) firmware(req *ReportReq, resp *ReportResp) {
	k.lastReq = *req
	*resp = ReportResp{}
	if req.VMPL < k.guestVMPL || req.VMPL > 3 || !allZero(req.Rsvd[:]) {
		binary.LittleEndian.PutUint32(resp.Data[0:], statusInvalidParam)
		return
	}
	binary.LittleEndian.PutUint32(resp.Data[4:], ReportSize)
	copy(resp.Data[32:], fakeReport(req.UserData[:], req.VMPL))
}

func (d fakeDev) GetReport(req *ReportReq, resp *ReportResp) (ExitInfo, error) {
	d.k.calls = append(d.k.calls, "report")
	d.k.firmware(req, resp)
	return 0, nil
}

func (d fakeDev) GetExtReport(req *ExtReportReq, resp *ReportResp, certs []byte) (ExitInfo, error) {
	k := d.k
	k.calls = append(k.calls, "ext")
	if k.noExt {
		return 0, syscall.ENOTTY
	}
	if int(req.CertsLen) != len(certs) {
		return 0, syscall.EFAULT
	}
	if req.CertsLen != 0 && (req.CertsLen > 0x4000 || req.CertsLen%pageSize != 0) {
		return 0, syscall.EINVAL
	}
	if len(k.certs) > len(certs) {
		// __handle_guest_request: retry without certs, report -EIO with
		// SNP_GUEST_VMM_ERR_INVALID_LEN, and copy the needed length back.
		need := (len(k.certs) + pageSize - 1) / pageSize * pageSize
		req.CertsLen = uint32(need)
		return ExitInfo(uint64(VMMErrInvalidLen) << 32), syscall.EIO
	}
	clear(certs)
	copy(certs, k.certs)
	k.firmware(&req.Data, resp)
	return 0, nil
}

func noTSM(t *testing.T) string { return filepath.Join(t.TempDir(), "no-configfs") }

func TestDeviceStandard(t *testing.T) {
	k := &fakeKernel{}
	p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open})
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], "nonce")
	raw, err := p.Report(rd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Interface != InterfaceDevice || raw.CertTable != nil || len(raw.Report) != ReportSize {
		t.Errorf("raw = %s %d %d", raw.Interface, len(raw.CertTable), len(raw.Report))
	}
	if !bytes.Equal(raw.Report[0x50:0x90], rd[:]) {
		t.Error("report data not carried")
	}
	if k.opens != k.closes || k.opens != 2 {
		t.Errorf("opens %d closes %d", k.opens, k.closes)
	}
	if k.calls[0] != "report" {
		t.Errorf("calls %v", k.calls)
	}
}

func TestDeviceExtendedGrows(t *testing.T) {
	big := make([]byte, 0, 12000)
	big = append(big, fakeCertTable()...)
	big = append(big, make([]byte, 12000-len(big))...) // host needs 3 pages
	k := &fakeKernel{certs: big}
	p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open, Extended: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Report([64]byte{1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.calls) != 2 {
		t.Errorf("calls %v, want a retry with a larger buffer", k.calls)
	}
	if !bytes.Equal(raw.CertTable, fakeCertTable()) {
		t.Errorf("cert table %d bytes, want trimmed %d", len(raw.CertTable), len(fakeCertTable()))
	}
}

func TestDeviceExtendedNoCerts(t *testing.T) {
	k := &fakeKernel{}
	p, _ := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open, Extended: true})
	raw, err := p.Report([64]byte{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if raw.CertTable != nil {
		t.Errorf("cert table %x", raw.CertTable)
	}
}

func TestDeviceExtendedUnsupported(t *testing.T) {
	k := &fakeKernel{noExt: true}
	p, _ := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open, Extended: true})
	_, err := p.Report([64]byte{}, 0)
	if !errors.Is(err, syscall.ENOTTY) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeviceVMPLBelowGuest(t *testing.T) {
	k := &fakeKernel{guestVMPL: 2} // Sakura Internet
	p, _ := Open(Options{TSMRoot: noTSM(t), OpenDevice: k.open})
	if _, err := p.Report([64]byte{}, 0); err == nil {
		t.Fatal("VMPL 0 from a VMPL-2 guest accepted")
	}
	raw, err := p.Report([64]byte{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(raw.Report[offVMPL:]) != 2 {
		t.Error("VMPL not 2")
	}
}

// hostileDev returns a report for other REPORT_DATA, or absurd sizes.
type hostileDev struct {
	fakeDev
	mode string
}

func (d hostileDev) GetReport(req *ReportReq, resp *ReportResp) (ExitInfo, error) {
	d.k.firmware(req, resp)
	switch d.mode {
	case "replay":
		resp.Data[32+offReportData] ^= 1
	case "size":
		binary.LittleEndian.PutUint32(resp.Data[4:], 0xFFFFFFFF)
	case "vmpl":
		resp.Data[32+offVMPL] = 3
	}
	return 0, nil
}

func (d hostileDev) GetExtReport(req *ExtReportReq, resp *ReportResp, certs []byte) (ExitInfo, error) {
	// Ask for ever larger buffers.
	req.CertsLen += pageSize
	return ExitInfo(uint64(VMMErrInvalidLen) << 32), syscall.ENOSPC
}

func TestDeviceHostile(t *testing.T) {
	for _, mode := range []string{"replay", "size", "vmpl", "grow"} {
		k := &fakeKernel{}
		open := func(string) (Device, error) { return hostileDev{fakeDev{k}, mode}, nil }
		p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: open, Extended: mode == "grow"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Report([64]byte{9}, 0); err == nil {
			t.Errorf("%s: accepted", mode)
		}
	}
}

func TestNoInterface(t *testing.T) {
	open := func(p string) (Device, error) { return nil, syscall.ENOENT }
	_, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: open})
	if !errors.Is(err, ErrNoInterface) {
		t.Fatalf("err = %v", err)
	}
	_, err = Open(Options{TSMRoot: noTSM(t), Interface: InterfaceTSM})
	if !errors.Is(err, tsm.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// newTSM returns a fake configfs-tsm backed by the fake kernel.
func newTSM(t *testing.T, provider string, k *fakeKernel) (string, *tsmtest.Fake) {
	t.Helper()
	root := t.TempDir()
	gen := func(in []byte, lvl uint32) ([]byte, []byte, error) {
		// sev_report_new: exactly 64 bytes of inblob.
		if len(in) != 64 {
			return nil, nil, syscall.EINVAL
		}
		var req ReportReq
		copy(req.UserData[:], in)
		req.VMPL = lvl
		var resp ReportResp
		k.firmware(&req, &resp)
		rep, err := decodeResp(&resp, lvl)
		if err != nil {
			return nil, nil, syscall.EINVAL
		}
		return rep, TrimCertTable(append(bytes.Clone(k.certs), make([]byte, 64)...)), nil
	}
	f, err := tsmtest.New(root, provider, int(k.guestVMPL), gen)
	if err != nil {
		t.Fatal(err)
	}
	return root, f
}

func TestTSMPreferred(t *testing.T) {
	k := &fakeKernel{guestVMPL: 0, certs: fakeCertTable()}
	root, f := newTSM(t, tsm.ProviderSEVGuest, k)
	dev := &fakeKernel{}
	p, err := Open(Options{TSMRoot: root, TSM: f, OpenDevice: dev.open, Extended: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Report([64]byte{0xAA}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Interface != InterfaceTSM || dev.opens != 0 {
		t.Errorf("interface %s, device opened %d times", raw.Interface, dev.opens)
	}
	if !bytes.Equal(raw.CertTable, fakeCertTable()) {
		t.Errorf("auxblob %d bytes", len(raw.CertTable))
	}
	if binary.LittleEndian.Uint32(raw.Report[offVMPL:]) != 1 || raw.Report[offReportData] != 0xAA {
		t.Error("privlevel or inblob not applied")
	}
	// Standard report through configfs-tsm: no auxblob read.
	p, _ = Open(Options{TSMRoot: root, TSM: f})
	raw, err = p.Report([64]byte{}, 0)
	if err != nil || raw.CertTable != nil {
		t.Fatalf("standard: %v %d", err, len(raw.CertTable))
	}
}

func TestTSMFloor(t *testing.T) {
	k := &fakeKernel{guestVMPL: 2}
	root, f := newTSM(t, tsm.ProviderSEVGuest, k)
	p, err := Open(Options{TSMRoot: root, TSM: f})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Report([64]byte{}, 0)
	var pe *tsm.PrivLevelError
	if !errors.As(err, &pe) || pe.Floor != 2 {
		t.Fatalf("err = %v", err)
	}
	if _, err := p.Report([64]byte{}, 2); err != nil {
		t.Fatal(err)
	}
}

func TestTSMWrongProvider(t *testing.T) {
	root, f := newTSM(t, tsm.ProviderTDXGuest, &fakeKernel{})
	_, err := Open(Options{TSMRoot: root, TSM: f})
	if !errors.Is(err, tsm.ErrProvider) {
		t.Fatalf("err = %v", err)
	}
}

func TestTSMGeneration(t *testing.T) {
	root, f := newTSM(t, tsm.ProviderSEVGuest, &fakeKernel{})
	f.Interfere = func(f *tsmtest.Fake, entry string) { _ = f.Bump(entry) }
	p, _ := Open(Options{TSMRoot: root, TSM: f})
	_, err := p.Report([64]byte{}, 0)
	var ge *tsm.GenerationError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v", err)
	}
}

func TestTrimCertTable(t *testing.T) {
	if TrimCertTable(make([]byte, 4096)) != nil {
		t.Error("empty table not nil")
	}
	// Entry pointing past the buffer: trimmed to the buffer, never extended.
	b := make([]byte, 100)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[16:], 0xFFFFFF00)
	binary.LittleEndian.PutUint32(b[20:], 0xFFFFFF00) // offset+length wraps in 32 bits
	if got := TrimCertTable(b); len(got) != 100 {
		t.Errorf("len %d", len(got))
	}
	// A table with no terminator within the buffer.
	full := bytes.Repeat([]byte{1}, 48)
	if got := TrimCertTable(full); len(got) != 48 {
		t.Errorf("len %d", len(got))
	}
}

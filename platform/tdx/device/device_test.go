package device

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cloudra/cloudra/internal/tsmtest"
	"github.com/cloudra/cloudra/platform/tsm"
)

// fakeDev plays tdx-guest.c tdx_get_report0: REPORTDATA in, TDREPORT out
// with REPORTDATA at offset 128.
type fakeDev struct {
	opens, closes *int
	err           error
	wrong         bool
}

func (d fakeDev) GetReport0(req *ReportReq) error {
	if d.err != nil {
		return d.err
	}
	req.TDReport = [TDReportSize]byte{}
	req.TDReport[0] = 0x81 // REPORTMACSTRUCT type
	copy(req.TDReport[offTDReportData:], req.ReportData[:])
	if d.wrong {
		req.TDReport[offTDReportData] ^= 1
	}
	return nil
}

func (d fakeDev) Close() error { *d.closes++; return nil }

func opener(d fakeDev) func(string) (Device, error) {
	return func(string) (Device, error) { *d.opens++; return d, nil }
}

func newDev() fakeDev { return fakeDev{opens: new(int), closes: new(int)} }

func noTSM(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }

func TestTDReport(t *testing.T) {
	d := newDev()
	p, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: opener(d)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Report([64]byte{5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if raw.Interface != InterfaceDevice || raw.Quote != nil || len(raw.TDReport) != TDReportSize || raw.TDReport[128] != 5 {
		t.Errorf("raw %+v", raw.Interface)
	}
	if *d.opens != *d.closes {
		t.Error("device left open")
	}
	d.wrong = true
	p, _ = Open(Options{TSMRoot: noTSM(t), OpenDevice: opener(d)})
	if _, err := p.Report([64]byte{5}); err == nil {
		t.Error("TDREPORT with other REPORTDATA accepted")
	}
	d = newDev()
	d.err = syscall.EIO
	p, _ = Open(Options{TSMRoot: noTSM(t), OpenDevice: opener(d)})
	if _, err := p.Report([64]byte{}); !errors.Is(err, syscall.EIO) {
		t.Errorf("err = %v", err)
	}
}

func TestNoInterface(t *testing.T) {
	_, err := Open(Options{TSMRoot: noTSM(t), OpenDevice: func(string) (Device, error) { return nil, syscall.ENOENT }})
	if !errors.Is(err, ErrNoInterface) {
		t.Fatalf("err = %v", err)
	}
}

// fakeQuote returns a minimal quote of version v with REPORT_DATA rd.
func fakeQuote(v uint16, rd []byte) []byte {
	off := 48 + 520
	if v == 5 {
		off += 6
	}
	q := make([]byte, off+64+4)
	binary.LittleEndian.PutUint16(q[0:], v)
	binary.LittleEndian.PutUint16(q[2:], 2)
	binary.LittleEndian.PutUint32(q[4:], 0x81)
	copy(q[off:], rd)
	return q
}

func TestTSMQuote(t *testing.T) {
	for _, v := range []uint16{4, 5} {
		root := t.TempDir()
		f, err := tsmtest.New(root, tsm.ProviderTDXGuest, -1, func(in []byte, _ uint32) ([]byte, []byte, error) {
			if len(in) != 64 {
				return nil, nil, syscall.EINVAL
			}
			return fakeQuote(v, in), nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		d := newDev()
		p, err := Open(Options{TSMRoot: root, TSM: f, OpenDevice: opener(d)})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := p.Report([64]byte{0xEE})
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if raw.Interface != InterfaceTSM || raw.TDReport != nil || !bytes.Equal(raw.Quote, fakeQuote(v, append([]byte{0xEE}, make([]byte, 63)...))) {
			t.Errorf("v%d: raw %s", v, raw.Interface)
		}
		if *d.opens != 0 {
			t.Error("device opened although configfs-tsm is present")
		}
	}
}

func TestTSMQuoteChecks(t *testing.T) {
	for name, gen := range map[string]func([]byte) []byte{
		"other report data": func(in []byte) []byte { return fakeQuote(4, []byte("x")) },
		"sgx quote":         func(in []byte) []byte { q := fakeQuote(4, in); q[4] = 0; return q },
		"version 3":         func(in []byte) []byte { q := fakeQuote(4, in); q[0] = 3; return q },
		"short":             func(in []byte) []byte { return fakeQuote(4, in)[:100] },
	} {
		root := t.TempDir()
		f, _ := tsmtest.New(root, tsm.ProviderTDXGuest, -1, func(in []byte, _ uint32) ([]byte, []byte, error) { return gen(in), nil, nil })
		p, err := Open(Options{TSMRoot: root, TSM: f})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Report([64]byte{1}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	root := t.TempDir()
	f, _ := tsmtest.New(root, tsm.ProviderSEVGuest, 0, nil)
	if _, err := Open(Options{TSMRoot: root, TSM: f}); !errors.Is(err, tsm.ErrProvider) {
		t.Errorf("sev_guest provider: %v", err)
	}
}

func write(t *testing.T, root, p string, b []byte) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCCEL(t *testing.T) {
	root := t.TempDir()
	o := SysOptions{Root: root}
	if _, err := ReadCCEL(o); !errors.Is(err, ErrNoCCEL) {
		t.Fatalf("err = %v", err)
	}
	table := append([]byte("CCEL"), make([]byte, 52)...)
	write(t, root, ccelTablePath, table)
	c, err := ReadCCEL(o)
	if err == nil || c == nil || !bytes.Equal(c.Table, table) {
		t.Fatalf("table without data: %v", err)
	}
	write(t, root, ccelDataPath, []byte("log bytes"))
	c, err = ReadCCEL(o)
	if err != nil || string(c.Log) != "log bytes" {
		t.Fatalf("ReadCCEL: %v", err)
	}
	write(t, root, ccelTablePath, []byte("XXXX"))
	if _, err := ReadCCEL(o); err == nil {
		t.Error("wrong ACPI signature accepted")
	}
}

func TestRTMR(t *testing.T) {
	root := t.TempDir()
	o := SysOptions{Root: root}
	if _, err := ReadRTMR(o, 2); !errors.Is(err, ErrNoRTMRSysfs) {
		t.Fatalf("err = %v", err)
	}
	if err := ExtendRTMR(o, 3, [48]byte{}); !errors.Is(err, ErrNoRTMRSysfs) {
		t.Fatalf("err = %v", err)
	}
	p := "/sys/devices/virtual/misc/tdx_guest/measurements/rtmr2:sha384"
	write(t, root, p, make([]byte, 48))
	var d [48]byte
	d[0] = 0xAB
	if err := ExtendRTMR(o, 2, d); err != nil {
		t.Fatal(err)
	}
	// The fake file records the write (the kernel would hash it in).
	v, err := ReadRTMR(o, 2)
	if err != nil || v != d {
		t.Fatalf("ReadRTMR = %x, %v", v, err)
	}
	if _, err := ReadRTMR(o, 4); err == nil {
		t.Error("index 4 accepted")
	}
	write(t, root, p, make([]byte, 47))
	if _, err := ReadRTMR(o, 2); err == nil {
		t.Error("47-byte RTMR accepted")
	}
}

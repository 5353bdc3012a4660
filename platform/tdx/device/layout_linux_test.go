//go:build linux

package device

import (
	"testing"
	"unsafe"
)

// TestLayout pins struct tdx_report_req and TDX_CMD_GET_REPORT0.
func TestLayout(t *testing.T) {
	if s := unsafe.Sizeof(ReportReq{}); s != 1088 {
		t.Errorf("sizeof tdx_report_req = %d", s)
	}
	if o := unsafe.Offsetof(ReportReq{}.TDReport); o != 64 {
		t.Errorf("offsetof tdreport = %d", o)
	}
	want := uintptr(3<<30 | unsafe.Sizeof(ReportReq{})<<16 | 'T'<<8 | 1)
	if ioctlGetReport0 != want {
		t.Errorf("TDX_CMD_GET_REPORT0 = %#x, want %#x", ioctlGetReport0, want)
	}
	if _, err := OpenDevice(t.TempDir()); err == nil {
		t.Error("directory accepted as device")
	}
}

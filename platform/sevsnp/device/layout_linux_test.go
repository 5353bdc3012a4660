//go:build linux

package device

import (
	"testing"
	"unsafe"
)

// TestLayout pins the Go mirrors to the C layout of
// include/uapi/linux/sev-guest.h on 64-bit Linux.
func TestLayout(t *testing.T) {
	var ext ExtReportReq
	var rio GuestRequestIoctl
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof snp_report_req", unsafe.Sizeof(ReportReq{}), 96},
		{"offsetof vmpl", unsafe.Offsetof(ReportReq{}.VMPL), 64},
		{"sizeof snp_report_resp", unsafe.Sizeof(ReportResp{}), 4000},
		{"sizeof snp_ext_report_req", unsafe.Sizeof(ext), 112},
		{"offsetof certs_address", unsafe.Offsetof(ext.CertsAddress), 96},
		{"offsetof certs_len", unsafe.Offsetof(ext.CertsLen), 104},
		{"sizeof snp_guest_request_ioctl", unsafe.Sizeof(rio), 32},
		{"offsetof req_data", unsafe.Offsetof(rio.ReqData), 8},
		{"offsetof resp_data", unsafe.Offsetof(rio.RespData), 16},
		{"offsetof exitinfo2", unsafe.Offsetof(rio.ExitInfo2), 24},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	iowr := func(nr uintptr) uintptr { return 3<<30 | unsafe.Sizeof(rio)<<16 | 'S'<<8 | nr }
	if ioctlGetReport != iowr(0) || ioctlGetExtReport != iowr(2) {
		t.Errorf("ioctl numbers %#x %#x, want %#x %#x", ioctlGetReport, ioctlGetExtReport, iowr(0), iowr(2))
	}
}

func TestOpenDeviceNotChar(t *testing.T) {
	if _, err := OpenDevice(t.TempDir()); err == nil {
		t.Error("directory accepted as device")
	}
}

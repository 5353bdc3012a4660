//go:build linux

package device

import (
	"errors"
	"testing"
	"unsafe"
)

// TestLayout pins the Go mirrors to the C layout of include/uapi/linux/nsm.h
// (two __u64 per iovec, no padding) and NSM_IOCTL_RAW to
// _IOWR(NSM_MAGIC, 0x0, struct nsm_raw).
func TestLayout(t *testing.T) {
	var raw nsmRaw
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof nsm_iovec", unsafe.Sizeof(nsmIovec{}), 16},
		{"sizeof nsm_raw", unsafe.Sizeof(raw), 32},
		{"offsetof request.addr", unsafe.Offsetof(raw.Request) + unsafe.Offsetof(raw.Request.Addr), 0},
		{"offsetof request.len", unsafe.Offsetof(raw.Request) + unsafe.Offsetof(raw.Request.Len), 8},
		{"offsetof response.addr", unsafe.Offsetof(raw.Response) + unsafe.Offsetof(raw.Response.Addr), 16},
		{"offsetof response.len", unsafe.Offsetof(raw.Response) + unsafe.Offsetof(raw.Response.Len), 24},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	iowr := func(typ, nr uintptr) uintptr { return 3<<30 | unsafe.Sizeof(raw)<<16 | typ<<8 | nr }
	if ioctlRaw != iowr(0x0A, 0) || ioctlRaw != 0xC0200A00 {
		t.Errorf("NSM_IOCTL_RAW = %#x, want %#x", ioctlRaw, iowr(0x0A, 0))
	}
	if RequestMaxSize != 0x1000 || ResponseMaxSize != 0x3000 {
		t.Errorf("NSM_REQUEST_MAX_SIZE %#x, NSM_RESPONSE_MAX_SIZE %#x", RequestMaxSize, ResponseMaxSize)
	}
}

// TestOpenDeviceNotChar: something other than a character device at the
// path is a failure, not a missing device.
func TestOpenDeviceNotChar(t *testing.T) {
	_, err := Open(Options{DevicePath: t.TempDir()})
	if err == nil || errors.Is(err, ErrNoDevice) {
		t.Errorf("directory: err = %v", err)
	}
}

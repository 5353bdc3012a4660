//go:build linux

package device

import (
	"os"
	"runtime"
	"unsafe"

	"github.com/cloudra/cloudra/internal/guestdev"
)

type linuxDevice struct{ f *os.File }

// OpenDevice opens a tdx_guest device node.
func OpenDevice(path string) (Device, error) {
	f, err := guestdev.OpenCharDevice(path)
	if err != nil {
		return nil, err
	}
	return &linuxDevice{f: f}, nil
}

// GetReport0 implements [Device].
func (d *linuxDevice) GetReport0(req *ReportReq) error {
	err := guestdev.Ioctl(d.f, ioctlGetReport0, unsafe.Pointer(req))
	runtime.KeepAlive(req)
	return err
}

// Close implements [Device].
func (d *linuxDevice) Close() error { return d.f.Close() }

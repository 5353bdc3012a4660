//go:build linux

package device

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/cloudra/cloudra/internal/guestdev"
)

// linuxDevice is /dev/sev-guest.
type linuxDevice struct {
	f *os.File
}

// OpenDevice opens a sev-guest device node.
func OpenDevice(path string) (Device, error) {
	f, err := guestdev.OpenCharDevice(path)
	if err != nil {
		return nil, err
	}
	return &linuxDevice{f: f}, nil
}

func (d *linuxDevice) ioctl(cmd uintptr, rio *GuestRequestIoctl) error {
	err := guestdev.Ioctl(d.f, cmd, unsafe.Pointer(rio))
	runtime.KeepAlive(rio)
	return err
}

// GetReport implements [Device].
func (d *linuxDevice) GetReport(req *ReportReq, resp *ReportResp) (ExitInfo, error) {
	rio := &GuestRequestIoctl{
		MsgVersion: 1,
		ReqData:    uint64(uintptr(unsafe.Pointer(req))),
		RespData:   uint64(uintptr(unsafe.Pointer(resp))),
	}
	err := d.ioctl(ioctlGetReport, rio)
	runtime.KeepAlive(req)
	runtime.KeepAlive(resp)
	return ExitInfo(rio.ExitInfo2), err
}

// GetExtReport implements [Device].
func (d *linuxDevice) GetExtReport(req *ExtReportReq, resp *ReportResp, certs []byte) (ExitInfo, error) {
	if int(req.CertsLen) != len(certs) {
		return 0, fmt.Errorf("certs_len %d does not match the %d-byte buffer", req.CertsLen, len(certs))
	}
	if len(certs) > 0 {
		req.CertsAddress = uint64(uintptr(unsafe.Pointer(&certs[0])))
	} else {
		req.CertsAddress = 0
	}
	rio := &GuestRequestIoctl{
		MsgVersion: 1,
		ReqData:    uint64(uintptr(unsafe.Pointer(req))),
		RespData:   uint64(uintptr(unsafe.Pointer(resp))),
	}
	err := d.ioctl(ioctlGetExtReport, rio)
	runtime.KeepAlive(req)
	runtime.KeepAlive(resp)
	runtime.KeepAlive(certs)
	req.CertsAddress = 0
	return ExitInfo(rio.ExitInfo2), err
}

// Close implements [Device].
func (d *linuxDevice) Close() error { return d.f.Close() }

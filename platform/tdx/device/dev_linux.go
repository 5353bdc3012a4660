//go:build linux

package device

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

type linuxDevice struct{ f *os.File }

// OpenDevice opens a tdx_guest device node.
func OpenDevice(path string) (Device, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		f.Close()
		return nil, fmt.Errorf("%s is not a character device", path)
	}
	return &linuxDevice{f: f}, nil
}

// GetReport0 implements [Device].
func (d *linuxDevice) GetReport0(req *ReportReq) error {
	conn, err := d.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := conn.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, ioctlGetReport0, uintptr(unsafe.Pointer(req)))
	}); err != nil {
		return err
	}
	runtime.KeepAlive(req)
	if errno != 0 {
		return errno
	}
	return nil
}

// Close implements [Device].
func (d *linuxDevice) Close() error { return d.f.Close() }

//go:build linux

package device

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/cloudra/cloudra/internal/guestdev"
)

// linuxDevice is /dev/nsm.
type linuxDevice struct {
	f *os.File
}

// openDevice opens the NSM device node. No node (ENOENT), or a node without
// a driver (ENXIO, ENODEV), is [ErrNoDevice]; anything else is a device that
// is there and failed.
func openDevice(path string) (rawDevice, error) {
	f, err := guestdev.OpenCharDevice(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
			return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
		}
		return nil, fmt.Errorf("nitro/device: %w", err)
	}
	return &linuxDevice{f: f}, nil
}

func (d *linuxDevice) rawIoctl(raw *nsmRaw) error {
	err := guestdev.Ioctl(d.f, ioctlRaw, unsafe.Pointer(raw))
	runtime.KeepAlive(raw)
	return err
}

func (d *linuxDevice) Close() error { return d.f.Close() }

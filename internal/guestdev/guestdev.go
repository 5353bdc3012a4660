// Package guestdev chooses between the two Linux guest attestation
// interfaces of a confidential VM: configfs-tsm (Linux ≥ 6.7,
// Documentation/ABI/testing/configfs-tsm-report) and the platform's misc
// device (/dev/sev-guest, /dev/tdx_guest), and opens device nodes.
package guestdev

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cloudra/cloudra/platform/tsm"
)

// Platform describes one platform's interfaces and how its errors read.
type Platform struct {
	Pkg         string // error prefix: "sevsnp/device"
	Provider    string // the configfs-tsm provider: tsm.ProviderSEVGuest
	NotGuest    string // hint when configfs-tsm serves another provider
	TSM         string // the name of the configfs-tsm interface
	Device      string // the name of the device interface
	DevicePath  string // the device node
	DeviceHint  string // hint when neither interface is present
	NoInterface error  // returned, wrapped, when neither is present
	Unsupported error  // returned as is when the opener refuses the OS
}

// Choice is the interface [Open] chose: configfs-tsm (TSM set) or the
// device node at Path.
type Choice struct {
	TSM   bool
	Floor int // the configfs-tsm privlevel floor
	Path  string
}

// Open returns the first interface present: configfs-tsm through c unless
// iface forces the device, then the device node (path, "" for the
// platform's), opened once with open and closed again.
func Open[D io.Closer](p Platform, c tsm.Client, iface, path string, open func(string) (D, error)) (Choice, error) {
	var tsmErr error
	if iface == "" || iface == p.TSM {
		tsmErr = c.Available()
		if tsmErr == nil {
			provider, floor, err := c.Probe()
			if err != nil {
				return Choice{}, fmt.Errorf("%s: %w", p.Pkg, err)
			}
			if provider != p.Provider {
				return Choice{}, fmt.Errorf("%s: %w: configfs-tsm provider is %q, not %q; hint: %s",
					p.Pkg, tsm.ErrProvider, provider, p.Provider, p.NotGuest)
			}
			return Choice{TSM: true, Floor: floor}, nil
		}
		if iface == p.TSM {
			return Choice{}, fmt.Errorf("%s: %w", p.Pkg, tsmErr)
		}
	}
	if iface != "" && iface != p.Device {
		return Choice{}, fmt.Errorf("%s: unknown interface %q (want %q or %q)", p.Pkg, iface, p.TSM, p.Device)
	}
	if path == "" {
		path = p.DevicePath
	}
	d, err := open(path)
	if err != nil {
		if errors.Is(err, p.Unsupported) {
			return Choice{}, err
		}
		if tsmErr != nil {
			return Choice{}, fmt.Errorf("%w: %v; %s: %v; hint: %s", p.NoInterface, tsmErr, path, err, p.DeviceHint)
		}
		return Choice{}, fmt.Errorf("%w: %s: %v", p.NoInterface, path, err)
	}
	if err := d.Close(); err != nil {
		return Choice{}, fmt.Errorf("%s: close %s: %w", p.Pkg, path, err)
	}
	return Choice{Path: path}, nil
}

// OpenCharDevice opens the character device at path for reading and
// writing; anything else at path is refused.
func OpenCharDevice(path string) (*os.File, error) {
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
	return f, nil
}

// Use opens the device node at path with open, hands it to use and closes
// it again: the device packages open the node per request, so that no
// descriptor outlives a report. A failed close fails the request.
func Use[D io.Closer, R any](pkg, path string, open func(string) (D, error), use func(D) (R, error)) (r R, err error) {
	d, err := open(path)
	if err != nil {
		return r, fmt.Errorf("%s: open %s: %w", pkg, path, err)
	}
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			var zero R
			r, err = zero, fmt.Errorf("%s: close %s: %w", pkg, path, cerr)
		}
	}()
	return use(d)
}

// NotHere reports whether err, from a device package's Open, says this
// machine is not the platform's guest (no interface, another platform's
// configfs-tsm provider, no configfs-tsm, not Linux) rather than an
// interface that is there and failed. noInterface and unsupported are the
// package's [Platform.NoInterface] and [Platform.Unsupported].
func NotHere(err, noInterface, unsupported error) bool {
	return errors.Is(err, noInterface) || errors.Is(err, unsupported) ||
		errors.Is(err, tsm.ErrProvider) || errors.Is(err, tsm.ErrUnavailable)
}

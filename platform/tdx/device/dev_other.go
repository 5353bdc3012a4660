//go:build !linux

package device

import "fmt"

// OpenDevice reports that /dev/tdx_guest exists only on Linux.
func OpenDevice(path string) (Device, error) {
	return nil, fmt.Errorf("%s: %w", path, ErrUnsupportedOS)
}

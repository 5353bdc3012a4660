//go:build !linux

package device

import "fmt"

// openDevice reports that the NSM driver exists only on Linux.
func openDevice(path string) (rawDevice, error) {
	return nil, fmt.Errorf("%s: %w", path, ErrUnsupportedOS)
}

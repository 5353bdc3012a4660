//go:build linux

package device

import (
	"fmt"
	"os"

	"github.com/google/go-tpm/tpm2/transport"
)

// openDevice opens a kernel TPM character device. go-tpm's linuxtpm accepts
// any device node (a block device too); a TPM is always a character device.
func openDevice(path string) (transport.TPMCloser, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return nil, fmt.Errorf("%w: %s (%s)", ErrNotDevice, path, fi.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if os.IsPermission(err) {
			return nil, fmt.Errorf("device: %w (hint: run as root or add the user to the tss group)", err)
		}
		return nil, fmt.Errorf("device: %w", err)
	}
	return transport.FromReadWriteCloser(f), nil
}

//go:build !linux

package device

import (
	"fmt"

	"github.com/google/go-tpm/tpm2/transport"
)

// openDevice is Linux-only; TCP software TPMs work everywhere.
func openDevice(path string) (transport.TPMCloser, error) {
	return nil, fmt.Errorf("%w: %s (TPM character devices are supported on Linux only; use swtpm:host=H,port=P)", ErrNotDevice, path)
}

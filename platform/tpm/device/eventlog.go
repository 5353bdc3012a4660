package device

import (
	"errors"
	"fmt"
	"os"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/boundedio"
)

// DefaultEventLogPath is where Linux exposes the firmware's TCG event log.
const DefaultEventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"

// ReadEventLog reads the TCG PC Client event log at path ("" = the Linux
// default), bounded by cloudra.MaxArtifactSize.
func ReadEventLog(path string) ([]byte, error) {
	if path == "" {
		path = DefaultEventLogPath
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) && path == DefaultEventLogPath {
			return nil, fmt.Errorf("device: no event log: %w (hint: securityfs must be mounted and the firmware must pass a TCG log; some vTPMs have none)", err)
		}
		return nil, fmt.Errorf("device: event log: %w", err)
	}
	defer f.Close()
	b, err := boundedio.ReadAll(f, cloudra.MaxArtifactSize)
	switch {
	case errors.Is(err, boundedio.ErrTooLarge):
		return nil, fmt.Errorf("device: event log larger than %d bytes", cloudra.MaxArtifactSize)
	case err != nil:
		return nil, fmt.Errorf("device: event log: %w", err)
	}
	return b, nil
}

package device

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// ForbiddenError reports that the TPM refused an operation because the
// hierarchy it needs has an authorization value or is disabled: what clouds
// that lock their vTPM (Azure's "ownerAuthSet") answer to tpm2_createek and
// tpm2_evictcontrol.
type ForbiddenError struct {
	Op        string // what cloudra tried: "create EK", "persist AK at 0x81000002"
	Hierarchy string // "owner", "endorsement", "platform"
	Err       error  // the TPM response code
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("device: %s: the TPM refused access to the %s hierarchy: %v (hint: %s)", e.Op, e.Hierarchy, e.Err, e.Hint())
}

// Unwrap returns the TPM response code.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// Hint says what to do.
func (e *ForbiddenError) Hint() string {
	if errors.Is(e.Err, tpm2.TPMRCHierarchy) {
		return "the " + e.Hierarchy + " hierarchy is disabled on this TPM; use the keys the platform provisioned (cloudra tpm handles lists them)"
	}
	if errors.Is(e.Err, tpm2.TPMRCLockout) {
		return "the TPM is in dictionary-attack lockout; wait for it to expire or clear it with the lockout authorization"
	}
	return "the " + e.Hierarchy + " hierarchy has an authorization value (cloud policy such as ownerAuthSet); use the keys the platform provisioned (cloudra tpm handles lists them) or ask the platform owner for the password"
}

// HandleInUseError reports a persistent handle that holds a key other than
// the one asked for. cloudra never evicts it.
type HandleInUseError struct {
	Handle uint32
	Want   string // "EK RSA-2048 (TCG template L-1)"
	Have   *Key
}

func (e *HandleInUseError) Error() string {
	return fmt.Sprintf("device: handle 0x%08x holds %s, not %s (hint: choose another handle, or evict it with 'tpm2_evictcontrol -C o -c 0x%08x' if it is yours)", e.Handle, e.Have.Summary(), e.Want, e.Handle)
}

// classify turns TPM refusals into ForbiddenError; other errors pass.
func classify(err error, op, hierarchy string) error {
	if err == nil {
		return nil
	}
	for _, rc := range []tpm2.TPMRC{tpm2.TPMRCBadAuth, tpm2.TPMRCAuthFail, tpm2.TPMRCHierarchy, tpm2.TPMRCLockout} {
		if errors.Is(err, rc) {
			return &ForbiddenError{Op: op, Hierarchy: hierarchy, Err: err}
		}
	}
	return fmt.Errorf("device: %s: %w", op, err)
}

// isMissing reports a response code meaning "no object at that handle".
func isMissing(err error) bool {
	return errors.Is(err, tpm2.TPMRCHandle) || errors.Is(err, tpm2.TPMRCValue)
}

package cli

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/azure"
	sevsnpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"
	tpmdevice "github.com/cloudra/cloudra/platform/tpm/device"
	"github.com/cloudra/cloudra/platform/tsm"
)

// hintFor chooses the hint printed under an error. The library's errors are
// typed and name no flag; which flag or command supplies what is missing is
// for the command line to say.
func hintFor(err error) string {
	var miss *cloudra.MissingCollateralError
	var inc *cloudra.IncompleteEvidenceError
	var priv *tsm.PrivLevelError
	var noKey *tpmdevice.NoKeyError
	switch {
	case errors.As(err, &priv):
		return fmt.Sprintf("pass --vmpl %d or higher", priv.Floor)
	case errors.Is(err, sevsnpdevice.ErrNoInterface):
		return "or use --simulate for simulated evidence"
	case errors.Is(err, tpmdevice.ErrNoTPM):
		return "for a software TPM, pass --tpm swtpm:port=2321"
	case errors.As(err, &noKey):
		return fmt.Sprintf("create one with 'cloudra tpm ak --handle 0x%08x'", noKey.Handle)
	case errors.Is(err, syscall.ENOTTY):
		return "if the request was --extended, try without it"
	case errors.Is(err, cloudra.ErrNoTime):
		return "pass --at RFC3339, or let the CLI use the current time"
	case errors.As(err, &miss):
		return "pass --collateral DIR, or drop --offline so cloudra can fetch it"
	case errors.Is(err, collateral.ErrOffline):
		return "pass --collateral DIR or drop --offline"
	case errors.Is(err, platform.ErrUnknownArtifact):
		return "pass an evidence bundle from 'cloudra collect', or check the file"
	case errors.Is(err, azure.ErrNoTDQuote):
		return "POST the TDREPORT to IMDS http://169.254.169.254/acc/tdquote, or collect with 'cloudra collect' on the VM"
	case errors.As(err, &inc):
		return incompleteHint(inc)
	}
	return ""
}

// incompleteHint says how to supply the missing piece of evidence.
func incompleteHint(e *cloudra.IncompleteEvidenceError) string {
	switch e.Missing {
	case cloudra.KindTPMSig:
		return "add the tpm2_quote -s file, or collect with 'cloudra tpm quote'"
	case cloudra.KindTPMAKPub:
		return "add the AK public key, e.g. tpm2_readpublic -f pem"
	case cloudra.KindAzureHCL:
		return "read vTPM NV 0x01400001, e.g. tpm2_nvread -C o 0x01400001"
	}
	return ""
}

// collateralDirHint says what --collateral takes when a folder cannot be used.
func collateralDirHint(err error) string {
	if errors.Is(err, collateral.ErrTooManyEntries) {
		return "point --collateral at the folder of one attestation"
	}
	return "--collateral takes a directory of PEM/DER/JSON files"
}

package cli

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/nitro"
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

// nitroHints follows a Nitro result. A document checked long after it was
// made fails as stale: its leaf certificate lives three hours (AWS Nitro
// Enclaves User Guide, "Cryptographic attestation"), so a stored document
// is checked as of its own timestamp. A debug-mode enclave fails the
// default policy, which a development policy may relax.
func nitroHints(res *cloudra.Result, at time.Time) []string {
	var out []string
	stale, debug := false, false
	for _, r := range append([]*cloudra.Result{res}, res.Parts...) {
		if r == nil || r.Platform != nitro.Platform {
			continue
		}
		if !stale && failedAs(r, cloudra.ClassFresh, "chain.validity", "document.timestamp") {
			if ts, ok := nitroTimestamp(r); ok && !ts.Equal(at) {
				stale = true
				out = append(out, fmt.Sprintf("pass --at %s to check it as of when it was made", ts.Format(nitroStamp)))
			}
		}
		debug = debug || failedAs(r, "", "policy.allow-debug")
	}
	if debug {
		out = append(out, "a debug-mode enclave: its PCR0–2 are zero; pass a policy with nitro.allow-debug: true only for development")
	}
	return out
}

// nitroStamp is how the verifier prints a document's time (RFC 3339 with
// milliseconds), which --at reads back exactly.
const nitroStamp = "2006-01-02T15:04:05.000Z07:00"

// failedAs reports whether one of the named checks of r failed, of class c
// ("" for any).
func failedAs(r *cloudra.Result, c cloudra.Class, names ...string) bool {
	for _, n := range names {
		if ch, ok := r.Check(n); ok && ch.Outcome == cloudra.OutcomeFail && (c == "" || ch.Class == c) {
			return true
		}
	}
	return false
}

// nitroTimestamp is when the document of r was made: its timestamp claim.
// A stale document keeps its claims (freshness is not authenticity); a
// result without them failed on its signature, chain or syntax, which
// --at would not mend. The time is only a suggestion for --at; the
// document is verified in full at whatever time is given.
func nitroTimestamp(r *cloudra.Result) (time.Time, bool) {
	s, ok := r.Claim("timestamp").(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

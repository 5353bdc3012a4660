package cli

import (
	"fmt"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/azure"
)

// TestHints: the hints the library's messages used to carry are chosen
// here from the error's type, word for word.
func TestHints(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{cloudra.ErrNoTime, "pass --at RFC3339, or let the CLI use the current time"},
		{fmt.Errorf("x: %w", &cloudra.MissingCollateralError{}), "pass --collateral DIR, or drop --offline so cloudra can fetch it"},
		{fmt.Errorf("collateral: u: %w", collateral.ErrOffline), "pass --collateral DIR or drop --offline"},
		{fmt.Errorf("%w: not …", platform.ErrUnknownArtifact), "pass an evidence bundle from 'cloudra collect', or check the file"},
		{azure.ErrNoTDQuote, "POST the TDREPORT to IMDS http://169.254.169.254/acc/tdquote, or collect with 'cloudra collect' on the VM"},
		{&cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMSig}, "add the tpm2_quote -s file, or collect with 'cloudra tpm quote'"},
		{&cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMAKPub}, "add the AK public key, e.g. tpm2_readpublic -f pem"},
		{&cloudra.IncompleteEvidenceError{Missing: cloudra.KindAzureHCL}, "read vTPM NV 0x01400001, e.g. tpm2_nvread -C o 0x01400001"},
		{fmt.Errorf("collateral: d holds more than 4096 entries: %w", collateral.ErrTooManyEntries), ""},
	} {
		if got := hintFor(c.err); got != c.want {
			t.Errorf("%v: hint %q, want %q", c.err, got, c.want)
		}
	}
	if got := collateralDirHint(collateral.ErrTooManyEntries); got != "point --collateral at the folder of one attestation" {
		t.Errorf("too many entries: %q", got)
	}
	if got := collateralDirHint(fmt.Errorf("open d: no such file")); got != "--collateral takes a directory of PEM/DER/JSON files" {
		t.Errorf("unreadable folder: %q", got)
	}
}

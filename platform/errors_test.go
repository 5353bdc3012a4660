package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/policy"
)

// TestLibraryErrorsNameNoFlag: the library's sentinel and typed errors,
// and the errors Detect and Verify return for unusable input, name no
// command-line flag: which flag supplies what is missing is the CLI's to
// say (the server answers with these texts too).
func TestLibraryErrorsNameNoFlag(t *testing.T) {
	vs, err := platform.New()
	if err != nil {
		t.Fatal(err)
	}
	_, _, detectErr := platform.Detect([]byte("this is not attestation evidence"))
	verify := func(arts ...cloudra.Artifact) error {
		_, err := vs.Verify(context.Background(), platform.Input{Bundle: &cloudra.Bundle{Artifacts: arts},
			Options: cloudra.Options{Time: time.Unix(1e9, 0)}})
		return err
	}
	attest := cloudra.Artifact{Kind: cloudra.KindTPMAttest, Data: []byte{0xff, 'T', 'C', 'G', 0x80, 0x18}}
	for _, e := range []error{
		cloudra.ErrNoTime,
		cloudra.ErrNotBundle,
		cloudra.ErrRejected,
		cloudra.ErrIncompleteEvidence,
		&cloudra.RejectedError{},
		&cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMSig},
		&cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{What: "VCEK", URL: "https://kdsintf.amd.com/vcek/v1/Milan/00"}},
			Unreadable: []cloudra.UnreadableItem{{Source: "bundle:x", Reason: "bad"}}},
		platform.ErrUnknownArtifact,
		platform.ErrNothingVerifiable,
		platform.ErrAmbiguousEvidence,
		platform.ErrUnsupportedArtifact,
		azure.ErrNoTDQuote,
		collateral.ErrOffline,
		collateral.ErrNotFound,
		collateral.ErrTooManyEntries,
		collateral.ErrMalformed,
		collateral.ErrUnrecognized,
		collateral.ErrTooLarge,
		policy.ErrVersion,
		detectErr,
		verify(),
		verify(attest),
		verify(attest, cloudra.Artifact{Kind: cloudra.KindTPMSig, Data: []byte{1}}),
		verify(cloudra.Artifact{Kind: cloudra.KindAzureHCL, Data: []byte("HCLA")}, cloudra.Artifact{Kind: cloudra.KindTPMAttest, Data: attest.Data}),
	} {
		if e == nil {
			t.Fatal("no error")
		}
		if strings.Contains(e.Error(), "--") || strings.Contains(e.Error(), "cloudra collect") {
			t.Errorf("%q names a command-line flag or command", e)
		}
	}
	if err := verify(attest); !errors.Is(err, cloudra.ErrIncompleteEvidence) {
		t.Errorf("quote without its signature: %v, want ErrIncompleteEvidence", err)
	}
}

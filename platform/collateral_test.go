package platform_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform"
)

// TestUnreadableBundleCollateralIsAWarning: a bundle's collateral item that
// cannot be read is a warning in the result naming it, and is named in the
// missing-collateral error when nothing else can stand in for it.
func TestUnreadableBundleCollateralIsAWarning(t *testing.T) {
	report, vcek, at := oakMilan(t)
	corrupt := bytes.Clone(vcek)
	corrupt[8] = 0x05 // the TBS version tag
	vs := newVerifiers(t)
	verify := func(items ...cloudra.Artifact) (*cloudra.Result, error) {
		return vs.Verify(context.Background(), platform.Input{
			Bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema,
				Artifacts:  []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: report}},
				Collateral: items},
			Collateral: &cloudra.Collateral{}, Options: cloudra.Options{Time: at}})
	}
	bad := cloudra.Artifact{Name: "bad-vcek.der", Data: corrupt}
	res, err := verify(bad, cloudra.Artifact{Name: "vcek.der", Data: vcek})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("with a good VCEK beside: %v", err)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "bundle:bad-vcek.der") }) {
		t.Errorf("no warning naming the unreadable item: %q", res.Warnings)
	}
	_, err = verify(bad)
	var miss *cloudra.MissingCollateralError
	if !errors.As(err, &miss) || len(miss.Unreadable) != 1 || !strings.Contains(err.Error(), "bundle:bad-vcek.der") {
		t.Fatalf("missing VCEK error does not name the unreadable candidate: %v", err)
	}
}

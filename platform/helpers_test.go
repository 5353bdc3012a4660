package platform_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
)

// vectorCollateral is the collateral in the folder rel of the real
// vectors.
func vectorCollateral(t testing.TB, rel string) *cloudra.Collateral {
	t.Helper()
	col, _, err := collateral.LoadDir(filepath.Join(vectortest.Dir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// vector is real evidence as platform.Detect reads it, with the collateral
// and the options that verify it at the time it was taken.
type vector struct {
	kind cloudra.Kind
	data []byte
	col  *cloudra.Collateral
	opts cloudra.Options
}

// loadVector reads the evidence file and the collateral folder (both
// relative to the real vectors) and the RFC 3339 time at.
func loadVector(t testing.TB, evidence, col, at string) vector {
	t.Helper()
	kind, data, err := platform.Detect(vectortest.Read(t, evidence))
	if err != nil {
		t.Fatal(err)
	}
	return vector{kind: kind, data: data, col: vectorCollateral(t, col), opts: cloudra.Options{Time: vectortest.Time(t, at)}}
}

// directVerifiers are the platforms' own verifiers with their default
// roots, to hold the dispatcher's results against.
type directVerifiers struct {
	snp *sevsnp.Verifier
	tdx *tdx.Verifier
	sgx *sgx.Verifier
}

func newDirectVerifiers(t testing.TB) directVerifiers {
	t.Helper()
	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	tdxV, err := tdx.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	sgxV, err := sgx.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	return directVerifiers{snp: sevsnp.NewVerifier(roots), tdx: tdxV, sgx: sgxV}
}

// verify verifies data of kind with the platform's own verifier; a kind
// without one fails the test.
func (d directVerifiers) verify(t testing.TB, kind cloudra.Kind, data []byte, col *cloudra.Collateral, opts cloudra.Options) (*cloudra.Result, error) {
	t.Helper()
	ctx := context.Background()
	switch kind {
	case cloudra.KindSNPReport:
		return d.snp.Verify(ctx, sevsnp.Evidence{Report: data}, col, nil, opts)
	case cloudra.KindTDXQuote:
		return d.tdx.Verify(ctx, tdx.Evidence{Quote: data}, col, nil, opts)
	case cloudra.KindSGXQuote:
		return d.sgx.Verify(ctx, sgx.Evidence{Quote: data}, col, nil, opts)
	}
	t.Fatalf("detected %s", kind)
	return nil, nil
}

// oakMilan is a real Milan report with its VCEK and the time it verifies
// at.
func oakMilan(t testing.TB) (report, vcek []byte, at time.Time) {
	t.Helper()
	return vectortest.Read(t, "snp/oak-milan-oc-release/report.bin"), vectortest.Read(t, "snp/oak-milan-oc-release/vcek.der"), vectortest.Time(t, "2025-01-16T21:21:54Z")
}

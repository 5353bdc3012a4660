package platform

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
)

// platforms is the explicit list of platform verifiers (no init() magic).
// Adding a platform adds one field here, one case in verify and inspect.
type platforms struct {
	snp   *sevsnp.Verifier
	tdx   *tdx.Verifier
	sgx   *sgx.Verifier
	azure *azure.Verifier
}

// newPlatforms builds the verifiers with the vendors' pinned roots and, when
// withSim is set, the simulated platforms' test roots too (which the
// verifiers still use only under Options.AllowTestRoots).
func newPlatforms(withSim bool) (platforms, error) {
	roots, err := sevsnp.DefaultRoots()
	if err != nil {
		return platforms{}, fmt.Errorf("sev-snp roots: %w", err)
	}
	var tdxOpts []tdx.Option
	var sgxOpts []sgx.Option
	if withSim {
		if roots, err = withSimulatorRoots(roots); err != nil {
			return platforms{}, err
		}
		if tdxOpts, sgxOpts, err = dcapSimulatorRoots(); err != nil {
			return platforms{}, err
		}
	}
	tv, err := tdx.NewVerifier(tdxOpts...)
	if err != nil {
		return platforms{}, err
	}
	sv, err := sgx.NewVerifier(sgxOpts...)
	if err != nil {
		return platforms{}, err
	}
	snp := sevsnp.NewVerifier(roots)
	return platforms{snp: snp, tdx: tv, sgx: sv, azure: azure.NewVerifier(snp, tv)}, nil
}

// verify runs the verifier of every primary artifact in the bundle.
func (p platforms) verify(ctx context.Context, in Input) ([]*cloudra.Result, error) {
	// An Azure CVM's HCL report is the root of its evidence: the hardware
	// report inside it, the TD quote and the vTPM quote are its parts and
	// are verified (and bound) by the Azure verifier.
	if _, ok := in.Bundle.First(cloudra.KindAzureHCL); ok {
		ev, err := azure.EvidenceFromBundle(in.Bundle)
		if err != nil {
			return nil, err
		}
		r, err := p.azure.Verify(ev, in.Collateral, azure.PolicyFrom(in.Policy, in.Policy.Azure), in.Options)
		if err != nil {
			return nil, err
		}
		return []*cloudra.Result{r}, nil
	}
	var out []*cloudra.Result
	for _, a := range in.Bundle.Artifacts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch a.Kind {
		case cloudra.KindSNPReport:
			ev := sevsnp.Evidence{Report: a.Data, Product: a.Meta["product"]}
			if ct, ok := in.Bundle.First(cloudra.KindSNPCertTable); ok {
				ev.CertTable = ct.Data
			}
			r, err := p.snp.Verify(ev, in.Collateral, in.Policy.SEVSNP, in.Options)
			if err != nil {
				return nil, err
			}
			if r.Cloud == "" {
				r.Cloud = in.Bundle.Cloud
			}
			out = append(out, r)
		case cloudra.KindTDXQuote:
			r, err := p.tdx.Verify(ctx, tdx.Evidence{Quote: a.Data}, in.Collateral, in.Policy.TDX, in.Options)
			if err != nil {
				return nil, err
			}
			if l, ok := in.Bundle.First(cloudra.KindCCELLog); ok {
				checkCCEL(r, a.Data, l.Data)
			}
			if r.Cloud == "" {
				r.Cloud = in.Bundle.Cloud
			}
			out = append(out, r)
		case cloudra.KindSGXQuote:
			r, err := p.sgx.Verify(ctx, sgx.Evidence{Quote: a.Data}, in.Collateral, in.Policy.SGX, in.Options)
			if err != nil {
				return nil, err
			}
			if r.Cloud == "" {
				r.Cloud = in.Bundle.Cloud
			}
			out = append(out, r)
		case cloudra.KindTPMAttest:
			r, err := verifyTPM(in)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Inspect parses one artifact and returns every field, named as in its
// specification. Nothing is verified.
func Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindSNPReport:
		r, err := sevsnp.ParseReport(data)
		if err != nil {
			return nil, err
		}
		return r.Fields(), nil
	case cloudra.KindSNPCertTable:
		t, err := sevsnp.ParseCertTable(data)
		if err != nil {
			return nil, err
		}
		var out []cloudra.Claim
		for _, e := range t.Entries {
			out = append(out, cloudra.Claim{Name: e.GUID.String(), Value: fmt.Sprintf("%d bytes", len(e.Data))})
		}
		return out, nil
	case cloudra.KindTDXQuote, cloudra.KindSGXQuote:
		return dcap.Inspect(data)
	case cloudra.KindAzureHCL:
		h, err := azure.ParseHCLReport(data)
		if err != nil {
			return nil, err
		}
		return h.Fields(), nil
	case cloudra.KindEventLog:
		return eventLogFields(data, false)
	case cloudra.KindCCELLog:
		return eventLogFields(data, true)
	case cloudra.KindTPMAttest:
		a, err := tpm.ParseAttest(data)
		if err != nil {
			return nil, err
		}
		return attestFields(a), nil
	}
	return nil, fmt.Errorf("%w: no inspector for %s", ErrUnknownArtifact, kind)
}

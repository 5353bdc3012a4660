package platform

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/policy"
)

// Input is everything one verification needs. Verification reads no clock
// and no network: Options.Time and Collateral are given.
//
// Expected values come only from the relying party: Policy (its
// report-data, user-data), Nonce and Challenge. The bundle's own "nonce"
// field says what the collector used; it is never an expected value.
type Input struct {
	Bundle     *cloudra.Bundle
	Collateral *cloudra.Collateral
	Policy     *policy.Policy
	Options    cloudra.Options
	// Nonce is the expected TPM quote nonce (TPMS_ATTEST extraData) of TPM
	// and Azure vTPM quotes.
	Nonce []byte
	// Challenge is a relying party's challenge that the evidence must
	// answer in whatever way its platform binds one: the REPORT_DATA of an
	// SEV-SNP report, TD or SGX quote (zero-padded to 64 bytes, replacing
	// the policy's), the extraData of a TPM quote when Nonce is empty, and
	// for an Azure CVM either the vTPM quote's extraData or the runtime
	// claims' user-data echo. A verification service sets it to the nonce
	// it issued.
	Challenge []byte
}

// Verifiers holds one long-lived verifier per platform, with their caches of
// verified chains and collateral. A server or benchmark keeps one; the CLI
// makes one per run. It is safe for concurrent use.
type Verifiers struct {
	p platforms
	// withSim is the same list knowing the simulators' test roots, built
	// on the first verification that allows test roots: minting the
	// simulated CAs costs tens of milliseconds that production never needs.
	withSim func() (platforms, error)
}

// New builds the verifiers with the vendors' pinned roots. The simulators'
// test roots are added (lazily) for verifications with
// Options.AllowTestRoots only.
func New() (*Verifiers, error) {
	p, err := newPlatforms(false)
	if err != nil {
		return nil, err
	}
	return &Verifiers{p: p, withSim: sync.OnceValues(func() (platforms, error) { return newPlatforms(true) })}, nil
}

// ErrNothingVerifiable is returned (wrapped) for a bundle with no primary
// artifact.
var ErrNothingVerifiable = errors.New("nothing this cloudra can verify in the evidence")

// Verify verifies every primary artifact of the bundle on its own, each
// with the companion artifacts that belong to it (see MetaFor). One primary
// artifact gives its result directly; several (an SNP report and a TPM
// quote) give a combined result whose parts are the individual results. An
// Azure CVM's HCL report is one primary whose parts are its hardware report
// and vTPM quote.
//
// The platform and cloud of a result come from what was verified (the
// VLEK's CSP, the HCL report, the platform of each part); the bundle's own
// "platform" and "cloud" are reported as Result.Claimed only.
//
// When a decision was made it returns the result, and with it a
// [*cloudra.RejectedError] (errors.Is [cloudra.ErrRejected]) unless the
// verdict is pass: a caller checking only the error never accepts rejected
// evidence. A part rejected by its own verifier stays a part of the
// combined result, with all its checks.
//
// When no decision is possible it returns a nil result and the reason:
// missing collateral ([*cloudra.MissingCollateralError]), no time
// ([cloudra.ErrNoTime]), nothing verifiable ([ErrNothingVerifiable]),
// incomplete evidence ([cloudra.ErrIncompleteEvidence]), an ambiguous
// bundle ([ErrAmbiguousEvidence]), an artifact this cloudra cannot verify
// ([ErrUnsupportedArtifact]) or ctx done.
func (v *Verifiers) Verify(ctx context.Context, in Input) (*cloudra.Result, error) {
	if in.Options.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if in.Bundle == nil {
		return nil, fmt.Errorf("%w: no bundle", ErrNothingVerifiable)
	}
	groups, extra, err := groupArtifacts(in.Bundle)
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		var kinds []string
		for _, a := range in.Bundle.Artifacts {
			kinds = append(kinds, string(a.Kind))
		}
		sort.Strings(kinds)
		return nil, fmt.Errorf("%w (artifacts: %s)", ErrNothingVerifiable, strings.Join(kinds, ", "))
	}
	// Collateral that travelled in the bundle joins the caller's set; like
	// any collateral it is sorted by content and never becomes a root.
	col := &cloudra.Collateral{}
	col.Merge(in.Collateral)
	for i, a := range append(append([]cloudra.Artifact(nil), in.Bundle.Collateral...), extra...) {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		c, err := collateral.Classify(a.Data, "bundle:"+a.Name)
		if err != nil {
			// An item the bundle declares as collateral that cannot be
			// used is reported (a warning in the result), not ignored.
			col.AddUnreadable(cloudra.UnreadableItem{Source: "bundle:" + a.Name,
				Reason: strings.TrimPrefix(err.Error(), "collateral: bundle:"+a.Name+": ")})
			continue
		}
		col.Merge(c)
	}
	in.Collateral = col
	if in.Policy == nil {
		in.Policy = policy.Default()
	}
	p := v.p
	if in.Options.AllowTestRoots {
		if p, err = v.withSim(); err != nil {
			return nil, err
		}
	}
	results, err := p.verify(ctx, in, groups)
	if err != nil {
		return nil, withUnreadable(err, col)
	}
	var res *cloudra.Result
	if len(results) == 1 {
		res = results[0]
	} else {
		res = &cloudra.Result{Parts: results}
		res.Platform, res.Cloud = combinedIdentity(res, results)
		res.Finish()
	}
	if in.Bundle.Platform != "" || in.Bundle.Cloud != "" {
		res.Claimed = &cloudra.Claimed{Platform: in.Bundle.Platform, Cloud: in.Bundle.Cloud}
	}
	res = addCollateralWarnings(res, col)
	return res, res.Err()
}

// asResult takes a platform verifier's rejection as its result: only an
// error that leaves no result stops the dispatch.
func asResult(res *cloudra.Result, err error) (*cloudra.Result, error) {
	if rej := (*cloudra.RejectedError)(nil); errors.As(err, &rej) && res != nil {
		return res, nil
	}
	return res, err
}

// combinedIdentity names a combined result by its verified parts: their
// platforms joined with "+" in order ("sev-snp+tpm"), and the cloud the
// parts agree on. Parts naming different clouds leave the cloud empty, with
// a warning.
func combinedIdentity(top *cloudra.Result, parts []*cloudra.Result) (string, string) {
	var names []string
	seen := map[string]bool{}
	clouds := map[string]bool{}
	var cloud string
	for _, r := range parts {
		if !seen[r.Platform] {
			seen[r.Platform] = true
			names = append(names, r.Platform)
		}
		if r.Cloud != "" && !clouds[r.Cloud] {
			clouds[r.Cloud] = true
			cloud = r.Cloud
		}
	}
	if len(clouds) > 1 {
		var cs []string
		for c := range clouds {
			cs = append(cs, c)
		}
		sort.Strings(cs)
		top.Warn("the parts were verified on different clouds (%s): no cloud is named", strings.Join(cs, ", "))
		cloud = ""
	}
	return strings.Join(names, "+"), cloud
}

// maxUnreadableWarnings bounds the warnings naming unreadable collateral
// items one by one; the rest are counted.
const maxUnreadableWarnings = 8

// addCollateralWarnings gives the result one warning per collateral item
// that could not be read (a corrupt certificate in a folder, an unusable
// bundle item): without it, a corrupt VCEK would look like no VCEK at all.
func addCollateralWarnings(res *cloudra.Result, col *cloudra.Collateral) *cloudra.Result {
	for i, u := range col.Unreadable {
		if i == maxUnreadableWarnings {
			res.Warn("collateral: %d more items could not be read", len(col.Unreadable)-i)
			break
		}
		res.Warn("collateral: %s could not be read: %s", u.Source, u.Reason)
	}
	return res
}

// withUnreadable names the unreadable collateral in a missing-collateral
// error (the verifiers return it unwrapped): one of them may be the item
// asked for. The verifier's error is copied, not modified.
func withUnreadable(err error, col *cloudra.Collateral) error {
	var miss *cloudra.MissingCollateralError
	if len(col.Unreadable) == 0 || !errors.As(err, &miss) || error(miss) != err {
		return err
	}
	m := *miss
	m.Unreadable = append(append([]cloudra.UnreadableItem(nil), miss.Unreadable...), col.Unreadable...)
	return &m
}

// SetReportData sets the expected REPORT_DATA of every platform section that
// has one (the CLI's --report-data, a server's nonce). Shorter values are
// zero-padded to 64. The sections are replaced by modified copies, never
// written in place, so p may be a shallow copy of a policy shared with
// other goroutines.
func SetReportData(p *policy.Policy, rd []byte) {
	snp := policy.SEVSNP{}
	if p.SEVSNP != nil {
		snp = *p.SEVSNP
	}
	snp.ReportData = append(cloudra.HexBytes(nil), rd...)
	p.SEVSNP = &snp
	td := policy.TDX{}
	if p.TDX != nil {
		td = *p.TDX
	}
	td.ReportData = append(cloudra.HexBytes(nil), rd...)
	p.TDX = &td
	sg := policy.SGX{}
	if p.SGX != nil {
		sg = *p.SGX
	}
	sg.ReportData = append(cloudra.HexBytes(nil), rd...)
	p.SGX = &sg
}

// RevocationRefs names the revocation lists the bundle's evidence can be
// checked against and where they are served: for an SEV-SNP report whose
// product line is known (CPUID on v3+, or the "product" hint), the
// ARK-signed CRL from AMD KDS. `cloudra collateral fetch` fetches them so
// that a later offline verification can fail closed (require-crl).
func RevocationRefs(b *cloudra.Bundle) []cloudra.CollateralRef {
	var out []cloudra.CollateralRef
	seen := map[string]bool{}
	for _, a := range b.Artifacts {
		if a.Kind != cloudra.KindSNPReport {
			continue
		}
		r, err := sevsnp.ParseReport(a.Data)
		if err != nil {
			continue
		}
		product := a.Meta["product"]
		if product == "" && r.Version >= 3 {
			product = sevsnp.ProductFromCPUID(r.CPUIDFamily, r.CPUIDModel)
		}
		if product == "" {
			continue
		}
		u := sevsnp.URLsFor(r, product).CRL
		if !seen[u] {
			seen[u] = true
			out = append(out, cloudra.CollateralRef{What: "AMD " + product + " CRL", URL: u})
		}
	}
	return out
}

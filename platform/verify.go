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
	"github.com/cloudra/cloudra/platform/seam"
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
// verified chains and collateral, each built on the first verification that
// needs it: a one-shot verification of an SEV-SNP report builds no DCAP or
// TPM machinery. A server or benchmark keeps one; the CLI makes one per
// run. It is safe for concurrent use.
type Verifiers struct {
	l *list
	// plain are the verifiers with the vendors' pinned roots only; test
	// those that also know the simulators' test roots, built for
	// verifications with Options.AllowTestRoots when test roots were
	// given, so that production caches never hold a chain to a test root.
	plain, test *built
}

// Option configures New.
type Option func(*Verifiers)

// WithTestRoots gives the verifiers the roots of cloudra's simulated
// platforms, minted by roots on the first verification with
// Options.AllowTestRoots (minting them costs tens of milliseconds that
// other runs never pay). Only the CLI's demo and --allow-test-roots pass
// it: the verification path and the service never link the simulators.
func WithTestRoots(roots func() ([]seam.TestRoot, error)) Option {
	return func(v *Verifiers) { v.test = newBuilt(v.l, sync.OnceValues(roots)) }
}

// New returns the verifiers of every listed platform with the vendors'
// pinned roots. Nothing is built until a verification needs it.
func New(opts ...Option) (*Verifiers, error) {
	v := &Verifiers{l: theList()}
	v.plain = newBuilt(v.l, nil)
	for _, o := range opts {
		o(v)
	}
	return v, nil
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
	groups, extra, err := v.l.groupArtifacts(in.Bundle)
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
	b := v.plain
	if in.Options.AllowTestRoots && v.test != nil {
		b = v.test
	}
	results, err := b.verify(ctx, in, groups)
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
// zero-padded to 64 by the platforms' comparison. The sections are replaced
// by modified copies, never written in place, so p may be a shallow copy of
// a policy shared with other goroutines.
func SetReportData(p *policy.Policy, rd []byte) {
	q := p
	for _, pl := range platforms {
		if s, ok := pl.(seam.ReportDataSetter); ok {
			q = s.SetReportData(q, rd)
		}
	}
	*p = *q
}

// RevocationRefs names the revocation lists the bundle's evidence can be
// checked against and where they are served (for an SEV-SNP report whose
// product line is known, the ARK-signed CRL from AMD KDS): the verifiers
// never name them as missing, so a fetcher gets them up front, and a later
// offline verification can fail closed (require-crl).
func RevocationRefs(b *cloudra.Bundle) []cloudra.CollateralRef {
	var out []cloudra.CollateralRef
	for _, r := range revocationRefs(b) {
		out = append(out, r.ref)
	}
	return out
}

// revocationRef is one revocation list with the platform that named it.
type revocationRef struct {
	ref    cloudra.CollateralRef
	lister seam.RevocationLister
}

func revocationRefs(b *cloudra.Bundle) []revocationRef {
	var out []revocationRef
	seen := map[string]bool{}
	for _, a := range b.Artifacts {
		for _, pl := range platforms {
			rl, ok := pl.(seam.RevocationLister)
			if !ok {
				continue
			}
			for _, r := range rl.RevocationRefs(a) {
				if !seen[r.URL] {
					seen[r.URL] = true
					out = append(out, revocationRef{r, rl})
				}
			}
		}
	}
	return out
}

// ParsePolicy decodes a policy file with the sections of every listed
// platform (see policy.Parse). A file another tool writes that a platform
// accepts as a policy (seam.PolicyConverter: nitro-cli's
// expected-measurements.json) is converted first and then parsed the same
// way.
func ParsePolicy(data []byte) (*policy.Policy, error) {
	for _, pl := range platforms {
		c, ok := pl.(seam.PolicyConverter)
		if !ok {
			continue
		}
		converted, ok, err := c.ConvertPolicy(data)
		if err != nil {
			return nil, err
		}
		if ok {
			data = converted
			break
		}
	}
	return policy.Parse(data, PolicySections()...)
}

// PolicySections are the policy file sections of the listed platforms.
func PolicySections() []policy.Section {
	var out []policy.Section
	for _, pl := range platforms {
		if s := pl.Policy(); s.Name != "" {
			out = append(out, s)
		}
	}
	return out
}

// Inspect parses one artifact and returns every field, named as in its
// specification. Nothing is verified.
func Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	if pl, ok := theList().owner[kind]; ok {
		return pl.Inspect(kind, data)
	}
	return nil, fmt.Errorf("%w: no inspector for %s", ErrUnknownArtifact, kind)
}

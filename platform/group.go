package platform

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/azure"
)

// ErrAmbiguousEvidence is returned (wrapped) for a bundle whose companion
// artifacts cannot be assigned to exactly one primary artifact: two TPM
// quotes and one signature, two certificate tables for one report, a cert
// table without a report. Guessing would verify a quote with another
// quote's signature or hide one of them.
var ErrAmbiguousEvidence = errors.New("evidence: ambiguous bundle")

// ErrUnsupportedArtifact is returned (wrapped) for a bundle carrying a
// primary artifact this cloudra cannot verify (or an unknown kind): a
// verdict on the rest would be read as a verdict on the whole.
var ErrUnsupportedArtifact = errors.New("evidence: artifact this cloudra cannot verify")

// ErrTooManyArtifacts is returned (wrapped) for a bundle with more primary
// artifacts than MaxPrimaryArtifacts.
var ErrTooManyArtifacts = errors.New("evidence: too many primary artifacts")

// MaxPrimaryArtifacts bounds the primary artifacts of one bundle. Real
// evidence carries one to three (an Azure CVM's HCL report; an SNP report
// and a TPM quote); each costs a full verification, so a bundle of
// thousands of reports must not buy thousands of them.
const MaxPrimaryArtifacts = 8

// primaryKinds are the artifacts that are verified in their own right, each
// giving one result.
var primaryKinds = map[cloudra.Kind]bool{
	cloudra.KindSNPReport: true, cloudra.KindTDXQuote: true, cloudra.KindSGXQuote: true,
	cloudra.KindTPMAttest: true, cloudra.KindAzureHCL: true,
	cloudra.KindMAAToken: true, cloudra.KindNitroDoc: true,
}

// verifiable are the primary kinds a verifier exists for.
var verifiable = map[cloudra.Kind]bool{
	cloudra.KindSNPReport: true, cloudra.KindTDXQuote: true, cloudra.KindSGXQuote: true,
	cloudra.KindTPMAttest: true, cloudra.KindAzureHCL: true,
}

// companionOf names, for each companion kind, the primary kind it belongs to.
var companionOf = map[cloudra.Kind]cloudra.Kind{
	cloudra.KindSNPCertTable: cloudra.KindSNPReport,
	cloudra.KindCCELLog:      cloudra.KindTDXQuote,
	cloudra.KindTPMSig:       cloudra.KindTPMAttest,
	cloudra.KindTPMPCRs:      cloudra.KindTPMAttest,
	cloudra.KindTPMAKPub:     cloudra.KindTPMAttest,
	cloudra.KindTPMAKCert:    cloudra.KindTPMAttest,
	cloudra.KindEventLog:     cloudra.KindTPMAttest,
}

// informational kinds travel with evidence but are not verified: the
// TDREPORT a quote was made of, the ACPI CCEL table that locates the log.
var informational = map[cloudra.Kind]bool{
	cloudra.KindTDReport: true, cloudra.KindCCEL: true,
}

// collateralKinds found among a bundle's artifacts are treated as
// collateral (sorted by content, never roots).
var collateralKinds = map[cloudra.Kind]bool{
	cloudra.KindCertificate: true, cloudra.KindCRL: true, cloudra.KindPCSJSON: true,
}

// MetaFor is the artifact meta key naming the primary artifact (by its
// name) a companion belongs to, for bundles that carry several primaries
// of one kind.
const MetaFor = "for"

// group is one primary artifact with the companions that belong to it.
// An Azure HCL report's group also holds its TD quote and its vTPM quote
// with that quote's companions.
type group struct {
	primary    cloudra.Artifact
	companions map[cloudra.Kind]cloudra.Artifact
}

// bundle returns the group as a bundle of its own (for verifiers that
// read a bundle), primary first.
func (g *group) bundle() *cloudra.Bundle {
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{g.primary}}
	kinds := make([]string, 0, len(g.companions))
	for k := range g.companions {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		b.Artifacts = append(b.Artifacts, g.companions[cloudra.Kind(k)])
	}
	return b
}

func (g *group) companion(k cloudra.Kind) (cloudra.Artifact, bool) {
	a, ok := g.companions[k]
	return a, ok
}

// groupArtifacts assigns every companion artifact of b to exactly one
// primary artifact and returns one group per primary, in bundle order, plus
// the collateral kinds found among the artifacts. An artifact's meta "for"
// names its primary explicitly; otherwise a companion belongs to the only
// primary of its kind, and a bundle where that is not unique is refused
// ([ErrAmbiguousEvidence]). An Azure HCL report owns the vTPM quote and (for
// a TDX report) the TD quote of the same bundle, under the same rule.
func groupArtifacts(b *cloudra.Bundle) ([]*group, []cloudra.Artifact, error) {
	arts := b.Artifacts
	byName := map[string]int{}
	for i, a := range arts {
		if a.Name == "" {
			continue
		}
		if _, dup := byName[a.Name]; dup {
			byName[a.Name] = -1 // a name used twice cannot be referred to
			continue
		}
		byName[a.Name] = i
	}
	ambiguous := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (name each companion's primary artifact in its meta %q)", ErrAmbiguousEvidence, fmt.Sprintf(format, args...), MetaFor)
	}
	// explicitOwner resolves a meta "for" reference; -1 when absent.
	explicitOwner := func(i int, allowed ...cloudra.Kind) (int, error) {
		ref, ok := arts[i].Meta[MetaFor]
		if !ok {
			return -1, nil
		}
		j, found := byName[ref]
		if !found || j < 0 {
			return 0, ambiguous("artifact %d (%s) belongs to %q, which names no single artifact", i, arts[i].Kind, ref)
		}
		for _, k := range allowed {
			if arts[j].Kind == k {
				return j, nil
			}
		}
		return 0, ambiguous("artifact %d (%s) belongs to %q, a %s, which it cannot belong to", i, arts[i].Kind, ref, arts[j].Kind)
	}
	count := map[cloudra.Kind][]int{}
	var unsupported []string
	var extra []cloudra.Artifact
	for i, a := range arts {
		switch {
		case primaryKinds[a.Kind]:
			count[a.Kind] = append(count[a.Kind], i)
			if !verifiable[a.Kind] {
				unsupported = append(unsupported, string(a.Kind))
			}
		case companionOf[a.Kind] != "", informational[a.Kind]:
		case collateralKinds[a.Kind]:
			extra = append(extra, a)
		default:
			unsupported = append(unsupported, "unknown kind "+string(a.Kind))
		}
	}
	if n := len(count[cloudra.KindSNPReport]) + len(count[cloudra.KindTDXQuote]) + len(count[cloudra.KindSGXQuote]) +
		len(count[cloudra.KindTPMAttest]) + len(count[cloudra.KindAzureHCL]); n > MaxPrimaryArtifacts {
		return nil, nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyArtifacts, n, MaxPrimaryArtifacts)
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return nil, nil, fmt.Errorf("%w: %s", ErrUnsupportedArtifact, strings.Join(unsupported, ", "))
	}

	// owner[i] is the index of the artifact that artifact i belongs to
	// (-1: a primary of its own).
	owner := make([]int, len(arts))
	for i := range owner {
		owner[i] = -1
	}
	// Azure HCL reports own a TD quote (TDX reports only) and a vTPM quote.
	hcls := count[cloudra.KindAzureHCL]
	for _, k := range []cloudra.Kind{cloudra.KindTDXQuote, cloudra.KindTPMAttest} {
		for _, i := range count[k] {
			j, err := explicitOwner(i, cloudra.KindAzureHCL)
			if err != nil {
				return nil, nil, err
			}
			if j >= 0 {
				owner[i] = j
			}
		}
	}
	for _, h := range hcls {
		wantsTD := hclType(arts[h].Data) == azure.ReportTypeTDX
		for _, k := range []cloudra.Kind{cloudra.KindTDXQuote, cloudra.KindTPMAttest} {
			if k == cloudra.KindTDXQuote && !wantsTD {
				continue
			}
			var mine, free []int
			for _, i := range count[k] {
				switch {
				case owner[i] == h:
					mine = append(mine, i)
				case owner[i] < 0 && arts[i].Meta[MetaFor] == "":
					free = append(free, i)
				}
			}
			if len(mine) == 0 && len(free) > 0 {
				if len(hcls) > 1 || len(free) > 1 {
					return nil, nil, ambiguous("%d HCL reports and %d %s artifacts", len(hcls), len(free), k)
				}
				owner[free[0]] = h
				mine = free
			}
			if len(mine) > 1 {
				return nil, nil, ambiguous("%d %s artifacts belong to one HCL report", len(mine), k)
			}
		}
	}

	// Companions belong to the only primary of their kind, or the named one.
	taken := map[[2]int]int{} // (owner, kind index) → companion
	kindIndex := map[cloudra.Kind]int{}
	for i, a := range arts {
		want := companionOf[a.Kind]
		if want == "" {
			continue
		}
		j, err := explicitOwner(i, want)
		if err != nil {
			return nil, nil, err
		}
		if j < 0 {
			switch n := len(count[want]); {
			case n == 0:
				return nil, nil, ambiguous("a %s without any %s it could belong to", a.Kind, want)
			case n > 1:
				return nil, nil, ambiguous("a %s and %d %s artifacts", a.Kind, n, want)
			}
			j = count[want][0]
		}
		ki, ok := kindIndex[a.Kind]
		if !ok {
			ki = len(kindIndex)
			kindIndex[a.Kind] = ki
		}
		if prev, dup := taken[[2]int{j, ki}]; dup {
			return nil, nil, ambiguous("artifacts %d and %d are both the %s of artifact %d", prev, i, a.Kind, j)
		}
		taken[[2]int{j, ki}] = i
		owner[i] = j
	}

	// Build the groups: every artifact's root owner.
	root := func(i int) int {
		for owner[i] >= 0 {
			i = owner[i]
		}
		return i
	}
	groups := map[int]*group{}
	var out []*group
	for i, a := range arts {
		if primaryKinds[a.Kind] && owner[i] < 0 {
			g := &group{primary: a, companions: map[cloudra.Kind]cloudra.Artifact{}}
			groups[i] = g
			out = append(out, g)
		}
	}
	for i, a := range arts {
		if owner[i] < 0 {
			continue
		}
		if g := groups[root(i)]; g != nil {
			g.companions[a.Kind] = a
		}
	}
	return out, extra, nil
}

// hclType peeks at an HCL report's report type; an unreadable report gives
// ReportTypeInvalid (its verification then fails as parse).
func hclType(data []byte) azure.ReportType {
	h, err := azure.ParseHCLReport(data)
	if err != nil {
		return azure.ReportTypeInvalid
	}
	return h.ReportType
}

package platform

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
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
// A primary with parts (an Azure HCL report) also holds its parts with
// their companions.
type group struct {
	primary    cloudra.Artifact
	companions map[cloudra.Kind]cloudra.Artifact
}

// groupArtifacts assigns every companion artifact of b to exactly one
// primary artifact and returns one group per primary, in bundle order, plus
// the collateral kinds found among the artifacts. An artifact's meta "for"
// names its primary explicitly; otherwise a companion belongs to the only
// primary of its kind, and a bundle where that is not unique is refused
// ([ErrAmbiguousEvidence]). A primary whose kind has parts (an Azure HCL
// report: the vTPM quote and, for a TDX report, the TD quote) owns the
// primaries of those kinds of the same bundle, under the same rule.
func (l *list) groupArtifacts(b *cloudra.Bundle) ([]*group, []cloudra.Artifact, error) {
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
	primaries := 0
	var unsupported []string
	var extra []cloudra.Artifact
	for i, a := range arts {
		spec, known := l.kinds[a.Kind]
		switch {
		case known && spec.Role == seam.Primary:
			count[a.Kind] = append(count[a.Kind], i)
			if l.unverifiable[a.Kind] {
				unsupported = append(unsupported, string(a.Kind))
			} else {
				primaries++
			}
		case known:
		case collateralKinds[a.Kind]:
			extra = append(extra, a)
		default:
			unsupported = append(unsupported, "unknown kind "+string(a.Kind))
		}
	}
	if primaries > MaxPrimaryArtifacts {
		return nil, nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyArtifacts, primaries, MaxPrimaryArtifacts)
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
	// Primaries with parts (an Azure HCL report) own the primaries of
	// those kinds: each part is named by its meta "for", or is the only
	// one of its kind.
	for _, k := range l.partKinds {
		for _, i := range count[k] {
			j, err := explicitOwner(i, l.ownersOf[k]...)
			if err != nil {
				return nil, nil, err
			}
			if j >= 0 {
				owner[i] = j
			}
		}
	}
	var wholes []int
	for _, k := range l.partOwners {
		wholes = append(wholes, count[k]...)
	}
	sort.Ints(wholes)
	for _, h := range wholes {
		for _, k := range l.partsOf(arts[h]) {
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
				if len(wholes) > 1 || len(free) > 1 {
					return nil, nil, ambiguous("%d %s artifacts and %d %s artifacts", len(wholes), arts[h].Kind, len(free), k)
				}
				owner[free[0]] = h
				mine = free
			}
			if len(mine) > 1 {
				return nil, nil, ambiguous("%d %s artifacts belong to one %s", len(mine), k, arts[h].Kind)
			}
		}
	}

	// Companions belong to the only primary of their kind, or the named one.
	taken := map[[2]int]int{} // (owner, kind index) → companion
	kindIndex := map[cloudra.Kind]int{}
	for i, a := range arts {
		spec := l.kinds[a.Kind]
		if spec.Role != seam.Companion {
			continue
		}
		want := spec.Of
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
		if l.kinds[a.Kind].Role == seam.Primary && owner[i] < 0 {
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

package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
)

// list is the platform list indexed by what the dispatcher asks of it.
type list struct {
	platforms []seam.Platform
	kinds     map[cloudra.Kind]seam.KindSpec
	owner     map[cloudra.Kind]seam.Platform // the platform owning each kind
	// unverifiable primary kinds belong to platforms that only recognise
	// them (Build returns no verifier).
	unverifiable map[cloudra.Kind]bool
	// partOwners are the primary kinds that own parts; partKinds the kinds
	// they may own; ownersOf, for each part kind, the kinds that may own it.
	partOwners, partKinds []cloudra.Kind
	ownersOf              map[cloudra.Kind][]cloudra.Kind
}

// theList indexes platforms once; a kind owned twice is a bug in the list,
// caught by its tests.
var theList = sync.OnceValue(func() *list { return index(platforms) })

func index(ps []seam.Platform) *list {
	l := &list{platforms: ps, kinds: map[cloudra.Kind]seam.KindSpec{}, owner: map[cloudra.Kind]seam.Platform{},
		unverifiable: map[cloudra.Kind]bool{}, ownersOf: map[cloudra.Kind][]cloudra.Kind{}}
	for _, p := range ps {
		_, placeholder := p.(*recognisedPlatform)
		for _, k := range p.Kinds() {
			if _, dup := l.kinds[k.Kind]; dup {
				panic(fmt.Sprintf("platform list: kind %s owned twice", k.Kind))
			}
			l.kinds[k.Kind] = k
			l.owner[k.Kind] = p
			if placeholder && k.Role == seam.Primary {
				l.unverifiable[k.Kind] = true
			}
			if len(k.Parts) > 0 {
				l.partOwners = append(l.partOwners, k.Kind)
				for _, part := range k.Parts {
					if len(l.ownersOf[part]) == 0 {
						l.partKinds = append(l.partKinds, part)
					}
					l.ownersOf[part] = append(l.ownersOf[part], k.Kind)
				}
			}
		}
	}
	return l
}

// partsOf returns the part kinds primary artifact a owns.
func (l *list) partsOf(a cloudra.Artifact) []cloudra.Kind {
	k := l.kinds[a.Kind]
	if k.PartsOf != nil {
		return k.PartsOf(a.Data)
	}
	return k.Parts
}

// built holds the platforms' verifiers of one trust setting, each built on
// first use.
type built struct {
	l         *list
	testRoots func() ([]seam.TestRoot, error) // nil: pinned roots only
	mu        sync.Mutex
	verifiers map[string]*onceVerifier
}

type onceVerifier struct {
	once sync.Once
	v    seam.Verifier
	err  error
}

func newBuilt(l *list, testRoots func() ([]seam.TestRoot, error)) *built {
	return &built{l: l, testRoots: testRoots, verifiers: map[string]*onceVerifier{}}
}

// errNoPlatform is a platform name not in the list (a composite asking for
// a platform that is not there).
var errNoPlatform = errors.New("platform: no such platform in the list")

// verifier returns the verifier of the named platform, building it on
// first use (and once, however many goroutines ask).
func (b *built) verifier(name string) (seam.Verifier, error) {
	var p seam.Platform
	for _, q := range b.l.platforms {
		if q.Name() == name {
			p = q
		}
	}
	if p == nil {
		return nil, fmt.Errorf("%w: %q", errNoPlatform, name)
	}
	b.mu.Lock()
	o := b.verifiers[name]
	if o == nil {
		o = &onceVerifier{}
		b.verifiers[name] = o
	}
	b.mu.Unlock()
	o.once.Do(func() {
		env := seam.Env{Verifier: b.verifier}
		if b.testRoots != nil {
			if env.TestRoots, o.err = b.testRoots(); o.err != nil {
				return
			}
		}
		o.v, o.err = p.Build(env)
	})
	return o.v, o.err
}

// verify runs the verifier of every primary artifact in the bundle, each
// with the companions that belong to it (see groupArtifacts).
func (b *built) verify(ctx context.Context, in Input, groups []*group) ([]*cloudra.Result, error) {
	var out []*cloudra.Result
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := b.l.owner[g.primary.Kind]
		if p == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedArtifact, g.primary.Kind)
		}
		v, err := b.verifier(p.Name())
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedArtifact, g.primary.Kind)
		}
		r, err := seam.Decided(v.VerifyRequest(ctx, &seam.Request{Primary: g.primary, Companions: g.companions,
			Collateral: in.Collateral, Policy: in.Policy, Options: in.Options, Nonce: in.Nonce, Challenge: in.Challenge}))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// CheckFreshness is the check that says whether the evidence answered the
// relying party's challenge (pass), or that no expected value was given so
// freshness was not checked (skip, with a warning).
const CheckFreshness = seam.CheckFreshness

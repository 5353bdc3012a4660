package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
)

// DefaultMaxRounds bounds the fetch rounds of [Verifiers.VerifyFetching]
// when [FetchOptions.MaxRounds] is zero. Three is enough for the deepest
// dependency seen (a VCEK, then its ASK/ARK chain, then a CRL) and keeps a
// verifier that keeps naming new items from fetching without end.
const DefaultMaxRounds = 3

// FetchOptions tune [Verifiers.VerifyFetching].
type FetchOptions struct {
	// MaxRounds bounds the fetch rounds (verify, fetch what is missing,
	// verify again); zero means DefaultMaxRounds.
	MaxRounds int
	// VerifyTimeout, when positive, bounds each verification (not the
	// fetches, which the Fetcher bounds).
	VerifyTimeout time.Duration
	// Revocation prefetches, before the first verification, the optional
	// revocation lists that RevocationRefs names and that the collateral
	// at hand does not already hold valid at the verification time. The
	// verifiers never name them as missing (revocation fails open unless
	// the policy requires a CRL), so without this an online verification
	// would skip the revocation check although the list is one request
	// away.
	Revocation bool
	// Rewrite, when set, maps an item's canonical URL to the URL it is
	// fetched from (a KDS mirror, a PCCS); what arrives is still cached
	// and verified as the canonical item (see collateral.FetchFrom).
	Rewrite func(canonical string) string
	// Progress, when set, is told of each item before it is fetched
	// ("fetching VCEK for Milan chip …").
	Progress func(event string)
	// NotFetched, when set, is told of each item that could not be
	// fetched in a round that went on because another item arrived.
	NotFetched func(err error)
	// Fetched, when set, is given what each round fetched (for a caller
	// that keeps it: `cloudra collateral fetch` writes it to a folder).
	Fetched func(c *cloudra.Collateral)
}

// FetchError reports a fetch round in which none of the missing items
// arrived. It unwraps to the verification error that named them (so
// errors.As finds the *cloudra.MissingCollateralError) and to each fetch
// failure (so errors.Is finds collateral.ErrOffline or a context error).
type FetchError struct {
	// Verify is the verification error that named the missing items.
	Verify error
	// Errs holds one error per item that could not be fetched.
	Errs []error
}

func (e *FetchError) Error() string {
	return "fetching collateral: " + errors.Join(e.Errs...).Error()
}

func (e *FetchError) Unwrap() []error {
	return append([]error{e.Verify}, e.Errs...)
}

// Offline reports whether every fetch failed because the Fetcher may not
// use the network and had no copy (collateral.ErrOffline).
func (e *FetchError) Offline() bool {
	return errors.Is(errors.Join(e.Errs...), collateral.ErrOffline)
}

// RevocationError reports that a revocation list the policy requires
// (sev-snp require-crl) could not be fetched and none from the same issuer
// is at hand for the verifier to judge.
type RevocationError struct {
	Errs []error
}

func (e *RevocationError) Error() string {
	return "fetching the revocation list that policy require-crl demands: " + errors.Join(e.Errs...).Error()
}

func (e *RevocationError) Unwrap() []error { return e.Errs }

// VerifyFetching verifies in and, while the verifiers name missing
// collateral (*cloudra.MissingCollateralError), fetches the named items
// through f, adds them to the collateral and verifies again, at most
// o.MaxRounds times. The items may be alternatives (a v2 report's VCEK
// under each product line): all are fetched, and the loop goes on when at
// least one arrived; when none did it returns a *FetchError.
//
// A nil f means offline: the missing-collateral error is returned as the
// verifier gave it, as it is when the rounds are used up. Any other
// verification error is returned unchanged. in.Collateral is not modified:
// what is fetched joins a copy.
//
// Verification itself stays pure; only f touches the network, and it is
// called with ctx.
func (v *Verifiers) VerifyFetching(ctx context.Context, in Input, f collateral.Fetcher, o FetchOptions) (*cloudra.Result, error) {
	rounds := o.MaxRounds
	if rounds <= 0 {
		rounds = DefaultMaxRounds
	}
	col := &cloudra.Collateral{}
	col.Merge(in.Collateral)
	in.Collateral = col

	var warnings []string
	if o.Revocation && f != nil {
		var err error
		if warnings, err = fetchRevocation(ctx, f, in, o); err != nil {
			return nil, err
		}
	}
	for round := 0; ; round++ {
		res, err := v.verifyOnce(ctx, in, o.VerifyTimeout)
		if err == nil || errors.Is(err, cloudra.ErrRejected) && res != nil {
			// Decided: a pass, or a rejection with its result.
			res.Warnings = append(res.Warnings, warnings...)
			return res, err
		}
		var miss *cloudra.MissingCollateralError
		if !errors.As(err, &miss) || f == nil || round >= rounds {
			return nil, err
		}
		c, got, errs := collateral.FetchRefs(ctx, f, miss.Items, o.Rewrite, o.Progress)
		in.Collateral.Merge(c)
		if got > 0 && o.Fetched != nil {
			o.Fetched(c)
		}
		if got == 0 {
			return nil, &FetchError{Verify: err, Errs: errs}
		}
		if o.NotFetched != nil {
			for _, e := range errs {
				o.NotFetched(e)
			}
		}
	}
}

func (v *Verifiers) verifyOnce(ctx context.Context, in Input, timeout time.Duration) (*cloudra.Result, error) {
	if timeout <= 0 {
		return v.Verify(ctx, in)
	}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return v.Verify(vctx, in)
}

// fetchRevocation fetches the revocation lists the evidence can be checked
// against: for each SEV-SNP report whose product line is known, the
// ARK-signed CRL that AMD KDS serves at /vcek/v1/{product}/crl (AMD KDS
// specification §4.2). A list already at hand and valid at the
// verification time is not fetched again. What arrives joins
// in.Collateral. A failed fetch becomes a warning for the result; under
// policy require-crl it is a *RevocationError instead, unless the
// collateral at hand already holds a list from the same ARK for the
// verifier to judge.
func fetchRevocation(ctx context.Context, f collateral.Fetcher, in Input, o FetchOptions) ([]string, error) {
	if in.Bundle == nil {
		return nil, nil
	}
	// The collateral at hand: the caller's and the bundle's own items.
	all := &cloudra.Collateral{}
	all.Merge(in.Collateral)
	for _, a := range in.Bundle.Collateral {
		if c, err := collateral.Classify(a.Data, a.Name); err == nil {
			all.Merge(c)
		}
	}
	var refs []cloudra.CollateralRef
	var required []cloudra.CollateralRef // lists the policy requires
	for _, r := range revocationRefs(in.Bundle) {
		if r.lister.RevocationAtHand(r.ref, all, in.Options.Time, true) {
			continue
		}
		refs = append(refs, r.ref)
		// Under a policy that requires the list, one at hand that is not
		// valid is for the verifier to judge (and reject).
		if r.lister.RevocationRequired(in.Policy) && !r.lister.RevocationAtHand(r.ref, all, in.Options.Time, false) {
			required = append(required, r.ref)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	c, _, errs := collateral.FetchRefs(ctx, f, refs, o.Rewrite, o.Progress)
	in.Collateral.Merge(c)
	if len(errs) == 0 {
		return nil, nil
	}
	if len(required) == len(refs) {
		return nil, &RevocationError{Errs: errs}
	}
	var warnings []string
	for _, err := range errs {
		warnings = append(warnings, fmt.Sprintf("collateral: not fetched, revocation may go unchecked: %v", err))
	}
	return warnings, nil
}

package collateral

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
)

// FetchRefs fetches every named item through f, classifies what arrives by
// content, and returns it with the number of items that arrived and the
// errors of the others. Items may be alternatives (a v2 SEV-SNP report's
// VCEK under each product line), so one failure is not fatal by itself; the
// caller decides what none arriving means. rewrite, when not nil, maps each
// URL to the source actually asked (a PCCS, a mirror); the item keeps its
// canonical URL as its name (see [FetchFrom]), so a cache finds it again
// whatever the source. progress, when not nil, is told of each fetch.
func FetchRefs(ctx context.Context, f Fetcher, refs []cloudra.CollateralRef, rewrite func(string) string, progress func(string)) (*cloudra.Collateral, int, []error) {
	out := &cloudra.Collateral{}
	var got int
	var errs []error
	for _, it := range refs {
		if progress != nil {
			progress("fetching " + it.What)
		}
		u := it.URL
		if rewrite != nil {
			u = rewrite(u)
		}
		resp, err := FetchFrom(ctx, f, it.URL, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", it.What, err))
			continue
		}
		c, err := ClassifyResponse(resp)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		out.Merge(c)
		got++
	}
	return out, got, errs
}

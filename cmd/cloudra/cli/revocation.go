package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/sevsnp"
)

// fetchRevocation fetches, before an online verification, the revocation
// lists the evidence can be checked against: for each SEV-SNP report whose
// product line is known, the ARK-signed CRL that AMD KDS serves at
// /vcek/v1/{product}/crl (AMD KDS specification §4.2). The verifiers never
// ask for it (revocation fails open by default), so without this an online
// verification would skip chain.crl although the list is one request away.
//
// What arrives joins in.Collateral. A list that is already at hand and
// valid at the verification time is not fetched again. A failed fetch is
// returned as a warning for the result; under policy require-crl it is an
// error instead (exit 2: the required list could not be had), unless the
// collateral at hand already holds a list from the same ARK for the
// verifier to judge.
func fetchRevocation(ctx context.Context, env *Env, fetcher collateral.Fetcher, in platform.Input, f *verifyFlags) ([]string, error) {
	var refs []cloudra.CollateralRef
	for _, r := range platform.RevocationRefs(in.Bundle) {
		if !crlAtHand(in, r, true) {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	c, _, errs := fetchRefs(ctx, env, fetcher, refs, f.kdsURL, f.pcsURL, false)
	in.Collateral.Merge(c)
	if len(errs) == 0 {
		return nil, nil
	}
	if sevsnp.PolicyOf(in.Policy) != nil && sevsnp.PolicyOf(in.Policy).RequireCRL && !anyCRLAtHand(in, refs) {
		return nil, undecided(fmt.Errorf("fetching the revocation list that policy require-crl demands: %w", errors.Join(errs...)),
			"check the network, or pass --collateral DIR holding the CRL (cloudra collateral fetch writes one)")
	}
	var warnings []string
	for _, err := range errs {
		warnings = append(warnings, fmt.Sprintf("collateral: not fetched, revocation may go unchecked: %v", err))
	}
	return warnings, nil
}

// anyCRLAtHand reports whether any of refs' lists is at hand, valid or not.
func anyCRLAtHand(in platform.Input, refs []cloudra.CollateralRef) bool {
	for _, r := range refs {
		if crlAtHand(in, r, false) {
			return true
		}
	}
	return false
}

// crlAtHand reports whether the collateral (the --collateral folders, what
// was fetched, the bundle's own items) holds a CRL issued by the ARK of the
// product that ref names, valid at the verification time when valid is set.
// The product comes from the KDS path /vcek/v1/{product}/crl.
func crlAtHand(in platform.Input, ref cloudra.CollateralRef, valid bool) bool {
	u, err := url.Parse(ref.URL)
	if err != nil {
		return false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || parts[3] != "crl" {
		return false
	}
	issuer := "ARK-" + parts[2]
	at := in.Options.Time
	all := &cloudra.Collateral{}
	all.Merge(in.Collateral)
	for _, a := range in.Bundle.Collateral {
		if c, err := collateral.Classify(a.Data, a.Name); err == nil {
			all.Merge(c)
		}
	}
	for _, crl := range all.CRLs {
		if crl.Issuer.CommonName != issuer {
			continue
		}
		if !valid || (!at.Before(crl.ThisUpdate) && at.Before(crl.NextUpdate)) {
			return true
		}
	}
	return false
}

// addWarnings appends ws to res's warnings.
func addWarnings(res *cloudra.Result, ws []string) {
	res.Warnings = append(res.Warnings, ws...)
}

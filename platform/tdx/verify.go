// Package tdx verifies Intel TDX quotes (DCAP quote v4, and v5 with TD report
// 1.0 or 1.5 bodies) against Intel's PCK chain and collateral, and appraises
// the TD against a policy.tdx section.
//
// Verification is a pure function of (quote, collateral, pinned root,
// policy, time). Measurements are compared and printed in quote byte order.
package tdx

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
	"github.com/cloudra/cloudra/platform/internal/dcapverify"
)

// Platform is the platform name in results.
const Platform = "tdx"

// Evidence is what a TD presents.
type Evidence struct {
	// Quote is a DCAP quote v4 or v5 with a TD report body, as produced by
	// the TD quoting enclave (zero padding after it is accepted).
	Quote []byte
}

// Verifier verifies TDX quotes. It caches verified PCK chains and evaluated
// collateral; it is safe for concurrent use. Create it once and reuse it.
type Verifier struct {
	dcap *dcapverify.Verifier
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithTestRoot adds a test root CA (the simulator's, or a test's forged
// Intel-like root). It is trusted only for verifications whose
// cloudra.Options.AllowTestRoots is set.
func WithTestRoot(root *x509.Certificate) Option {
	return func(v *Verifier) { v.dcap.AddTestRoot(root) }
}

// NewVerifier returns a Verifier trusting the pinned Intel SGX Root CA.
func NewVerifier(opts ...Option) (*Verifier, error) {
	d, err := dcapverify.NewVerifier()
	if err != nil {
		return nil, fmt.Errorf("tdx: %w", err)
	}
	v := &Verifier{dcap: d}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Verify verifies a TDX quote and appraises it against pol (nil: defaults).
//
// The result is explained by named checks ("quote.parse", "quote.signature",
// "pck.chain", "qe-report.signature", "qe-report.binding", "pck.crl",
// "root-ca.crl", "tcb-info.verify", "tcb-info.match", "tdx-module.identity",
// "tcb.platform", "qe-identity.verify", "qe-identity.match", "tcb.status")
// and policy violations. When the verdict is not pass, the result comes with
// a *cloudra.RejectedError (errors.Is cloudra.ErrRejected), so that a caller
// checking only the error never accepts a rejected quote. Otherwise the
// error is non-nil only when no decision is possible, with a nil result: no
// time (cloudra.ErrNoTime) or missing collateral
// (*cloudra.MissingCollateralError naming the PCS v4 URLs: PCK CRL, Root CA
// CRL, TCB Info, QE Identity, and the PCK certificate for quotes whose
// certification data names the platform instead of carrying the chain).
//
// ctx stops the work: it is checked between stages and between collateral
// candidates, and when it is done Verify returns an error wrapping
// ctx.Err().
//
// Claims are set only when the quote signature, PCK chain and QE report
// signature and binding verify (and no CRL revokes the chain). The TCB
// status is Intel's merged status of platform, TDX module and QE; which
// statuses pass is policy (dcap.TCBPolicy).
func (v *Verifier) Verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	return cloudra.Decide(v.verify(ctx, ev, col, pol, opts))
}

// verify is Verify with the verdict in the result only.
func (v *Verifier) verify(ctx context.Context, ev Evidence, col *cloudra.Collateral, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	if opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if pol == nil {
		pol = &Policy{}
	}
	res := &cloudra.Result{Platform: Platform}
	tq, ok := dcapverify.ParseQuote[dcap.TDQuote](res, ev.Quote, func(version uint16) string {
		return fmt.Sprintf("tdx: quote v%d carries an SGX enclave report, not a TD report (hint: verify it as sgx)", version)
	})
	if !ok {
		return res.Finish(), nil
	}
	body := tq.TDReport()
	res.Passf("quote.parse", "%s", describe(tq))
	out, err := v.dcap.Verify(ctx, res, dcapverify.Request{
		Quote:      tq,
		TEE:        pcs.TDX,
		Collateral: col,
		Platform: func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error) {
			if body.V15 {
				return pcs.EvaluateTDX15(info, ext.CompSVN, ext.PCESVN, body.TEETCBSVN, body.TEETCBSVN2)
			}
			return pcs.EvaluateTDX(info, ext.CompSVN, ext.PCESVN, body.TEETCBSVN)
		},
		Module: func(info *pcs.TCBInfo) error {
			return info.CheckTDXModule(body.MRSignerSEAM, body.SEAMAttributes, body.TEETCBSVN)
		},
	}, opts)
	if err != nil && !errors.Is(err, cloudra.ErrRejected) {
		return nil, fmt.Errorf("tdx: %w", err)
	}
	if out.Authentic {
		res.Claims = &Claims{Quote: tq, Chain: out.Chain}
		res.Signer = out.Signer()
		dcapverify.AppraiseTCB(res, out, pol.TCB)
		Appraise(res, body, pol)
	}
	return res.Finish(), nil
}

func describe(q dcap.TDQuote) string {
	h := q.QuoteHeader()
	s := fmt.Sprintf("TDX quote v%d, TD report 1.0", h.Version)
	if q.TDReport().V15 {
		s = fmt.Sprintf("TDX quote v%d, TD report 1.5", h.Version)
	}
	if p := q.Padding(); p > 0 {
		s += fmt.Sprintf(", %d bytes of zero padding after the signature data (not signed, ignored)", p)
	}
	return s
}

// Claims are the normalised claims of a verified TDX quote, rendered when
// printed. Byte strings are hex in quote order.
type Claims struct {
	Quote dcap.TDQuote
	Chain *dcap.PCKChain
}

// Claims implements cloudra.ClaimSet.
func (c *Claims) Claims() []cloudra.Claim {
	r := c.Quote.TDReport()
	h := hex.EncodeToString
	out := []cloudra.Claim{
		{Name: "quote_version", Value: c.Quote.QuoteHeader().Version},
		{Name: "mrtd", Value: h(r.MRTD[:])},
		{Name: "rtmr0", Value: h(r.RTMR[0][:])},
		{Name: "rtmr1", Value: h(r.RTMR[1][:])},
		{Name: "rtmr2", Value: h(r.RTMR[2][:])},
		{Name: "rtmr3", Value: h(r.RTMR[3][:])},
		{Name: "mrseam", Value: h(r.MRSEAM[:])},
		{Name: "mrsignerseam", Value: h(r.MRSignerSEAM[:])},
		{Name: "mrconfigid", Value: h(r.MRConfigID[:])},
		{Name: "mrowner", Value: h(r.MROwner[:])},
		{Name: "mrownerconfig", Value: h(r.MROwnerConfig[:])},
		{Name: "report_data", Value: h(r.ReportData[:])},
		{Name: "td_attributes", Value: h(r.TDAttributes[:])},
		{Name: "xfam", Value: h(r.XFAM[:])},
		{Name: "tee_tcb_svn", Value: h(r.TEETCBSVN[:])},
	}
	if r.V15 {
		out = append(out, cloudra.Claim{Name: "tee_tcb_svn2", Value: h(r.TEETCBSVN2[:])}, cloudra.Claim{Name: "mrservicetd", Value: h(r.MRServiceTD[:])})
	}
	if c.Chain != nil {
		out = append(out, cloudra.Claim{Name: "fmspc", Value: h(c.Chain.Ext.FMSPC[:])}, cloudra.Claim{Name: "pck_ca", Value: c.Chain.CA})
	}
	return out
}

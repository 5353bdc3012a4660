// Package sgx verifies Intel SGX ECDSA quotes (DCAP quote v3) against
// Intel's PCK chain and collateral, and appraises the enclave against a
// policy.sgx section.
//
// Verification is a pure function of (quote, collateral, pinned root,
// policy, time). Measurements are compared and printed in quote byte order.
package sgx

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
	"github.com/cloudra/cloudra/policy"
)

// Platform is the platform name in results.
const Platform = "sgx"

// Evidence is what an enclave presents.
type Evidence struct {
	// Quote is an SGX ECDSA quote v3 as produced by the quoting enclave.
	Quote []byte
}

// Verifier verifies SGX quotes. It caches verified PCK chains and evaluated
// collateral; it is safe for concurrent use. Create it once and reuse it.
type Verifier struct {
	dcap *dcapverify.Verifier
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithTestRoot adds a test root CA, trusted only for verifications whose
// cloudra.Options.AllowTestRoots is set.
func WithTestRoot(root *x509.Certificate) Option {
	return func(v *Verifier) { v.dcap.AddTestRoot(root) }
}

// NewVerifier returns a Verifier trusting the pinned Intel SGX Root CA.
func NewVerifier(opts ...Option) (*Verifier, error) {
	d, err := dcapverify.NewVerifier()
	if err != nil {
		return nil, fmt.Errorf("sgx: %w", err)
	}
	v := &Verifier{dcap: d}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Verify verifies an SGX quote and appraises it against pol (nil: defaults).
// Checks and errors are as for tdx.Verifier.Verify, without the TDX module
// step. A verdict other than pass comes with a *cloudra.RejectedError beside
// the result; otherwise the error is non-nil only when no decision is
// possible, with a nil result (no time, missing collateral, ctx done: the
// error wraps ctx.Err()).
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
	sq, ok := dcapverify.ParseQuote[*dcap.QuoteV3](res, ev.Quote, func(version uint16) string {
		return fmt.Sprintf("sgx: quote v%d carries a TD report, not an enclave report (hint: verify it as tdx)", version)
	})
	if !ok {
		return res.Finish(), nil
	}
	res.Passf("quote.parse", "SGX quote v3, QE SVN %d, PCE SVN %d", sq.Header.QESVN, sq.Header.PCESVN)
	out, err := v.dcap.Verify(ctx, res, dcapverify.Request{
		Quote:      sq,
		TEE:        pcs.SGX,
		Collateral: col,
		Platform: func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error) {
			return pcs.EvaluateSGX(info, ext.CompSVN, ext.PCESVN)
		},
	}, opts)
	if err != nil && !errors.Is(err, cloudra.ErrRejected) {
		return nil, fmt.Errorf("sgx: %w", err)
	}
	if out.Authentic {
		res.Claims = &Claims{Quote: sq, Chain: out.Chain}
		res.Signer = out.Signer()
		dcapverify.AppraiseTCB(res, out, pol.TCB)
		Appraise(res, &sq.Body, pol)
	}
	return res.Finish(), nil
}

// Claims are the normalised claims of a verified SGX quote.
type Claims struct {
	Quote *dcap.QuoteV3
	Chain *dcap.PCKChain
}

// Claims implements cloudra.ClaimSet.
func (c *Claims) Claims() []cloudra.Claim {
	r := &c.Quote.Body
	h := hex.EncodeToString
	out := []cloudra.Claim{
		{Name: "mrenclave", Value: h(r.MREnclave[:])},
		{Name: "mrsigner", Value: h(r.MRSigner[:])},
		{Name: "isvprodid", Value: r.ISVProdID},
		{Name: "isvsvn", Value: r.ISVSVN},
		{Name: "attributes", Value: h(r.Attributes[:])},
		{Name: "miscselect", Value: r.MiscSelect},
		{Name: "cpusvn", Value: h(r.CPUSVN[:])},
		{Name: "report_data", Value: h(r.ReportData[:])},
		{Name: "isvextprodid", Value: h(r.ISVExtProdID[:])},
		{Name: "isvfamilyid", Value: h(r.ISVFamilyID[:])},
		{Name: "configid", Value: h(r.ConfigID[:])},
		{Name: "configsvn", Value: r.ConfigSVN},
	}
	if c.Chain != nil {
		out = append(out, cloudra.Claim{Name: "fmspc", Value: h(c.Chain.Ext.FMSPC[:])}, cloudra.Claim{Name: "pck_ca", Value: c.Chain.CA})
	}
	return out
}

// Appraise records one violation per broken rule of pol (nil: defaults) for
// an authentic enclave report.
func Appraise(res *cloudra.Result, r *dcap.EnclaveReport, pol *Policy) {
	if pol == nil {
		pol = &Policy{}
	}
	if r.Flags()&dcap.SGXAttrDebug != 0 && !policy.Or(pol.AllowDebug, false) {
		res.Violate("attributes.debug", cloudra.ClassPolicy, "DEBUG clear", hex.EncodeToString(r.Attributes[:]))
	}
	dcapverify.AllowList(res, "mrenclave", pol.MREnclave, r.MREnclave[:])
	dcapverify.AllowList(res, "mrsigner", pol.MRSigner, r.MRSigner[:])
	if pol.ISVProdID != nil && *pol.ISVProdID != r.ISVProdID {
		res.Violate("isvprodid", cloudra.ClassPolicy, fmt.Sprint(*pol.ISVProdID), fmt.Sprint(r.ISVProdID))
	}
	if r.ISVSVN < pol.MinISVSVN {
		res.Violate("min-isvsvn", cloudra.ClassPolicy, fmt.Sprintf("≥ %d", pol.MinISVSVN), fmt.Sprint(r.ISVSVN))
	}
	if len(pol.Attributes) > 0 {
		mask := pol.AttributesMask
		if len(mask) == 0 {
			mask = bytesOf(0xff, 16)
		}
		if len(pol.Attributes) != 16 || len(mask) != 16 {
			res.Violate("attributes", cloudra.ClassPolicy, "16-byte attributes and mask in the policy", hex.EncodeToString(r.Attributes[:]))
		} else {
			for i := range mask {
				if r.Attributes[i]&mask[i] != pol.Attributes[i]&mask[i] {
					res.Violate("attributes", cloudra.ClassPolicy, hex.EncodeToString(pol.Attributes)+" under mask "+hex.EncodeToString(mask), hex.EncodeToString(r.Attributes[:]))
					break
				}
			}
		}
	}
	if pol.MiscSelect != nil {
		mask := uint32(0xffffffff)
		if pol.MiscSelectMask != nil {
			mask = *pol.MiscSelectMask
		}
		if r.MiscSelect&mask != *pol.MiscSelect&mask {
			res.Violate("miscselect", cloudra.ClassPolicy, fmt.Sprintf("%#08x under mask %#08x", *pol.MiscSelect, mask), fmt.Sprintf("%#08x", r.MiscSelect))
		}
	}
	exact := func(rule string, want, got []byte) {
		if len(want) > 0 && hex.EncodeToString(want) != hex.EncodeToString(got) {
			res.Violate(rule, cloudra.ClassPolicy, hex.EncodeToString(want), hex.EncodeToString(got))
		}
	}
	exact("isvextprodid", pol.ISVExtProdID, r.ISVExtProdID[:])
	exact("isvfamilyid", pol.ISVFamilyID, r.ISVFamilyID[:])
	exact("configid", pol.ConfigID, r.ConfigID[:])
	if pol.ConfigSVN != nil && *pol.ConfigSVN != r.ConfigSVN {
		res.Violate("configsvn", cloudra.ClassPolicy, fmt.Sprint(*pol.ConfigSVN), fmt.Sprint(r.ConfigSVN))
	}
	dcapverify.CheckReportData(res, pol.ReportData, r.ReportData[:])
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

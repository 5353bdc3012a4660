package dcapverify

import (
	"context"
	"crypto/x509"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
)

// Verifier is what an SGX and a TDX verifier share: the engine, whose caches
// of verified PCK chains and evaluated collateral make warm verifications
// cheap, and the roots it trusts. It is safe for concurrent use once its
// test roots are added.
type Verifier struct {
	engine *Engine
	trust  Trust
}

// NewVerifier returns a Verifier trusting the pinned Intel SGX Root CA.
func NewVerifier() (*Verifier, error) {
	trust, err := NewTrust()
	if err != nil {
		return nil, err
	}
	return &Verifier{engine: New(), trust: trust}, nil
}

// AddTestRoot adds a test root CA, trusted only for verifications whose
// cloudra.Options.AllowTestRoots is set.
func (v *Verifier) AddTestRoot(root *x509.Certificate) { v.trust.AddTestRoot(root) }

// Verify runs the engine on req at opts.Time under the roots opts allows
// (req.Roots and req.Time are set here).
func (v *Verifier) Verify(ctx context.Context, res *cloudra.Result, req Request, opts cloudra.Options) (*Outcome, error) {
	req.Roots = v.trust.Roots(opts)
	req.Time = opts.Time
	return v.engine.Verify(ctx, res, req)
}

// ParseQuote parses raw as a quote of kind Q and records the "quote.parse"
// failure: the parse error, or wrong(version) when the quote is of the other
// kind (an SGX quote given to the TDX verifier or the reverse). The caller
// records the pass with its own description.
func ParseQuote[Q dcap.Quote](res *cloudra.Result, raw []byte, wrong func(version uint16) string) (Q, bool) {
	var zero Q
	q, err := dcap.ParseQuote(raw)
	if err != nil {
		res.Failf("quote.parse", cloudra.ClassParse, "%v", err)
		return zero, false
	}
	k, ok := q.(Q)
	if !ok {
		res.Failf("quote.parse", cloudra.ClassParse, "%s", wrong(q.QuoteHeader().Version))
		return zero, false
	}
	return k, true
}

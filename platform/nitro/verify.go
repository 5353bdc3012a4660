package nitro

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/veraison/go-cose"

	"github.com/cloudra/cloudra"
)

// Evidence is what an enclave or an instance presents.
type Evidence struct {
	// Document is the attestation document as NSM (or NitroTPM) wrote it.
	Document []byte
}

// Verifier verifies attestation documents against the pinned AWS Nitro
// Enclaves Root G1. It caches verified cabundles and is safe for concurrent
// use: create it once and reuse it.
type Verifier struct {
	root      *x509.Certificate
	testRoots []*x509.Certificate

	mu     sync.Mutex
	chains map[[32]byte][]*x509.Certificate
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithTestRoot adds a simulated root, trusted only for verifications whose
// cloudra.Options.AllowTestRoots is set.
func WithTestRoot(root *x509.Certificate) Option {
	return func(v *Verifier) { v.testRoots = append(v.testRoots, root) }
}

// NewVerifier returns a Verifier trusting the pinned AWS Nitro Enclaves
// Root G1.
func NewVerifier(opts ...Option) (*Verifier, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	v := &Verifier{root: root, chains: map[[32]byte][]*x509.Certificate{}}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Verify verifies an attestation document and appraises it against pol
// (nil: the defaults) at opts.Time, in the order of attestation_process.md
// §3: the document's syntax, the chain from the pinned root (every
// certificate valid at the verification time), the ES384 signature, the
// document's timestamp against the verification time and the leaf's
// window, the expected nonce, and the policy. A verdict other than pass
// comes with a *cloudra.RejectedError beside the result; otherwise the error
// is non-nil only when no decision is possible (no time, ctx done), with a
// nil result.
func (v *Verifier) Verify(ctx context.Context, ev Evidence, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	return cloudra.Decide(v.verify(ctx, ev, pol, opts))
}

func (v *Verifier) verify(ctx context.Context, ev Evidence, pol *Policy, opts cloudra.Options) (*cloudra.Result, error) {
	if opts.Time.IsZero() {
		return nil, cloudra.ErrNoTime
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nitro: %w", err)
	}
	if pol == nil {
		pol = &Policy{}
	}
	res := &cloudra.Result{Platform: Platform}
	d, err := ParseDocument(ev.Document)
	if err != nil {
		res.Failf(checkParse, cloudra.ClassParse, "%s", parseReason(err))
		return res.Finish(), nil
	}
	a := d.Attestation
	res.Passf(checkParse, "COSE_Sign1 (%s), ES384, %s from %s, %d PCRs, %d-certificate cabundle",
		map[bool]string{true: "tagged 18", false: "untagged"}[d.Tagged], docName(a), a.ModuleID, len(a.PCRs), len(a.CABundle))
	ch, cerr := v.chain(a, opts)
	if cerr != nil {
		res.Failf(cerr.check, cerr.class, "%s", cerr.msg)
		return res.Finish(), nil
	}
	ch.record(res)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nitro: %w", err)
	}
	if cerr := signature(d, ch.leaf); cerr != nil {
		res.Failf(cerr.check, cerr.class, "%s", cerr.msg)
		return res.Finish(), nil
	}
	res.Passf(checkSignature, "ES384 over the Sig_structure of the received protected header and payload (RFC 9052 §4.4), by CN=%s", ch.leaf.Subject.CommonName)
	t := opts.Time
	if !ch.test {
		// A chain to AWS's pinned root is AWS's, a verified fact.
		res.Cloud = "aws"
	}
	if validity := ch.err; validity != nil {
		res.Failf(validity.check, validity.class, "%s", validity.msg)
	} else {
		res.Passf(checkValidity, "every certificate valid at %s; leaf CN=%s valid %s to %s (%s), chain window %s to %s",
			stamp(t), ch.leaf.Subject.CommonName, stamp(ch.leaf.NotBefore), stamp(ch.leaf.NotAfter),
			ch.leaf.NotAfter.Sub(ch.leaf.NotBefore).Round(time.Second), stamp(ch.notBefore), stamp(ch.notAfter))
	}
	made, ok := documentTime(a.Timestamp)
	switch {
	case !ok || made.After(t):
		res.Failf(checkTimestamp, cloudra.ClassFresh, "document made at %s, after the verification time %s", stampMillis(a.Timestamp), stamp(t))
	case made.Before(ch.leaf.NotBefore) || made.After(ch.leaf.NotAfter):
		res.Failf(checkTimestamp, cloudra.ClassFresh, "document made at %s, outside its leaf's window %s to %s", stamp(made), stamp(ch.leaf.NotBefore), stamp(ch.leaf.NotAfter))
	default:
		res.Passf(checkTimestamp, "document made at %s, %s before the verification time", stamp(made), t.Sub(made).Round(time.Millisecond))
	}
	res.Signer = "Nitro PKI leaf CN=" + ch.leaf.Subject.CommonName
	res.Claims = &Claims{Document: d, Leaf: ch.leaf}
	appraise(res, a, made, t, pol)
	return res.Finish(), nil
}

// parseReason is a ParseError's message without the package prefix.
func parseReason(err error) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Part + ": " + pe.Reason
	}
	return err.Error()
}

func docName(a *Attestation) string {
	if a.TPM {
		return "NitroTPM attestation document"
	}
	return "enclave attestation document"
}

// documentTime converts the document's milliseconds; false for a value
// past what time.Time holds (such a document is refused as from the
// future).
func documentTime(ms uint64) (time.Time, bool) {
	if ms > math.MaxInt64 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

func stampMillis(ms uint64) string {
	if t, ok := documentTime(ms); ok {
		return stamp(t)
	}
	return fmt.Sprintf("%d ms after the epoch", ms)
}

// verifiedChain is a chain whose links verified.
type verifiedChain struct {
	test                bool
	certs               []*x509.Certificate // root first, leaf last
	leaf                *x509.Certificate
	notBefore, notAfter time.Time
	err                 *chainError // validity at the verification time
}

// chain verifies the document's certificates from the pinned root down to
// the leaf (attestation_process.md §3.2.3, §3.2.4). Validity is recorded, not
// returned, so that an expired chain is reported as stale after its links.
func (v *Verifier) chain(a *Attestation, opts cloudra.Options) (*verifiedChain, *chainError) {
	if n := len(a.CABundle); n > MaxCABundle {
		return nil, chainFail(checkCABundle, "%d certificates in cabundle; the Nitro PKI's chains have 4, at most %d are accepted", n, MaxCABundle)
	}
	root, test, cerr := v.anchor(a.CABundle, opts.AllowTestRoots)
	if cerr != nil {
		return nil, cerr
	}
	cas, cerr := v.cabundle(root, a.CABundle)
	if cerr != nil {
		return nil, cerr
	}
	l, cerr := leaf(a.Certificate, cas[len(cas)-1])
	if cerr != nil {
		return nil, cerr
	}
	certs := append(cas[:len(cas):len(cas)], l)
	ch := &verifiedChain{test: test, certs: certs, leaf: l}
	ch.notBefore, ch.notAfter, ch.err = validity(certs, opts.Time)
	return ch, nil
}

// record adds the chain's passed checks.
func (ch *verifiedChain) record(res *cloudra.Result) {
	if ch.test {
		res.Add(checkRoot, cloudra.OutcomeWarn, "", "cabundle[0] is a simulated root (test roots allowed), not the AWS Nitro Enclaves Root G1")
		res.Warn("verified under a simulated test root, not AWS's")
	} else {
		res.Passf(checkRoot, "cabundle[0] is the pinned AWS Nitro Enclaves Root G1 (sha256 %s)", RootSHA256[:16]+"…")
	}
	names := ""
	for i, c := range ch.certs[1 : len(ch.certs)-1] {
		if i > 0 {
			names += " → "
		}
		names += "CN=" + c.Subject.CommonName
	}
	res.Passf(checkCABundle, "%s (each signed by the one above, CA with room for the path)", names)
	res.Passf(checkLeaf, "CN=%s, an end entity signed by the last CA", ch.leaf.Subject.CommonName)
}

// signature verifies the document's ES384 signature under the leaf's key.
func signature(d *Document, l *x509.Certificate) *chainError {
	if d.msg == nil {
		return &chainError{check: checkSignature, class: cloudra.ClassSig, msg: errNoMessage.Error()}
	}
	vf, err := cose.NewVerifier(cose.AlgorithmES384, l.PublicKey)
	if err != nil {
		return &chainError{check: checkSignature, class: cloudra.ClassSig, msg: fmt.Sprintf("leaf key: %v", err)}
	}
	if err := d.msg.Verify(nil, vf); err != nil {
		return &chainError{check: checkSignature, class: cloudra.ClassSig,
			msg: fmt.Sprintf("the ES384 signature does not verify under the leaf CN=%s: %v", l.Subject.CommonName, err)}
	}
	return nil
}

// Claims are the claims of a verified attestation document.
type Claims struct {
	Document *Document
	Leaf     *x509.Certificate
}

// Claims implements cloudra.ClaimSet: the document's fields in document
// byte order, the PCRs by index.
func (c *Claims) Claims() []cloudra.Claim {
	a := c.Document.Attestation
	kind := "enclave"
	if a.TPM {
		kind = "nitrotpm"
	}
	out := []cloudra.Claim{
		{Name: "document", Value: kind},
		{Name: "module_id", Value: a.ModuleID},
		{Name: "digest", Value: a.Digest},
		{Name: "timestamp", Value: stampMillis(a.Timestamp)},
		{Name: "timestamp_ms", Value: a.Timestamp},
	}
	if !a.TPM {
		out = append(out, cloudra.Claim{Name: "debug", Value: Debug(a)})
	}
	for _, p := range a.PCRs {
		out = append(out, cloudra.Claim{Name: fmt.Sprintf("pcr%d", p.Index), Value: hex.EncodeToString(p.Value)})
	}
	for _, f := range []struct {
		name string
		o    Optional
	}{{"user_data", a.UserData}, {"nonce", a.Nonce}, {"public_key", a.PublicKey}} {
		out = append(out, cloudra.Claim{Name: f.name, Value: optionalValue(f.o)})
	}
	return append(out,
		cloudra.Claim{Name: "leaf", Value: c.Leaf.Subject.CommonName},
		cloudra.Claim{Name: "leaf_not_before", Value: stamp(c.Leaf.NotBefore)},
		cloudra.Claim{Name: "leaf_not_after", Value: stamp(c.Leaf.NotAfter)},
	)
}

// optionalValue is hex, or nil (JSON null) for an absent or null field.
func optionalValue(o Optional) any {
	if !o.Present || o.Null {
		return nil
	}
	return hex.EncodeToString(o.Value)
}

// Debug reports a debug-mode enclave: AWS zeroes PCR0, PCR1 and PCR2 of an
// enclave started with --debug-mode (AWS Nitro Enclaves User Guide,
// "Nitro Enclaves concepts: debug mode"), so such a document says nothing
// of the image it runs. It is false for NitroTPM documents.
func Debug(a *Attestation) bool {
	if a.TPM {
		return false
	}
	for _, i := range []uint{0, 1, 2} {
		p := a.PCR(i)
		if p == nil || !allZero(p) {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

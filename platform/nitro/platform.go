package nitro

import (
	"context"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// Seam returns Nitro's entry in cloudra's list of platforms
// (platform/platforms.go).
func Seam() seam.Platform { return nitroPlatform{} }

type nitroPlatform struct{}

func (nitroPlatform) Name() string { return Platform }

func (nitroPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{
		{Kind: KindDocument, Role: seam.Primary},
		{Kind: KindTPMDocument, Role: seam.Primary},
	}
}

// Detect recognises a COSE_Sign1 message by its head; one whose payload
// decodes as a NitroTPM document is a KindTPMDocument, any other (a
// truncated or corrupt one included, for its verifier to refuse) a
// KindDocument.
func (nitroPlatform) Detect(b []byte) cloudra.Kind {
	if !looksLikeCOSESign1(b) {
		return ""
	}
	if d, err := ParseDocument(b); err == nil && d.Attestation.TPM {
		return KindTPMDocument
	}
	return KindDocument
}

func (nitroPlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case KindDocument, KindTPMDocument:
		return Inspect(data)
	}
	return nil, fmt.Errorf("nitro: no inspector for %s", kind)
}

func (nitroPlatform) Policy() policy.Section { return PolicySection() }

// Build loads the pinned AWS root, plus the simulated Nitro root when the
// caller gave it (trusted only under Options.AllowTestRoots).
func (nitroPlatform) Build(env seam.Env) (seam.Verifier, error) {
	var opts []Option
	for _, r := range env.Roots(Platform) {
		opts = append(opts, WithTestRoot(r.Cert))
	}
	return NewVerifier(opts...)
}

// ConvertPolicy implements seam.PolicyConverter: nitro-cli's
// expected-measurements.json is a policy file as it is.
func (nitroPlatform) ConvertPolicy(data []byte) ([]byte, bool, error) {
	return ConvertMeasurements(data)
}

func nonceField(s *Policy) *cloudra.HexBytes { return &s.Nonce }

// VerifyRequest verifies an attestation document against the relying
// party's nonce (req.Nonce, or its challenge), which the document's nonce
// field must carry exactly.
func (v *Verifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	nonce := req.Nonce
	if len(nonce) == 0 {
		nonce = req.Challenge
	}
	sec := seam.WithReportData(PolicyOf(req.Policy), nonce, nonceField)
	if sec == nil {
		sec = &Policy{}
	}
	r, err := seam.Decided(v.verify(ctx, Evidence{Document: req.Primary.Data}, sec, req.Options))
	if err != nil {
		return nil, err
	}
	if want := kindOf(r); want != "" && want != req.Primary.Kind {
		r.Failf(checkParse, cloudra.ClassParse, "the artifact is labelled %s but the document is a %s", req.Primary.Kind, want)
		r.Claims = nil
	}
	seam.NoteFreshness(r, len(sec.Nonce) > 0, !r.HasViolation("nonce"), "nonce")
	return r, r.Err()
}

// kindOf is the kind of the verified document, "" when unparsed.
func kindOf(r *cloudra.Result) cloudra.Kind {
	c, ok := r.Claims.(*Claims)
	if !ok {
		return ""
	}
	if c.Document.Attestation.TPM {
		return KindTPMDocument
	}
	return KindDocument
}

// Package seam is what a platform implements to plug into cloudra: the
// kinds of artifact it owns and how it recognises them by content, how it
// inspects and verifies them, its policy section, and how a relying party's
// expected REPORT_DATA is set for it. The platforms are listed in one file,
// platform/platforms.go; package platform (the dispatcher) does the rest:
// recognising raw files, grouping a bundle's artifacts, building each
// platform's verifier on first need, and combining results.
//
// docs/design.md ("Adding a platform") is the recipe.
package seam

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// Platform is one attestation platform. Its methods other than Build are
// cheap and pure: the dispatcher calls them for every file it recognises
// and every bundle it groups, before any verifier exists.
type Platform interface {
	// Name is the platform's name ("sev-snp", "tdx", "azure-cvm").
	Name() string
	// Kinds are the artifact kinds the platform owns, each with its role.
	Kinds() []KindSpec
	// Detect recognises an artifact of one of the platform's kinds from
	// its binary bytes (armour already removed), by header: a truncated or
	// corrupt artifact is still recognised, for its verifier to reject as
	// parse. It returns "" for bytes that are not the platform's.
	Detect(data []byte) cloudra.Kind
	// Inspect parses one artifact of the platform's kinds and returns every
	// field, named as in its specification. Nothing is verified.
	Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error)
	// Policy is the platform's section of the policy file; a zero Section
	// (empty Name) when it has none.
	Policy() policy.Section
	// Build makes the platform's verifier: pinned roots, caches. The
	// dispatcher calls it once, on the first verification that needs it,
	// so a run that verifies an SEV-SNP report builds nothing else. A nil
	// Verifier means the platform's artifacts are recognised but cannot
	// be verified by this cloudra (they are refused, never dropped).
	Build(env Env) (Verifier, error)
}

// Verifier verifies one primary artifact with its companions. It must be
// safe for concurrent use: a server keeps one.
type Verifier interface {
	// VerifyRequest verifies req.Primary with req.Companions against the
	// relying party's expected values (req.Nonce, req.Challenge, the
	// policy; never anything the evidence carries about itself) and
	// returns the explained result. It records the freshness check (see
	// [NoteFreshness]). Like every verify function of cloudra it returns
	// a non-nil error for a verdict other than pass (a
	// *cloudra.RejectedError carrying the result) and for evidence that
	// cannot be decided (nil result).
	VerifyRequest(ctx context.Context, req *Request) (*cloudra.Result, error)
}

// Role is what an artifact kind is to its platform.
type Role uint8

const (
	// Primary artifacts are verified in their own right, one result each.
	Primary Role = iota + 1
	// Companion artifacts belong to exactly one primary artifact (KindSpec.Of):
	// a certificate table to its report, a signature to its quote.
	Companion
	// Informational artifacts travel with evidence and are not verified
	// (the TDREPORT a quote was made of).
	Informational
)

// KindSpec is one artifact kind a platform owns.
type KindSpec struct {
	Kind cloudra.Kind
	Role Role
	// Of is the primary kind a Companion belongs to (possibly another
	// platform's: an event log belongs to a TPM quote).
	Of cloudra.Kind
	// Parts, for a Primary, names the other primary kinds an artifact of
	// this kind may own as parts of its evidence (an Azure HCL report: the
	// vTPM quote and the TD quote), and PartsOf, when set, those a given
	// artifact owns (the TD quote only for an HCL report holding a TDX
	// report). Parts and their companions join its Request.
	Parts   []cloudra.Kind
	PartsOf func(data []byte) []cloudra.Kind
}

// TextDetector is implemented by platforms with a kind that is text (a
// compact JWS), recognised before hex or base64 armour is removed.
type TextDetector interface {
	DetectText(trimmed []byte) cloudra.Kind
}

// ReportDataSetter is implemented by platforms whose evidence carries a
// REPORT_DATA chosen by the relying party. SetReportData returns p with the
// platform's section's expected REPORT_DATA set to rd (zero-padded to the
// field by the platform's comparison), never writing p or its sections.
type ReportDataSetter interface {
	SetReportData(p *policy.Policy, rd []byte) *policy.Policy
}

// RevocationLister is implemented by platforms whose revocation lists are
// optional to their verifier (fail-open unless the policy requires one), so
// that it never names them as missing: a fetcher gets them up front.
type RevocationLister interface {
	// RevocationRefs names the lists artifact a can be checked against.
	RevocationRefs(a cloudra.Artifact) []cloudra.CollateralRef
	// RevocationAtHand reports whether col holds the list ref names, valid
	// at t when valid is set.
	RevocationAtHand(ref cloudra.CollateralRef, col *cloudra.Collateral, t time.Time, valid bool) bool
	// RevocationRequired reports whether policy p requires the lists, so
	// that one that cannot be fetched fails the verification closed.
	RevocationRequired(p *policy.Policy) bool
}

// PolicyConverter is implemented by platforms that accept, as a policy
// file, a file another tool writes (nitro-cli's expected-measurements.json).
// ConvertPolicy reports whether data is such a file and, when it is,
// returns it as a cloudra policy document (which is then parsed like any
// other, so every rule of the format holds), or why it is a bad one.
type PolicyConverter interface {
	ConvertPolicy(data []byte) (converted []byte, ok bool, err error)
}

// Env is what Build is given.
type Env struct {
	// TestRoots are the roots of cloudra's simulated platforms, given only
	// when the caller asked for them (cloudra demo, --allow-test-roots) and
	// used only under Options.AllowTestRoots. A platform takes the ones
	// naming it.
	TestRoots []TestRoot
	// Verifier returns the verifier of another listed platform, built on
	// first use with the same Env: a composite platform (Azure: SEV-SNP or
	// TDX, and TPM) uses the others through it.
	Verifier func(name string) (Verifier, error)
}

// TestRoot is one simulated platform's root certificate.
type TestRoot struct {
	Platform string // the platform Name it is for
	Product  string // a product line, where roots are per product ("Milan")
	Cert     *x509.Certificate
}

// Roots returns the test roots for platform name.
func (e Env) Roots(name string) []TestRoot {
	var out []TestRoot
	for _, r := range e.TestRoots {
		if r.Platform == name {
			out = append(out, r)
		}
	}
	return out
}

// Request is one primary artifact to verify, with everything its
// verification may use. Verification reads no clock and no network.
type Request struct {
	Primary cloudra.Artifact
	// Companions are the artifacts that belong to Primary (and, for a
	// primary with Parts, its parts and their companions), by kind.
	Companions map[cloudra.Kind]cloudra.Artifact
	Collateral *cloudra.Collateral
	Policy     *policy.Policy
	Options    cloudra.Options
	// Nonce is the relying party's expected TPM quote nonce (extraData).
	Nonce []byte
	// Challenge is a relying party's challenge that the evidence must
	// answer in whatever way its platform binds one (REPORT_DATA, a quote's
	// extraData, a user-data echo).
	Challenge []byte
}

// Companion returns the companion of kind k.
func (r *Request) Companion(k cloudra.Kind) (cloudra.Artifact, bool) {
	a, ok := r.Companions[k]
	return a, ok
}

// Bundle returns the request's artifacts as a bundle of their own, primary
// first and companions in kind order, for verifiers that read a bundle.
func (r *Request) Bundle() *cloudra.Bundle {
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: []cloudra.Artifact{r.Primary}}
	for _, k := range sortedKinds(r.Companions) {
		b.Artifacts = append(b.Artifacts, r.Companions[k])
	}
	return b
}

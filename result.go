package cloudra

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ResultSchema names the JSON schema of [Result]. It changes only when a
// field changes meaning or disappears; new fields are added without a bump.
const ResultSchema = "cloudra.result/v1"

// Verdict is the overall outcome of a verification.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
)

// Outcome is the outcome of one named check.
type Outcome string

// Outcomes of a check. Skip means the check did not apply (with the reason in
// the detail); Warn means it passed with a caveat the user should read.
const (
	OutcomePass Outcome = "pass"
	OutcomeFail Outcome = "fail"
	OutcomeSkip Outcome = "skip"
	OutcomeWarn Outcome = "warn"
)

// Class is the class of a failed check, as in the pitfalls catalogue: it tells
// callers why evidence was rejected without parsing messages.
type Class string

// Failure classes.
const (
	ClassSig        Class = "sig"        // a signature over evidence or collateral does not verify
	ClassChain      Class = "chain"      // a certificate path does not reach a pinned root, or a link is invalid
	ClassPolicy     Class = "policy"     // genuine evidence, but a field violates policy
	ClassBinding    Class = "binding"    // REPORT_DATA / nonce / key binding mismatch
	ClassFresh      Class = "fresh"      // stale, expired, not yet valid, replayed
	ClassParse      Class = "parse"      // malformed input
	ClassCollateral Class = "collateral" // collateral missing, unsigned, expired, wrong type
)

// Check is one named verification step and its outcome.
type Check struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	Class   Class   `json:"class,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// Violation is one policy rule that the evidence does not meet. Every
// violated rule is reported, not only the first.
type Violation struct {
	Rule string `json:"rule"`
	Want string `json:"want,omitempty"`
	Got  string `json:"got,omitempty"`
	// Class is policy unless the rule is a binding or freshness rule.
	Class Class `json:"class"`
}

// Claim is one normalised claim: byte strings are lowercase hex in the order
// the evidence carries them (never reversed), integers are JSON numbers.
type Claim struct {
	Name  string
	Value any
}

// ClaimSet produces the normalised claims of verified evidence. Claims are
// rendered lazily (at output time) so that verification itself stays cheap.
type ClaimSet interface {
	Claims() []Claim
}

// TCB is the trusted computing base summary of a verification.
type TCB struct {
	// Status is a platform status word: "UpToDate", "OutOfDate", … for DCAP,
	// or "reported" for SNP.
	Status     string            `json:"status,omitempty"`
	Components map[string]uint64 `json:"components,omitempty"`
	Advisories []string          `json:"advisories,omitempty"`
	Date       string            `json:"date,omitempty"`
}

// Result is the explained outcome of a verification (schema cloudra.result/v1).
//
// On any cryptographic failure (signature, chain, parse) Claims is nil: claims
// of unauthenticated evidence are never returned.
type Result struct {
	Verdict  Verdict `json:"-"`
	Platform string  `json:"-"`
	// Cloud names the cloud when the evidence says so.
	Cloud string `json:"-"`
	// Signer names the key that signed the evidence ("VCEK", "VLEK", …) and
	// the certificate used, where a choice was made among candidates.
	Signer     string      `json:"-"`
	Claims     ClaimSet    `json:"-"`
	TCB        *TCB        `json:"-"`
	Checks     []Check     `json:"-"`
	Violations []Violation `json:"-"`
	Warnings   []string    `json:"-"`
	// Parts holds the results of nested evidence (an Azure CVM: HCL report,
	// SNP report, vTPM quote), each verified in its own right.
	Parts []*Result `json:"-"`
	// Claimed is what the evidence bundle said of itself (its "platform"
	// and "cloud" fields): information, never verified. Platform and Cloud
	// above come from verified facts only.
	Claimed *Claimed `json:"-"`
}

// Claimed is what an evidence bundle claims about itself, unverified.
type Claimed struct {
	Platform string `json:"platform,omitempty"`
	Cloud    string `json:"cloud,omitempty"`
}

// Add appends a check.
func (r *Result) Add(name string, o Outcome, class Class, detail string) {
	if o != OutcomeFail {
		class = ""
	}
	r.Checks = append(r.Checks, Check{Name: name, Outcome: o, Class: class, Detail: detail})
}

// Passf records a passed check.
func (r *Result) Passf(name, format string, args ...any) {
	r.Add(name, OutcomePass, "", fmt.Sprintf(format, args...))
}

// Failf records a failed check of the given class.
func (r *Result) Failf(name string, class Class, format string, args ...any) {
	r.Add(name, OutcomeFail, class, fmt.Sprintf(format, args...))
}

// Violate records a policy violation.
func (r *Result) Violate(rule string, class Class, want, got string) {
	if class == "" {
		class = ClassPolicy
	}
	r.Violations = append(r.Violations, Violation{Rule: rule, Want: want, Got: got, Class: class})
}

// Warn records a warning.
func (r *Result) Warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// Failed reports whether any check failed or any policy rule was violated, in
// this result or any part.
func (r *Result) Failed() bool {
	for _, c := range r.Checks {
		if c.Outcome == OutcomeFail {
			return true
		}
	}
	if len(r.Violations) > 0 {
		return true
	}
	for _, p := range r.Parts {
		if p.Failed() {
			return true
		}
	}
	return false
}

// Finish sets the verdict from the checks and violations, and drops claims
// if a signature, chain or parse check failed (no claims without
// authenticity). It returns r.
func (r *Result) Finish() *Result {
	r.Verdict = Pass
	if r.Failed() {
		r.Verdict = Fail
	}
	for _, c := range r.Checks {
		if c.Outcome == OutcomeFail && (c.Class == ClassSig || c.Class == ClassChain || c.Class == ClassParse) {
			r.Claims = nil
			break
		}
	}
	return r
}

// ErrRejected is matched (errors.Is) by every [*RejectedError]: the
// evidence was examined and did not pass.
var ErrRejected = errors.New("evidence rejected")

// RejectedError is returned, together with the result, by every Verify whose
// verdict is not pass. A caller that only checks the error is therefore safe:
// a forged or non-compliant piece of evidence is never accepted by a caller
// that writes `if err != nil { reject }`. It is distinct from the errors that
// mean no decision was possible (missing collateral, no time, cancellation),
// which come with a nil result; errors.As tells them apart.
type RejectedError struct {
	// Result is the full explained result, with every check and part.
	Result *Result
}

// Bounds of [RejectedError.Error]: the message names every failed check and
// violation up to maxRejectedItems, each detail cut at maxRejectedDetail
// bytes, and counts the rest. The full list is in Result.
const (
	maxRejectedItems  = 16
	maxRejectedDetail = 160
)

// Error names the failed checks (name, class, detail) and violated policy
// rules, nested parts included.
func (e *RejectedError) Error() string {
	if e.Result == nil {
		return ErrRejected.Error()
	}
	var items []string
	var walk func(*Result)
	walk = func(r *Result) {
		for _, c := range r.Checks {
			if c.Outcome == OutcomeFail {
				items = append(items, fmt.Sprintf("%s (%s): %s", c.Name, c.Class, cut(c.Detail)))
			}
		}
		for _, v := range r.Violations {
			items = append(items, fmt.Sprintf("policy %s (%s): want %s, got %s", v.Rule, v.Class, cut(v.Want), cut(v.Got)))
		}
		for _, p := range r.Parts {
			if p != nil {
				walk(p)
			}
		}
	}
	walk(e.Result)
	msg := ErrRejected.Error()
	if e.Result.Platform != "" {
		msg += " (" + e.Result.Platform + ")"
	}
	if len(items) == 0 {
		return msg
	}
	more := ""
	if len(items) > maxRejectedItems {
		more = fmt.Sprintf("; and %d more", len(items)-maxRejectedItems)
		items = items[:maxRejectedItems]
	}
	return msg + ": " + strings.Join(items, "; ") + more
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// cut shortens s to at most maxRejectedDetail bytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= maxRejectedDetail {
		return s
	}
	n := maxRejectedDetail
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Err returns nil when the verdict is pass and a [*RejectedError] carrying r
// otherwise (an unfinished or nil result is not a pass).
func (r *Result) Err() error {
	if r != nil && r.Verdict == Pass {
		return nil
	}
	return &RejectedError{Result: r}
}

// Decide returns what a verify function returns for the (res, err) of its
// work: nil and err when no decision was possible, else res and res.Err(),
// so that a verdict other than pass is never a nil error.
func Decide(res *Result, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

// FailureClasses lists the distinct classes of failed checks and violations,
// in the order they first occur (including nested parts).
func (r *Result) FailureClasses() []Class {
	var out []Class
	seen := map[Class]bool{}
	var walk func(*Result)
	walk = func(r *Result) {
		for _, c := range r.Checks {
			if c.Outcome == OutcomeFail && !seen[c.Class] {
				seen[c.Class] = true
				out = append(out, c.Class)
			}
		}
		for _, v := range r.Violations {
			if !seen[v.Class] {
				seen[v.Class] = true
				out = append(out, v.Class)
			}
		}
		for _, p := range r.Parts {
			walk(p)
		}
	}
	walk(r)
	return out
}

// HasFailure reports whether a check or violation of class c failed.
func (r *Result) HasFailure(c Class) bool {
	for _, x := range r.FailureClasses() {
		if x == c {
			return true
		}
	}
	return false
}

// HasViolation reports whether the named policy rule was violated, in this
// result or any part.
func (r *Result) HasViolation(rule string) bool {
	for _, v := range r.Violations {
		if v.Rule == rule {
			return true
		}
	}
	for _, p := range r.Parts {
		if p.HasViolation(rule) {
			return true
		}
	}
	return false
}

// Check returns the named check, searching parts too.
func (r *Result) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	for _, p := range r.Parts {
		if c, ok := p.Check(name); ok {
			return c, true
		}
	}
	return Check{}, false
}

// Claim returns the value of a named claim, or nil.
func (r *Result) Claim(name string) any {
	if r.Claims == nil {
		return nil
	}
	for _, c := range r.Claims.Claims() {
		if c.Name == name {
			return c.Value
		}
	}
	return nil
}

// orderedClaims marshals claims as a JSON object in their given order.
type orderedClaims []Claim

func (o orderedClaims) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(c.Value)
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", c.Name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

type resultJSON struct {
	Schema     string        `json:"schema,omitempty"`
	Verdict    Verdict       `json:"verdict"`
	Platform   string        `json:"platform"`
	Cloud      string        `json:"cloud,omitempty"`
	Signer     string        `json:"signer,omitempty"`
	Claims     orderedClaims `json:"claims,omitempty"`
	TCB        *TCB          `json:"tcb,omitempty"`
	Checks     []Check       `json:"checks"`
	Violations []Violation   `json:"violations"`
	Warnings   []string      `json:"warnings"`
	Parts      []*Result     `json:"parts,omitempty"`
	Claimed    *Claimed      `json:"claimed,omitempty"`
}

// MarshalJSON renders the cloudra.result/v1 schema. Nested parts omit the
// schema field.
func (r *Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.json(""))
}

func (r *Result) json(schema string) resultJSON {
	j := resultJSON{
		Schema: schema, Verdict: r.Verdict, Platform: r.Platform, Cloud: r.Cloud, Signer: r.Signer,
		TCB: r.TCB, Checks: r.Checks, Violations: r.Violations, Warnings: r.Warnings, Parts: r.Parts,
		Claimed: r.Claimed,
	}
	if j.Checks == nil {
		j.Checks = []Check{}
	}
	if j.Violations == nil {
		j.Violations = []Violation{}
	}
	if j.Warnings == nil {
		j.Warnings = []string{}
	}
	if r.Claims != nil {
		j.Claims = orderedClaims(r.Claims.Claims())
	}
	return j
}

// Report is the top-level document printed by `cloudra verify --format json`.
type Report struct {
	Result *Result
}

// MarshalJSON renders the top-level result with its schema field.
func (rep Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(rep.Result.json(ResultSchema))
}

// Package policy is cloudra's one policy file format: a versioned document
// (YAML or JSON) with one section per platform. It decodes, checks that
// every value is one the rule can use (form, range, byte length) and
// defaults; each platform package appraises evidence against its own section.
//
// The format is documented in README.md ("Policy") and docs/policy.md.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
)

// Version is the policy file version this package reads.
const Version = 1

// MaxSize bounds a policy file.
const MaxSize = 1 << 20

// Policy is a decoded policy file. A nil section means "the platform's
// default policy".
type Policy struct {
	Version int `json:"version"`
	// Name is a free-form label echoed in results.
	Name   string  `json:"name,omitempty"`
	SEVSNP *SEVSNP `json:"sev-snp,omitempty"`
	TDX    *TDX    `json:"tdx,omitempty"`
	SGX    *SGX    `json:"sgx,omitempty"`
	TPM    *TPM    `json:"tpm,omitempty"`
	Azure  *Azure  `json:"azure,omitempty"`
}

// Default returns the default policy: every platform section at its default.
func Default() *Policy { return &Policy{Version: Version} }

// Parse decodes a policy file in JSON or YAML. A file starting with '{' is
// JSON; anything else is YAML (one document).
//
// Nothing in a policy file is ever silently dropped or reinterpreted: a
// misspelt rule must never become "no rule". So Parse refuses, each time with
// a *Error naming the key: unknown keys (keys are exact, byte for byte, as
// documented; encoding/json's case-insensitive matching is not used),
// duplicate keys at any depth, a second YAML document, YAML anchors, aliases
// and merge keys, integers written other than in plain decimal (YAML 010,
// 0x10, 1_000, +5, 1e3, 10.0), booleans other than true and false, empty
// values, and byte strings whose length is not the length of the field they
// are compared with (see the hex tags on the section types).
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, &Error{Err: errorf(ErrSyntax, "file larger than %d bytes", MaxSize)}
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, &Error{Err: errorf(ErrSyntax, "empty file")}
	}
	var root *value
	var err error
	if t[0] == '{' {
		root, err = fromJSON(t)
	} else {
		root, err = fromYAML(t)
	}
	if err != nil {
		return nil, err
	}
	// The version first: a file of another version is refused as such, not
	// for the keys this version does not know. A file without one is
	// refused after its keys are checked, so that a misspelt "Version" is
	// reported as such.
	if line := root.lineOf("version"); line > 0 {
		var version int
		if err := decode(root.at("version"), reflect.ValueOf(&version).Elem(), "version", fieldSpec{}); err != nil {
			return nil, err
		}
		if version != Version {
			return nil, versionError(version, line)
		}
	}
	var p Policy
	if err := decode(root, reflect.ValueOf(&p).Elem(), "", fieldSpec{}); err != nil {
		return nil, err
	}
	if p.Version != Version {
		return nil, versionError(p.Version, 0)
	}
	return &p, nil
}

func versionError(v, line int) error {
	return &Error{Key: "version", Line: line, Err: errorf(ErrVersion, "version %d not supported (hint: set \"version\": %d)", v, Version)}
}

// Error is a policy file that cannot be used. Key is the path of the
// offending key ("sev-snp.min-tcb.bootloader", "tdx.mrtd[1]",
// "tpm.pcrs.sha256.7"), empty when the whole file is at fault. Err wraps one
// of ErrSyntax, ErrUnknownField, ErrDuplicateKey, ErrValue or ErrVersion.
type Error struct {
	Key  string
	Line int // 1-based line of the key or value in the file; 0 when unknown
	Err  error
}

func (e *Error) Error() string {
	s := "policy: "
	switch {
	case e.Key != "" && e.Line > 0:
		s += fmt.Sprintf("%s (line %d): ", e.Key, e.Line)
	case e.Key != "":
		s += e.Key + ": "
	case e.Line > 0:
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	return s + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// The kinds of policy error, for errors.Is.
var (
	// ErrSyntax: not one well-formed YAML or JSON document.
	ErrSyntax = errors.New("not a valid policy document")
	// ErrUnknownField: a key that names no rule.
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateKey: a key given twice in one mapping.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrValue: a value of the wrong type, form, range or length.
	ErrValue = errors.New("bad value")
	// ErrVersion: a version this package does not read.
	ErrVersion = errors.New("unsupported version")
)

// kindError is an error message of one of the kinds above: errors.Is
// matches the kind, and the message stays the policy's own words.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Bool is an optional boolean: nil means "the platform default".
func Bool(b bool) *bool { return &b }

// Or returns *p, or def when p is nil.
func Or(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

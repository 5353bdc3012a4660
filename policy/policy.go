// Package policy is cloudra's one policy file format: a versioned document
// (YAML or JSON) with one section per platform. It decodes, checks that
// every value is one the rule can use (form, range, byte length) and
// defaults; each platform package appraises evidence against its own section.
//
// The format is documented in README.md ("Policy") and docs/policy.md.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Version is the policy file version this package reads.
const Version = 1

// MaxSize bounds a policy file.
const MaxSize = 1 << 20

// Policy is a decoded policy file: its version, its name, and one section
// per platform. The sections are owned by their platforms: each platform
// package defines its section's type and reads it with [Get]; this package
// knows only the file format. A missing section means "the platform's
// default policy".
type Policy struct {
	Version int
	// Name is a free-form label echoed in results.
	Name     string
	sections map[string]any
}

// Section names one platform's section of a policy file and makes its
// value: New returns a pointer to a new zero value of the section's struct
// type (func() any { return new(sevsnp.Policy) }), whose fields the file's
// keys are matched with by their json tags, exactly.
type Section struct {
	Name string
	New  func() any
}

// SectionOf is the section called name whose type is T.
func SectionOf[T any](name string) Section {
	return Section{Name: name, New: func() any { return new(T) }}
}

// Default returns the default policy: every platform section at its default.
func Default() *Policy { return &Policy{Version: Version} }

// Get returns the section called name as the platform's type, or nil when
// the policy has none (or p is nil). A section of another type is nil too:
// a platform never reads another's rules by mistake.
func Get[T any](p *Policy, name string) *T {
	if p == nil {
		return nil
	}
	s, _ := p.sections[name].(*T)
	return s
}

// With returns a copy of p whose section name is sec (nil removes it). The
// other sections are shared, never written: p may be shared with other
// goroutines.
func (p *Policy) With(name string, sec any) *Policy {
	c := Policy{Version: Version}
	if p != nil {
		c = *p
	}
	m := make(map[string]any, len(c.sections)+1)
	for k, v := range c.sections {
		m[k] = v
	}
	if sec == nil || reflect.ValueOf(sec).IsNil() {
		delete(m, name)
	} else {
		m[name] = sec
	}
	c.sections = m
	return &c
}

// Sections returns the names of the sections p has, sorted.
func (p *Policy) Sections() []string {
	if p == nil {
		return nil
	}
	return sortedKeys(p.sections)
}

// MarshalJSON writes the policy in its file format (JSON).
func (p *Policy) MarshalJSON() ([]byte, error) {
	m := map[string]any{"version": p.Version}
	if p.Name != "" {
		m["name"] = p.Name
	}
	for k, v := range p.sections {
		m[k] = v
	}
	return json.Marshal(m)
}

// Parse decodes a policy file in JSON or YAML whose sections are those
// given (a platform list gives its platforms' sections; see
// platform.ParsePolicy). A file starting with '{' is JSON; anything else is
// YAML (one document).
//
// Nothing in a policy file is ever silently dropped or reinterpreted: a
// misspelt rule must never become "no rule". So Parse refuses, each time with
// a *Error naming the key: unknown keys and sections (keys are exact, byte
// for byte, as documented; encoding/json's case-insensitive matching is not
// used), duplicate keys at any depth, a second YAML document, YAML anchors,
// aliases and merge keys, integers written other than in plain decimal (YAML
// 010, 0x10, 1_000, +5, 1e3, 10.0), booleans other than true and false,
// empty values, and byte strings whose length is not the length of the field
// they are compared with (see the hex tags on the section types).
func Parse(data []byte, sections ...Section) (*Policy, error) {
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
	doc, err := documentType(sections)
	if err != nil {
		return nil, err
	}
	dv := reflect.New(doc).Elem()
	if err := decode(root, dv, "", fieldSpec{}); err != nil {
		return nil, err
	}
	p := &Policy{Version: int(dv.Field(0).Int()), Name: dv.Field(1).String(), sections: map[string]any{}}
	for i, s := range sections {
		if f := dv.Field(2 + i); !f.IsNil() {
			p.sections[s.Name] = f.Interface()
		}
	}
	if p.Version != Version {
		return nil, versionError(p.Version, 0)
	}
	return p, nil
}

// documentType is the struct type of a whole file: version, name and one
// pointer field per section, tagged with the section's key, so that the
// file is decoded as one struct, by the same rules at every depth.
func documentType(sections []Section) (reflect.Type, error) {
	fields := []reflect.StructField{
		{Name: "Version", Type: reflect.TypeFor[int](), Tag: `json:"version"`},
		{Name: "Name", Type: reflect.TypeFor[string](), Tag: `json:"name,omitempty"`},
	}
	seen := map[string]bool{"version": true, "name": true}
	for i, s := range sections {
		t := reflect.TypeOf(s.New())
		if s.Name == "" || seen[s.Name] || strings.ContainsAny(s.Name, "\\\",`") || t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			// A bad section list is a bug in the platform list, caught by
			// its tests.
			return nil, &Error{Key: s.Name, Err: errorf(ErrSyntax, "bad section %q in the platform list", s.Name)}
		}
		seen[s.Name] = true
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("S%d", i), Type: t, Tag: reflect.StructTag(`json:"` + s.Name + `,omitempty"`)})
	}
	return reflect.StructOf(fields), nil
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

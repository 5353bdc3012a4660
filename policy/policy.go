// Package policy is cloudra's one policy file format: a versioned document
// (YAML or JSON) with one section per platform. It only decodes and defaults;
// each platform package appraises evidence against its own section.
//
// The format is documented in README.md ("Policy") and docs/policy.md.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
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

// Parse decodes a policy file in JSON or YAML. Unknown fields are errors: a
// misspelt rule must never silently become "no rule".
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("policy: file larger than %d bytes", MaxSize)
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, errors.New("policy: empty file")
	}
	jsonData := t
	if t[0] != '{' {
		var v any
		if err := yaml.Unmarshal(t, &v); err != nil {
			return nil, fmt.Errorf("policy: not valid YAML or JSON: %w", err)
		}
		v, err := yamlToJSON(v)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		jsonData = b
	}
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w (hint: see README.md, section Policy, for the field names)", err)
	}
	if dec.More() {
		return nil, errors.New("policy: trailing data after the document")
	}
	if p.Version != Version {
		return nil, fmt.Errorf("policy: version %d not supported (hint: set \"version\": %d)", p.Version, Version)
	}
	return &p, nil
}

// yamlToJSON turns YAML maps with non-string keys into JSON-compatible maps.
func yamlToJSON(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("policy: key %v is not a string", k)
			}
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := yamlToJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	default:
		return v, nil
	}
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

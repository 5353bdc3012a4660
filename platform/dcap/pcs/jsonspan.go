package pcs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxDocumentSize bounds the size of a TCB Info or QE Identity document. Real
// TCB Info documents are 5–25 KB; 1 MiB leaves room for growth while bounding
// the work done on hostile input.
const MaxDocumentSize = 1 << 20

// maxJSONDepth bounds nesting; real documents nest 6 levels deep.
const maxJSONDepth = 16

// checkStrictJSON rejects input that encoding/json would accept but that is
// ambiguous or unbounded: invalid UTF-8 (silently replaced by U+FFFD),
// syntax errors and anything after the top-level value (json.Valid), a top
// level that is not an object, duplicate object keys at any depth (the last
// one would win), keys that differ only in case (encoding/json matches field
// names case-insensitively, so they are duplicates too), keys that are not
// plain ASCII without escapes (no PCS key is; escapes and non-ASCII folding
// would make duplicates hard to see), and nesting deeper than maxJSONDepth.
func checkStrictJSON(raw []byte) error {
	if len(raw) > MaxDocumentSize {
		return fmt.Errorf("document is %d bytes, limit %d", len(raw), MaxDocumentSize)
	}
	if !utf8.Valid(raw) {
		return errors.New("document is not valid UTF-8")
	}
	if !json.Valid(raw) {
		// Let the decoder say where.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		return errors.New("invalid JSON")
	}
	// raw is now one syntactically valid JSON value: a small walk finds the
	// keys without allocating per token.
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	var stack []frame
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			if len(stack) == 0 && c != '{' {
				return errors.New("document is not a JSON object")
			}
			if len(stack) >= maxJSONDepth {
				return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
			}
			stack = append(stack, frame{object: c == '{', wantKey: c == '{'})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				top.wantKey = true
			}
		case '"':
			j := i + 1
			escaped := false
			for raw[j] != '"' {
				if raw[j] == '\\' {
					escaped = true
					j++
				}
				j++
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := &stack[n-1]
				key := raw[i+1 : j]
				if escaped {
					return fmt.Errorf("object key %q uses escapes", key)
				}
				for _, b := range key {
					if b >= utf8.RuneSelf {
						return fmt.Errorf("object key %q is not ASCII", key)
					}
				}
				fk := strings.ToLower(string(key))
				if top.keys == nil {
					top.keys = map[string]struct{}{}
				}
				if _, dup := top.keys[fk]; dup {
					return fmt.Errorf("duplicate key %q", key)
				}
				top.keys[fk] = struct{}{}
				top.wantKey = false
			}
			i = j
		default:
			if len(stack) == 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return errors.New("document is not a JSON object")
			}
		}
	}
	return nil
}

// splitEnvelope checks raw strictly and splits the PCS body form
// {"<key>": {…}, "signature": "<128 hex digits>"} into the exact bytes of the
// signed object (a copy of the span of raw, never a re-encoding) and the
// signature r‖s.
func splitEnvelope(raw []byte, key, what string) (signed []byte, sig [64]byte, err error) {
	if err := checkStrictJSON(raw); err != nil {
		return nil, sig, parseErr(what, "%w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{' (checked above)
		return nil, sig, parseErr(what, "%w", err)
	}
	var haveSig bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, sig, parseErr(what, "%w", err)
		}
		name, _ := tok.(string)
		switch name {
		case key:
			var rm json.RawMessage
			if err := dec.Decode(&rm); err != nil {
				return nil, sig, parseErr(what, "%s: %w", key, err)
			}
			end := int(dec.InputOffset())
			start := end - len(rm)
			if start < 0 || end > len(raw) || !bytes.Equal(raw[start:end], rm) || len(rm) == 0 || rm[0] != '{' {
				return nil, sig, parseErr(what, "%s is not an object", key)
			}
			signed = append([]byte(nil), raw[start:end]...)
		case "signature":
			var s string
			if err := dec.Decode(&s); err != nil {
				return nil, sig, parseErr(what, "signature: %w", err)
			}
			b, err := hex.DecodeString(s)
			if err != nil || len(b) != 64 {
				return nil, sig, parseErr(what, "signature must be 128 hex digits (ECDSA P-256 r‖s), got %d characters", len(s))
			}
			copy(sig[:], b)
			haveSig = true
		default:
			return nil, sig, parseErr(what, "unexpected top-level key %q (want %q and \"signature\")", name, key)
		}
	}
	if signed == nil {
		return nil, sig, parseErr(what, "missing %q", key)
	}
	if !haveSig {
		return nil, sig, parseErr(what, "missing \"signature\"")
	}
	return signed, sig, nil
}

// decodeStrict decodes the signed object into v, rejecting unknown fields:
// a field cloudra does not know could change the meaning of the document.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// hexFixed decodes exactly len(dst) bytes of hex (either case).
func hexFixed(dst []byte, s, field string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%s: want %d hex digits, got %d", field, 2*len(dst), len(s))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

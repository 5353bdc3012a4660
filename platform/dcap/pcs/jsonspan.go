package pcs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxDocumentSize bounds the size of a TCB Info or QE Identity document. Real
// TCB Info documents are 5–25 KB; 1 MiB leaves room for growth while bounding
// the work done on hostile input.
const MaxDocumentSize = 1 << 20

// maxJSONDepth bounds nesting; real documents nest 6 levels deep.
const maxJSONDepth = 16

type jsonFrame struct {
	object  bool
	wantKey bool
	keys    map[string]bool
}

// checkStrictJSON rejects input that encoding/json would accept but that is
// ambiguous: invalid UTF-8 (silently replaced by U+FFFD), duplicate object
// keys at any depth (the last one would win), keys differing only in case
// (encoding/json matches field names case-insensitively, so they are
// duplicates too), excessive nesting, a top level that is not an object, and
// anything after the top-level object.
func checkStrictJSON(raw []byte) error {
	if len(raw) > MaxDocumentSize {
		return fmt.Errorf("document is %d bytes, limit %d", len(raw), MaxDocumentSize)
	}
	if !utf8.Valid(raw) {
		return errors.New("document is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var stack []*jsonFrame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return errors.New("unexpected end of document")
		}
		if err != nil {
			return err
		}
		var top *jsonFrame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top == nil {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("document is not a JSON object")
			}
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				fk := strings.ToLower(k)
				if top.keys[fk] {
					return fmt.Errorf("duplicate key %q", k)
				}
				top.keys[fk] = true
				top.wantKey = false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
				}
				stack = append(stack, &jsonFrame{object: t == '{', wantKey: t == '{', keys: map[string]bool{}})
				continue
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
			}
		}
		// A complete value: its parent object expects a key next.
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			}
			continue
		}
		// Top-level object complete: only whitespace may follow.
		if _, err := dec.Token(); err != io.EOF {
			return errors.New("trailing data after the document")
		}
		return nil
	}
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

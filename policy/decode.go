package policy

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra"
)

// decode maps a value tree onto the Go types of the policy file. Keys are
// the fields' json tags, matched exactly: encoding/json would also match
// "Sev-Snp", or "ſev-snp" and "\u212Aernel-digests" by Unicode simple
// folding, and let such a key and the real one silently overwrite each
// other.

var hexBytesType = reflect.TypeFor[cloudra.HexBytes]()

// fieldSpec carries a field's constraints down to its elements.
type fieldSpec struct {
	hex *hexSpec // from the field's hex tag
}

// Validator is implemented by sections with rules no field tag can state
// (a TPM PCR digest's length depends on its bank). It is called after the
// section is decoded, with the section's node for error lines; the error's
// Key is relative to the section.
type Validator interface {
	Validate(n Node) *Error
}

// Node is one node of a policy document, for a [Validator] to locate the
// keys it reports.
type Node struct{ v *value }

// At follows map keys (string) and list indexes (int) from n; a path that
// leads nowhere gives a node whose Line is 0.
func (n Node) At(path ...any) Node { return Node{n.v.at(path...)} }

// Line is the node's 1-based line in the file, or 0 when unknown.
func (n Node) Line() int {
	if n.v == nil {
		return 0
	}
	return n.v.line
}

// Errorf returns an error of one of the kinds ErrSyntax … ErrVersion
// (errors.Is matches the kind), with the message as given.
func Errorf(kind error, format string, args ...any) error { return errorf(kind, format, args...) }

// CheckHex checks a hex string rule value as the hex tags do: white space
// around it trimmed, an optional 0x prefix when allow0x, and a decoded
// length among lens. It returns "" when the value is good, else the reason.
func CheckHex(s string, allow0x bool, lens ...int) string {
	spec := hexSpec{lens: lens, prefix0x: allow0x}
	return spec.checkString(s)
}

// IsDecimal reports whether s is a plain decimal number as written in a
// policy file (digits with an optional minus sign, no leading zero).
func IsDecimal(s string) bool { return isDecimal(s) }

func decode(v *value, rv reflect.Value, path string, spec fieldSpec) error {
	bad := func(format string, args ...any) error {
		return &Error{Key: path, Line: v.line, Err: errorf(ErrValue, format, args...)}
	}
	// An empty value ("vmpl:" in YAML, null in JSON) would leave the rule at
	// its default; omitting the key says that, so a key with no value is
	// taken for a mistake.
	if v.kind == kindNull {
		return bad("no value (hint: omit the key for the default)")
	}
	if rv.Type() == hexBytesType {
		if v.kind != kindString {
			return bad("%s, want a hex string (quote it)", v.describe())
		}
		b, err := hex.DecodeString(v.text)
		if err != nil {
			return bad("not hex: %v", hexMessage(err))
		}
		if spec.hex != nil {
			if err := spec.hex.check(len(b)); err != "" {
				return bad("%s", err)
			}
		}
		rv.SetBytes(b)
		return nil
	}
	switch rv.Kind() {
	case reflect.Pointer:
		e := reflect.New(rv.Type().Elem())
		if err := decode(v, e.Elem(), path, spec); err != nil {
			return err
		}
		rv.Set(e)
		return nil
	case reflect.Struct:
		if v.kind != kindMap {
			return bad("%s, want a mapping", v.describe())
		}
		if err := decodeStruct(v, rv, path); err != nil {
			return err
		}
		if val, ok := rv.Addr().Interface().(Validator); ok {
			if e := val.Validate(Node{v}); e != nil {
				e.Key = join(path, e.Key)
				return e
			}
		}
		return nil
	case reflect.Slice:
		if v.kind != kindList {
			return bad("%s, want a list", v.describe())
		}
		s := reflect.MakeSlice(rv.Type(), len(v.elems), len(v.elems))
		for i, e := range v.elems {
			if err := decode(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), spec); err != nil {
				return err
			}
		}
		rv.Set(s)
		return nil
	case reflect.Map:
		// Maps have free-form keys (TPM banks, PCR indexes): the section's
		// validator checks them.
		if v.kind != kindMap {
			return bad("%s, want a mapping", v.describe())
		}
		m := reflect.MakeMapWithSize(rv.Type(), len(v.keys))
		for i, k := range v.keys {
			e := reflect.New(rv.Type().Elem()).Elem()
			if err := decode(v.vals[i], e, join(path, k), spec); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(rv.Type().Key()), e)
		}
		rv.Set(m)
		return nil
	case reflect.String:
		if v.kind != kindString {
			return bad("%s, want a string (hint: quote it)", v.describe())
		}
		if spec.hex != nil {
			if msg := spec.hex.checkString(v.text); msg != "" {
				return bad("%s", msg)
			}
		}
		rv.SetString(v.text)
		return nil
	case reflect.Bool:
		// YAML 1.2 core schema booleans, as go.yaml.in/yaml/v3 resolves
		// them; YAML 1.1's yes, no, on and off are strings there, and an
		// error here rather than a string where a boolean was meant.
		switch {
		case v.kind != kindBool:
			return bad("%s, want true or false", v.describe())
		case v.text == "true" || v.text == "True" || v.text == "TRUE":
			rv.SetBool(true)
		case v.text == "false" || v.text == "False" || v.text == "FALSE":
			rv.SetBool(false)
		default: // an explicit !!bool tag on another word
			return bad("%q, want true or false", v.text)
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return decodeInt(v, rv, bad)
	}
	return bad("unsupported field type %s", rv.Type())
}

func decodeStruct(v *value, rv reflect.Value, path string) error {
	t := rv.Type()
	for i, k := range v.keys {
		f, ok := fieldByTag(t, k)
		if !ok {
			e := &Error{Key: join(path, k), Line: v.keyLines[i]}
			if near, ok := foldedField(t, k); ok {
				if line := v.lineOf(near); line > 0 {
					// What encoding/json would have read as the same
					// field twice, keeping one silently.
					e.Err = errorf(ErrDuplicateKey, "duplicate key: %q is %q up to case folding (first at line %d)", k, near, line)
				} else {
					e.Err = errorf(ErrUnknownField, "unknown field %q (keys are exact and lowercase: %q)", k, near)
				}
			} else {
				e.Err = errorf(ErrUnknownField, "unknown field %q (hint: see README.md, section Policy, for the field names)", k)
			}
			return e
		}
		var spec fieldSpec
		if tag, ok := f.Tag.Lookup("hex"); ok {
			hs, err := parseHexSpec(tag)
			if err != nil {
				// A malformed tag is a bug in this package, caught by its tests.
				return &Error{Key: join(path, k), Line: v.keyLines[i], Err: errorf(ErrValue, "field %s: %v", f.Name, err)}
			}
			spec.hex = hs
		}
		if err := decode(v.vals[i], rv.FieldByIndex(f.Index), join(path, k), spec); err != nil {
			return err
		}
	}
	return nil
}

// fieldByTag finds the field whose json name is exactly k.
func fieldByTag(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name := jsonName(f); name != "" && name == k {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// foldedField finds a field whose json name k matches only under Unicode
// case folding, as encoding/json would have matched it.
func foldedField(t reflect.Type, k string) (string, bool) {
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" && strings.EqualFold(name, k) {
			return name, true
		}
	}
	return "", false
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// decodeInt accepts only plain decimal integers: YAML reads 010 as 8, 0o10,
// 0x10, 1_000 and +5 as integers, 1e3 and 10.0 as floats, and
// encoding/json would turn 1e3 into an integer field's 1000 after a YAML
// round trip. A policy integer is written as it is meant.
func decodeInt(v *value, rv reflect.Value, bad func(string, ...any) error) error {
	if v.kind != kindNumber && v.kind != kindString {
		return bad("%s, want an integer", v.describe())
	}
	if v.kind == kindString {
		return bad("a string, want an integer (hint: do not quote it)")
	}
	if !isDecimal(v.text) {
		return bad("%q is not a plain decimal integer", v.text)
	}
	// Policy integers are versions, SVNs, VMPLs, masks and floors: none is
	// negative, so a minus sign is a mistake even in a signed field.
	if v.text[0] == '-' {
		return bad("%s is negative", v.text)
	}
	bits := rv.Type().Bits()
	if rv.CanUint() {
		n, err := strconv.ParseUint(v.text, 10, bits)
		if err != nil {
			return bad("%s is out of range (at most %d)", v.text, uint64(1)<<bits-1)
		}
		rv.SetUint(n)
		return nil
	}
	n, err := strconv.ParseInt(v.text, 10, bits)
	if err != nil {
		return bad("%s is out of range (at most %d)", v.text, int64(1)<<(bits-1)-1)
	}
	rv.SetInt(n)
	return nil
}

// isDecimal reports whether s is -?(0|[1-9][0-9]*).
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hexMessage is a hex decoding error without the package prefix.
func hexMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "encoding/hex: ")
}

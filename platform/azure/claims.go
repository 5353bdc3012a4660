package azure

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key IDs of the runtime claims' JWKS (openvmm runtime claims).
const (
	KidAK = "HCLAkPub" // the vTPM attestation key (handle 0x81000003)
	KidEK = "HCLEkPub" // the vTPM endorsement key (newer paravisors only)
)

// UserDataSize is the size of the runtime claims' user-data (the 64 bytes
// written to NV 0x01400002; all zero at boot).
const UserDataSize = 64

// maxJSONDepth bounds nesting in the runtime claims (real claims nest 3
// levels deep).
const maxJSONDepth = 16

// RuntimeClaims are the paravisor's runtime claims: what the HCL report
// binds through REPORT_DATA. They are the paravisor's statements, trusted
// only once that binding and the hardware report are verified.
type RuntimeClaims struct {
	// Raw is the JSON exactly as in the HCL report.
	Raw  []byte
	Keys []JWK
	// VMConfiguration is the "vm-configuration" object (nil if absent).
	VMConfiguration *VMConfiguration
	// UserData is the decoded "user-data" (nil if the key is absent:
	// older paravisors do not emit it).
	UserData []byte
}

// JWK is one key of the claims' "keys" array.
type JWK struct {
	Kid    string   `json:"kid"`
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
}

// VMConfiguration is the paravisor's statement about the VM's configuration
// ("vm-configuration"). Absent booleans are nil. Fields holds every member,
// known or not, for display.
type VMConfiguration struct {
	CurrentTime                *int64 `json:"current-time"`
	RootCertThumbprint         string `json:"root-cert-thumbprint"`
	ConsoleEnabled             *bool  `json:"console-enabled"`
	InteractiveConsoleEnabled  *bool  `json:"interactive-console-enabled"`
	SecureBoot                 *bool  `json:"secure-boot"`
	TPMEnabled                 *bool  `json:"tpm-enabled"`
	TPMPersisted               *bool  `json:"tpm-persisted"`
	FilteredVPCIDevicesAllowed *bool  `json:"filtered-vpci-devices-allowed"`
	VMUniqueID                 string `json:"vmUniqueId"`

	Fields map[string]any `json:"-"`
}

// ParseRuntimeClaims parses runtime claims JSON. The document must be
// valid UTF-8 and one JSON object with no duplicate member names at any
// level (Go's encoding/json would keep the last duplicate, so a verifier
// and another reader could disagree on "keys" or "user-data"; docs/pitfalls-tpm.md E2)
// and nothing after it. Names that differ only in case or Unicode simple
// folding are duplicates, and a known member must be spelt exactly
// (checkJSON). Unknown members are ignored. user-data must be hex
// (either case). Parsing trusts nothing: the caller checks the binding.
func ParseRuntimeClaims(b []byte) (*RuntimeClaims, error) {
	if !utf8.Valid(b) {
		return nil, malformed("runtime claims", "not valid UTF-8")
	}
	if err := checkJSON(b); err != nil {
		return nil, &ParseError{What: "runtime claims", Err: err}
	}
	var doc struct {
		Keys     []JWK           `json:"keys"`
		VMConfig json.RawMessage `json:"vm-configuration"`
		UserData *string         `json:"user-data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, &ParseError{What: "runtime claims", Err: err}
	}
	c := &RuntimeClaims{Raw: b, Keys: doc.Keys}
	if len(doc.VMConfig) > 0 && !bytes.Equal(doc.VMConfig, []byte("null")) {
		var vc VMConfiguration
		if err := json.Unmarshal(doc.VMConfig, &vc); err != nil {
			return nil, &ParseError{What: "runtime claims", Err: fmt.Errorf("vm-configuration: %w", err)}
		}
		d := json.NewDecoder(bytes.NewReader(doc.VMConfig))
		d.UseNumber()
		if err := d.Decode(&vc.Fields); err != nil {
			return nil, &ParseError{What: "runtime claims", Err: fmt.Errorf("vm-configuration: %w", err)}
		}
		c.VMConfiguration = &vc
	}
	if doc.UserData != nil {
		ud, err := hex.DecodeString(*doc.UserData)
		if err != nil {
			return nil, &ParseError{What: "runtime claims", Err: fmt.Errorf("user-data is not hex: %w", err)}
		}
		if ud == nil {
			ud = []byte{}
		}
		c.UserData = ud
	}
	return c, nil
}

// Key returns the one key with the given kid. Keys are selected by kid,
// never by position or key_ops (key_ops changed between paravisor
// versions; openvmm runtime claims). Two keys with the kid are an error.
func (c *RuntimeClaims) Key(kid string) (*JWK, error) {
	var found *JWK
	for i := range c.Keys {
		if c.Keys[i].Kid != kid {
			continue
		}
		if found != nil {
			return nil, malformed("runtime claims", "two keys with kid %q", kid)
		}
		found = &c.Keys[i]
	}
	if found == nil {
		return nil, malformed("runtime claims", "no key with kid %q", kid)
	}
	return found, nil
}

// AKPub returns HCLAkPub, the vTPM attestation key.
func (c *RuntimeClaims) AKPub() (*rsa.PublicKey, error) {
	k, err := c.Key(KidAK)
	if err != nil {
		return nil, err
	}
	return k.RSAPublicKey()
}

// minRSABits is the smallest accepted modulus (the vTPM AK is RSA-2048).
const minRSABits = 2048

// RSAPublicKey decodes an RSA JWK (RFC 7518 §6.3.1: n and e unpadded
// base64url, big-endian). A TPM writes exponent 0 for the default 65537
// (TPM 2.0 Part 2, TPMS_RSA_PARMS), so 0 means 65537.
func (k *JWK) RSAPublicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, malformed("runtime claims", "key %q has kty %q, want RSA", k.Kid, k.Kty)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		return nil, &ParseError{What: "runtime claims", Err: fmt.Errorf("key %q: n: %w", k.Kid, err)}
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		return nil, &ParseError{What: "runtime claims", Err: fmt.Errorf("key %q: e: %w", k.Kid, err)}
	}
	if len(n) == 0 || n[0] == 0 {
		return nil, malformed("runtime claims", "key %q: modulus empty or not minimally encoded", k.Kid)
	}
	if len(n) > 1024 {
		return nil, malformed("runtime claims", "key %q: modulus of %d bytes is too large", k.Kid, len(n))
	}
	if len(e) > 4 {
		return nil, malformed("runtime claims", "key %q: exponent of %d bytes is too large", k.Kid, len(e))
	}
	exp := 0
	for _, x := range e {
		exp = exp<<8 | int(x)
	}
	if exp == 0 {
		exp = 65537
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	if pub.N.BitLen() < minRSABits {
		return nil, malformed("runtime claims", "key %q: %d-bit modulus, want at least %d", k.Kid, pub.N.BitLen(), minRSABits)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, malformed("runtime claims", "key %q: exponent %d is not a valid RSA public exponent", k.Kid, exp)
	}
	return pub, nil
}

// checkJSON validates that b is exactly one JSON object, with no duplicate
// member names at any level and at most maxJSONDepth levels of nesting.
//
// encoding/json matches a member name to a struct field case-insensitively,
// with Unicode simple folding (U+017F matches 's', U+212A matches 'k'), and
// keeps the last member that matches. So "secure-boot" and "Secure-Boot", or
// "keys" and "KEYS", are duplicates to the decoder even though they are
// distinct names (RFC 8259 §4 compares names exactly); the decoder would take
// the later one while a case-sensitive reader takes the spec'd one. Members
// are therefore compared by their fold key (the one encoding/json computes),
// at every level, and two that share one are rejected.
//
// In the objects the decoder maps to a struct (claimsSchema), a member whose
// name folds to a known member's but is not spelt exactly as the paravisor
// writes it (openvmm runtime claims: "secure-boot", never "Secure-Boot") is rejected
// too, even alone: the decoder would read it as the known member while a
// case-sensitive reader (and Fields, which keeps names as written) would see
// an unknown member, so two readers would still disagree on its value.
func checkJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := checkObject(d, 1, "", claimsSchema); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// schema names the members of an object that the decoder maps to a struct
// (names: fold key → exact json tag name) and the schema of the value of
// each such member that is itself an object or an array of objects (child,
// by exact name). A nil schema is an object no struct reads.
type schema struct {
	names map[string]string
	child map[string]*schema
}

func newSchema(child map[string]*schema, names ...string) *schema {
	s := &schema{names: make(map[string]string, len(names)), child: child}
	for _, n := range names {
		s.names[foldKey(n)] = n
	}
	return s
}

// claimsSchema mirrors the structs ParseRuntimeClaims decodes into (the
// anonymous document struct, VMConfiguration, JWK); TestClaimsSchemaMatchesStructs
// keeps them in step.
var claimsSchema = newSchema(map[string]*schema{
	"keys":             newSchema(nil, "kid", "kty", "key_ops", "n", "e"),
	"vm-configuration": newSchema(nil, vmConfigurationNames...),
}, "keys", "vm-configuration", "user-data")

var vmConfigurationNames = []string{
	"current-time", "root-cert-thumbprint", "console-enabled", "interactive-console-enabled",
	"secure-boot", "tpm-enabled", "tpm-persisted", "filtered-vpci-devices-allowed", "vmUniqueId",
}

// foldKey returns the key under which encoding/json matches a member name to
// a field: ASCII letters upper-cased, every other rune replaced by the
// smallest rune of its Unicode simple-fold orbit (encoding/json fold.go,
// foldName; equal keys ⇔ bytes.EqualFold). Linear in the name's length.
func foldKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune returns the smallest rune of r's simple-fold orbit. Orbits have
// at most four runes, so the loop is bounded.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// checkObject reads an object's members after its '{'. s is the object's
// schema (nil: no struct reads it).
func checkObject(d *json.Decoder, depth int, path string, s *schema) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
	}
	seen := map[string]string{} // fold key → name as written
	// A misspelt known member is reported once the whole object is read, so
	// that a duplicate (the more telling reason) is named first.
	var misspelt error
	for {
		t, err := d.Token()
		if err != nil {
			return err
		}
		if t == json.Delim('}') {
			return misspelt
		}
		k, ok := t.(string)
		if !ok {
			return fmt.Errorf("unexpected token %v", t)
		}
		fk := foldKey(k)
		if prev, dup := seen[fk]; dup {
			if prev == k {
				return fmt.Errorf("duplicate member %q in %s", k, orRoot(path))
			}
			return fmt.Errorf("duplicate member %q and %q in %s (the same member to a case-insensitive decoder)", prev, k, orRoot(path))
		}
		seen[fk] = k
		var child *schema
		if s != nil {
			if want, known := s.names[fk]; known {
				if want != k && misspelt == nil {
					misspelt = fmt.Errorf("member %q in %s is not spelt %q", k, orRoot(path), want)
				}
				child = s.child[k]
			}
		}
		if err := checkValue(d, depth, path+"/"+k, child); err != nil {
			return err
		}
	}
}

// checkValue reads one value; s is the schema of an object value, or of
// each object element of an array value.
func checkValue(d *json.Decoder, depth int, path string, s *schema) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return checkObject(d, depth+1, path, s)
	case json.Delim('['):
		if depth+1 > maxJSONDepth {
			return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
		}
		for i := 0; ; i++ {
			if !d.More() {
				_, err := d.Token() // ']'
				return err
			}
			if err := checkValue(d, depth+1, fmt.Sprintf("%s/%d", path, i), s); err != nil {
				return err
			}
		}
	}
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "the top-level object"
	}
	return strings.TrimPrefix(p, "/")
}

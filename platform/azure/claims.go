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
	"unicode/utf8"
)

// Key IDs of the runtime claims' JWKS (formats.md §13).
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
// and another reader could disagree on "keys" or "user-data"; pitfalls E2)
// and nothing after it. Unknown members are ignored. user-data must be hex
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
// versions; formats.md §13). Two keys with the kid are an error.
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
	if err := checkObject(d, 1, ""); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// checkObject reads an object's members after its '{'.
func checkObject(d *json.Decoder, depth int, path string) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
	}
	seen := map[string]bool{}
	for {
		t, err := d.Token()
		if err != nil {
			return err
		}
		if t == json.Delim('}') {
			return nil
		}
		k, ok := t.(string)
		if !ok {
			return fmt.Errorf("unexpected token %v", t)
		}
		if seen[k] {
			return fmt.Errorf("duplicate member %q in %s", k, orRoot(path))
		}
		seen[k] = true
		if err := checkValue(d, depth, path+"/"+k); err != nil {
			return err
		}
	}
}

// checkValue reads one value.
func checkValue(d *json.Decoder, depth int, path string) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return checkObject(d, depth+1, path)
	case json.Delim('['):
		if depth+1 > maxJSONDepth {
			return fmt.Errorf("nesting deeper than %d", maxJSONDepth)
		}
		for i := 0; ; i++ {
			if !d.More() {
				_, err := d.Token() // ']'
				return err
			}
			if err := checkValue(d, depth+1, fmt.Sprintf("%s/%d", path, i)); err != nil {
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

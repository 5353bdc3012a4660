package nitro

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// Policy is the nitro section of a policy file. A nil section, and every
// omitted field, means the default given in each field's comment. Byte
// strings are hex in document byte order.
type Policy struct {
	// Document is the kind of document accepted: "enclave" (the default:
	// an NSM document of a Nitro enclave) or "nitrotpm" (a NitroTPM
	// document of an EC2 instance). The two carry PCRs of different
	// meaning, so one is never taken for the other.
	Document string `json:"document,omitempty"`
	// PCRs maps a PCR index (decimal 0–31) to its allowed values (48 bytes
	// each). Every listed PCR must be in the document and hold one of its
	// values; an empty list accepts nothing.
	PCRs map[string][]cloudra.HexBytes `json:"pcrs,omitempty"`
	// AllowDebug admits debug-mode enclaves (PCR0–2 all zero); default
	// false.
	AllowDebug *bool `json:"allow-debug,omitempty"`
	// UserData, when set, must equal the document's user_data.
	UserData cloudra.HexBytes `json:"user-data,omitempty" hex:"1-1024"`
	// UserDataSPKI, when set, is a DER SubjectPublicKeyInfo that user_data
	// must equal: the key of the TLS certificate the enclave serves, bound
	// by the document (the command line sets it from a certificate file).
	UserDataSPKI cloudra.HexBytes `json:"user-data-spki,omitempty" hex:"1-1024"`
	// PublicKey, when set, must equal the document's public_key, or be the
	// SHA-256 (32 bytes) of it (public_key being a DER SubjectPublicKeyInfo:
	// `openssl pkey -pubin -outform der | sha256sum`).
	PublicKey cloudra.HexBytes `json:"public-key,omitempty" hex:"1-1024"`
	// Nonce, when set, is the nonce the document must carry, exactly. The
	// relying party's challenge (--nonce, a server's) sets it.
	Nonce cloudra.HexBytes `json:"nonce,omitempty" hex:"1-1024"`
	// MaxAge, when set, is the oldest a document may be at the
	// verification time (a Go duration: "5m", "1h30m"). Default: no limit
	// beyond the leaf's own three hours.
	MaxAge string `json:"max-age,omitempty"`
}

// Document kinds of the policy's document rule.
const (
	DocumentEnclave  = "enclave"
	DocumentNitroTPM = "nitrotpm"
)

// PolicySection is the nitro section of the policy file format, for
// policy.Parse (platform.ParsePolicy gives every platform's).
func PolicySection() policy.Section { return policy.SectionOf[Policy](Platform) }

// PolicyOf returns the nitro section of p, or nil (the defaults).
func PolicyOf(p *policy.Policy) *Policy { return policy.Get[Policy](p, Platform) }

// Validate checks what no field tag states: the document kind, PCR indexes
// (plain decimal 0–31) and values (48 bytes, SHA-384), and max-age (a
// positive duration). It implements policy.Validator.
func (p *Policy) Validate(n policy.Node) *policy.Error {
	bad := func(key string, node policy.Node, format string, args ...any) *policy.Error {
		return &policy.Error{Key: key, Line: node.Line(), Err: policy.Errorf(policy.ErrValue, format, args...)}
	}
	switch p.Document {
	case "", DocumentEnclave, DocumentNitroTPM:
	default:
		return bad("document", n.At("document"), "%q, want %q or %q", p.Document, DocumentEnclave, DocumentNitroTPM)
	}
	for _, k := range slices.Sorted(maps.Keys(p.PCRs)) {
		if _, err := pcrIndex(k); err != nil {
			return bad("pcrs."+k, n.At("pcrs", k), "%v", err)
		}
		for i, v := range p.PCRs[k] {
			if len(v) != pcrSizeSHA384 {
				return bad(fmt.Sprintf("pcrs.%s[%d]", k, i), n.At("pcrs", k, i), "%d bytes, want %d (SHA-384)", len(v), pcrSizeSHA384)
			}
		}
	}
	if p.MaxAge != "" {
		if _, err := maxAge(p.MaxAge); err != nil {
			return bad("max-age", n.At("max-age"), "%v", err)
		}
	}
	return nil
}

// pcrIndex parses a PCR index key.
func pcrIndex(k string) (uint, error) {
	if !policy.IsDecimal(k) {
		return 0, fmt.Errorf("PCR index %q is not a plain decimal number", k)
	}
	i, err := strconv.Atoi(k)
	if err != nil || i < 0 || i > MaxPCRIndex {
		return 0, fmt.Errorf("PCR index %s out of range 0–%d", k, MaxPCRIndex)
	}
	return uint(i), nil
}

func maxAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (\"5m\", \"1h30m\")", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	return d, nil
}

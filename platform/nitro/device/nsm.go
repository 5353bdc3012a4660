package device

import (
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Client speaks the NSM's request/response protocol over a [Provider].
//
// Responses are decoded strictly, because they are what the collector
// reports as the NSM's word: one CBOR data item and nothing after it, no
// indefinite lengths, no tags, no duplicate map keys, exactly the fields of
// the variant (none unknown, none missing), each of its type; an Error
// response is an [NSMError], any other variant than the request's is an
// error naming it.
type Client struct {
	Provider Provider
}

// PCR is a DescribePCR answer.
type PCR struct {
	Index  uint16
	Locked bool   // the PCR is read-only
	Data   []byte // its value, of the NSM's digest's size
}

// Description is a DescribeNSM answer.
type Description struct {
	VersionMajor, VersionMinor, VersionPatch uint16
	ModuleID                                 string
	MaxPCRs                                  uint16
	LockedPCRs                               []uint16
	Digest                                   string // "SHA256", "SHA384" or "SHA512"
}

// NSMError is an {"Error": code} response: the NSM refused the request.
type NSMError struct {
	Code string
}

// errorCodes are the ErrorCode variants and what they mean
// (aws-nitro-enclaves-nsm-api src/api/mod.rs).
var errorCodes = map[string]string{
	"Success":          "no error, yet no result",
	"InvalidArgument":  "an argument of the request is invalid",
	"InvalidIndex":     "the PCR index is out of bounds",
	"InvalidResponse":  "the response does not correspond to the request",
	"ReadOnlyIndex":    "the PCR is read-only and the request would modify it",
	"InvalidOperation": "the request cannot be fulfilled for want of capabilities",
	"BufferTooSmall":   "the output buffer is too small",
	"InputTooLarge":    "the input is too large",
	"InternalError":    "the NSM failed internally",
}

func (e *NSMError) Error() string {
	if m, ok := errorCodes[e.Code]; ok {
		return fmt.Sprintf("nitro/device: NSM error %s: %s", e.Code, m)
	}
	return fmt.Sprintf("nitro/device: NSM error %q", e.Code)
}

// The encoded requests. Field order is the Rust struct's declaration order,
// as serde writes it (the default encoding options keep struct field order);
// a nil slice is CBOR null, as serde writes None.
type attestationFields struct {
	UserData  []byte `cbor:"user_data"`
	Nonce     []byte `cbor:"nonce"`
	PublicKey []byte `cbor:"public_key"`
}

type describePCRFields struct {
	Index uint16 `cbor:"index"`
}

// Attestation asks the NSM for an attestation document carrying userData,
// nonce and publicKey (each nil for none: CBOR null) and returns the
// document, a COSE_Sign1 message, as the NSM gave it.
func (c Client) Attestation(userData, nonce, publicKey []byte) ([]byte, error) {
	for _, f := range []struct {
		name string
		b    []byte
		max  int
	}{{"user_data", userData, MaxUserData}, {"nonce", nonce, MaxNonce}, {"public_key", publicKey, MaxPublicKey}} {
		if len(f.b) > f.max {
			return nil, &LimitError{Field: f.name, Len: len(f.b), Max: f.max}
		}
	}
	req, err := cbor.Marshal(map[string]attestationFields{
		variantAttestation: {UserData: userData, Nonce: nonce, PublicKey: publicKey},
	})
	if err != nil {
		return nil, fmt.Errorf("nitro/device: encode Attestation: %w", err)
	}
	r, err := c.exchange(req, variantAttestation)
	if err != nil {
		return nil, err
	}
	return r.document, nil
}

// DescribePCR asks the NSM for PCR index.
func (c Client) DescribePCR(index uint16) (PCR, error) {
	req, err := cbor.Marshal(map[string]describePCRFields{variantDescribePCR: {Index: index}})
	if err != nil {
		return PCR{}, fmt.Errorf("nitro/device: encode DescribePCR: %w", err)
	}
	r, err := c.exchange(req, variantDescribePCR)
	if err != nil {
		return PCR{}, err
	}
	r.pcr.Index = index
	return r.pcr, nil
}

// DescribeNSM asks the NSM for its version and PCR configuration.
func (c Client) DescribeNSM() (Description, error) {
	// A unit variant is its name alone.
	req, err := cbor.Marshal(variantDescribeNSM)
	if err != nil {
		return Description{}, fmt.Errorf("nitro/device: encode DescribeNSM: %w", err)
	}
	r, err := c.exchange(req, variantDescribeNSM)
	if err != nil {
		return Description{}, err
	}
	return r.desc, nil
}

// exchange sends req and decodes the response, which must be the variant
// want.
func (c Client) exchange(req []byte, want string) (*response, error) {
	if c.Provider == nil {
		return nil, ErrNoProvider
	}
	if len(req) > RequestMaxSize {
		return nil, &LimitError{Field: "request", Len: len(req), Max: RequestMaxSize}
	}
	b, err := c.Provider.Exchange(req)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse(b)
	if err != nil {
		return nil, err
	}
	switch r.variant {
	case want:
		return r, nil
	case variantError:
		return nil, &NSMError{Code: r.errCode}
	}
	return nil, fmt.Errorf("%w: a %s request answered with %s", ErrMalformedResponse, want, r.variant)
}

// Response variants (aws-nitro-enclaves-nsm-api src/api/mod.rs, enum
// Response).
const (
	variantAttestation = "Attestation"
	variantDescribePCR = "DescribePCR"
	variantDescribeNSM = "DescribeNSM"
	variantError       = "Error"
	variantExtendPCR   = "ExtendPCR"
	variantGetRandom   = "GetRandom"
	variantLockPCR     = "LockPCR"
	variantLockPCRs    = "LockPCRs"
)

// response is a decoded response: its variant and, for the variants this
// package asks for, their fields. Other known variants (ExtendPCR,
// GetRandom, LockPCR, LockPCRs) are named only, for the error that they
// answer the wrong request.
type response struct {
	variant  string
	document []byte
	pcr      PCR
	desc     Description
	errCode  string
}

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNegint = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// decMode is the strict decoding: RFC 8949 §5.6 leaves duplicate keys to the
// decoder, and a response with two values for one key has no one meaning.
// It is built per response rather than held in a package variable.
func decMode() (cbor.DecMode, error) {
	return cbor.DecOptions{
		DupMapKey:   cbor.DupMapKeyEnforcedAPF,
		IndefLength: cbor.IndefLengthForbidden,
		TagsMd:      cbor.TagsForbidden,
		UTF8:        cbor.UTF8RejectInvalid,
	}.DecMode()
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedResponse}, args...)...)
}

// decodeResponse decodes one NSM response.
func decodeResponse(b []byte) (*response, error) {
	switch {
	case len(b) == 0:
		return nil, malformed("empty response")
	case len(b) > ResponseMaxSize:
		return nil, fmt.Errorf("%w: %d bytes, NSM_RESPONSE_MAX_SIZE is %d", ErrResponseTooLarge, len(b), ResponseMaxSize)
	}
	dm, err := decMode()
	if err != nil {
		return nil, fmt.Errorf("nitro/device: CBOR decoding options: %w", err)
	}
	d := decoder{dm: dm}
	// Unmarshal checks well-formedness of the whole input first and
	// refuses bytes after the data item.
	var top cbor.RawMessage
	if err := dm.Unmarshal(b, &top); err != nil {
		return nil, malformed("%v", err)
	}
	switch major(top) {
	case majorText:
		// A unit variant: its name alone.
		var name string
		if err := dm.Unmarshal(top, &name); err != nil {
			return nil, malformed("%v", err)
		}
		switch name {
		case variantLockPCR, variantLockPCRs:
			return &response{variant: name}, nil
		case variantAttestation, variantDescribePCR, variantDescribeNSM, variantError, variantExtendPCR, variantGetRandom:
			return nil, malformed("variant %s without its fields", name)
		}
		return nil, malformed("unknown response variant %q", name)
	case majorMap:
	default:
		return nil, malformed("the response is a CBOR %s, want a map of one variant or a variant's name", typeName(top))
	}
	var m map[string]cbor.RawMessage
	if err := dm.Unmarshal(top, &m); err != nil {
		return nil, malformed("%v", err)
	}
	if len(m) != 1 {
		return nil, malformed("the response is a map of %d entries, want one variant", len(m))
	}
	for name, v := range m {
		return d.variant(name, v)
	}
	return nil, malformed("the response is an empty map")
}

type decoder struct {
	dm cbor.DecMode
}

// variant decodes the value v of the response variant name.
func (d decoder) variant(name string, v cbor.RawMessage) (*response, error) {
	r := &response{variant: name}
	switch name {
	case variantAttestation:
		f, err := d.fields(name, v, "document")
		if err != nil {
			return nil, err
		}
		if r.document, err = d.bytes(name, "document", f); err != nil {
			return nil, err
		}
		if len(r.document) == 0 {
			return nil, malformed("Attestation.document is empty")
		}
	case variantDescribePCR:
		f, err := d.fields(name, v, "lock", "data")
		if err != nil {
			return nil, err
		}
		if r.pcr.Locked, err = d.bool(name, "lock", f); err != nil {
			return nil, err
		}
		if r.pcr.Data, err = d.bytes(name, "data", f); err != nil {
			return nil, err
		}
	case variantDescribeNSM:
		f, err := d.fields(name, v, "version_major", "version_minor", "version_patch", "module_id", "max_pcrs", "locked_pcrs", "digest")
		if err != nil {
			return nil, err
		}
		if err := d.describeNSM(&r.desc, f); err != nil {
			return nil, err
		}
	case variantError:
		// A newtype variant: the ErrorCode, a unit variant, is its name.
		if major(v) != majorText {
			return nil, malformed("Error: the code is a CBOR %s, want a text string", typeName(v))
		}
		if err := d.dm.Unmarshal(v, &r.errCode); err != nil {
			return nil, malformed("Error: %v", err)
		}
		if _, ok := errorCodes[r.errCode]; !ok {
			return nil, malformed("Error: unknown error code %q", r.errCode)
		}
	case variantExtendPCR, variantGetRandom:
		// Answers to requests this package does not send: named by the
		// caller's error, not decoded.
	case variantLockPCR, variantLockPCRs:
		return nil, malformed("unit variant %s as a map", name)
	default:
		return nil, malformed("unknown response variant %q", name)
	}
	return r, nil
}

func (d decoder) describeNSM(desc *Description, f map[string]cbor.RawMessage) error {
	const name = variantDescribeNSM
	var err error
	for _, u := range []struct {
		field string
		p     *uint16
	}{
		{"version_major", &desc.VersionMajor}, {"version_minor", &desc.VersionMinor},
		{"version_patch", &desc.VersionPatch}, {"max_pcrs", &desc.MaxPCRs},
	} {
		if *u.p, err = d.uint16(name, u.field, f[u.field]); err != nil {
			return err
		}
	}
	if desc.ModuleID, err = d.text(name, "module_id", f); err != nil {
		return err
	}
	// locked_pcrs is a BTreeSet<u16>: an array of distinct indices.
	lp := f["locked_pcrs"]
	if major(lp) != majorArray {
		return malformed("%s.locked_pcrs is a CBOR %s, want an array", name, typeName(lp))
	}
	var items []cbor.RawMessage
	if err := d.dm.Unmarshal(lp, &items); err != nil {
		return malformed("%s.locked_pcrs: %v", name, err)
	}
	desc.LockedPCRs = make([]uint16, 0, len(items))
	for i, it := range items {
		x, err := d.uint16(name, fmt.Sprintf("locked_pcrs[%d]", i), it)
		if err != nil {
			return err
		}
		if slices.Contains(desc.LockedPCRs, x) {
			return malformed("%s.locked_pcrs lists PCR %d twice", name, x)
		}
		desc.LockedPCRs = append(desc.LockedPCRs, x)
	}
	// digest is the unit enum Digest: its variant's name.
	if desc.Digest, err = d.text(name, "digest", f); err != nil {
		return err
	}
	switch desc.Digest {
	case "SHA256", "SHA384", "SHA512":
	default:
		return malformed("%s.digest %q is not SHA256, SHA384 or SHA512", name, desc.Digest)
	}
	return nil
}

// fields decodes v, the value of a struct variant, into its fields, which
// must be exactly names.
func (d decoder) fields(variant string, v cbor.RawMessage, names ...string) (map[string]cbor.RawMessage, error) {
	if major(v) != majorMap {
		return nil, malformed("%s is a CBOR %s, want a map of fields", variant, typeName(v))
	}
	var f map[string]cbor.RawMessage
	if err := d.dm.Unmarshal(v, &f); err != nil {
		return nil, malformed("%s: %v", variant, err)
	}
	// Sorted, so that the error about several unknown fields is always the
	// same.
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			return nil, malformed("%s: unknown field %q", variant, k)
		}
	}
	for _, n := range names {
		if _, ok := f[n]; !ok {
			return nil, malformed("%s: missing field %q", variant, n)
		}
	}
	return f, nil
}

func (d decoder) bytes(variant, field string, f map[string]cbor.RawMessage) ([]byte, error) {
	v := f[field]
	if major(v) != majorBytes {
		return nil, malformed("%s.%s is a CBOR %s, want a byte string", variant, field, typeName(v))
	}
	var b []byte
	if err := d.dm.Unmarshal(v, &b); err != nil {
		return nil, malformed("%s.%s: %v", variant, field, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func (d decoder) text(variant, field string, f map[string]cbor.RawMessage) (string, error) {
	v := f[field]
	if major(v) != majorText {
		return "", malformed("%s.%s is a CBOR %s, want a text string", variant, field, typeName(v))
	}
	var s string
	if err := d.dm.Unmarshal(v, &s); err != nil {
		return "", malformed("%s.%s: %v", variant, field, err)
	}
	return s, nil
}

func (d decoder) bool(variant, field string, f map[string]cbor.RawMessage) (bool, error) {
	switch v := f[field]; {
	case len(v) == 1 && v[0] == 0xf4:
		return false, nil
	case len(v) == 1 && v[0] == 0xf5:
		return true, nil
	default:
		return false, malformed("%s.%s is a CBOR %s, want a boolean", variant, field, typeName(v))
	}
}

func (d decoder) uint16(variant, field string, v cbor.RawMessage) (uint16, error) {
	if major(v) != majorUint {
		return 0, malformed("%s.%s is a CBOR %s, want an unsigned integer", variant, field, typeName(v))
	}
	var x uint64
	if err := d.dm.Unmarshal(v, &x); err != nil {
		return 0, malformed("%s.%s: %v", variant, field, err)
	}
	if x > 0xffff {
		return 0, malformed("%s.%s is %d, more than a u16 holds", variant, field, x)
	}
	return uint16(x), nil
}

// major is the major type of the data item v; v is well formed, hence not
// empty, but an empty v is reported as a simple value rather than a panic.
func major(v cbor.RawMessage) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0] >> 5)
}

func typeName(v cbor.RawMessage) string {
	switch major(v) {
	case majorUint:
		return "unsigned integer"
	case majorNegint:
		return "negative integer"
	case majorBytes:
		return "byte string"
	case majorText:
		return "text string"
	case majorArray:
		return "array"
	case majorMap:
		return "map"
	case majorTag:
		return "tag"
	case majorSimple:
		switch v[0] {
		case 0xf4, 0xf5:
			return "boolean"
		case 0xf6:
			return "null"
		case 0xf7:
			return "undefined"
		case 0xf9, 0xfa, 0xfb:
			return "float"
		}
		return "simple value"
	}
	return "empty item"
}

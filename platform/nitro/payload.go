package nitro

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// Limits of the attestation document's CDDL (attestation_process.md §2.2;
// the NitroTPM document of the AWS EC2 User Guide has the same):
// cert = bytes .size (1..1024), user_data = bytes .size (0..1024) for
// public_key, user_data and nonce, index = 0..31, pcr = bytes .size
// (32/48/64). The validation section of the same document (§3.2.2.2) gives
// user_data and nonce 0..512, which is what NSM itself accepts; the wider
// CDDL bound is the one a verifier can hold every document to.
const (
	MaxCertificateSize = 1024
	MaxUserFieldSize   = 1024
	MaxPCRIndex        = 31
	digestSHA384       = "SHA384"
	pcrSizeSHA384      = 48
)

// Attestation is the decoded payload of an attestation document.
type Attestation struct {
	// ModuleID is the issuing NSM's (or NitroTPM's) module ID.
	ModuleID string
	// Digest is the PCR digest ("SHA384", the only one accepted).
	Digest string
	// Timestamp is when the document was made, in milliseconds since the
	// Unix epoch (UTC).
	Timestamp uint64
	// PCRs are the platform configuration registers, by index.
	PCRs []PCR
	// TPM reports a NitroTPM document (its PCRs come as nitrotpm_pcrs).
	TPM bool
	// Certificate is the leaf's DER; CABundle the chain above it, root
	// first (attestation_process.md §3.2.3).
	Certificate []byte
	CABundle    [][]byte
	// PublicKey, UserData and Nonce are the optional fields the requester
	// asked NSM to sign.
	PublicKey, UserData, Nonce Optional
}

// PCR is one platform configuration register.
type PCR struct {
	Index uint
	Value []byte
}

// PCR returns the value of PCR i, or nil when the document has none.
func (a *Attestation) PCR(i uint) []byte {
	if j, ok := slices.BinarySearchFunc(a.PCRs, i, func(p PCR, i uint) int { return int(p.Index) - int(i) }); ok {
		return a.PCRs[j].Value
	}
	return nil
}

// Optional is an optional byte-string field: absent, CBOR null (real
// documents carry null where the requester gave nothing, although
// attestation_process.md §3.2.2.1 says no field is null), or a value.
type Optional struct {
	Present bool // the key is in the map
	Null    bool // its value is CBOR null
	Value   []byte
}

// Bytes returns the value, nil when absent or null.
func (o Optional) Bytes() []byte { return o.Value }

// String is "absent", "null" or the value in hex.
func (o Optional) String() string {
	switch {
	case !o.Present:
		return "absent"
	case o.Null:
		return "null"
	}
	return fmt.Sprintf("%x", o.Value)
}

// payloadDecoder decodes the payload strictly: a key twice in any map is
// refused (RFC 8949 §5.6: such a map is not valid), as are tags (the CDDL
// has none), invalid UTF-8 in text, and nesting deeper than the document's
// two levels. Indefinite-length items are valid CBOR (RFC 8949 §3.2) and the
// CDDL does not exclude them, so they are accepted (docs/nitro.md,
// "Encodings"). The decoder is immutable once built.
var payloadDecoder = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:       cbor.DupMapKeyEnforcedAPF,
		IndefLength:     cbor.IndefLengthAllowed,
		TagsMd:          cbor.TagsForbidden,
		UTF8:            cbor.UTF8RejectInvalid,
		MaxNestedLevels: 4,
		IntDec:          cbor.IntDecConvertNone,
	}.DecMode()
	if err != nil {
		panic(err) // the options are constant
	}
	return dm
}()

// The payload's keys (attestation_process.md §2.2; the NitroTPM document
// has nitrotpm_pcrs where an enclave's has pcrs).
const (
	keyModuleID         = "module_id"
	keyDigest           = "digest"
	keyTimestamp        = "timestamp"
	keyPCRs             = "pcrs"
	keyTPMPCRs          = "nitrotpm_pcrs"
	keyCertificate      = "certificate"
	keyCABundle         = "cabundle"
	keyPublicKey        = "public_key"
	keyUserData         = "user_data"
	keyNonce            = "nonce"
	majorUint           = 0
	majorBytes          = 2
	majorText           = 3
	majorArray          = 4
	majorMap            = 5
	cborNull       byte = 0xf6
)

var knownKeys = []string{keyModuleID, keyDigest, keyTimestamp, keyPCRs, keyTPMPCRs, keyCertificate, keyCABundle, keyPublicKey, keyUserData, keyNonce}

// ParsePayload decodes an attestation document's payload: a CBOR map with
// text keys module_id (non-empty text), digest ("SHA384"), timestamp (uint,
// milliseconds, not 0), pcrs or nitrotpm_pcrs (1 to 32 entries, uint index
// 0–31 → 48-byte value), certificate (1–1024 bytes), cabundle (an array of
// at least one 1–1024-byte certificate), and optional public_key, user_data
// and nonce (0–1024 bytes, or null). Every other key, a missing or null
// required field, a wrong type or length, a duplicate key and trailing bytes
// are refused with a *ParseError naming the field.
func ParsePayload(b []byte) (*Attestation, error) {
	if len(b) == 0 {
		return nil, parseErr("payload", "empty")
	}
	if b[0]>>5 != majorMap {
		return nil, parseErr("payload", "CBOR major type %d, not a map", b[0]>>5)
	}
	var m map[string]cbor.RawMessage
	if err := payloadDecoder.Unmarshal(b, &m); err != nil {
		return nil, parseErr("payload", "%v", cborReason(err))
	}
	for k := range m {
		if !slices.Contains(knownKeys, k) {
			return nil, parseErr("payload", "unknown key %q (an attestation document has %s)", k, strings.Join(knownKeys, ", "))
		}
	}
	a := &Attestation{}
	var err error
	if a.ModuleID, err = text(m, keyModuleID); err != nil {
		return nil, err
	}
	if a.ModuleID == "" {
		return nil, parseErr(keyModuleID, "empty")
	}
	if a.Digest, err = text(m, keyDigest); err != nil {
		return nil, err
	}
	if a.Digest != digestSHA384 {
		return nil, parseErr(keyDigest, "%q; the only digest accepted is %q", a.Digest, digestSHA384)
	}
	if a.Timestamp, err = timestamp(m); err != nil {
		return nil, err
	}
	if a.PCRs, a.TPM, err = pcrs(m); err != nil {
		return nil, err
	}
	if a.Certificate, err = certificate(m[keyCertificate], keyCertificate); err != nil {
		return nil, err
	}
	if a.CABundle, err = cabundle(m); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *Optional
	}{{keyPublicKey, &a.PublicKey}, {keyUserData, &a.UserData}, {keyNonce, &a.Nonce}} {
		if *f.dst, err = optional(m, f.key); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// cborReason strips the decoder's package prefix.
func cborReason(err error) string { return strings.TrimPrefix(err.Error(), "cbor: ") }

// head returns the raw value of a required key after checking its major
// type; a missing key and a null are named as such.
func head(m map[string]cbor.RawMessage, key string, major byte, what string) (cbor.RawMessage, error) {
	raw, ok := m[key]
	switch {
	case !ok:
		return nil, parseErr(key, "missing (required)")
	case len(raw) == 0:
		return nil, parseErr(key, "empty value")
	case raw[0] == cborNull:
		return nil, parseErr(key, "null (required)")
	case raw[0]>>5 != major:
		return nil, parseErr(key, "CBOR major type %d, want %s", raw[0]>>5, what)
	}
	return raw, nil
}

func text(m map[string]cbor.RawMessage, key string) (string, error) {
	raw, err := head(m, key, majorText, "a text string")
	if err != nil {
		return "", err
	}
	var s string
	if err := payloadDecoder.Unmarshal(raw, &s); err != nil {
		return "", parseErr(key, "%v", cborReason(err))
	}
	return s, nil
}

func timestamp(m map[string]cbor.RawMessage) (uint64, error) {
	raw, err := head(m, keyTimestamp, majorUint, "an unsigned integer (milliseconds)")
	if err != nil {
		return 0, err
	}
	var t uint64
	if err := payloadDecoder.Unmarshal(raw, &t); err != nil {
		return 0, parseErr(keyTimestamp, "%v", cborReason(err))
	}
	if t == 0 {
		return 0, parseErr(keyTimestamp, "0")
	}
	return t, nil
}

// bytesOf decodes a byte string whose major type was checked.
func bytesOf(raw cbor.RawMessage, part string) ([]byte, error) {
	var b []byte
	if err := payloadDecoder.Unmarshal(raw, &b); err != nil {
		return nil, parseErr(part, "%v", cborReason(err))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// pcrs decodes pcrs (an enclave's document) or nitrotpm_pcrs (a NitroTPM
// document): exactly one of the two.
func pcrs(m map[string]cbor.RawMessage) ([]PCR, bool, error) {
	_, enclave := m[keyPCRs]
	_, tpm := m[keyTPMPCRs]
	key := keyPCRs
	switch {
	case enclave && tpm:
		return nil, false, parseErr("payload", "both %s and %s", keyPCRs, keyTPMPCRs)
	case tpm:
		key = keyTPMPCRs
	}
	raw, err := head(m, key, majorMap, "a map")
	if err != nil {
		return nil, false, err
	}
	var pm map[uint64]cbor.RawMessage
	if err := payloadDecoder.Unmarshal(raw, &pm); err != nil {
		return nil, false, parseErr(key, "%v (indexes are unsigned integers 0–%d)", cborReason(err), MaxPCRIndex)
	}
	if len(pm) == 0 || len(pm) > MaxPCRIndex+1 {
		return nil, false, parseErr(key, "%d entries; a document has 1 to %d", len(pm), MaxPCRIndex+1)
	}
	out := make([]PCR, 0, len(pm))
	for i, v := range pm {
		part := fmt.Sprintf("%s[%d]", key, i)
		if i > MaxPCRIndex {
			return nil, false, parseErr(part, "index out of range 0–%d", MaxPCRIndex)
		}
		if len(v) == 0 || v[0]>>5 != majorBytes {
			return nil, false, parseErr(part, "not a byte string")
		}
		b, err := bytesOf(v, part)
		if err != nil {
			return nil, false, err
		}
		// The CDDL's 32/48/64 are the sizes of SHA256, SHA384 and SHA512;
		// with digest SHA384 a register is 48 bytes.
		if len(b) != pcrSizeSHA384 {
			return nil, false, parseErr(part, "%d bytes; a %s register is %d", len(b), digestSHA384, pcrSizeSHA384)
		}
		out = append(out, PCR{Index: uint(i), Value: b})
	}
	slices.SortFunc(out, func(a, b PCR) int { return int(a.Index) - int(b.Index) })
	return out, tpm, nil
}

func certificate(raw cbor.RawMessage, part string) ([]byte, error) {
	switch {
	case raw == nil:
		return nil, parseErr(part, "missing (required)")
	case len(raw) == 0 || raw[0] == cborNull:
		return nil, parseErr(part, "null (required)")
	case raw[0]>>5 != majorBytes:
		return nil, parseErr(part, "CBOR major type %d, want a byte string (DER)", raw[0]>>5)
	}
	b, err := bytesOf(raw, part)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || len(b) > MaxCertificateSize {
		return nil, parseErr(part, "%d bytes; a certificate is 1 to %d", len(b), MaxCertificateSize)
	}
	return b, nil
}

func cabundle(m map[string]cbor.RawMessage) ([][]byte, error) {
	raw, err := head(m, keyCABundle, majorArray, "an array of certificates")
	if err != nil {
		return nil, err
	}
	var items []cbor.RawMessage
	if err := payloadDecoder.Unmarshal(raw, &items); err != nil {
		return nil, parseErr(keyCABundle, "%v", cborReason(err))
	}
	if len(items) == 0 {
		return nil, parseErr(keyCABundle, "empty; it holds the chain from the root")
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		if out[i], err = certificate(it, fmt.Sprintf("%s[%d]", keyCABundle, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func optional(m map[string]cbor.RawMessage, key string) (Optional, error) {
	raw, ok := m[key]
	switch {
	case !ok:
		return Optional{}, nil
	case len(raw) > 0 && raw[0] == cborNull:
		return Optional{Present: true, Null: true}, nil
	case len(raw) == 0 || raw[0]>>5 != majorBytes:
		return Optional{}, parseErr(key, "not a byte string or null")
	}
	b, err := bytesOf(raw, key)
	if err != nil {
		return Optional{}, err
	}
	if len(b) > MaxUserFieldSize {
		return Optional{}, parseErr(key, "%d bytes; at most %d", len(b), MaxUserFieldSize)
	}
	return Optional{Present: true, Value: b}, nil
}

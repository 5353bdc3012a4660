package cloudra

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
)

// EvidenceSchema names the JSON schema of [Bundle].
const EvidenceSchema = "cloudra.evidence/v1"

// MaxArtifactSize bounds every artifact read from a file or request (16 MiB:
// an event log is the largest real artifact, well below this).
const MaxArtifactSize = 16 << 20

// Kind names the type of one artifact inside a bundle. Kinds are stable
// strings; new platforms add kinds (constants in their own package, with
// their roles in seam.Platform.Kinds), never change them. The constants
// below are the first platforms' and collateral's. See docs/evidence.md.
type Kind string

// Artifact kinds.
const (
	KindSNPReport    Kind = "sev-snp/report"     // ATTESTATION_REPORT, 1184 bytes
	KindSNPCertTable Kind = "sev-snp/cert-table" // extended-report certificate table (GHCB GUID table)

	KindTDXQuote  Kind = "tdx/quote"     // DCAP quote v4/v5 with a TD body
	KindTDReport  Kind = "tdx/tdreport"  // TDREPORT_STRUCT (1024 bytes)
	KindCCEL      Kind = "tdx/ccel"      // ACPI CCEL table
	KindCCELLog   Kind = "tdx/ccel-log"  // the CC event log the CCEL points to
	KindSGXQuote  Kind = "sgx/quote"     // DCAP quote v3 with an enclave body
	KindTPMAttest Kind = "tpm/attest"    // TPMS_ATTEST (tpm2_quote -m)
	KindTPMSig    Kind = "tpm/signature" // TPMT_SIGNATURE (tpm2_quote -s)
	KindTPMPCRs   Kind = "tpm/pcrs"      // PCR values (tpm2_quote -o, or JSON)
	KindTPMAKPub  Kind = "tpm/ak-public" // TPM2B_PUBLIC, TPMT_PUBLIC or PEM
	KindTPMAKCert Kind = "tpm/ak-cert"   // AK certificate (DER/PEM)
	KindEventLog  Kind = "tpm/eventlog"  // TCG PC Client event log

	KindAzureHCL Kind = "azure/hcl-report" // vTPM NV 0x01400001
	KindMAAToken Kind = "maa/token"        // MAA JWT
	KindNitroDoc Kind = "nitro/document"   // COSE_Sign1 attestation document

	KindCertificate Kind = "x509/certificate"
	KindCRL         Kind = "x509/crl"
	KindPCSJSON     Kind = "dcap/pcs-json" // TCB Info or QE Identity as served by PCS
)

// Artifact is one raw piece of evidence or collateral. Data is kept exactly
// as it was produced; JSON carries it as standard base64.
type Artifact struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name,omitempty"`
	Data []byte `json:"data"`
	// Meta carries small facts about the artifact that are not inside it
	// (the VMPL a report was requested at, the PCR bank of a quote, the
	// issuer chain header of a PCS response, a device path).
	Meta map[string]string `json:"meta,omitempty"`
}

// Bundle is the portable evidence bundle (schema cloudra.evidence/v1). One
// bundle may carry several artifacts at once (an Azure CVM: HCL report, SNP
// report and vTPM quote), plus the collateral that travelled with them.
type Bundle struct {
	Schema string `json:"schema"`
	// Platform is the primary platform ("sev-snp", "tdx", …); informational.
	Platform string `json:"platform,omitempty"`
	// Cloud is "aws", "azure", "gcp", "sakura" when known.
	Cloud string `json:"cloud,omitempty"`
	// Nonce is the challenge the evidence was collected for (hex in JSON).
	Nonce HexBytes `json:"nonce,omitempty"`
	// CollectedAt is informational only; verification never trusts it.
	CollectedAt *time.Time `json:"collected_at,omitempty"`
	// Collector names the tool and interface that collected the evidence.
	Collector  string     `json:"collector,omitempty"`
	Artifacts  []Artifact `json:"artifacts"`
	Collateral []Artifact `json:"collateral,omitempty"`
}

// First returns the first artifact of kind k.
func (b *Bundle) First(k Kind) (Artifact, bool) {
	for _, a := range b.Artifacts {
		if a.Kind == k {
			return a, true
		}
	}
	return Artifact{}, false
}

// All returns every artifact of kind k.
func (b *Bundle) All(k Kind) []Artifact {
	var out []Artifact
	for _, a := range b.Artifacts {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

// Marshal encodes the bundle as indented JSON.
func (b *Bundle) Marshal() ([]byte, error) {
	c := *b
	c.Schema = EvidenceSchema
	return json.MarshalIndent(&c, "", "  ")
}

// ErrNotBundle is returned by ParseBundle for input that is not a bundle.
var ErrNotBundle = errors.New("not an evidence bundle")

// ParseBundle decodes a bundle, rejecting unknown schemas and unknown fields.
func ParseBundle(data []byte) (*Bundle, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return nil, ErrNotBundle
	}
	var probe struct {
		Schema string `json:"schema"`
	}
	// Probe only the first JSON value: trailing data is reported below as
	// such, not as "not a bundle".
	if err := json.NewDecoder(bytes.NewReader(t)).Decode(&probe); err != nil || probe.Schema == "" {
		return nil, ErrNotBundle
	}
	if probe.Schema != EvidenceSchema {
		return nil, fmt.Errorf("evidence: unsupported schema %q (this cloudra reads %s): %w", probe.Schema, EvidenceSchema, ErrNotBundle)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("evidence: malformed bundle: %w", err)
	}
	if dec.More() {
		return nil, errors.New("evidence: trailing data after bundle")
	}
	for i, a := range b.Artifacts {
		if a.Kind == "" {
			return nil, fmt.Errorf("evidence: artifact %d has no kind", i)
		}
	}
	return &b, nil
}

// HexBytes is a byte string written as lowercase hex in JSON.
type HexBytes []byte

// MarshalJSON implements json.Marshaler.
func (h HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON implements json.Unmarshaler.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	*h = v
	return nil
}

// DecodeText undoes a text armouring of binary evidence: if data is entirely
// hex or base64 text (with optional whitespace), it returns the decoded bytes
// and the encoding name; otherwise it returns data unchanged and "binary".
func DecodeText(data []byte) ([]byte, string) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return data, "binary"
	}
	for _, c := range t {
		if c > unicode.MaxASCII || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return data, "binary"
		}
	}
	compact := bytes.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, t)
	if len(compact)%2 == 0 {
		if v, err := hex.DecodeString(string(compact)); err == nil {
			return v, "hex"
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if v, err := enc.DecodeString(string(compact)); err == nil && len(v) > 0 {
			return v, "base64"
		}
	}
	return data, "binary"
}

// ErrIncompleteEvidence is matched (errors.Is) by every
// [*IncompleteEvidenceError]: a piece the evidence needs is missing, so no
// decision is possible.
var ErrIncompleteEvidence = errors.New("incomplete evidence")

// IncompleteEvidenceError names the artifact that lacks a companion and the
// kind of the companion missing (a TPM quote without its signature or its
// attestation key, an Azure TDX HCL report without its TD quote), so that a
// caller can say how to supply it.
type IncompleteEvidenceError struct {
	Of      Kind // the artifact that needs the missing piece
	Missing Kind // the kind of the missing piece
	// Msg is the message; empty gives "<Of> without its <Missing>".
	Msg string
}

func (e *IncompleteEvidenceError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s without its %s", ErrIncompleteEvidence, e.Of, e.Missing)
}

// Is makes errors.Is(err, ErrIncompleteEvidence) true.
func (e *IncompleteEvidenceError) Is(target error) bool { return target == ErrIncompleteEvidence }

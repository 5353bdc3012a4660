// Package platform ties the platform packages together: it recognises raw
// artifacts by content and dispatches a bundle to the verifiers of the
// platforms it carries. It is the one place that lists every platform.
package platform

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra"
)

// ErrUnknownArtifact is returned by Detect for bytes it cannot recognise.
var ErrUnknownArtifact = errors.New("unrecognised artifact")

// Detect recognises a raw artifact by its content (after undoing hex or
// base64 armour) and returns its kind and its binary bytes. It never trusts
// a file name. An artifact is recognised by its header (magic, version and
// algorithm fields), so a truncated or corrupt one is still returned with
// its kind, for its verifier to reject as parse with the reason; only bytes
// with no recognisable header give ErrUnknownArtifact.
func Detect(data []byte) (cloudra.Kind, []byte, error) {
	if len(data) > cloudra.MaxArtifactSize {
		return "", nil, fmt.Errorf("artifact larger than %d bytes", cloudra.MaxArtifactSize)
	}
	t := bytes.TrimSpace(data)
	// A compact JWS (MAA token) is text and must be checked before armour removal.
	if bytes.HasPrefix(t, []byte("eyJ")) && bytes.Count(t, []byte(".")) == 2 {
		return cloudra.KindMAAToken, t, nil
	}
	b, _ := cloudra.DecodeText(data)
	if k := detectBinary(b); k != "" {
		return k, b, nil
	}
	if k := detectBinary(data); k != "" {
		return k, data, nil
	}
	return "", nil, fmt.Errorf("%w: not an SEV-SNP report, DCAP quote, Azure HCL report, TPM quote or event log", ErrUnknownArtifact)
}

func detectBinary(b []byte) cloudra.Kind {
	switch {
	case len(b) >= 4 && string(b[:4]) == "HCLA":
		return cloudra.KindAzureHCL
	case len(b) >= 6 && binary.BigEndian.Uint32(b) == 0xff544347:
		return cloudra.KindTPMAttest
	case len(b) >= 8 && isDCAP(b):
		if binary.LittleEndian.Uint32(b[4:]) == 0 {
			return cloudra.KindSGXQuote
		}
		return cloudra.KindTDXQuote
	case len(b) >= 0x38 && isSNP(b):
		// Recognised by its header even when cut short or followed by
		// other bytes: the verifier then rejects it as parse, with the
		// reason, rather than calling it unknown.
		return cloudra.KindSNPReport
	case isEventLog(b):
		return cloudra.KindEventLog
	case len(b) > 4 && (b[0] == 0x84 || (b[0] == 0xd2 && b[1] == 0x84)):
		return cloudra.KindNitroDoc
	}
	return ""
}

// isSNP: VERSION 2..5 and SIGNATURE_ALGO 1 (ECDSA P-384), SEV-SNP ABI spec, ATTESTATION_REPORT.
func isSNP(b []byte) bool {
	v := binary.LittleEndian.Uint32(b[0:])
	return v >= 2 && v <= 5 && binary.LittleEndian.Uint32(b[0x34:]) == 1
}

// isDCAP: version 3/4/5, attestation key type 2 (ECDSA-256-with-P-256),
// TEE type 0 (SGX) or 0x81 (TDX), QE vendor ID of Intel's QE.
func isDCAP(b []byte) bool {
	v := binary.LittleEndian.Uint16(b[0:])
	ak := binary.LittleEndian.Uint16(b[2:])
	tee := binary.LittleEndian.Uint32(b[4:])
	return (v == 3 || v == 4 || v == 5) && ak == 2 && (tee == 0 || tee == 0x81)
}

// isEventLog: a TCG PC Client log starts with an EV_NO_ACTION (3) event in
// PCR 0 whose SHA-1 digest is zero and whose data begins "Spec ID Event".
func isEventLog(b []byte) bool {
	if len(b) < 32+16 {
		return false
	}
	if binary.LittleEndian.Uint32(b[0:]) != 0 || binary.LittleEndian.Uint32(b[4:]) != 3 {
		return false
	}
	return bytes.Contains(b[:64], []byte("Spec ID Event"))
}

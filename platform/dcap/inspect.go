package dcap

import (
	"encoding/binary"

	"github.com/cloudra/cloudra"
)

// Inspect parses a quote (SGX v3, TDX v4/v5) and lists every field, nothing
// verified. Report body fields carry Intel's bare names ("MRTD", "RTMR0",
// "REPORTDATA", "MRENCLAVE"); the others are prefixed by their structure
// ("Quote Header.Version", "QE Report.MRSIGNER"). Byte strings are hex in
// quote order, never reversed: an MRTD prints exactly as the 48 bytes at TD
// report offset 136 (the byte-reversed MRTDs some parsers print are a
// display bug, see Intel TDX DCAP API, TD quote body).
func Inspect(b []byte) ([]cloudra.Claim, error) {
	q, err := ParseQuote(b)
	if err != nil {
		return nil, err
	}
	var out []cloudra.Claim
	for _, f := range q.Fields() {
		name := f.Name
		if f.Section != "TD Quote Body" && f.Section != "ISV Enclave Report Body" {
			name = f.Section + "." + f.Name
		}
		out = append(out, cloudra.Claim{Name: name, Value: f.Value})
	}
	return out, nil
}

// DetectTEE recognises a DCAP quote by its header (Intel SGX ECDSA Quote
// Library API, "Quote Header"; Intel TDX DCAP Quote Generation Library,
// quote v4/v5 header): version 3, 4 or 5, attestation key type 2
// (ECDSA-256-with-P-256) and TEE type 0 (SGX) or 0x81 (TDX). It returns the
// TEE type; ok is false for bytes that are no DCAP quote header.
func DetectTEE(b []byte) (tee uint32, ok bool) {
	if len(b) < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint16(b[0:])
	ak := binary.LittleEndian.Uint16(b[2:])
	tee = binary.LittleEndian.Uint32(b[4:])
	return tee, (v == 3 || v == 4 || v == 5) && ak == 2 && (tee == TEETypeSGX || tee == TEETypeTDX)
}

package device

import (
	"errors"
	"strings"
	"testing"
)

// cborText is the CBOR text string s (short strings only).
func cborText(s string) []byte { return append([]byte{0x60 | byte(len(s))}, s...) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func validAttestation(t testing.TB) []byte {
	return enc(t, map[string]any{"Attestation": map[string]any{"document": []byte{0xd2, 0x84}}})
}

func validDescribeNSM(t testing.TB, override map[string]any) []byte {
	f := map[string]any{"version_major": 1, "version_minor": 2, "version_patch": 3, "module_id": "m",
		"max_pcrs": 32, "locked_pcrs": []uint16{0, 1}, "digest": "SHA384"}
	for k, v := range override {
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
	}
	return enc(t, map[string]any{"DescribeNSM": f})
}

// TestMalformedResponses: each response that is not the encoding of the
// expected variant is refused, naming what is wrong, and never decoded in
// part.
func TestMalformedResponses(t *testing.T) {
	att := func(c Client) error { _, err := c.Attestation(nil, nil, nil); return err }
	pcr := func(c Client) error { _, err := c.DescribePCR(0); return err }
	nsm := func(c Client) error { _, err := c.DescribeNSM(); return err }
	valid := validAttestation(t)
	attKey := cborText("Attestation")
	docKey := cborText("document")

	for _, tc := range []struct {
		name string
		resp []byte
		call func(Client) error
		want string // in the message
	}{
		{"empty", nil, att, "empty response"},
		{"garbage", []byte{0xff, 0x00, 0x13}, att, "cbor"},
		{"truncated", valid[:len(valid)-1], att, "EOF"},
		{"trailing byte", append(append([]byte{}, valid...), 0x00), att, "extraneous data"},
		{"array", enc(t, []int{1}), att, "CBOR array"},
		{"null", []byte{0xf6}, att, "CBOR null"},
		{"empty map", []byte{0xa0}, att, "0 entries"},
		{"two variants", cat([]byte{0xa2}, attKey, []byte{0xa1}, docKey, []byte{0x41, 1}, cborText("Error"), cborText("InternalError")), att, "2 entries"},
		{"duplicate variant", cat([]byte{0xa2}, attKey, []byte{0xa1}, docKey, []byte{0x41, 1}, attKey, []byte{0xa1}, docKey, []byte{0x41, 2}), att, "duplicate map key"},
		{"duplicate field", cat([]byte{0xa1}, attKey, []byte{0xa2}, docKey, []byte{0x41, 1}, docKey, []byte{0x41, 2}), att, "duplicate map key"},
		{"integer key", []byte{0xa1, 0x01, 0xa0}, att, "cannot unmarshal"},
		{"unknown variant", enc(t, map[string]any{"Frobnicate": map[string]any{}}), att, `unknown response variant "Frobnicate"`},
		{"unknown unit variant", enc(t, "Frobnicate"), att, `unknown response variant "Frobnicate"`},
		{"struct variant as a name", enc(t, "Attestation"), att, "Attestation without its fields"},
		{"unit variant as a map", enc(t, map[string]any{"LockPCR": map[string]any{}}), att, "unit variant LockPCR"},
		{"another request's answer", enc(t, "LockPCR"), att, "Attestation request answered with LockPCR"},
		{"DescribePCR for Attestation", enc(t, map[string]any{"DescribePCR": map[string]any{"lock": true, "data": []byte{1}}}), att,
			"Attestation request answered with DescribePCR"},
		{"GetRandom for DescribeNSM", enc(t, map[string]any{"GetRandom": map[string]any{"random": []byte{1}}}), nsm,
			"DescribeNSM request answered with GetRandom"},
		{"fields not a map", enc(t, map[string]any{"Attestation": []byte{1}}), att, "Attestation is a CBOR byte string, want a map"},
		{"missing field", enc(t, map[string]any{"Attestation": map[string]any{}}), att, `missing field "document"`},
		{"unknown field", enc(t, map[string]any{"Attestation": map[string]any{"document": []byte{1}, "extra": 1}}), att, `unknown field "extra"`},
		{"document as text", enc(t, map[string]any{"Attestation": map[string]any{"document": "x"}}), att, "Attestation.document is a CBOR text string"},
		{"document as array", enc(t, map[string]any{"Attestation": map[string]any{"document": []int{1, 2}}}), att, "Attestation.document is a CBOR array"},
		{"document empty", enc(t, map[string]any{"Attestation": map[string]any{"document": []byte{}}}), att, "Attestation.document is empty"},
		{"document null", enc(t, map[string]any{"Attestation": map[string]any{"document": nil}}), att, "Attestation.document is a CBOR null"},
		{"tag", cat([]byte{0xa1}, attKey, []byte{0xa1}, docKey, []byte{0xd8, 0x18, 0x41, 1}), att, "tag"},
		{"indefinite length", cat([]byte{0xa1}, attKey, []byte{0xa1}, docKey, []byte{0x5f, 0x41, 1, 0xff}), att, "indefinite-length"},
		{"lock as integer", enc(t, map[string]any{"DescribePCR": map[string]any{"lock": 1, "data": []byte{1}}}), pcr, "DescribePCR.lock is a CBOR unsigned integer, want a boolean"},
		{"data as text", enc(t, map[string]any{"DescribePCR": map[string]any{"lock": false, "data": "aa"}}), pcr, "DescribePCR.data is a CBOR text string"},
		{"version beyond u16", validDescribeNSM(t, map[string]any{"version_major": 70000}), nsm, "DescribeNSM.version_major is 70000"},
		{"negative max_pcrs", validDescribeNSM(t, map[string]any{"max_pcrs": -1}), nsm, "DescribeNSM.max_pcrs is a CBOR negative integer"},
		{"float version", validDescribeNSM(t, map[string]any{"version_minor": 1.5}), nsm, "DescribeNSM.version_minor is a CBOR float"},
		{"module_id as bytes", validDescribeNSM(t, map[string]any{"module_id": []byte("m")}), nsm, "DescribeNSM.module_id is a CBOR byte string"},
		{"module_id invalid UTF-8", validDescribeNSM(t, map[string]any{"module_id": cborRaw{0x62, 0xff, 0xfe}}), nsm, "UTF-8"},
		{"locked_pcrs not an array", validDescribeNSM(t, map[string]any{"locked_pcrs": 3}), nsm, "DescribeNSM.locked_pcrs is a CBOR unsigned integer, want an array"},
		{"locked_pcrs item text", validDescribeNSM(t, map[string]any{"locked_pcrs": []any{0, "1"}}), nsm, "DescribeNSM.locked_pcrs[1] is a CBOR text string"},
		{"locked_pcrs duplicate", validDescribeNSM(t, map[string]any{"locked_pcrs": []int{2, 2}}), nsm, "lists PCR 2 twice"},
		{"unknown digest", validDescribeNSM(t, map[string]any{"digest": "MD5"}), nsm, `DescribeNSM.digest "MD5"`},
		{"missing digest", validDescribeNSM(t, map[string]any{"digest": nil}), nsm, `missing field "digest"`},
		{"unknown error code", enc(t, map[string]any{"Error": "Oops"}), att, `unknown error code "Oops"`},
		{"error code as integer", enc(t, map[string]any{"Error": 3}), att, "Error: the code is a CBOR unsigned integer"},
	} {
		err := tc.call(Client{Provider: fixed(tc.resp)})
		if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%s: err = %v, want ErrMalformedResponse", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, err, tc.want)
		}
	}
}

// cborRaw is an encoded CBOR item placed as is.
type cborRaw []byte

func (r cborRaw) MarshalCBOR() ([]byte, error) { return r, nil }

// TestValidResponses: the decoder accepts what an NSM sends, including
// empty PCR data and no locked PCRs.
func TestValidResponses(t *testing.T) {
	if doc, err := (Client{Provider: fixed(validAttestation(t))}).Attestation(nil, nil, nil); err != nil || hexOf(doc) != "d284" {
		t.Errorf("Attestation: %x %v", doc, err)
	}
	r := enc(t, map[string]any{"DescribePCR": map[string]any{"lock": false, "data": []byte{}}})
	if p, err := (Client{Provider: fixed(r)}).DescribePCR(5); err != nil || p.Index != 5 || p.Data == nil || len(p.Data) != 0 {
		t.Errorf("DescribePCR: %+v %v", p, err)
	}
	d, err := (Client{Provider: fixed(validDescribeNSM(t, map[string]any{"locked_pcrs": []int{}, "digest": "SHA512"}))}).DescribeNSM()
	if err != nil || d.LockedPCRs == nil || len(d.LockedPCRs) != 0 || d.Digest != "SHA512" ||
		d.VersionMajor != 1 || d.VersionMinor != 2 || d.VersionPatch != 3 || d.ModuleID != "m" || d.MaxPCRs != 32 {
		t.Errorf("DescribeNSM: %+v %v", d, err)
	}
}

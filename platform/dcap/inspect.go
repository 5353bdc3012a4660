package dcap

import "github.com/cloudra/cloudra"

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

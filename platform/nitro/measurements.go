package nitro

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cloudra/cloudra/policy"
)

// MeasurementsError is an expected-measurements.json that cannot be taken
// as a policy: what is wrong with it, and where.
type MeasurementsError struct {
	Key    string
	Reason string
}

func (e *MeasurementsError) Error() string {
	if e.Key == "" {
		return "expected-measurements.json: " + e.Reason
	}
	return "expected-measurements.json: " + e.Key + ": " + e.Reason
}

// Unwrap makes the error a policy syntax error for callers that classify
// policy errors.
func (e *MeasurementsError) Unwrap() error { return policy.ErrSyntax }

// ConvertMeasurements recognises the measurements nitro-cli build-enclave
// prints and the Nitro Enclaves tooling saves as expected-measurements.json:
//
//	{"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "…", "PCR1": "…", "PCR2": "…"}}
//
// (with PCR8 when the image is signed), and returns it as a cloudra policy
// whose nitro section allows exactly those PCR values; a PCR the file does
// not list may hold anything, as for the tools that write it. ok is false
// when data is not such a file (its first key is not "Measurements").
// Unlike those tools it is strict: a key twice, an unknown key, a hash
// other than SHA-384, a PCR index outside 0–31 or a value that is not 48
// bytes of hex is an error, never an ignored line.
func ConvertMeasurements(data []byte) ([]byte, bool, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return nil, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, false, nil
	}
	first, err := dec.Token()
	if err != nil || first != "Measurements" {
		return nil, false, nil
	}
	pcrs, err := measurements(dec)
	if err != nil {
		return nil, true, err
	}
	if tok, err := dec.Token(); err != nil {
		return nil, true, &MeasurementsError{Reason: fmt.Sprintf("not valid JSON: %v", err)}
	} else if tok != json.Delim('}') {
		return nil, true, &MeasurementsError{Key: fmt.Sprint(tok), Reason: "unknown key (the file has Measurements alone)"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, true, &MeasurementsError{Reason: "data after the JSON object"}
	}
	if len(pcrs) == 0 {
		return nil, true, &MeasurementsError{Key: "Measurements", Reason: "no PCR"}
	}
	doc := map[string]any{
		"version": policy.Version,
		"name":    "expected-measurements.json",
		Platform:  map[string]any{"pcrs": pcrs},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, true, err
	}
	return out, true, nil
}

// measurements reads the Measurements object: HashAlgorithm once, and PCRn
// keys, each once.
func measurements(dec *json.Decoder) (map[string][]string, error) {
	bad := func(key, format string, args ...any) error {
		return &MeasurementsError{Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad("Measurements", "not an object")
	}
	pcrs := map[string][]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("Measurements", "not valid JSON: %v", err)
		}
		key, _ := tok.(string)
		path := "Measurements." + key
		if seen[key] {
			return nil, bad(path, "given twice")
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, bad(path, "not valid JSON: %v", err)
		}
		val, ok := tok.(string)
		if !ok {
			return nil, bad(path, "not a string")
		}
		switch {
		case key == "HashAlgorithm":
			// nitro-cli prints the Rust Debug form of its hasher,
			// "Sha384 { ... }".
			if val != "Sha384" && !strings.HasPrefix(val, "Sha384 {") {
				return nil, bad(path, "%q; Nitro PCRs are SHA-384 (\"Sha384 { ... }\")", val)
			}
		case strings.HasPrefix(key, "PCR"):
			idx := key[len("PCR"):]
			if _, err := pcrIndex(idx); err != nil {
				return nil, bad(path, "%v", err)
			}
			b, err := hex.DecodeString(val)
			if err != nil || len(b) != pcrSizeSHA384 {
				return nil, bad(path, "not %d bytes of hex", pcrSizeSHA384)
			}
			pcrs[idx] = []string{hex.EncodeToString(b)}
		default:
			return nil, bad(path, "unknown key (want HashAlgorithm or PCR0…PCR31)")
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("Measurements", "not valid JSON: %v", err)
	}
	if !seen["HashAlgorithm"] {
		return nil, bad("Measurements.HashAlgorithm", "missing")
	}
	return pcrs, nil
}

package nitro_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/nitro"
	"github.com/cloudra/cloudra/policy"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// measurementsFile is expected-measurements.json as nitro-cli build-enclave
// prints it (AWS Nitro Enclaves User Guide, "Where to get an enclave's
// measurements"), with the PCRs given.
func measurementsFile(pcrs map[string]string) string {
	var b strings.Builder
	b.WriteString("{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha384 { ... }\"")
	for _, k := range []string{"PCR0", "PCR1", "PCR2", "PCR8"} {
		if v, ok := pcrs[k]; ok {
			b.WriteString(",\n    \"" + k + "\": \"" + v + "\"")
		}
	}
	b.WriteString("\n  }\n}\n")
	return b.String()
}

// simEnclave is a simulated enclave's document and the verifier that
// trusts its root under AllowTestRoots.
func simEnclave(t *testing.T) ([]byte, map[uint][]byte, *nitro.Verifier, cloudra.Options) {
	t.Helper()
	seed := []byte("cloudra nitro policy tests")
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pki, err := nitrosim.NewPKI(seed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.Chain(at)
	if err != nil {
		t.Fatal(err)
	}
	pcrs, err := nitrosim.EnclavePCRs(seed, false)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := c.Sign(nitrosim.NewPayload(c, pki.ModuleID(), at, pcrs))
	if err != nil {
		t.Fatal(err)
	}
	v, err := nitro.NewVerifier(nitro.WithTestRoot(pki.Root()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, pcrs, v, cloudra.Options{Time: at.Add(time.Minute), AllowTestRoots: true}
}

// TestExpectedMeasurementsAsPolicy: platform.ParsePolicy takes nitro-cli's
// expected-measurements.json as it is: each listed PCR becomes a one-value
// allow-list of the nitro section, and a PCR the file does not list may
// hold anything (PCR8, here), as for the tools that write it. A document
// with those measurements passes; one PCR off fails that PCR's rule as
// policy.
func TestExpectedMeasurementsAsPolicy(t *testing.T) {
	doc, pcrs, v, opts := simEnclave(t)
	file := map[string]string{
		"PCR0": hex.EncodeToString(pcrs[0]),
		"PCR1": hex.EncodeToString(pcrs[1]),
		"PCR2": hex.EncodeToString(pcrs[2]),
	}
	p, err := platform.ParsePolicy([]byte(measurementsFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	sec := nitro.PolicyOf(p)
	if sec == nil || len(sec.PCRs) != 3 {
		t.Fatalf("nitro section %+v", sec)
	}
	for i, k := range []string{"0", "1", "2"} {
		if l := sec.PCRs[k]; len(l) != 1 || hex.EncodeToString(l[0]) != file["PCR"+k] {
			t.Errorf("pcrs.%s = %x, want [%s] (PCR%d)", k, l, file["PCR"+k], i)
		}
	}
	if _, ok := sec.PCRs["8"]; ok {
		t.Error("PCR8, not in the file, became a rule")
	}
	res, err := v.Verify(context.Background(), nitro.Evidence{Document: doc}, sec, opts)
	checktest.WantPass(t, checktest.Result(t, res, err))

	file["PCR1"] = strings.Repeat("00", 48)
	p, err = platform.ParsePolicy([]byte(measurementsFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	res, err = v.Verify(context.Background(), nitro.Evidence{Document: doc}, nitro.PolicyOf(p), opts)
	res = checktest.Result(t, res, err)
	checktest.WantOnly(t, res, "policy.pcrs.1", cloudra.ClassPolicy)

	// PCR8 listed (a signed image) and not matching: that rule fails.
	file["PCR1"] = hex.EncodeToString(pcrs[1])
	file["PCR8"] = strings.Repeat("ab", 48)
	p, err = platform.ParsePolicy([]byte(measurementsFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	res, err = v.Verify(context.Background(), nitro.Evidence{Document: doc}, nitro.PolicyOf(p), opts)
	checktest.WantOnly(t, checktest.Result(t, res, err), "policy.pcrs.8", cloudra.ClassPolicy)
}

// TestExpectedMeasurementsStrict: ConvertMeasurements, unlike the tools
// that write expected-measurements.json, refuses what it cannot take
// exactly: a key twice, an unknown key, a hash other than SHA-384 (Nitro
// PCRs are SHA-384, attestation_process.md §3.1), a PCR index outside 0–31,
// a value that is not 48 bytes of hex, a file without PCRs, and data after
// the object, each a *MeasurementsError naming the key, which is a policy
// syntax error through platform.ParsePolicy. A JSON policy file is not
// such a file and is left alone.
func TestExpectedMeasurementsStrict(t *testing.T) {
	pcr := strings.Repeat("ab", 48)
	const head = `{"Measurements": {"HashAlgorithm": "Sha384 { ... }", `
	for _, c := range []struct {
		name, file, key string
	}{
		{"DuplicatePCR", head + `"PCR0": "` + pcr + `", "PCR0": "` + pcr + `"}}`, "Measurements.PCR0"},
		{"DuplicateHashAlgorithm", head + `"HashAlgorithm": "Sha384 { ... }", "PCR0": "` + pcr + `"}}`, "Measurements.HashAlgorithm"},
		{"UnknownKey", head + `"PCR0": "` + pcr + `", "PCRX": "` + pcr + `"}}`, "Measurements.PCRX"},
		{"UnknownKeyLowercase", head + `"pcr0": "` + pcr + `"}}`, "Measurements.pcr0"},
		{"UnknownTopLevelKey", head + `"PCR0": "` + pcr + `"}, "Other": 1}`, "Other"},
		{"HashAlgorithmSha256", `{"Measurements": {"HashAlgorithm": "Sha256 { ... }", "PCR0": "` + pcr + `"}}`, "Measurements.HashAlgorithm"},
		{"HashAlgorithmMissing", `{"Measurements": {"PCR0": "` + pcr + `"}}`, "Measurements.HashAlgorithm"},
		{"PCR32", head + `"PCR32": "` + pcr + `"}}`, "Measurements.PCR32"},
		{"PCR01", head + `"PCR01": "` + pcr + `"}}`, "Measurements.PCR01"},
		{"Value47Bytes", head + `"PCR0": "` + pcr[:94] + `"}}`, "Measurements.PCR0"},
		{"Value49Bytes", head + `"PCR0": "` + pcr + `ab"}}`, "Measurements.PCR0"},
		{"ValueNotHex", head + `"PCR0": "` + strings.Repeat("zz", 48) + `"}}`, "Measurements.PCR0"},
		{"ValueNumber", head + `"PCR0": 0}}`, "Measurements.PCR0"},
		{"NoPCR", `{"Measurements": {"HashAlgorithm": "Sha384 { ... }"}}`, "Measurements"},
		{"TrailingData", head + `"PCR0": "` + pcr + `"}} {}`, ""},
		{"TrailingGarbage", head + `"PCR0": "` + pcr + `"}}x`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, ok, err := nitro.ConvertMeasurements([]byte(c.file))
			var me *nitro.MeasurementsError
			if !ok || out != nil || !errors.As(err, &me) {
				t.Fatalf("ok %v, %v, want a *MeasurementsError", ok, err)
			}
			if me.Key != c.key {
				t.Errorf("key %q (%v), want %q", me.Key, err, c.key)
			}
			if _, err := platform.ParsePolicy([]byte(c.file)); !errors.Is(err, policy.ErrSyntax) {
				t.Errorf("platform.ParsePolicy: %v, want a policy syntax error", err)
			}
		})
	}
	for _, other := range []string{`{"version": 1, "nitro": {"pcrs": {"0": ["` + pcr + `"]}}}`, "version: 1\n", `{}`, ``} {
		if out, ok, err := nitro.ConvertMeasurements([]byte(other)); ok || out != nil || err != nil {
			t.Errorf("%q taken for expected-measurements.json: %v %v", other, ok, err)
		}
	}
}

// TestNitroPolicySectionStrict: the nitro section of a policy file
// (docs/policy.md) refuses, as a *policy.Error naming the key, a PCR index
// that is not plain decimal 0–31 ("01", "x", "32"), a PCR value that is not
// 48 bytes (SHA-384), a document kind other than enclave or nitrotpm, and a
// max-age that is not a positive duration; the same values written right
// are accepted.
func TestNitroPolicySectionStrict(t *testing.T) {
	pcr := strings.Repeat("ab", 48)
	parse := func(section string) (*policy.Policy, error) {
		return policy.Parse([]byte(`{"version": 1, "nitro": `+section+`}`), nitro.PolicySection())
	}
	for _, c := range []struct {
		name, section, key string
	}{
		{"PCRKeyLeadingZero", `{"pcrs": {"01": ["` + pcr + `"]}}`, "nitro.pcrs.01"},
		{"PCRKeyText", `{"pcrs": {"x": ["` + pcr + `"]}}`, "nitro.pcrs.x"},
		{"PCRKey32", `{"pcrs": {"32": ["` + pcr + `"]}}`, "nitro.pcrs.32"},
		{"PCRKeyNegative", `{"pcrs": {"-1": ["` + pcr + `"]}}`, "nitro.pcrs.-1"},
		{"PCRValue47Bytes", `{"pcrs": {"0": ["` + pcr[:94] + `"]}}`, "nitro.pcrs.0[0]"},
		{"PCRValue47BytesSecond", `{"pcrs": {"3": ["` + pcr + `", "` + pcr[:94] + `"]}}`, "nitro.pcrs.3[1]"},
		{"DocumentTPM", `{"document": "tpm"}`, "nitro.document"},
		{"DocumentCase", `{"document": "NitroTPM"}`, "nitro.document"},
		{"MaxAgeNegative", `{"max-age": "-5m"}`, "nitro.max-age"},
		{"MaxAgeZero", `{"max-age": "0s"}`, "nitro.max-age"},
		{"MaxAgeText", `{"max-age": "abc"}`, "nitro.max-age"},
		{"UnknownKey", `{"allow_debug": true}`, "nitro.allow_debug"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.section)
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%v, want a *policy.Error", err)
			}
			if pe.Key != c.key {
				t.Errorf("key %q (%v), want %q", pe.Key, err, c.key)
			}
		})
	}
	p, err := parse(`{"document": "nitrotpm", "pcrs": {"0": ["` + pcr + `"], "31": ["` + pcr + `"]}, "max-age": "5m", "allow-debug": true}`)
	if err != nil {
		t.Fatal(err)
	}
	if s := nitro.PolicyOf(p); s.Document != nitro.DocumentNitroTPM || len(s.PCRs) != 2 || s.MaxAge != "5m" || !policy.Or(s.AllowDebug, false) {
		t.Errorf("%+v", s)
	}
}

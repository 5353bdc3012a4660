package cli_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
)

// TestMalformedBundleIsRejectedParse: a file that is recognisably an
// evidence bundle but does not parse (a byte-order mark, cut JSON, bad
// base64 in an artifact's data, trailing data) is rejected evidence: a
// result whose evidence.parse check failed with class parse, exit 1, in
// text and JSON.
func TestMalformedBundleIsRejectedParse(t *testing.T) {
	good, err := (&cloudra.Bundle{Artifacts: []cloudra.Artifact{{Kind: cloudra.KindSNPReport, Data: make([]byte, 1184)}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cases := map[string]struct {
		data []byte
		want string
	}{
		"bom":            {append([]byte("\xef\xbb\xbf"), good...), "byte-order mark"},
		"bom after ws":   {append([]byte("\n\xef\xbb\xbf"), good...), "RFC 8259"},
		"cut":            {good[:len(good)/2], "unexpected end of JSON input"},
		"cut no schema":  {[]byte(`{"schema"`), "unexpected end"},
		"bad base64":     {[]byte(`{"schema":"cloudra.evidence/v1","artifacts":[{"kind":"sev-snp/report","data":"!!not base64"}]}`), "base64"},
		"trailing":       {append(bytes.Clone(good), []byte(" {}")...), "trailing"},
		"schema number":  {[]byte(`{"schema": 1, "artifacts": []}`), `"schema" is 1`},
		"unknown member": {[]byte(`{"schema":"cloudra.evidence/v1","artifacts":[],"extra":1}`), "unknown field"},
	}
	for name, c := range cases {
		f := writeFile(t, tmp, strings.ReplaceAll(name, " ", "_")+".json", c.data)
		t.Run(name+"/text", func(t *testing.T) {
			code, out, errs := run(t, "verify", "--offline", f)
			if code != 1 || !strings.Contains(out, "evidence.parse") || !strings.Contains(out, "fail/parse") || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want 1 with evidence.parse fail/parse %q\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errs)
			}
		})
		t.Run(name+"/json", func(t *testing.T) {
			code, out, errs := run(t, "verify", "--offline", "--format", "json", f)
			var doc struct {
				Verdict string          `json:"verdict"`
				Checks  []cloudra.Check `json:"checks"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("exit %d: %v\n%s%s", code, err, out, errs)
			}
			if code != 1 || doc.Verdict != "fail" || len(doc.Checks) != 1 || doc.Checks[0].Name != "evidence.parse" ||
				doc.Checks[0].Class != cloudra.ClassParse || !strings.Contains(doc.Checks[0].Detail, filepath.Base(f)) {
				t.Errorf("exit %d, doc %+v", code, doc)
			}
		})
	}
	// inspect says the same, with exit 1.
	f := filepath.Join(tmp, "cut.json")
	if code, _, errs := run(t, "inspect", f); code != 1 || !strings.Contains(errs, "unexpected end of JSON input") {
		t.Errorf("inspect: exit %d %s", code, errs)
	}
}

// TestUnknownBytesStayUndecided: bytes recognisable as nothing, JSON that
// is not a bundle, and a bundle of a schema this cloudra does not read
// stay "could not decide" (exit 2) with no result printed.
func TestUnknownBytesStayUndecided(t *testing.T) {
	tmp := t.TempDir()
	for name, c := range map[string]struct {
		data string
		want string
	}{
		"junk":          {"this is not attestation evidence", "unrecognised artifact"},
		"binary":        {"\x00\x01\x02\x03\xff\xfe", "unrecognised artifact"},
		"other json":    {`{"version": 1, "allow-debug": false}`, "unrecognised artifact"},
		"bom junk":      {"\xef\xbb\xbfhello", "unrecognised artifact"},
		"future schema": {`{"schema": "cloudra.evidence/v9", "artifacts": []}`, "unsupported schema"},
		"result doc":    {`{"schema": "cloudra.result/v1", "verdict": "pass"}`, "unsupported schema"},
	} {
		t.Run(name, func(t *testing.T) {
			f := writeFile(t, tmp, strings.ReplaceAll(name, " ", "_"), []byte(c.data))
			code, out, errs := run(t, "verify", "--offline", f)
			if code != 2 || out != "" || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errs)
			}
		})
	}
}

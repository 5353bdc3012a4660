package pcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

const (
	tdxDir = "tdx/gotdxguest-v5-td15/collateral"
	tdxAt  = "2026-02-25T00:00:00Z"
	sgxDir = "sgx/dcapqvl-v3-configuration-swhardening/collateral"
	sgxAt  = "2025-07-01T00:00:00Z"
)

// signerCol returns a collateral holding only the issuer chain of dir.
func signerCol(t testing.TB, dir string) *cloudra.Collateral {
	return &cloudra.Collateral{Certificates: ParsePEMChain(vectortest.Read(t, dir+"/tcb_info_issuer_chain.pem"))}
}

// verifyDoc parses raw as TCB Info or QE Identity and verifies it.
func verifyDoc(t testing.TB, raw []byte, qe bool, col *cloudra.Collateral, at time.Time) error {
	if qe {
		q, err := ParseQEIdentity(raw)
		if err != nil {
			return err
		}
		return q.Verify(col, root(t), at)
	}
	i, err := ParseTCBInfo(raw)
	if err != nil {
		return err
	}
	return i.Verify(col, root(t), at)
}

type docCase struct {
	name, dir, file, at, key string
	qe                       bool
}

// load is the case's document with the collateral and time that verify
// it.
func (c docCase) load(t *testing.T) ([]byte, *cloudra.Collateral, time.Time) {
	t.Helper()
	return vectortest.Read(t, c.dir+"/"+c.file), signerCol(t, c.dir), vectortest.Time(t, c.at)
}

var docCases = []docCase{
	{"tdx-tcb", tdxDir, "tcb_info.json", tdxAt, "tcbInfo", false},
	{"tdx-qe", tdxDir, "qe_identity.json", tdxAt, "enclaveIdentity", true},
	{"sgx-tcb", sgxDir, "tcb_info.json", sgxAt, "tcbInfo", false},
	{"sgx-qe", sgxDir, "qe_identity.json", sgxAt, "enclaveIdentity", true},
}

// TestSignedSpan: every single-byte change inside the signed object that
// still parses must fail the signature (docs/pitfalls-dcap.md A1, C9); a flipped
// signature byte too.
func TestSignedSpan(t *testing.T) {
	vectortest.Dir(t)
	for _, c := range docCases {
		t.Run(c.name, func(t *testing.T) {
			raw, col, at := c.load(t)
			if err := verifyDoc(t, raw, c.qe, col, at); err != nil {
				t.Fatalf("positive twin: %v", err)
			}
			start := bytes.Index(raw, []byte(`"`+c.key+`":`)) + len(c.key) + 3
			end := bytes.LastIndex(raw, []byte(`,"signature"`))
			if start < len(c.key)+3 || end < start {
				t.Fatal("span not found")
			}
			// Every byte of the small documents; ~400 spread positions of the
			// large ones (plus every byte in short mode would be too slow
			// under -race on a shared machine).
			stride := max(1, (end-start)/400)
			stillParsed := 0
			for i := start; i < end; i += stride {
				for _, m := range []func(byte) byte{
					func(b byte) byte { return b ^ 0x20 }, // hex case, key case
					func(b byte) byte { return b ^ 0x01 }, // digit change
				} {
					mut := bytes.Clone(raw)
					mut[i] = m(mut[i])
					err := verifyDoc(t, mut, c.qe, col, at)
					if err == nil {
						t.Fatalf("byte %d (%q→%q) changed and still verifies", i, raw[i], mut[i])
					}
					if _, perr := parseAny(mut, c.qe); perr == nil {
						stillParsed++
						if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrNotYetValid) {
							t.Fatalf("byte %d: parseable mutation failed as %v, want ErrSignature", i, err)
						}
					}
				}
			}
			if stillParsed == 0 {
				t.Fatal("no mutation kept the document parseable")
			}
			// The signature itself.
			sigAt := bytes.LastIndex(raw, []byte(`"signature":"`)) + len(`"signature":"`)
			mut := bytes.Clone(raw)
			if mut[sigAt] == '0' {
				mut[sigAt] = '1'
			} else {
				mut[sigAt] = '0'
			}
			if err := verifyDoc(t, mut, c.qe, col, at); !errors.Is(err, ErrSignature) {
				t.Errorf("flipped signature: %v, want ErrSignature", err)
			}
		})
	}
}

func parseAny(raw []byte, qe bool) (any, error) {
	if qe {
		return ParseQEIdentity(raw)
	}
	return ParseTCBInfo(raw)
}

// TestReserialised: the same content with other whitespace or key order is
// not what Intel signed (attestation-rs PR #26).
func TestReserialised(t *testing.T) {
	vectortest.Dir(t)
	for _, c := range docCases {
		t.Run(c.name, func(t *testing.T) {
			raw, col, at := c.load(t)
			var env map[string]json.RawMessage
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatal(err)
			}
			// Whitespace only.
			var ind bytes.Buffer
			if err := json.Indent(&ind, env[c.key], "", " "); err != nil {
				t.Fatal(err)
			}
			// Key order: map round trip sorts keys.
			var m map[string]any
			if err := json.Unmarshal(env[c.key], &m); err != nil {
				t.Fatal(err)
			}
			sorted, _ := json.Marshal(m)
			for name, inner := range map[string][]byte{"indented": ind.Bytes(), "sorted": sorted} {
				doc := []byte(`{"` + c.key + `":` + string(inner) + `,"signature":` + string(env["signature"]) + `}`)
				if _, err := parseAny(doc, c.qe); err != nil {
					t.Fatalf("%s: must still parse: %v", name, err)
				}
				if err := verifyDoc(t, doc, c.qe, col, at); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: %v, want ErrSignature", name, err)
				}
			}
			// Whitespace around the envelope is not signed: still verifies.
			env2 := []byte("\n{ \"signature\" : " + string(env["signature"]) + " ,\n \"" + c.key + "\" :\t" + string(env[c.key]) + " }\n")
			if err := verifyDoc(t, env2, c.qe, col, at); err != nil {
				t.Errorf("re-spaced envelope with the exact signed span: %v", err)
			}
		})
	}
}

// mutateTCB re-encodes the first level of a TCB Info through f and parses it.
func mutateJSON(t *testing.T, raw []byte, key string, f func(m map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	f(env[key].(map[string]any))
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstLevel(m map[string]any) map[string]any {
	return m["tcbLevels"].([]any)[0].(map[string]any)["tcb"].(map[string]any)
}

func TestParseRejects(t *testing.T) {
	vectortest.Dir(t)
	tdx := vectortest.Read(t, tdxDir+"/tcb_info.json")
	sgx := vectortest.Read(t, sgxDir+"/tcb_info.json")
	qe := vectortest.Read(t, tdxDir+"/qe_identity.json")
	inner := func(raw []byte, key string) string {
		var env map[string]json.RawMessage
		_ = json.Unmarshal(raw, &env)
		return string(env[key])
	}
	// The first level's component list key cut to 15 or grown to 17.
	fifteen := func(raw []byte, key string) []byte {
		return mutateJSON(t, raw, "tcbInfo", func(m map[string]any) {
			l := firstLevel(m)
			l[key] = l[key].([]any)[:15]
		})
	}
	seventeen := func(raw []byte, key string) []byte {
		return mutateJSON(t, raw, "tcbInfo", func(m map[string]any) {
			l := firstLevel(m)
			l[key] = append(l[key].([]any), map[string]any{"svn": 0})
		})
	}
	cases := []struct {
		name string
		doc  []byte
		qe   bool
	}{
		{"sgx 15 components", fifteen(sgx, "sgxtcbcomponents"), false},
		{"sgx 17 components", seventeen(sgx, "sgxtcbcomponents"), false},
		{"tdx 15 components", fifteen(tdx, "tdxtcbcomponents"), false},
		{"tdx 17 components", seventeen(tdx, "tdxtcbcomponents"), false},
		{"tdx components absent", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { delete(firstLevel(m), "tdxtcbcomponents") }), false},
		{"tdx components on sgx", mutateJSON(t, sgx, "tcbInfo", func(m map[string]any) {
			l := firstLevel(m)
			l["tdxtcbcomponents"] = l["sgxtcbcomponents"]
		}), false},
		{"svn 256", mutateJSON(t, sgx, "tcbInfo", func(m map[string]any) {
			firstLevel(m)["sgxtcbcomponents"].([]any)[0].(map[string]any)["svn"] = 256
		}), false},
		{"svn fractional", mutateJSON(t, sgx, "tcbInfo", func(m map[string]any) {
			firstLevel(m)["sgxtcbcomponents"].([]any)[0].(map[string]any)["svn"] = 1.5
		}), false},
		{"unknown status", mutateJSON(t, sgx, "tcbInfo", func(m map[string]any) {
			m["tcbLevels"].([]any)[0].(map[string]any)["tcbStatus"] = "Fine"
		}), false},
		{"version 2", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["version"] = 2 }), false},
		{"id QE", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["id"] = "QE" }), false},
		{"unknown field", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["extra"] = true }), false},
		{"no levels", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["tcbLevels"] = []any{} }), false},
		{"missing fmspc", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { delete(m, "fmspc") }), false},
		{"short fmspc", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["fmspc"] = "90c06f00" }), false},
		{"window reversed", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { m["nextUpdate"] = m["issueDate"] }), false},
		{"tdx without tdxModule", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) { delete(m, "tdxModule") }), false},
		{"duplicate module id", mutateJSON(t, tdx, "tcbInfo", func(m map[string]any) {
			ids := m["tdxModuleIdentities"].([]any)
			m["tdxModuleIdentities"] = append(ids, ids[0])
		}), false},
		{"duplicate key", []byte(`{"tcbInfo":{"version":3,` + inner(tdx, "tcbInfo")[1:] + `,"signature":"` + strings.Repeat("00", 64) + `"}`), false},
		{"duplicate key other case", []byte(`{"tcbInfo":{"Version":3,` + inner(tdx, "tcbInfo")[1:] + `,"signature":"` + strings.Repeat("00", 64) + `"}`), false},
		{"duplicate nested key", bytes.Replace(tdx, []byte(`"tcbStatus":"UpToDate"`), []byte(`"tcbStatus":"UpToDate","tcbStatus":"Revoked"`), 1), false},
		{"duplicate signature", bytes.Replace(tdx, []byte(`"signature":`), []byte(`"signature":"00","signature":`), 1), false},
		{"duplicate object", []byte(`{"tcbInfo":` + inner(tdx, "tcbInfo") + `,"tcbInfo":` + inner(tdx, "tcbInfo") + `,"signature":"` + strings.Repeat("00", 64) + `"}`), false},
		{"trailing data", append(bytes.Clone(tdx), '{', '}'), false},
		{"trailing garbage", append(bytes.Clone(tdx), 'x'), false},
		{"two documents", append(bytes.Clone(tdx), tdx...), false},
		{"array", []byte(`[` + string(tdx) + `]`), false},
		{"short signature", bytes.Replace(tdx, []byte(`"signature":"`), []byte(`"signature":"00`), 1), false},
		{"no signature", []byte(`{"tcbInfo":` + inner(tdx, "tcbInfo") + `}`), false},
		{"extra top key", []byte(`{"x":1,` + string(tdx[1:])), false},
		{"invalid utf-8", bytes.Replace(tdx, []byte(`"TDX"`), []byte("\"TD\xff\""), 1), false},
		{"qe version 3", mutateJSON(t, qe, "enclaveIdentity", func(m map[string]any) { m["version"] = 3 }), true},
		{"qe id QVX", mutateJSON(t, qe, "enclaveIdentity", func(m map[string]any) { m["id"] = "QVX" }), true},
		{"qe short mrsigner", mutateJSON(t, qe, "enclaveIdentity", func(m map[string]any) { m["mrsigner"] = "DC9E" }), true},
		{"qe isvsvn negative", mutateJSON(t, qe, "enclaveIdentity", func(m map[string]any) {
			m["tcbLevels"].([]any)[0].(map[string]any)["tcb"].(map[string]any)["isvsvn"] = -1
		}), true},
		{"qe tcb info body", tdx, true},
		{"tcb info qe body", qe, false},
	}
	for _, c := range cases {
		_, err := parseAny(c.doc, c.qe)
		var pe *ParseError
		if !errors.Is(err, ErrParse) || !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a ParseError", c.name, err)
		}
	}
	// Positive twins: trailing whitespace is fine; so is a level without
	// advisories.
	if _, err := ParseTCBInfo(append(bytes.Clone(tdx), " \n"...)); err != nil {
		t.Errorf("trailing whitespace: %v", err)
	}
	if _, err := ParseTCBInfo(mutateJSON(t, tdx, "tcbInfo", func(map[string]any) {})); err != nil {
		t.Errorf("re-encoded twin: %v", err)
	}
}

func TestDeepNesting(t *testing.T) {
	doc := []byte(`{"tcbInfo":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `,"signature":"` + strings.Repeat("00", 64) + `"}`)
	if _, err := ParseTCBInfo(doc); !errors.Is(err, ErrParse) {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := ParseTCBInfo(make([]byte, MaxDocumentSize+1)); !errors.Is(err, ErrParse) {
		t.Errorf("oversize: %v", err)
	}
}

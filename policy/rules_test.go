package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/nitro"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
	"go.yaml.in/yaml/v3"
)

// mustReject parses in and returns its *policy.Error, failing unless it is one of
// kind and names key.
func mustReject(t *testing.T, in string, kind error, key string) *policy.Error {
	t.Helper()
	p, err := parse([]byte(in))
	if err == nil {
		t.Fatalf("accepted %q: %+v", in, p)
	}
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%q: %T %v, want a *policy.Error", in, err, err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("%q: %v, want kind %v", in, err, kind)
	}
	if pe.Key != key {
		t.Errorf("%q: key %q, want %q (%v)", in, pe.Key, key, err)
	}
	if key != "" && !strings.HasPrefix(err.Error(), "policy: "+key) {
		t.Errorf("%q: message %q does not start with the key", in, err)
	}
	return pe
}

func mustAccept(t *testing.T, in string) *policy.Policy {
	t.Helper()
	p, err := parse([]byte(in))
	if err != nil {
		t.Fatalf("%q: %v", in, err)
	}
	return p
}

func hx(n int) string { return strings.Repeat("a5", n) }

func TestPolicyRejectsSecondYAMLDocument(t *testing.T) {
	e := mustReject(t, "version: 1\n---\nsev-snp:\n  allow-debug: true\n", policy.ErrSyntax, "")
	if e.Line != 2 || !strings.Contains(e.Error(), "second YAML document") {
		t.Errorf("%v (line %d)", e, e.Line)
	}
	mustReject(t, "version: 1\n---\n", policy.ErrSyntax, "")
	mustReject(t, "version: 1\n...\n---\nversion: 1\n", policy.ErrSyntax, "")
	// A document start marker before the one document is fine.
	mustAccept(t, "---\nversion: 1\n")
	mustAccept(t, "version: 1\n...\n")
}

func TestPolicyRejectsDuplicateKeys(t *testing.T) {
	for _, c := range []struct{ in, key string }{
		{"version: 1\nversion: 1\n", "version"},
		{"version: 1\nsev-snp:\n  vmpl: 0\n  vmpl: 2\n", "sev-snp.vmpl"},
		{"version: 1\nsev-snp: {}\nsev-snp: {}\n", "sev-snp"},
		{"version: 1\nsev-snp:\n  min-tcb: {bootloader: 3, tee: 0, bootloader: 0, snp: 8, microcode: 1}\n", "sev-snp.min-tcb.bootloader"},
		{"version: 1\ntdx:\n  tcb:\n    accept-status: [UpToDate]\n    accept-status: [OutOfDate]\n", "tdx.tcb.accept-status"},
		{"version: 1\ntpm:\n  pcrs:\n    sha256:\n      \"7\": [\"" + hx(32) + "\"]\n      \"7\": [\"" + hx(32) + "\"]\n", "tpm.pcrs.sha256.7"},
		// The same bank under two spellings platform/tpm reads alike.
		{"version: 1\ntpm:\n  pcrs:\n    sha256: {\"7\": [\"" + hx(32) + "\"]}\n    SHA-256: {\"7\": [\"" + hx(32) + "\"]}\n", "tpm.pcrs.sha256"},
		{`{"version": 1, "version": 1}`, "version"},
		{`{"version": 1, "sev-snp": {"allow-debug": false, "allow-debug": true}}`, "sev-snp.allow-debug"},
		{`{"version": 1, "sev-snp": {"min-tcb": {"tee": 1, "tee": 0}}}`, "sev-snp.min-tcb.tee"},
		{`{"version": 1, "tpm": {"pcrs": {"sha256": {"0": [], "0": []}}}}`, "tpm.pcrs.sha256.0"},
		// Escapes decode to the same key.
		{`{"version": 1, "sev-snp": {"vmpl": 2, "vmp\u006c": 0}}`, "sev-snp.vmpl"},
		{`{"version": 1, "name": "a", "tdx": {}, "name": "b"}`, "name"},
	} {
		e := mustReject(t, c.in, policy.ErrDuplicateKey, c.key)
		if !strings.Contains(e.Error(), "duplicate key") {
			t.Errorf("%v", e)
		}
	}
}

func TestPolicyRejectsCaseFoldedKeys(t *testing.T) {
	for _, c := range []struct{ in, key string }{
		{"version: 1\nSev-Snp: {}\n", "Sev-Snp"},
		{"Version: 1\n", "Version"},
		{"version: 1\nsev-snp:\n  VMPL: 2\n", "sev-snp.VMPL"},
		// U+017F LATIN SMALL LETTER LONG S folds to 's'; U+212A KELVIN SIGN to 'k'.
		{"version: 1\n\u017fev-snp: {}\n", "\u017fev-snp"},
		{"version: 1\ntpm:\n  \u212Aernel-cmdlines: [quiet]\n", "tpm.\u212Aernel-cmdlines"},
		{`{"version": 1, "SEV-SNP": {}}`, "SEV-SNP"},
		{`{"version": 1, "\u017fev-snp": {"allow-debug": true}}`, "\u017fev-snp"},
		{`{"version": 1, "tpm": {"\u212Aernel-digests": []}}`, "tpm.\u212Aernel-digests"},
		{"version: 1\nsev-snp:\n  allow-debug: false\n  \u017fev-snp: 1\n", "sev-snp.\u017fev-snp"},
	} {
		e := mustReject(t, c.in, policy.ErrUnknownField, c.key)
		if !strings.Contains(e.Error(), "unknown field") {
			t.Errorf("%v", e)
		}
	}
	// A folded key beside the real one, which encoding/json would read as
	// the same field twice, the later overwriting the earlier: a duplicate.
	for _, c := range []struct{ in, key string }{
		{`{"version": 1, "sev-snp": {"allow-debug": false, "Allow-Debug": true}}`, "sev-snp.Allow-Debug"},
		{`{"version": 1, "sev-snp": {"Allow-Debug": true, "allow-debug": false}}`, "sev-snp.Allow-Debug"},
		{"version: 1\ntdx: {}\nTDX: {allow-debug: true}\n", "TDX"},
		{"version: 1\nsev-snp: {}\n\u017fev-snp: {allow-debug: true}\n", "\u017fev-snp"},
		{"version: 1\ntpm:\n  kernel-digests: []\n  \u212Aernel-digests: []\n", "tpm.\u212Aernel-digests"},
	} {
		e := mustReject(t, c.in, policy.ErrDuplicateKey, c.key)
		if !strings.Contains(e.Error(), "up to case folding") {
			t.Errorf("%v", e)
		}
	}
}

// TestPolicyVersionFirst: a file of another version is refused for its
// version, not for keys this version does not know; a file without one
// after its keys are checked.
func TestPolicyVersionFirst(t *testing.T) {
	mustReject(t, "version: 2\nsev-snp:\n  future-rule: 1\n", policy.ErrVersion, "version")
	mustReject(t, `{"sev-snp": {"future-rule": 1}, "version": 2}`, policy.ErrVersion, "version")
	mustReject(t, "sev-snp: {}\n", policy.ErrVersion, "version")
	mustReject(t, "sev-snp: {vmpl: 010}\n", policy.ErrValue, "sev-snp.vmpl")
}

func TestPolicyRejectsUnknownKeys(t *testing.T) {
	mustReject(t, "version: 1\nsev-snp:\n  alow-debug: true\n", policy.ErrUnknownField, "sev-snp.alow-debug")
	mustReject(t, `{"version": 1, "tdx": {"tcb": {"accept": []}}}`, policy.ErrUnknownField, "tdx.tcb.accept")
	mustReject(t, "version: 1\nnope: 1\n", policy.ErrUnknownField, "nope")
}

func TestPolicyRejectsNonDecimalIntegers(t *testing.T) {
	for _, v := range []string{"010", "0x10", "0o10", "0b11", "1_000", "+5", "1e3", "10.0", "-0", ".inf", "'5'", "\"5\"", "0x", "true", "[1]"} {
		mustReject(t, "version: 1\nsev-snp:\n  min-tcb: {bootloader: "+v+", tee: 0, snp: 0, microcode: 0}\n", policy.ErrValue, "sev-snp.min-tcb.bootloader")
		mustReject(t, "version: 1\nsev-snp:\n  vmpl: "+v+"\n", policy.ErrValue, "sev-snp.vmpl")
	}
	for _, v := range []string{"1e3", "10.0", "1E0", "-1", "\"5\"", "5.5", "-0"} {
		mustReject(t, `{"version": 1, "sgx": {"min-isvsvn": `+v+`}}`, policy.ErrValue, "sgx.min-isvsvn")
	}
	mustReject(t, "version: 1.0\n", policy.ErrValue, "version")
	mustReject(t, `{"version": 1.0}`, policy.ErrValue, "version")
	mustReject(t, "version: 0x1\n", policy.ErrValue, "version")
	// Unsigned fields: negative or out of range.
	mustReject(t, "version: 1\nsev-snp:\n  vmpl: -1\n", policy.ErrValue, "sev-snp.vmpl")
	mustReject(t, "version: 1\nsev-snp:\n  min-build: 256\n", policy.ErrValue, "sev-snp.min-build")
	mustReject(t, "version: 1\nsgx:\n  isvprodid: 65536\n", policy.ErrValue, "sgx.isvprodid")
	mustReject(t, "version: 1\nsgx:\n  miscselect: 4294967296\n", policy.ErrValue, "sgx.miscselect")
	mustReject(t, "version: 1\nsgx:\n  tcb: {min-tcb-evaluation-data-number: -3}\n", policy.ErrValue, "sgx.tcb.min-tcb-evaluation-data-number")
	mustReject(t, "version: 1\nsgx:\n  tcb: {min-tcb-evaluation-data-number: 99999999999999999999}\n", policy.ErrValue, "sgx.tcb.min-tcb-evaluation-data-number")
	// Plain decimal is read as written.
	p := mustAccept(t, "version: 1\nsev-snp:\n  vmpl: 0\n  min-build: 255\n  min-tcb: {bootloader: 10, tee: 0, snp: 8, microcode: 115}\nsgx:\n  isvprodid: 65535\n  miscselect: 4294967295\n  tcb: {min-tcb-evaluation-data-number: 17}\n")
	if *sevsnp.PolicyOf(p).VMPL != 0 || sevsnp.PolicyOf(p).MinBuild != 255 || sevsnp.PolicyOf(p).MinTCB.Bootloader != 10 || *sgx.PolicyOf(p).ISVProdID != 65535 ||
		*sgx.PolicyOf(p).MiscSelect != 4294967295 || sgx.PolicyOf(p).TCB.MinTCBEvaluationDataNumber != 17 {
		t.Errorf("%+v %+v", sevsnp.PolicyOf(p), sgx.PolicyOf(p))
	}
}

func TestPolicyRejectsNonBooleans(t *testing.T) {
	for _, v := range []string{"yes", "no", "on", "off", "y", "n", "1", "0", "'true'", "\"false\"", "enabled"} {
		mustReject(t, "version: 1\nsev-snp:\n  allow-debug: "+v+"\n", policy.ErrValue, "sev-snp.allow-debug")
		mustReject(t, "version: 1\nsev-snp:\n  require-crl: "+v+"\n", policy.ErrValue, "sev-snp.require-crl")
	}
	mustReject(t, "version: 1\nsev-snp:\n  allow-debug: !!bool yes\n", policy.ErrValue, "sev-snp.allow-debug")
	mustReject(t, "version: 1\nsev-snp:\n  vmpl: !!int two\n", policy.ErrValue, "sev-snp.vmpl")
	mustReject(t, `{"version": 1, "tpm": {"secure-boot": "true"}}`, policy.ErrValue, "tpm.secure-boot")
	mustReject(t, `{"version": 1, "tpm": {"secure-boot": 1}}`, policy.ErrValue, "tpm.secure-boot")
	// YAML 1.2 core schema spellings, as before.
	for v, want := range map[string]bool{"true": true, "True": true, "TRUE": true, "false": false, "False": false, "FALSE": false} {
		p := mustAccept(t, "version: 1\nsev-snp:\n  allow-debug: "+v+"\n  require-crl: "+v+"\n")
		if *sevsnp.PolicyOf(p).AllowDebug != want || sevsnp.PolicyOf(p).RequireCRL != want {
			t.Errorf("%s: %+v", v, sevsnp.PolicyOf(p))
		}
	}
}

func TestPolicyRejectsEmptyValues(t *testing.T) {
	mustReject(t, "version: 1\nsev-snp:\n  vmpl:\n", policy.ErrValue, "sev-snp.vmpl")
	mustReject(t, "version: 1\nsev-snp:\n  allow-debug: ~\n", policy.ErrValue, "sev-snp.allow-debug")
	mustReject(t, "version: 1\ntdx:\n", policy.ErrValue, "tdx")
	mustReject(t, `{"version": 1, "sev-snp": {"measurements": null}}`, policy.ErrValue, "sev-snp.measurements")
	mustReject(t, `{"version": 1, "tdx": {"mrtd": [null]}}`, policy.ErrValue, "tdx.mrtd[0]")
}

func TestPolicyRejectsYAMLAliases(t *testing.T) {
	mustReject(t, "version: 1\nsev-snp: &s {vmpl: 2}\ntdx: *s\n", policy.ErrSyntax, "sev-snp")
	mustReject(t, "version: 1\nbase: &b {allow-debug: true}\nsev-snp:\n  <<: *b\n", policy.ErrSyntax, "base")
	mustReject(t, "version: 1\nsev-snp:\n  <<: {allow-debug: true}\n", policy.ErrSyntax, "sev-snp")
}

func TestPolicyRejectsNonStringYAMLKeys(t *testing.T) {
	mustReject(t, "version: 1\n1: x\n", policy.ErrValue, "")
	mustReject(t, "version: 1\ntpm:\n  pcrs:\n    sha256:\n      7: [\""+hx(32)+"\"]\n", policy.ErrValue, "tpm.pcrs.sha256")
	mustReject(t, "version: 1\ntrue: x\n", policy.ErrValue, "")
}

// hexFields lists every byte-string field with its length, as the
// specification of the evidence field it is compared with gives it.
var hexFields = []struct {
	key  string // section.field
	list bool
	ok   []int
	bad  []int
}{
	{"sev-snp.report-data", false, []int{1, 32, 64}, []int{0, 65}},
	{"sev-snp.measurements", true, []int{48}, []int{0, 2, 32, 47, 49, 64}},
	{"sev-snp.host-data", false, []int{32}, []int{0, 16, 31, 33, 48}},
	{"sev-snp.id-key-digests", true, []int{48}, []int{32, 64}},
	{"sev-snp.author-key-digests", true, []int{48}, []int{32, 64}},
	{"sev-snp.family-id", false, []int{16}, []int{0, 15, 17, 32}},
	{"sev-snp.image-id", false, []int{16}, []int{0, 15, 17, 32}},
	{"tdx.report-data", false, []int{1, 64}, []int{0, 65}},
	{"tdx.mrtd", true, []int{48}, []int{2, 32, 47, 49}},
	{"tdx.rtmr0", true, []int{48}, []int{32}},
	{"tdx.rtmr1", true, []int{48}, []int{32}},
	{"tdx.rtmr2", true, []int{48}, []int{32}},
	{"tdx.rtmr3", true, []int{48}, []int{32}},
	{"tdx.mrseam", true, []int{48}, []int{32}},
	{"tdx.mrsignerseam", true, []int{48}, []int{32}},
	{"tdx.mrconfigid", true, []int{48}, []int{32}},
	{"tdx.mrowner", true, []int{48}, []int{32}},
	{"tdx.mrownerconfig", true, []int{48}, []int{32}},
	{"tdx.mrservicetd", true, []int{48}, []int{32}},
	{"tdx.xfam", true, []int{8}, []int{4, 16}},
	{"tdx.min-tee-tcb-svn", false, []int{16}, []int{1, 15, 17}},
	{"sgx.report-data", false, []int{1, 64}, []int{0, 65}},
	{"sgx.mrenclave", true, []int{32}, []int{16, 48}},
	{"sgx.mrsigner", true, []int{32}, []int{16, 48}},
	{"sgx.attributes", false, []int{16}, []int{8, 32}},
	{"sgx.attributes-mask", false, []int{16}, []int{8, 32}},
	{"sgx.isvextprodid", false, []int{16}, []int{2, 32}},
	{"sgx.isvfamilyid", false, []int{16}, []int{2, 32}},
	{"sgx.configid", false, []int{64}, []int{32, 48}},
	{"azure.user-data", false, []int{1, 64}, []int{0, 65}},
	{"tpm.ak-pins", true, []int{32, 22, 34, 50, 66}, []int{0, 1, 20, 48, 64}},
	{"tpm.ak-roots", true, []int{32}, []int{0, 1, 20, 48}},
	{"tpm.kernel-digests", true, []int{20, 32, 48, 64}, []int{0, 1, 16, 33}},
	{"tpm.efi-app-digests", true, []int{20, 32, 48, 64}, []int{0, 1, 16, 33}},
}

func TestPolicyRejectsWrongHexLength(t *testing.T) {
	for _, f := range hexFields {
		for _, n := range f.ok {
			in := fmt.Sprintf("version: 1\n%s:\n  %s: %s\n", strings.Split(f.key, ".")[0], strings.Split(f.key, ".")[1], quoteHex(f.list, n))
			mustAccept(t, in)
		}
		for _, n := range f.bad {
			in := fmt.Sprintf("version: 1\n%s:\n  %s: %s\n", strings.Split(f.key, ".")[0], strings.Split(f.key, ".")[1], quoteHex(f.list, n))
			key := f.key
			if f.list {
				key += "[0]"
			}
			e := mustReject(t, in, policy.ErrValue, key)
			if !strings.Contains(e.Error(), fmt.Sprintf("%d bytes, want", n)) {
				t.Errorf("%v", e)
			}
			// And in JSON.
			js := fmt.Sprintf(`{"version": 1, %q: {%q: %s}}`, strings.Split(f.key, ".")[0], strings.Split(f.key, ".")[1], quoteHex(f.list, n))
			mustReject(t, js, policy.ErrValue, key)
		}
	}
	// Every hex-tagged field is in the table.
	tagged := map[string]bool{}
	for _, s := range []struct {
		name string
		t    reflect.Type
	}{{"sev-snp", reflect.TypeFor[sevsnp.Policy]()}, {"tdx", reflect.TypeFor[tdx.Policy]()}, {"sgx", reflect.TypeFor[sgx.Policy]()}, {"tpm", reflect.TypeFor[tpm.Policy]()}, {"azure", reflect.TypeFor[azure.Policy]()}} {
		for i := range s.t.NumField() {
			f := s.t.Field(i)
			if tag, ok := f.Tag.Lookup("hex"); ok {
				if _, err := policy.ParseHexSpec(tag); err != nil {
					t.Errorf("%s.%s: %v", s.name, f.Name, err)
				}
				tagged[s.name+"."+policy.JSONName(f)] = true
			} else if f.Type == reflect.TypeFor[cloudra.HexBytes]() || f.Type == reflect.TypeFor[[]cloudra.HexBytes]() {
				t.Errorf("%s.%s: a byte string without a hex tag", s.name, f.Name)
			}
		}
	}
	for _, f := range hexFields {
		delete(tagged, f.key)
	}
	if len(tagged) > 0 {
		t.Errorf("hex-tagged fields missing from the test table: %v", tagged)
	}

	// TPM digests take their bank's size, with the 0x prefix and white
	// space platform/tpm tolerates.
	for bank, n := range map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64, "SHA-256": 32, "sm3_256": 32} {
		mustAccept(t, fmt.Sprintf("version: 1\ntpm:\n  pcrs:\n    %s:\n      \"0\": [\"%s\", \" 0x%s \"]\n", bank, hx(n), hx(n)))
		for _, m := range []int{0, 1, n - 1, n + 1, 2 * n} {
			mustReject(t, fmt.Sprintf("version: 1\ntpm:\n  pcrs:\n    %s:\n      \"0\": [\"%s\", \"%s\"]\n", bank, hx(n), hx(m)), policy.ErrValue, "tpm.pcrs."+bank+".0[1]")
		}
	}
	mustReject(t, "version: 1\ntpm:\n  pcrs: {sha256: {\"0\": [\"0x"+hx(31)+"zz\"]}}\n", policy.ErrValue, "tpm.pcrs.sha256.0[0]")
	mustReject(t, "version: 1\ntpm:\n  pcrs: {md5: {\"0\": [\""+hx(16)+"\"]}}\n", policy.ErrValue, "tpm.pcrs.md5")
	mustReject(t, "version: 1\ntpm:\n  banks: [sha256, sha3]\n", policy.ErrValue, "tpm.banks[1]")
	for _, idx := range []string{"07", "+7", "-1", "32", "x", "", " 7", "1e1"} {
		mustReject(t, fmt.Sprintf("version: 1\ntpm:\n  pcrs: {sha256: {%q: [\"%s\"]}}\n", idx, hx(32)), policy.ErrValue, "tpm.pcrs.sha256."+idx)
	}
	mustAccept(t, fmt.Sprintf("version: 1\ntpm:\n  pcrs: {sha256: {\"0\": [\"%s\"], \"23\": [\"%s\"], \"31\": [\"%s\"]}}\n", hx(32), hx(32), hx(32)))
	// Hex itself: odd length or a non-hex digit names the key too.
	mustReject(t, "version: 1\nsev-snp:\n  host-data: \"abc\"\n", policy.ErrValue, "sev-snp.host-data")
	mustReject(t, "version: 1\nsev-snp:\n  host-data: \"0x"+hx(31)+"\"\n", policy.ErrValue, "sev-snp.host-data")
	mustReject(t, "version: 1\nsev-snp:\n  host-data: 0\n", policy.ErrValue, "sev-snp.host-data")
}

func quoteHex(list bool, n int) string {
	v := `"` + hx(n) + `"`
	if list {
		return "[" + v + "]"
	}
	return v
}

func TestPolicyYAMLErrorsDoNotMentionJSON(t *testing.T) {
	for _, in := range []string{
		"version: 1\nsev-snp: [1, 2]\n",
		"version: 1\nsev-snp:\n  min-tcb: {bootloader: x}\n",
		"version: 1\nsev-snp:\n  min-tcb: {bootloader: 300}\n",
		"version: 1\nsev-snp:\n  min-tcb: {bootloader: 0x3}\n",
		"version: 1\nsev-snp:\n  vmpl: [1]\n",
		"version: 1\nsev-snp:\n  measurements: \"" + hx(48) + "\"\n",
		"version: 1\nsev-snp:\n  measurements: [1]\n",
		"version: 1\nsev-snp:\n  measurements: [\"zz\"]\n",
		"version: 1\nsev-snp:\n  signer: 3\n",
		"version: 1\nsev-snp:\n  allow-debug: yes\n",
		"version: 1\nsev-snp:\n  alow-debug: true\n",
		"version: 1\nname: 2024-01-01\n",
		"version: 1\nname: !!binary aGk=\n",
		"version: 1\ntpm:\n  pcrs: [1]\n",
		"version: 1\ntpm:\n  pcrs: {sha256: [1]}\n",
		"version: 1\ntpm:\n  pcrs: {sha256: {\"7\": \"00\"}}\n",
		"version: \"1\"\n",
		"version: 1\nversion: 1\n",
		"version: 1\n  bad: indent\n",
		"version: [1\n",
		"- 1\n- 2\n",
		"just a string",
		"version: 2\n",
	} {
		_, err := parse([]byte(in))
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if strings.Contains(strings.ToLower(err.Error()), "json") || strings.Contains(err.Error(), "Go struct") {
			t.Errorf("%q: %v", in, err)
		}
	}
	// JSON errors say so, but never in encoding/json's words.
	for _, in := range []string{`{"version": 1,}`, `{"version": "1"}`, `{"version": 1, "sev-snp": 1}`, `{"version`, `{"version": 1} x`} {
		_, err := parse([]byte(in))
		if err == nil || strings.Contains(err.Error(), "json:") || strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "unmarshal") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestPolicyErrorsNameTheKey(t *testing.T) {
	for _, c := range []struct{ in, key, msg string }{
		{"version: 1\nsev-snp:\n  min-tcb: {bootloader: 300, tee: 0, snp: 0, microcode: 0}\n", "sev-snp.min-tcb.bootloader", "policy: sev-snp.min-tcb.bootloader (line 3): 300 is out of range"},
		{"version: 1\nsev-snp:\n  measurements: [\"" + hx(48) + "\", \"00ff\"]\n", "sev-snp.measurements[1]", "policy: sev-snp.measurements[1] (line 3): 2 bytes, want 48"},
		{"version: 1\ntdx:\n  tcb:\n    accept-status: UpToDate\n", "tdx.tcb.accept-status", "a string, want a list"},
		{`{"version": 1,` + "\n" + `"sgx": {"mrenclave": ["00"]}}`, "sgx.mrenclave[0]", "policy: sgx.mrenclave[0] (line 2): 1 bytes, want 32"},
		{"version: 1\nsev-snp:\n  signer: 1\n", "sev-snp.signer", "want a string"},
		{"version: 2\n", "version", "version 2 not supported"},
		{"version: 1\nazure:\n  vm-unique-ids: [1]\n", "azure.vm-unique-ids[0]", "the number 1, want a string"},
	} {
		e := mustReject(t, c.in, nil, c.key)
		if !strings.Contains(e.Error(), c.msg) {
			t.Errorf("%q: %v, want %q", c.in, e, c.msg)
		}
	}
	// Syntax errors name the line.
	e := mustReject(t, "version: 1\nsev-snp:\n  vmpl: [1\n", policy.ErrSyntax, "")
	if !strings.Contains(e.Error(), "line") {
		t.Errorf("%v", e)
	}
	e = mustReject(t, "{\"version\": 1,\n\"sev-snp\": {,}}", policy.ErrSyntax, "")
	if e.Line != 2 {
		t.Errorf("%v: line %d", e, e.Line)
	}
}

func TestPolicyRejectsDeepNesting(t *testing.T) {
	deep := "version: 1\nname: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n"
	deepJ := `{"version": 1, "name": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	for _, in := range []string{deep, deepJ} {
		var pe *policy.Error
		if _, err := parse([]byte(in)); !errors.As(err, &pe) || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%.40s…: %.200v", in, err)
		}
	}
}

// legacyParse is Parse as it was before keys, integers and byte strings
// were checked exactly: YAML through a generic value into encoding/json. A
// policy Parse accepts must mean what it meant then.
func legacyParse(data []byte) (*policy.Policy, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || len(data) > policy.MaxSize {
		return nil, errors.New("empty or large")
	}
	jsonData := t
	if t[0] != '{' {
		var v any
		if err := yaml.Unmarshal(t, &v); err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		jsonData = b
	}
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.DisallowUnknownFields()
	var doc struct {
		Version int            `json:"version"`
		Name    string         `json:"name,omitempty"`
		SEVSNP  *sevsnp.Policy `json:"sev-snp,omitempty"`
		TDX     *tdx.Policy    `json:"tdx,omitempty"`
		SGX     *sgx.Policy    `json:"sgx,omitempty"`
		TPM     *tpm.Policy    `json:"tpm,omitempty"`
		Azure   *azure.Policy  `json:"azure,omitempty"`
		Nitro   *nitro.Policy  `json:"nitro,omitempty"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing")
	}
	if doc.Version != policy.Version {
		return nil, errors.New("version")
	}
	p := &policy.Policy{Version: doc.Version, Name: doc.Name}
	p = p.With(sevsnp.Platform, doc.SEVSNP).With(tdx.Platform, doc.TDX).With(sgx.Platform, doc.SGX).
		With(tpm.Platform, doc.TPM).With(azure.SectionKey, doc.Azure).With(nitro.Platform, doc.Nitro)
	return p, nil
}

// repoPolicies returns the policy files in the repository's tests and
// documentation: the files of the CLI test scripts, and the YAML blocks of
// README.md and docs/policy.md that are complete (no "…" placeholders).
func repoPolicies(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	scripts, _ := filepath.Glob("../cmd/cloudra/cli/testdata/script/*.txt")
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		// txtar: "-- name --" lines start files.
		parts := regexp.MustCompile(`(?m)^-- (\S+) --\n`).Split(string(b), -1)
		names := regexp.MustCompile(`(?m)^-- (\S+) --\n`).FindAllStringSubmatch(string(b), -1)
		for i, n := range names {
			if strings.HasSuffix(n[1], ".yaml") || strings.HasSuffix(n[1], ".yml") {
				out[filepath.Base(s)+":"+n[1]] = []byte(parts[i+1])
			}
		}
	}
	for _, doc := range []string{"../README.md", "../docs/policy.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			if strings.Contains(m[1], "version: 1") && !strings.Contains(m[1], "…") && !strings.Contains(m[1], "<") {
				out[fmt.Sprintf("%s#%d", filepath.Base(doc), i)] = []byte(m[1])
			}
		}
	}
	return out
}

// TestPolicyRepoExamplesParseAsBefore: every policy file in the
// repository's tests and documentation parses, to what it parsed to before.
func TestPolicyRepoExamplesParseAsBefore(t *testing.T) {
	pols := repoPolicies(t)
	if len(pols) < 8 {
		t.Fatalf("found only %d policy files", len(pols))
	}
	for name, b := range pols {
		want, lerr := legacyParse(b)
		got, err := parse(b)
		if name == "bad_input.txt:bad-policy.yaml" {
			if err == nil || lerr == nil {
				t.Errorf("%s accepted", name)
			}
			continue
		}
		if err != nil || lerr != nil {
			t.Errorf("%s: %v (before: %v)", name, err, lerr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, before %+v", name, got, want)
		}
	}
}

// FuzzParsePolicy: Parse never panics, and a policy it accepts parses to
// what the plain encoding/json reading gave: the checks only ever refuse.
func FuzzParsePolicy(f *testing.F) {
	for _, b := range repoPolicies(f) {
		f.Add(b)
	}
	f.Add([]byte("version: 1\nsev-snp:\n  vmpl: 2\n  measurements: [\"" + hx(48) + "\"]\n  min-tcb: {bootloader: 3, tee: 0, snp: 8, microcode: 115}\n"))
	f.Add([]byte(`{"version":1,"tdx":{"mrtd":["` + hx(48) + `"]},"tpm":{"pcrs":{"sha256":{"0":["` + hx(32) + `"]}}}}`))
	f.Add([]byte("version: 1\n---\nsev-snp: {}\n"))
	f.Add([]byte(`{"version":1,"sev-snp":{"vmpl":1,"VMPL":2}}`))
	f.Add([]byte("version: 1\nsgx: {min-isvsvn: 010, allow-debug: yes}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data)
		if err != nil {
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		if p == nil || p.Version != policy.Version {
			t.Fatal("accepted a policy without version 1")
		}
		q, lerr := legacyParse(data)
		if lerr != nil {
			t.Fatalf("accepted what the plain reading refused (%v)", lerr)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("parsed to %+v, the plain reading to %+v", p, q)
		}
	})
}

package policy_test

import (
	"strings"
	"testing"

	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

func TestParseYAMLAndJSON(t *testing.T) {
	y := `
version: 1
name: prod
sev-snp:
  vmpl: 2
  allow-debug: false
  measurements: ["` + strings.Repeat("ab", 48) + `"]
  min-tcb: {bootloader: 3, tee: 0, snp: 8, microcode: 115}
tdx:
  require-sept-ve-disable: false
  tcb: {accept-status: [UpToDate]}
sgx:
  min-isvsvn: 2
tpm:
  banks: [sha256]
  pcrs: {sha256: {"7": ["` + strings.Repeat("00", 32) + `"]}}
azure:
  require-freshness: true
`
	p, err := parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if sevsnp.PolicyOf(p) == nil || sevsnp.PolicyOf(p).VMPL == nil || *sevsnp.PolicyOf(p).VMPL != 2 || tdx.PolicyOf(p) == nil || sgx.PolicyOf(p).MinISVSVN != 2 || tpm.PolicyOf(p) == nil || azure.PolicyOf(p) == nil {
		t.Fatalf("decoded %+v", p)
	}
	j := `{"version": 1, "sev-snp": {"vmpl": 2}}`
	q, err := parse([]byte(j))
	if err != nil || *sevsnp.PolicyOf(q).VMPL != 2 {
		t.Fatalf("json: %v %+v", err, q)
	}
}

func TestParseRejects(t *testing.T) {
	for in, want := range map[string]string{
		"":           "empty",
		"version: 2": "version 2 not supported",
		"version: 1\nsev-snp:\n  alow-debug: true": "unknown field",
		"version: 1\nunknown: {}":                  "unknown field",
		`{"version": 1} {}`:                        "trailing",
		"version: 1\nsev-snp: [1, 2]":              "a list, want a mapping",
		"version: 1\n1: x":                         "",
		strings.Repeat(" ", policy.MaxSize+1):      "larger than",
	} {
		_, err := parse([]byte(in))
		if err == nil {
			t.Errorf("%.40q accepted", in)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: %v, want %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\nsev-snp:\n  vmpl: 2\n"))
	f.Add([]byte(`{"version":1,"tdx":{"mrtd":["00"]},"tpm":{"pcrs":{"sha256":{"0":["00"]}}}}`))
	f.Add([]byte("version: 1\nazure: {require-freshness: false}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data)
		if err == nil && (p == nil || p.Version != policy.Version) {
			t.Fatal("accepted a policy without version 1")
		}
	})
}

package tpm

import (
	"strings"
	"testing"

	"github.com/cloudra/cloudra/policy"
)

// TestPolicyFile: the tpm section decodes from YAML with its documented
// field names, and a misspelt rule is an error.
func TestPolicyFile(t *testing.T) {
	p, err := policy.Parse([]byte(`version: 1
tpm:
  banks: [sha256, sha384]
  require-nonce: true
  ak-pins: ["`+strings.Repeat("00", 32)+`"]
  ak-roots: ["`+strings.Repeat("11", 32)+`"]
  secure-boot: true
  kernel-cmdlines: ["ro quiet"]
  pcrs:
    sha256:
      "7": ["`+strings.Repeat("aa", 32)+`", "`+strings.Repeat("bb", 32)+`"]
`), PolicySection())
	if err != nil {
		t.Fatal(err)
	}
	if PolicyOf(p) == nil || len(PolicyOf(p).Banks) != 2 || !policy.Or(PolicyOf(p).SecureBoot, false) || len(PolicyOf(p).PCRs["sha256"]["7"]) != 2 {
		t.Errorf("%+v", PolicyOf(p))
	}
	if _, err := policy.Parse([]byte(`{"version":1,"tpm":{"secureboot":true}}`), PolicySection()); err == nil {
		t.Error("misspelt rule accepted")
	}
	var nilPol *Policy
	if b := nilPol.TPMBanks(); len(b) != 3 || b[0] != "sha256" {
		t.Errorf("default banks %v", b)
	}
}

package tpm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/tpmalg"
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

// TestPolicyTPMBanksAsPlatformReadsThem: the tpm section's bank names and
// digest sizes are those a quote's banks are read with (ParseHashAlg and
// DigestSize), so a PCR digest is checked against the size of the bank it
// is compared in.
func TestPolicyTPMBanksAsPlatformReadsThem(t *testing.T) {
	names := tpmalg.Names()
	for _, n := range names {
		names = append(names, strings.ToUpper(n), " "+n+" ", strings.Replace(n, "sha", "sha-", 1))
	}
	names = append(names, "md5", "sha3_256", "0x0010", "", "sha", "sha-1-", "0x000e")
	for _, n := range names {
		a, perr := ParseHashAlg(n)
		size := 32
		if perr == nil {
			size = a.DigestSize()
		}
		doc := fmt.Sprintf(`{"version": 1, "tpm": {"pcrs": {%q: {"0": [%q]}}}}`, n, strings.Repeat("ab", size))
		_, err := policy.Parse([]byte(doc), PolicySection())
		if (err == nil) != (perr == nil) {
			t.Errorf("%q: policy %v, platform/tpm %v", n, err, perr)
			continue
		}
		if perr != nil {
			continue
		}
		short := fmt.Sprintf(`{"version": 1, "tpm": {"pcrs": {%q: {"0": [%q]}}}}`, n, strings.Repeat("ab", size-1))
		if _, err := policy.Parse([]byte(short), PolicySection()); !errors.Is(err, policy.ErrValue) {
			t.Errorf("%q: a %d-byte digest: %v, want a bad value", n, size-1, err)
		}
	}
}

package policy_test

import (
	"strings"
	"testing"

	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

// TestPolicyTPMBanksAsPlatformReadsThem: the policy package's bank names
// and digest sizes (it cannot import platform/tpm, which imports it) are
// those platform/tpm reads, so a PCR digest is checked against the size of
// the bank it is compared in.
func TestPolicyTPMBanksAsPlatformReadsThem(t *testing.T) {
	names := policy.TPMBankNames()
	for _, n := range names {
		names = append(names, strings.ToUpper(n), " "+n+" ", strings.Replace(n, "sha", "sha-", 1))
	}
	names = append(names, "md5", "sha3_256", "0x0010", "", "sha", "sha-1-", "0x000e")
	for _, n := range names {
		alg, size, ok := policy.TPMBank(n)
		a, err := tpm.ParseHashAlg(n)
		if ok != (err == nil) {
			t.Errorf("%q: policy knows it %v, platform/tpm: %v", n, ok, err)
			continue
		}
		if ok && (tpm.Alg(alg) != a || size != a.DigestSize()) {
			t.Errorf("%q: policy %#x/%d, platform/tpm %v/%d", n, alg, size, a, a.DigestSize())
		}
	}
}

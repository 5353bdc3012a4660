package policy

import "slices"

// TPMBank and TPMBankNames expose the bank table to the external test that
// compares it with platform/tpm.
func TPMBank(name string) (alg uint16, size int, ok bool) { return tpmBank(name) }

func TPMBankNames() []string {
	names := make([]string, 0, len(tpmBanks))
	for n := range tpmBanks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

package policy

import "github.com/cloudra/cloudra/internal/tpmalg"

// TPMBank and TPMBankNames expose the bank table to the external test that
// compares it with platform/tpm.
func TPMBank(name string) (alg uint16, size int, ok bool) { return tpmBank(name) }

func TPMBankNames() []string { return tpmalg.Names() }

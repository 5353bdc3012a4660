// Package reportdata compares the REPORT_DATA a verifier expects with the
// one a hardware report carries.
//
// The 64-byte REPORT_DATA field (AMD SEV-SNP ABI specification, table
// "ATTESTATION_REPORT Structure", offset 50h; Intel TDX DCAP quote
// specification, TD Quote Body REPORTDATA; Intel SGX DCAP quote
// specification, ISV enclave report body REPORTDATA) is chosen by the guest. A
// policy names a prefix of it; the rest must be zero, so that a value bound
// by the guest cannot be extended with bytes the policy never saw.
package reportdata

import (
	"bytes"
	"encoding/hex"
	"strings"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// Outcome is the result of [Compare].
type Outcome int

const (
	// Match: got starts with want and is zero after it.
	Match Outcome = iota
	// TooLong: want is longer than got.
	TooLong
	// Differs: got does not start with want, or is not zero after it.
	Differs
)

// Compare compares the expected prefix want with got. For [Differs] it also
// returns the expected full-width value in hex (want followed by zero
// bytes), the form results report it in.
func Compare(want, got []byte) (Outcome, string) {
	if len(want) > len(got) {
		return TooLong, ""
	}
	if bytes.Equal(got[:len(want)], want) && lebytes.IsZero(got[len(want):]) {
		return Match, ""
	}
	return Differs, hex.EncodeToString(want) + strings.Repeat("00", len(got)-len(want))
}

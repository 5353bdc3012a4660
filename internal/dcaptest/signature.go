package dcaptest

import (
	"slices"
	"testing"

	"github.com/cloudra/cloudra/platform/dcap"
)

// LittleEndianSignature byte-reverses, in place, r and s of the ECDSA
// quote signature of the quote b (the first 64 bytes of the Quote
// Signature Data, after its 4-byte length, of the Intel ECDSA Quote
// Library API): the little-endian form that must not verify, since only
// big-endian r‖s is a signature.
func LittleEndianSignature(t testing.TB, b []byte) {
	t.Helper()
	q, err := dcap.ParseQuote(b)
	if err != nil {
		t.Fatal(err)
	}
	off := len(q.SignedBytes()) + 4
	slices.Reverse(b[off : off+32])
	slices.Reverse(b[off+32 : off+64])
}

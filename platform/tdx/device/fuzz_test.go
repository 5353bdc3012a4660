package device

import "testing"

// FuzzCheckQuote: the collection-time quote check never panics on
// host-supplied bytes.
func FuzzCheckQuote(f *testing.F) {
	f.Add(fakeQuote(4, make([]byte, 64)))
	f.Add(fakeQuote(5, make([]byte, 64)))
	f.Add([]byte{4, 0, 2, 0, 0x81, 0, 0, 0})
	f.Fuzz(func(t *testing.T, q []byte) {
		var rd [64]byte
		_ = checkQuote(q, rd)
	})
}

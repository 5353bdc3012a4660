package device

import (
	"errors"
	"testing"
)

// FuzzDecodeResponse: the decoder never panics, refuses with a typed error,
// and what it accepts is one of the variants it knows.
func FuzzDecodeResponse(f *testing.F) {
	f.Add(validAttestation(f))
	f.Add(validDescribeNSM(f, nil))
	f.Add(enc(f, map[string]any{"DescribePCR": map[string]any{"lock": true, "data": make([]byte, 48)}}))
	f.Add(enc(f, map[string]string{"Error": "InvalidIndex"}))
	f.Add(enc(f, "LockPCR"))
	f.Add(enc(f, map[string]any{"GetRandom": map[string]any{"random": []byte{1}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResponse(b)
		if err != nil {
			if r != nil || !errors.Is(err, ErrMalformedResponse) && !errors.Is(err, ErrResponseTooLarge) {
				t.Fatalf("r = %+v, err = %v", r, err)
			}
			return
		}
		switch r.variant {
		case variantAttestation:
			if len(r.document) == 0 {
				t.Fatal("empty document accepted")
			}
		case variantDescribeNSM:
			switch r.desc.Digest {
			case "SHA256", "SHA384", "SHA512":
			default:
				t.Fatalf("digest %q accepted", r.desc.Digest)
			}
		case variantError:
			if _, ok := errorCodes[r.errCode]; !ok {
				t.Fatalf("error code %q accepted", r.errCode)
			}
		case variantDescribePCR, variantExtendPCR, variantGetRandom, variantLockPCR, variantLockPCRs:
		default:
			t.Fatalf("variant %q accepted", r.variant)
		}
		// The Client reaches the same verdict through a Provider.
		if _, err := (Client{Provider: fixed(b)}).DescribeNSM(); err == nil && r.variant != variantDescribeNSM {
			t.Fatalf("%s accepted as DescribeNSM", r.variant)
		}
	})
}

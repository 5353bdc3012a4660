package dcap_test

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
)

func TestPCKExtensionCases(t *testing.T) {
	comps := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255}
	build := func(top func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder))) []byte {
		return dcaptest.ExtensionDER(top, comps, 13, [2]byte{0, 1}, [6]byte{0, 0xa0, 0x67, 0x11, 0, 0})
	}
	plain := func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		dcaptest.Entry(b, []int{arc}, body)
	}
	x, err := dcap.ParsePCKExtension(build(plain))
	if err != nil {
		t.Fatal(err)
	}
	if x.CompSVN != comps || x.PCESVN != 13 || x.PCEID != [2]byte{0, 1} || x.FMSPC != [6]byte{0, 0xa0, 0x67, 0x11, 0, 0} || x.SGXType != 1 {
		t.Fatalf("%+v", x)
	}
	bad := map[string]func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)){
		"duplicate FMSPC": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			plain(b, arc, body)
			if arc == 4 {
				plain(b, arc, body)
			}
		},
		"FMSPC missing": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc != 4 {
				plain(b, arc, body)
			}
		},
		"FMSPC of 5 bytes": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc == 4 {
				plain(b, arc, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, 5)) })
				return
			}
			plain(b, arc, body)
		},
		"PCE-ID of 3 bytes": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc == 3 {
				plain(b, arc, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, 3)) })
				return
			}
			plain(b, arc, body)
		},
		"TCB with 15 components": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc == 2 {
				plain(b, arc, func(b *cryptobyte.Builder) {
					b.AddASN1(0x30, func(b *cryptobyte.Builder) {
						for i := range 15 {
							dcaptest.Entry(b, []int{2, i + 1}, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
						}
						dcaptest.Entry(b, []int{2, 17}, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
						dcaptest.Entry(b, []int{2, 18}, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, 16)) })
					})
				})
				return
			}
			plain(b, arc, body)
		},
		"component SVN 256": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc == 2 {
				plain(b, arc, func(b *cryptobyte.Builder) {
					b.AddASN1(0x30, func(b *cryptobyte.Builder) {
						for i := range 16 {
							dcaptest.Entry(b, []int{2, i + 1}, func(b *cryptobyte.Builder) { b.AddASN1Int64(256) })
						}
						dcaptest.Entry(b, []int{2, 17}, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
						dcaptest.Entry(b, []int{2, 18}, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, 16)) })
					})
				})
				return
			}
			plain(b, arc, body)
		},
		"SGX type 3": func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
			if arc == 5 {
				plain(b, arc, func(b *cryptobyte.Builder) { b.AddASN1Enum(3) })
				return
			}
			plain(b, arc, body)
		},
	}
	for name, top := range bad {
		t.Run(name, func(t *testing.T) {
			var pe *dcap.ParseError
			if _, err := dcap.ParsePCKExtension(build(top)); !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParseError", err)
			}
		})
	}
	// An unknown future entry is skipped; trailing bytes are not.
	withUnknown := build(func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		plain(b, arc, body)
		if arc == 5 {
			plain(b, 99, func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte{1}) })
		}
	})
	if _, err := dcap.ParsePCKExtension(withUnknown); err != nil {
		t.Errorf("unknown entry: %v", err)
	}
	if _, err := dcap.ParsePCKExtension(append(build(plain), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	// Deep nesting cannot recurse: a 1000-level SEQUENCE is rejected flatly.
	deep := []byte{}
	for range 1000 {
		deep = append([]byte{0x30, 0x80}, deep...)
	}
	if _, err := dcap.ParsePCKExtension(deep); err == nil {
		t.Error("indefinite nesting accepted")
	}
}

// Every truncation of a quote is a parse error, never a panic (A5).
func TestTruncation(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	for _, b := range [][]byte{k.TDQuote(4, false).Bytes(), k.TDQuote(5, true).Bytes(), k.SGXQuote().Bytes()} {
		for n := range len(b) {
			var pe *dcap.ParseError
			if _, err := dcap.ParseQuote(b[:n]); !errors.As(err, &pe) {
				t.Fatalf("truncated at %d: %v", n, err)
			}
		}
	}
	// go-tdx-guest panics on a 1020-byte quote with signed-data size 0.
	b := k.TDQuote(4, false).Bytes()[:1020]
	for i := 0x278; i < 0x27c; i++ {
		b[i] = 0
	}
	if _, err := dcap.ParseQuote(b); err == nil {
		t.Error("accepted")
	}
}

func TestPCKChainPEMTrailer(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	pemNUL := k.ChainPEM() // ends with one NUL, as Intel's QE writes it
	for name, tc := range map[string]struct {
		data []byte
		ok   bool
	}{
		"one NUL":    {pemNUL, true},
		"no NUL":     {pemNUL[:len(pemNUL)-1], true},
		"two NULs":   {append(bytes.Clone(pemNUL), 0), false},
		"text after": {append(pemNUL[:len(pemNUL)-1:len(pemNUL)-1], "junk"...), false},
		"text first": {append([]byte("junk\n"), pemNUL...), false},
		"leaf only":  {pemNUL[:bytes.Index(pemNUL, []byte("-----END"))+len("-----END CERTIFICATE-----\n")], false},
	} {
		if _, err := dcap.ParsePCKChain(tc.data); (err == nil) != tc.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}

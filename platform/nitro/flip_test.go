package nitro

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// flipSpan is a byte range of a document whose bits are flipped: every bit
// of every byte (step 1, all), or a deterministic sample, every step-th
// byte with the single bit i%8 of byte i.
type flipSpan struct {
	name     string
	off, n   int
	step     int
	allBits  bool
	flipped  int // how many flips were verified
	rejected map[cloudra.Class]int
}

func (s *flipSpan) each(f func(i int, bit uint)) {
	for i := 0; i < s.n; i += s.step {
		for bit := range uint(8) {
			if s.allBits || bit == uint(i%8) {
				f(s.off+i, bit)
			}
		}
	}
}

// fullPayloadFlips are the real documents whose payload is flipped bit by
// bit in full; the others' payloads are sampled.
var fullPayloadFlips = []string{"evervault-2022-10-13-nondebug", "eternis-2024-09-09-debug"}

// signedSpans locates, in an untagged COSE_Sign1 (RFC 9052 §4.2:
// [protected bstr, unprotected map, payload bstr, signature bstr]), the
// content of the protected header's bstr, of the payload's bstr and of
// the signature's bstr.
func signedSpans(t *testing.T, raw []byte) (prot, payload, sig [2]int) {
	t.Helper()
	d, err := ParseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The signature is the last item: its 96 bytes end the document.
	sig = [2]int{len(raw) - len(d.Signature), len(d.Signature)}
	// The payload's content ends where the signature's head (0x58 0x60)
	// begins.
	payload = [2]int{sig[0] - 2 - len(d.Payload), len(d.Payload)}
	// 0x84, then the protected bstr's one-byte head.
	prot = [2]int{2, len(d.Protected)}
	for _, s := range []struct {
		at   [2]int
		want []byte
	}{{sig, d.Signature}, {payload, d.Payload}, {prot, d.Protected}} {
		if !bytes.Equal(raw[s.at[0]:s.at[0]+s.at[1]], s.want) {
			t.Fatalf("span %v of the document is not where the envelope says", s.at)
		}
	}
	return prot, payload, sig
}

// TestBitFlipsRejected: flipping any single bit of what an attestation
// document's signature covers (the protected header and the payload, the
// Sig_structure of RFC 9052 §4.4) or of the ES384 signature itself (RFC
// 9053 §2.1) leaves a document that never verifies: each flipped copy of
// every real document, verified at the document's own time with debug
// mode allowed (so that the unflipped copy passes), fails with no claims,
// as parse, chain or sig, before anything is appraised
// (attestation_process.md §3.2.3: the chain and the signature come first).
//
// Coverage by default (94 835 verifications, some 30 s on two cores): every
// bit of the 4 protected-header bytes and of the 96 signature bytes of all
// six documents (32 + 768 flips each); every bit of every payload byte of
// evervault-2022-10-13-nondebug (4 546 bytes, 36 368 flips) and
// eternis-2024-09-09-debug (4 446 bytes, 35 568 flips); for the four others
// one bit of every payload byte, bit i%8 of byte i (4 446, 4 318, 4 668 and
// 4 667 flips). Under -short or -race: every bit of the protected header
// (32), one bit of every signature byte (96) and one bit of every 16th
// payload byte (270 to 292) of each of the six, 2 463 in all. The test logs
// each span's count and the classes of the rejections. The flips are
// verified concurrently by one Verifier, which is safe for concurrent use.
func TestBitFlipsRejected(t *testing.T) {
	v := mustVerifier(t)
	pol := &Policy{AllowDebug: policy.Bool(true)}
	light := testing.Short() || raceEnabled
	for _, vec := range realVectors {
		t.Run(vec.dir, func(t *testing.T) {
			raw := readVector(t, vec, "attestation_doc.cbor")
			opts := cloudra.Options{Time: at(vec.timestamp)}
			res, err := v.Verify(context.Background(), Evidence{Document: raw}, pol, opts)
			if vec.badSig != (err != nil) {
				t.Fatalf("positive control: %v", err)
			}
			if !vec.badSig && res.Verdict != cloudra.Pass {
				t.Fatalf("positive control: %s", res.Verdict)
			}
			prot, payload, sig := signedSpans(t, raw)
			full := !light && slices.Contains(fullPayloadFlips, vec.dir)
			spans := []*flipSpan{
				{name: "protected", off: prot[0], n: prot[1], step: 1, allBits: true},
				{name: "signature", off: sig[0], n: sig[1], step: 1, allBits: !light},
				{name: "payload", off: payload[0], n: payload[1], step: 1, allBits: full},
			}
			if light {
				spans[2].step = 16
			}
			type flip struct {
				span *flipSpan
				i    int
				bit  uint
			}
			work := make(chan flip)
			var mu sync.Mutex
			var wg sync.WaitGroup
			bad := 0
			for range runtime.GOMAXPROCS(0) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := slices.Clone(raw)
					for f := range work {
						b[f.i] ^= 1 << f.bit
						res, err := v.Verify(context.Background(), Evidence{Document: b}, pol, opts)
						b[f.i] ^= 1 << f.bit
						why := flipRejected(res, err)
						mu.Lock()
						if why != "" {
							bad++
							if bad <= 10 {
								t.Errorf("%s byte %d (document offset %d) bit %d: %s", f.span.name, f.i-f.span.off, f.i, f.bit, why)
							}
						} else {
							f.span.flipped++
							for _, c := range res.FailureClasses() {
								f.span.rejected[c]++
							}
						}
						mu.Unlock()
					}
				}()
			}
			for _, s := range spans {
				s.rejected = map[cloudra.Class]int{}
				s.each(func(i int, bit uint) { work <- flip{s, i, bit} })
			}
			close(work)
			wg.Wait()
			if bad > 0 {
				t.Fatalf("%d flips not rejected", bad)
			}
			for _, s := range spans {
				t.Logf("%s: %d bytes, %d flips rejected (classes %v)", s.name, s.n, s.flipped, s.rejected)
			}
		})
	}
}

// flipRejected is "" when a flipped document was rejected before any
// appraisal: a decision, verdict fail, no claims, and only parse, chain or
// sig failures.
func flipRejected(res *cloudra.Result, err error) string {
	switch {
	case res == nil:
		return fmt.Sprintf("no decision: %v", err)
	case res.Verdict != cloudra.Fail || err == nil:
		return fmt.Sprintf("verdict %s (error %v)", res.Verdict, err)
	case res.Claims != nil:
		return fmt.Sprintf("claims returned (classes %v)", res.FailureClasses())
	}
	for _, c := range res.FailureClasses() {
		if c != cloudra.ClassParse && c != cloudra.ClassChain && c != cloudra.ClassSig {
			return fmt.Sprintf("failed as %s", c)
		}
	}
	return ""
}

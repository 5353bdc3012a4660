package sevsnp

import (
	"context"
	"crypto/sha512"
	"errors"
	"path"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestBitFlipsRejected flips every bit of every signed byte of every real
// report that has its VCEK/VLEK in the collection: each flip must either fail
// to parse (a parse-checked field: version, MBZ ranges, SIGNATURE_ALGO,
// signer bits) or fail the signature. Nothing else is acceptable.
//
// Under -short one bit per byte is flipped (bit i%8), which still touches
// every signed byte; under -race (which slows P-384 tenfold) additionally only
// the first three reports are flipped.
func TestBitFlipsRejected(t *testing.T) {
	vectortest.Dir(t)
	seen := map[string]bool{}
	for _, tc := range verifyVectors {
		if tc.want != "" || seen[tc.dir] || raceEnabled && len(seen) >= 3 {
			continue
		}
		seen[tc.dir] = true
		tc := tc
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			raw := vectortest.Read(t, path.Join(tc.dir, tc.report))
			v := NewVerifier(testRoots(t))
			col := collateral(t, tc.dir, tc.certs...)
			opts := cloudra.Options{Time: vectortest.Time(t, tc.at)}
			// Find the signer once through the full verifier.
			res, err := v.Verify(context.Background(), Evidence{Report: raw}, col, nil, opts)
			if err != nil || res.Verdict != cloudra.Pass {
				t.Fatalf("positive control: %v %v", err, res.FailureClasses())
			}
			var signer *leafEntry
			for _, e := range v.leaves {
				if e.name == res.Signer {
					signer = e
				}
			}
			if signer == nil {
				t.Fatal("signer not cached")
			}
			b := append([]byte(nil), raw...)
			parseRejects, sigRejects := 0, 0
			for i := 0; i < SignedSize; i++ {
				for bit := 0; bit < 8; bit++ {
					if (raceEnabled || testing.Short()) && bit != i%8 {
						continue
					}
					b[i] ^= 1 << bit
					r, err := ParseReport(b)
					switch {
					case err != nil:
						if !errors.Is(err, ErrMalformed) {
							t.Fatalf("byte %#x bit %d: %v", i, bit, err)
						}
						parseRejects++
					default:
						d := sha512.Sum384(r.Signed())
						if verifyReportSig(signer.pub, d[:], &r.R, &r.S) {
							t.Fatalf("byte %#x bit %d: flipped report still verifies", i, bit)
						}
						sigRejects++
					}
					b[i] ^= 1 << bit
				}
			}
			t.Logf("%d flips rejected as parse, %d as sig", parseRejects, sigRejects)
		})
	}
}

// TestVectorMutations replays the mutations the source repositories test.
func TestVectorMutations(t *testing.T) {
	vectortest.Dir(t)
	v := NewVerifier(testRoots(t))
	run := func(dir, report string, certs []string, at string, mut func(rep []byte, col *cloudra.Collateral)) *cloudra.Result {
		t.Helper()
		rep := append([]byte(nil), vectortest.Read(t, path.Join(dir, report))...)
		col := collateral(t, dir, certs...)
		mut(rep, col)
		res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, cloudra.Options{Time: vectortest.Time(t, at)})
		res = checktest.Result(t, res, err)
		return res
	}
	// virtee: report[21] ^= 0x80 → REJECT/sig.
	res := run("snp/virtee-sev-milan-v2-vcek", "report.bin", []string{"vcek.der", "cert_chain_milan.pem"}, "2023-04-04T19:23:43Z",
		func(rep []byte, _ *cloudra.Collateral) { rep[21] ^= 0x80 })
	checktest.WantClass(t, res, cloudra.ClassSig)
	// trustee: report[42] += 1 → REJECT/sig; report[384] += 1 → REJECT/sig
	// (REPORTED_TCB is signed; the TCB mismatch is shown by the forged B5 tests).
	for _, off := range []int{42, 384} {
		res = run("snp/trustee-milan-v2-vcek", "test-report.bin", []string{"test-vcek.der", "ask_ark_milan.pem"}, "2023-01-25T17:58:26Z",
			func(rep []byte, _ *cloudra.Collateral) { rep[off]++ })
		checktest.WantClass(t, res, cloudra.ClassSig)
		res = run("snp/trustee-milan-v3-vlek-aws", "test-vlek-report.bin", []string{"test-vlek.der", "ask_ark_milan_vlek.pem"}, "2024-12-11T22:14:21Z",
			func(rep []byte, _ *cloudra.Collateral) { rep[off]++ })
		checktest.WantClass(t, res, cloudra.ClassSig)
	}
}

// TestVectorCertMutations: virtee's vcek[40] ^= 0xff and trustee's
// vcek[42] += 1 land in the outer signature AlgorithmIdentifier, so the DER
// no longer parses: through the certificate table that is REJECT/parse, not
// REJECT/chain (docs/pitfalls-snp.md A2 warns of exactly this). The parseable variant of
// the mutation is TestA2ChainChecked.
func TestVectorCertMutations(t *testing.T) {
	vectortest.Dir(t)
	v := NewVerifier(testRoots(t))
	for _, c := range []struct {
		dir, report, vcek, at string
		off                   int
		xor                   byte
	}{
		{"snp/virtee-sev-milan-v2-vcek", "report.bin", "vcek.der", "2023-04-04T19:23:43Z", 40, 0xff},
		{"snp/trustee-milan-v2-vcek", "test-report.bin", "test-vcek.der", "2023-01-25T17:58:26Z", 42, 0x01},
	} {
		der := append([]byte(nil), vectortest.Read(t, path.Join(c.dir, c.vcek))...)
		table := func(d []byte) []byte {
			hdr := make([]byte, 48)
			vcekGUID := GUIDVCEK()
			copy(hdr, vcekGUID[:])
			hdr[16] = 48
			hdr[20], hdr[21] = byte(len(d)), byte(len(d)>>8)
			return append(hdr, d...)
		}
		rep := vectortest.Read(t, path.Join(c.dir, c.report))
		opts := cloudra.Options{Time: vectortest.Time(t, c.at)}
		res, err := v.Verify(context.Background(), Evidence{Report: rep, CertTable: table(der)}, nil, nil, opts)
		if err != nil || res.Verdict != cloudra.Pass {
			t.Fatalf("%s positive twin: %v %v", c.dir, err, res.FailureClasses())
		}
		der[c.off] ^= c.xor
		res, err = v.Verify(context.Background(), Evidence{Report: rep, CertTable: table(der)}, nil, nil, opts)
		res = checktest.Result(t, res, err)
		checktest.WantClass(t, res, cloudra.ClassParse)
	}
}

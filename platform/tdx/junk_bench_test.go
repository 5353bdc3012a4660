package tdx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/benchstat"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
	"github.com/cloudra/cloudra/policy"
)

// The junk-collateral benchmarks use the bench module's TDX quote (trustee's
// TDX v4 quote, FMSPC 50806f000000, UpToDate at 2023-07-01, with
// go-tdx-guest's 2023 PCS collateral). They live here, not in bench/, because
// the junk is minted by internal/dcaptest, which a separate module cannot
// import. bench/README.md reports their figures.
const (
	junkVector = "tdx/trustee-v4-spr-tdx_quote_4"
	// junkSize is the server's request body limit (server.DefaultMaxBody).
	junkSize = 2 << 20
)

var junkTime = time.Date(2023, 7, 1, 1, 0, 0, 0, time.UTC)

// junkDebugPolicy allows the benchmark's debug TD, as the bench module's
// TDX benchmark does (go-tdx-guest does not appraise TD attributes).
func junkDebugPolicy() *Policy {
	return &Policy{AllowDebug: policy.Bool(true), RequireSEPTVEDisable: policy.Bool(false)}
}

// tdxJunk mints 2 MiB of junk collateral aimed at the benchmark quote's
// platform: TCB Info for its FMSPC with signatures by another key, TCB Info
// for other FMSPCs, QE Identities, "Intel SGX TCB Signing" and PCK CA
// certificates and CRLs claiming the Intel root and the quote's PCK CA as
// issuer. newer: the junk documents and CRLs read as newer than Intel's.
func tdxJunk(b *testing.B, quote []byte, newer bool) *cloudra.Collateral {
	q, err := dcap.ParseQuote(quote)
	if err != nil {
		b.Fatal(err)
	}
	certs, err := dcap.ParsePCKChain(q.Signature().QE.Cert.Data)
	if err != nil {
		b.Fatal(err)
	}
	ext, err := dcap.PCKExtensionOf(certs[0])
	if err != nil {
		b.Fatal(err)
	}
	root, err := intelroot.Certificate()
	if err != nil {
		b.Fatal(err)
	}
	return dcaptest.Junk(dcaptest.JunkConfig{Now: junkTime, FMSPC: ext.FMSPC, PCEID: ext.PCEID, TDX: true,
		RootSubject: root.RawSubject, PCKCASubject: certs[1].RawSubject, Size: junkSize, Newer: newer})
}

func withJunk(real, junk *cloudra.Collateral) *cloudra.Collateral {
	col := &cloudra.Collateral{}
	for _, c := range []*cloudra.Collateral{real, junk} {
		col.Certificates = append(col.Certificates, c.Certificates...)
		col.CRLs = append(col.CRLs, c.CRLs...)
		col.Documents = append(col.Documents, c.Documents...)
	}
	return col
}

// junkRealCollateral is the vector's collateral as collateral.LoadDir reads
// it (what the bench module loads): the documents, both CRLs, and the
// certificates of every issuer chain in the folder.
func junkRealCollateral(b *testing.B) *cloudra.Collateral {
	dir := junkVector + "/collateral"
	col := dcaptest.LoadCollateral(b, dir)
	for _, f := range []string{"qe_identity_issuer_chain.pem", "tcb_info_issuer_chain.pem"} {
		for _, c := range pcs.ParsePEMChain(vectortest.Read(b, dir+"/"+f)) {
			col.AddCertificate(c)
		}
	}
	return col
}

// coldTDX verifies the benchmark quote with a new verifier (empty caches).
func coldTDX(quote []byte, col *cloudra.Collateral, pass bool) func(*testing.B) {
	pol, opts := junkDebugPolicy(), cloudra.Options{Time: junkTime}
	return func(b *testing.B) {
		v, err := NewVerifier()
		if err != nil {
			b.Fatal(err)
		}
		res, err := v.Verify(context.Background(), Evidence{Quote: quote}, col, pol, opts)
		// A rejection is a result: the verdict is compared below.
		if rej := (*cloudra.RejectedError)(nil); errors.As(err, &rej) {
			err = nil
		}
		if err != nil || (res.Verdict == cloudra.Pass) != pass {
			b.Fatalf("verdict %v (want pass: %v), %v\n%s", res.Verdict, pass, err, dcaptest.Dump(res))
		}
	}
}

// BenchmarkVerifyTDXCold is the benchmark TDX quote verified by a new
// verifier each time: PCK chain, both CRLs, TCB Info and QE Identity are
// all verified, nothing is cached.
func BenchmarkVerifyTDXCold(b *testing.B) {
	quote := vectortest.Read(b, junkVector+"/quote.bin")
	benchLoop(coldTDX(quote, junkRealCollateral(b), true))(b)
}

// BenchmarkJunkCollateral: the same cold verification with 2 MiB of junk
// collateral after the real collateral (as a server merges the operator's
// collateral before a bundle's). "older": the junk reads as older than
// Intel's, the quote verifies; "newer": it reads as newer and crowds out the
// real collateral (tcb-info.verify and the CRL checks fail, class
// collateral) — the most signature work the caps allow. "interleaved" and
// "interleaved-newer" alternate a junk verification and a clean cold one and
// report the median ratio, the figure of record.
func BenchmarkJunkCollateral(b *testing.B) {
	quote := vectortest.Read(b, junkVector+"/quote.bin")
	real := junkRealCollateral(b)
	older := withJunk(real, tdxJunk(b, quote, false))
	newer := withJunk(real, tdxJunk(b, quote, true))
	clean := coldTDX(quote, real, true)
	junk, worst := coldTDX(quote, older, true), coldTDX(quote, newer, false)
	b.Run("older", benchLoop(junk))
	b.Run("newer", benchLoop(worst))
	b.Run("interleaved", func(b *testing.B) {
		benchstat.Interleaved(b, "junk", junk, "cold", clean)
	})
	b.Run("interleaved-newer", func(b *testing.B) {
		benchstat.Interleaved(b, "junk", worst, "cold", clean)
	})
}

// benchLoop is a sub-benchmark that runs f with allocations reported.
func benchLoop(f func(*testing.B)) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f(b)
		}
	}
}

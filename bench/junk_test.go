package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
	"github.com/cloudra/cloudra/platform/tdx"
)

// junkSize is the server's request body limit (server.DefaultMaxBody).
const junkSize = 2 << 20

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
	return dcaptest.Junk(dcaptest.JunkConfig{Now: tdxTime, FMSPC: ext.FMSPC, PCEID: ext.PCEID, TDX: true,
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

// coldTDX verifies the benchmark quote with a new verifier (empty caches).
func coldTDX(quote []byte, col *cloudra.Collateral, pass bool) func(*testing.B) {
	pol, opts := tdxDebugPolicy(), cloudra.Options{Time: tdxTime}
	return func(b *testing.B) {
		v, err := tdx.NewVerifier()
		if err != nil {
			b.Fatal(err)
		}
		res, err := v.Verify(context.Background(), tdx.Evidence{Quote: quote}, col, pol, opts)
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
	quote := read(b, tdxVector+"/quote.bin")
	loop(coldTDX(quote, loadCollateral(b, tdxVector+"/collateral"), true))(b)
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
	quote := read(b, tdxVector+"/quote.bin")
	real := loadCollateral(b, tdxVector+"/collateral")
	older := withJunk(real, tdxJunk(b, quote, false))
	newer := withJunk(real, tdxJunk(b, quote, true))
	clean := coldTDX(quote, real, true)
	junk, worst := coldTDX(quote, older, true), coldTDX(quote, newer, false)
	b.Run("older", loop(junk))
	b.Run("newer", loop(worst))
	b.Run("interleaved", func(b *testing.B) {
		interleaved(b, "junk", junk, "cold", clean)
	})
	b.Run("interleaved-newer", func(b *testing.B) {
		interleaved(b, "junk", worst, "cold", clean)
	})
}

package dcapverify

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// maxSearchSigs bounds the signature verifications of one collateral search
// whatever the collateral holds: every CRL tried for the PCK CA and the root,
// every signer tried against the root, and each TCB Info and QE Identity
// (readable or not) tried against the one signer chosen.
const maxSearchSigs = 2*MaxCRLsPerIssuer + MaxSigners + MaxTCBInfos + MaxQEIdentities + 2*MaxUnreadable

// junkSize is the server's body limit (server.DefaultMaxBody; server
// imports this package's dependents, so the value is repeated).
const junkSize = 2 << 20

type sigLog struct {
	n     atomic.Int64
	pairs map[string]int
}

func (l *sigLog) hook(kind string, signed, signer []byte) {
	l.n.Add(1)
	l.pairs[kind+"\x00"+string(signed)+"\x00"+string(signer)]++
}

// dups reports the (signed item, signer) pairs verified more than once.
func (l *sigLog) dups() int {
	d := 0
	for _, n := range l.pairs {
		if n > 1 {
			d++
		}
	}
	return d
}

type fixture struct {
	k     *dcaptest.Kit
	quote dcap.TDQuote
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	k := dcaptest.New(dcaptest.DefaultConfig())
	q, err := dcap.ParseQuote(k.TDQuote(4, false).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{k: k, quote: q.(dcap.TDQuote)}
}

func (f *fixture) junk(size int, newer bool) *cloudra.Collateral {
	return dcaptest.Junk(dcaptest.JunkConfig{Now: f.k.Now, FMSPC: f.k.FMSPC, PCEID: f.k.PCEID, TDX: true,
		RootSubject: f.k.Root.RawSubject, PCKCASubject: f.k.CA.RawSubject, Size: size, Newer: newer})
}

// verify runs a new engine (cold caches) over col, counting signatures.
func (f *fixture) verify(t testing.TB, ctx context.Context, col *cloudra.Collateral) (*cloudra.Result, *Outcome, *sigLog, error) {
	t.Helper()
	e := New()
	log := &sigLog{pairs: map[string]int{}}
	e.countSig = log.hook
	res := &cloudra.Result{Platform: "tdx"}
	body := f.quote.TDReport()
	out, err := e.Verify(ctx, res, Request{Quote: f.quote, TEE: pcs.TDX, Collateral: col, Roots: []*x509.Certificate{f.k.Root}, Time: f.k.Now,
		Platform: func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error) {
			return pcs.EvaluateTDX(info, ext.CompSVN, ext.PCESVN, body.TEETCBSVN)
		}})
	return res, out, log, checktest.NoDecision(err)
}

func merged(cols ...*cloudra.Collateral) *cloudra.Collateral {
	out := &cloudra.Collateral{}
	for _, c := range cols {
		out.Certificates = append(out.Certificates, c.Certificates...)
		out.CRLs = append(out.CRLs, c.CRLs...)
		out.Documents = append(out.Documents, c.Documents...)
	}
	return out
}

// The signature work of a collateral search does not grow with the
// collateral: junk 8 times larger costs the same signature verifications,
// and none is repeated.
func TestCollateralSearchIsLinear(t *testing.T) {
	f := newFixture(t)
	real := f.k.Collateral(true)
	var counts []int64
	// The smaller set already fills every cap.
	for _, size := range []int{128 << 10, 1 << 20} {
		res, out, log, err := f.verify(t, context.Background(), merged(real, f.junk(size, false)))
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict == nil {
			t.Fatalf("size %d: no verdict\n%s", size, dcaptest.Dump(res))
		}
		if d := log.dups(); d > 0 {
			t.Errorf("size %d: %d (item, signer) pairs verified more than once", size, d)
		}
		counts = append(counts, log.n.Load())
	}
	if counts[1] != counts[0] || counts[0] > maxSearchSigs {
		t.Errorf("signature verifications %v for 128 KiB and 1 MiB of junk, want equal and ≤ %d", counts, maxSearchSigs)
	}
}

// Each cap holds: junk placed after the real collateral is ignored with a
// warning and the quote verifies; junk beyond the cap placed before it
// crowds it out and the step fails with class collateral; a cap's worth of
// junk before it still lets it verify.
func TestCandidateCapsApply(t *testing.T) {
	f := newFixture(t)
	k := f.k
	other := dcaptest.New(dcaptest.DefaultConfig()) // another key, the same names
	// TCB Info is tried newest first: junk that reads as newer than the
	// real document crowds it out wherever it is placed.
	badTCB := func(n int) *cloudra.Collateral {
		col := &cloudra.Collateral{}
		for i := range n {
			ti := k.DefaultTCBInfo(true)
			ti.EvalNumber = 100 + i
			col.Documents = append(col.Documents, cloudra.Document{Kind: "tcb-info", Raw: other.SignTCBInfo(ti.Marshal()), Source: "junk"})
		}
		return col
	}
	badQE := func(n int) *cloudra.Collateral {
		col := &cloudra.Collateral{}
		for range n {
			col.Documents = append(col.Documents, cloudra.Document{Kind: "qe-identity", Raw: other.SignQEIdentity(k.DefaultQEIdentity(true).Marshal()), Source: "junk"})
		}
		return col
	}
	badSigners := func(n int) *cloudra.Collateral {
		col := &cloudra.Collateral{}
		for range n {
			col.Certificates = append(col.Certificates, dcaptest.New(dcaptest.DefaultConfig()).TCBSigner)
		}
		return col
	}
	badCRLs := func(n int, pck bool) *cloudra.Collateral {
		col := &cloudra.Collateral{}
		for range n {
			if pck {
				// other's CA has k's CA name: its CRL claims k's CA as issuer.
				col.CRLs = append(col.CRLs, other.CRL(other.CA, other.CAKey))
			} else {
				col.CRLs = append(col.CRLs, other.CRL(other.Root, other.RootKey))
			}
		}
		return col
	}
	// The real signer travels as a certificate (not in the documents'
	// issuer chains) so that it can be placed after the junk signers.
	realCol := func() *cloudra.Collateral {
		c := k.Collateral(true)
		for i := range c.Documents {
			c.Documents[i].IssuerChain = nil
		}
		c.Certificates = append(c.Certificates, k.TCBSigner)
		return c
	}
	olderTCB := func(n int) *cloudra.Collateral {
		col := badTCB(n)
		for i := range col.Documents {
			ti := k.DefaultTCBInfo(true)
			ti.EvalNumber = 1
			col.Documents[i].Raw = other.SignTCBInfo(ti.Marshal())
		}
		return col
	}
	t.Run("tcb-info-older", func(t *testing.T) {
		// Older junk beyond the cap, before the real document: ignored.
		res, out, log, err := f.verify(t, context.Background(), merged(olderTCB(MaxTCBInfos+3), realCol()))
		if err != nil || out.Verdict == nil {
			t.Fatalf("older junk: %v\n%s", err, dcaptest.Dump(res))
		}
		if !strings.Contains(strings.Join(res.Warnings, "\n"), "4 more") {
			t.Errorf("no warning about the 4 ignored candidates: %q", res.Warnings)
		}
		if n := log.n.Load(); n > maxSearchSigs {
			t.Errorf("%d signature verifications, want ≤ %d", n, maxSearchSigs)
		}
	})
	for _, tc := range []struct {
		name  string
		junk  func(n int) *cloudra.Collateral
		limit int
		check string
		// sorted: the candidates are tried newest first, and the junk reads
		// as newer: it comes first wherever it is placed.
		sorted bool
	}{
		{"tcb-info", badTCB, MaxTCBInfos, "tcb-info.verify", true},
		{"qe-identity", badQE, MaxQEIdentities, "qe-identity.verify", false},
		{"signer", badSigners, MaxSigners, "tcb-info.verify", false},
		{"root-crl", func(n int) *cloudra.Collateral { return badCRLs(n, false) }, MaxCRLsPerIssuer, "root-ca.crl", false},
		{"pck-crl", func(n int) *cloudra.Collateral { return badCRLs(n, true) }, MaxCRLsPerIssuer, "pck.crl", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Beyond the cap, after the real collateral: ignored, warned.
			res, out, log, err := f.verify(t, context.Background(), merged(realCol(), tc.junk(tc.limit+3)))
			if tc.sorted {
				checktest.WantCheck(t, res, tc.check, cloudra.OutcomeFail, cloudra.ClassCollateral)
			} else if err != nil || out.Verdict == nil {
				t.Fatalf("junk after the real collateral: %v\n%s", err, dcaptest.Dump(res))
			}
			if !strings.Contains(strings.Join(res.Warnings, "\n"), "4 more") {
				t.Errorf("no warning about the 4 ignored candidates: %q", res.Warnings)
			}
			if n := log.n.Load(); n > maxSearchSigs {
				t.Errorf("%d signature verifications, want ≤ %d", n, maxSearchSigs)
			}
			// Up to the cap, before the real collateral: still found.
			res, out, _, err = f.verify(t, context.Background(), merged(tc.junk(tc.limit-1), realCol()))
			if err != nil || out.Verdict == nil {
				t.Fatalf("%d junk before the real collateral: %v\n%s", tc.limit-1, err, dcaptest.Dump(res))
			}
			// Beyond the cap, before: the real one is not tried.
			res, _, log, err = f.verify(t, context.Background(), merged(tc.junk(tc.limit+3), realCol()))
			if err != nil {
				t.Fatal(err)
			}
			checktest.WantCheck(t, res, tc.check, cloudra.OutcomeFail, cloudra.ClassCollateral)
			c, _ := res.Check(tc.check)
			if !strings.Contains(c.Detail, ErrCandidateCap.Error()) {
				t.Errorf("%s: %q does not name the cap", tc.check, c.Detail)
			}
			if n := log.n.Load(); n > maxSearchSigs {
				t.Errorf("%d signature verifications, want ≤ %d", n, maxSearchSigs)
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A body-limit-sized adversarial collateral set (2 MiB: TCB Info for the
// platform's FMSPC with bad signatures, TCB Info for other FMSPCs, QE
// Identities with bad signatures, certificates and CRLs claiming Intel's
// names) costs a bounded number of signature verifications, never the same
// twice, whether it leaves the real collateral among the candidates tried
// (junk that reads as older: the quote verifies) or crowds it out (junk
// that reads as newer: class collateral), wherever it is placed. The process CPU time
// is a sanity check only (the machine may be shared).
func TestJunkCollateralCostIsBounded(t *testing.T) {
	f := newFixture(t)
	older, newer := f.junk(junkSize, false), f.junk(junkSize, true)
	// A few huge documents instead of many: TCB Info of ~1 MiB (1900
	// levels) with a bad signature, and one that is not a plain PCS
	// envelope (an extra member), which only the strict parser may refuse.
	huge := dcaptest.Junk(dcaptest.JunkConfig{Now: f.k.Now, FMSPC: f.k.FMSPC, TDX: true, RootSubject: f.k.Root.RawSubject,
		PCKCASubject: f.k.CA.RawSubject, Size: 1, Levels: 1900, Newer: true})
	big := huge.Documents[0]
	odd := big
	odd.Raw = append(append([]byte(nil), big.Raw[:len(big.Raw)-1]...), `,"x":1}`...)
	huge.Documents, huge.Certificates, huge.CRLs = []cloudra.Document{big, odd}, nil, nil
	for _, tc := range []struct {
		name   string
		col    *cloudra.Collateral
		passes bool
		capped bool
	}{
		{"huge-documents", merged(huge, f.k.Collateral(true)), true, false},
		{"older-after", merged(f.k.Collateral(true), older), true, true},
		{"older-before", merged(older, f.k.Collateral(true)), true, true},
		{"newer-after", merged(f.k.Collateral(true), newer), false, true},
		{"newer-before", merged(newer, f.k.Collateral(true)), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu0, wall0 := cpuTime(), time.Now()
			res, out, log, err := f.verify(t, context.Background(), tc.col)
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			if err != nil {
				t.Fatal(err)
			}
			if n := log.n.Load(); n > maxSearchSigs {
				t.Errorf("%d signature verifications, want ≤ %d", n, maxSearchSigs)
			}
			if d := log.dups(); d > 0 {
				t.Errorf("%d (item, signer) pairs verified more than once", d)
			}
			if tc.passes != (out.Verdict != nil) {
				t.Errorf("verdict %v, want one: %v\n%s", out.Verdict, tc.passes, dcaptest.Dump(res))
			}
			if !tc.passes {
				// The CRL steps fail first; the chain is then not authentic.
				checktest.WantCheck(t, res, "pck.crl", cloudra.OutcomeFail, cloudra.ClassCollateral)
				checktest.WantCheck(t, res, "root-ca.crl", cloudra.OutcomeFail, cloudra.ClassCollateral)
			}
			if tc.capped && len(res.Warnings) == 0 {
				t.Error("no warning about ignored candidates")
			}
			t.Logf("%d signature verifications, CPU %s, wall %s", log.n.Load(), cpu, wall)
			if cpu > 100*time.Millisecond && wall > time.Second {
				t.Errorf("CPU %s, wall %s for 2 MiB of junk, want < 100 ms CPU", cpu, wall)
			}
		})
	}
}

// A done context stops the engine before any work, and one cancelled during
// the collateral search stops it between candidates; neither result is
// cached.
func TestDCAPVerifyHonoursContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, out, log, err := f.verify(t, ctx, f.k.Collateral(true))
	if !errors.Is(err, context.Canceled) || out != nil || log.n.Load() != 0 {
		t.Fatalf("cancelled before: %v, %v, %d signatures", err, out, log.n.Load())
	}
	dl, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	if _, _, _, err := f.verify(t, dl, f.k.Collateral(true)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}

	// Cancel at the first signature of the collateral search.
	e := New()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	e.countSig = func(string, []byte, []byte) { n.Add(1); cancel() }
	col := merged(f.k.Collateral(true), f.junk(64<<10, false))
	body := f.quote.TDReport()
	req := Request{Quote: f.quote, TEE: pcs.TDX, Collateral: col, Roots: []*x509.Certificate{f.k.Root}, Time: f.k.Now,
		Platform: func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error) {
			return pcs.EvaluateTDX(info, ext.CompSVN, ext.PCESVN, body.TEETCBSVN)
		}}
	if _, err := e.Verify(ctx, &cloudra.Result{}, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during the search: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d signatures after cancellation, want the one that cancelled", n.Load())
	}
	if len(e.colls) != 0 {
		t.Error("a search cut short was cached")
	}
	// The same engine then verifies normally.
	e.countSig = nil
	res := &cloudra.Result{}
	if out, err := e.Verify(context.Background(), res, req); err != nil || out.Verdict == nil {
		t.Fatalf("after cancellation: %v\n%s", err, dcaptest.Dump(res))
	}
}

package sevsnp

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/sevsnptest"
	"github.com/cloudra/cloudra/policy"
)

// Pitfall tests (docs/pitfalls-snp.md §A, §B) over forged evidence. Each negative case
// has a positive twin (fixture.ok) and asserts the failure class.

var (
	forgeOnce sync.Once
	forged    map[string]*sevsnptest.AMD
	forgeErr  error
)

func amd(t testing.TB, product string) *sevsnptest.AMD {
	t.Helper()
	forgeOnce.Do(func() {
		forged = map[string]*sevsnptest.AMD{}
		for _, p := range []string{Milan, Turin} {
			a, err := sevsnptest.NewAMD(p, sevsnptest.CAOptions{})
			if err != nil {
				forgeErr = err
				return
			}
			forged[p] = a
		}
	})
	if forgeErr != nil {
		t.Fatal(forgeErr)
	}
	return forged[product]
}

var (
	testTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	testTCB  = sevsnptest.TCB{Bootloader: 4, SNP: 0x18, Microcode: 0xdb}
)

type fixture struct {
	t      *testing.T
	amd    *sevsnptest.AMD
	ro     ReportOptions
	report []byte
	key    *ecdsa.PrivateKey
	leaf   *x509.Certificate
	col    *cloudra.Collateral
	v      *Verifier
	opts   cloudra.Options
}

// ReportOptions is the forge kit's report description.
type ReportOptions = sevsnptest.ReportOptions

func chip(b byte) [64]byte {
	var c [64]byte
	for i := range c {
		c[i] = b + byte(i)
	}
	return c
}

// newFixture forges a Milan (or product) report signed by a test VCEK and a
// verifier that trusts the test ARK.
func newFixture(t *testing.T, product string, vlek bool) *fixture {
	a := amd(t, product)
	ro := ReportOptions{Version: 3, Product: product, ChipID: chip(1), TCB: testTCB, VLEK: vlek}
	if product == Turin {
		ro.ChipID = [64]byte{1, 2, 3, 4, 5, 6, 7, 8}
	}
	if vlek {
		ro.ChipID = [64]byte{}
	}
	lo := sevsnptest.LeafOptions{VLEK: vlek, TCB: testTCB}
	if !vlek {
		lo.HWID = append([]byte(nil), ro.ChipID[:]...)
		if product == Turin {
			lo.HWID = lo.HWID[:8]
		}
	}
	leaf, key, err := a.Leaf(lo)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, amd: a, ro: ro, key: key, leaf: leaf,
		v:    NewVerifier(testRoots(t).WithTestARK(product, a.ARK)),
		opts: cloudra.Options{Time: testTime, AllowTestRoots: true}}
	f.col = &cloudra.Collateral{}
	f.col.AddCertificate(leaf)
	if vlek {
		f.col.AddCertificate(a.ASVK)
	} else {
		f.col.AddCertificate(a.ASK)
	}
	f.report = f.sign(sevsnptest.NewReport(ro))
	return f
}

func (f *fixture) sign(b []byte) []byte {
	if err := sevsnptest.Sign(b, f.key); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) mutate(fn func(b []byte)) []byte {
	b := append([]byte(nil), f.report...)
	fn(b)
	return f.sign(b)
}

func (f *fixture) verify(ev Evidence, pol *Policy) *cloudra.Result {
	f.t.Helper()
	res, err := f.v.Verify(context.Background(), ev, f.col, pol, f.opts)
	res = checktest.Result(f.t, res, err)
	return res
}

func TestForgedPositiveControls(t *testing.T) {
	for _, c := range []struct {
		product string
		vlek    bool
	}{{Milan, false}, {Milan, true}, {Turin, false}, {Turin, true}} {
		f := newFixture(t, c.product, c.vlek)
		res := f.verify(Evidence{Report: f.report}, nil)
		checktest.WantPass(t, res)
		if res.Claim("product") != c.product {
			t.Errorf("product %v", res.Claim("product"))
		}
		if c.product == Turin && res.Claim("reported_tcb.fmc") == nil {
			t.Error("no fmc claim for Turin")
		}
	}
}

// A1: signature result and signed span.
func TestA1SignatureChecked(t *testing.T) {
	f := newFixture(t, Milan, false)
	b := append([]byte(nil), f.report...)
	b[OffReportDataForTest] ^= 1
	checktest.WantClass(t, f.verify(Evidence{Report: b}, nil), cloudra.ClassSig)
	b = append([]byte(nil), f.report...)
	b[SignedSize] ^= 1 // R, lowest byte
	checktest.WantClass(t, f.verify(Evidence{Report: b}, nil), cloudra.ClassSig)
	b = append([]byte(nil), f.report...)
	b[SignedSize+72+5] ^= 0x40 // S
	checktest.WantClass(t, f.verify(Evidence{Report: b}, nil), cloudra.ClassSig)
}

// OffReportDataForTest is REPORT_DATA's offset.
const OffReportDataForTest = sevsnptest.OffReportData

// A2: a corrupted VCEK TBS that still parses → REJECT/chain; roots swapped in
// collateral have no effect.
func TestA2ChainChecked(t *testing.T) {
	f := newFixture(t, Milan, false)
	der := append([]byte(nil), f.leaf.Raw...)
	// Flip a byte of the subject's organisation string ("cloudra test AMD").
	i := indexOf(der, []byte("cloudra test AMD"))
	if i < 0 {
		t.Fatal("subject not found")
	}
	der[len(der)-1-0] ^= 0 // keep length
	j := lastIndexOf(der, []byte("cloudra test AMD"))
	der[j] ^= 0x20 // 'c' → 'C' in the subject (the issuer copy stays)
	bad, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("mutated certificate must still parse: %v", err)
	}
	f.col = &cloudra.Collateral{Certificates: []*x509.Certificate{bad, f.amd.ASK}}
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassChain)
	// Swapped: ASK passed where nothing expects it, ARK in collateral only.
	f.col = &cloudra.Collateral{Certificates: []*x509.Certificate{f.leaf, f.amd.ARK}}
	_, err = f.v.Verify(context.Background(), Evidence{Report: f.report}, f.col, nil, f.opts)
	var me *cloudra.MissingCollateralError
	if !errors.As(err, &me) {
		t.Fatalf("ASK missing: want MissingCollateralError, got %v", err)
	}
}

// A5: truncation at every offset is a parse error, never a panic.
func TestA5Truncation(t *testing.T) {
	f := newFixture(t, Milan, false)
	for n := 0; n < ReportSize; n++ {
		if _, err := ParseReport(f.report[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("len %d: %v", n, err)
		}
	}
	res := f.verify(Evidence{Report: f.report[:100]}, nil)
	checktest.WantClass(t, res, cloudra.ClassParse)
	table := sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw}, sevsnptest.Entry{GUID: GUIDASK(), Data: f.amd.ASK.Raw})
	for n := 0; n < len(table); n++ {
		if _, err := ParseCertTable(table[:n]); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("table len %d: %v", n, err)
		}
	}
}

// A6: big-endian R/S, or SHA-256 instead of SHA-384, never verifies.
func TestA6NoTryBoth(t *testing.T) {
	f := newFixture(t, Milan, false)
	b := append([]byte(nil), f.report...)
	h := sha512.Sum384(b[:SignedSize])
	r, s, _ := ecdsa.Sign(rand.Reader, f.key, h[:])
	clear(b[SignedSize : SignedSize+144])
	r.FillBytes(b[SignedSize : SignedSize+48])
	s.FillBytes(b[SignedSize+72 : SignedSize+120])
	checktest.WantClass(t, f.verify(Evidence{Report: b}, nil), cloudra.ClassSig)
	h2 := sha256.Sum256(b[:SignedSize])
	r, s, _ = ecdsa.Sign(rand.Reader, f.key, h2[:])
	sevsnptest.PutLE(b[SignedSize:SignedSize+72], r)
	sevsnptest.PutLE(b[SignedSize+72:SignedSize+144], s)
	checktest.WantClass(t, f.verify(Evidence{Report: b}, nil), cloudra.ClassSig)
}

// B1: a forged ARK→ASK→VCEK in the host's certificate table, v2 report (no
// CPUID), no test root installed.
func TestB1ForgedRoot(t *testing.T) {
	f := newFixture(t, Milan, false)
	ro := f.ro
	ro.Version = 2
	rep := f.sign(sevsnptest.NewReport(ro))
	table := sevsnptest.CertTable(
		sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw},
		sevsnptest.Entry{GUID: GUIDASK(), Data: f.amd.ASK.Raw},
		sevsnptest.Entry{GUID: GUIDARK(), Data: f.amd.ARK.Raw})
	for _, allow := range []bool{false, true} {
		v := NewVerifier(testRoots(t)) // pinned AMD roots only
		res, err := v.Verify(context.Background(), Evidence{Report: rep, CertTable: table}, nil, nil, cloudra.Options{Time: testTime, AllowTestRoots: allow})
		res = checktest.Result(t, res, err)
		checktest.WantClass(t, res, cloudra.ClassChain)
	}
	// Test ARK installed, but the flag is off: still rejected.
	res, err := f.v.Verify(context.Background(), Evidence{Report: rep, CertTable: table}, nil, nil, cloudra.Options{Time: testTime})
	res = checktest.Result(t, res, err)
	checktest.WantClass(t, res, cloudra.ClassChain)
	// Positive twin: flag on → accepted, via the table.
	res, err = f.v.Verify(context.Background(), Evidence{Report: rep, CertTable: table}, nil, nil, f.opts)
	res = checktest.Result(t, res, err)
	checktest.WantPass(t, res)
}

// B1 (cache): a chain verified with the test root is not reused when the
// test-root flag is off.
func TestCacheHonoursTestRootFlag(t *testing.T) {
	f := newFixture(t, Milan, false)
	checktest.WantPass(t, f.verify(Evidence{Report: f.report}, nil))
	f.opts.AllowTestRoots = false
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassChain)
	// And the cached chain is bounded by validity windows.
	f.opts = cloudra.Options{Time: time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC), AllowTestRoots: true}
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassFresh)
}

// B3: signer kind confusion.
func TestB3SignerConfusion(t *testing.T) {
	f := newFixture(t, Milan, true)
	// VLEK chain in the VCEK slots of the table: kind comes from the
	// certificate, not the slot; signer flag, ASVK and CN agree → accepted.
	table := sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw}, sevsnptest.Entry{GUID: GUIDASK(), Data: f.amd.ASVK.Raw})
	res, err := f.v.Verify(context.Background(), Evidence{Report: f.report, CertTable: table}, nil, nil, f.opts)
	res = checktest.Result(t, res, err)
	checktest.WantPass(t, res)
	// Report says VCEK, signed by the VLEK key.
	rep := f.mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[sevsnptest.OffSignerInfo:], 0) })
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassChain)
	// SIGNING_KEY = 7 (none).
	rep = f.mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[sevsnptest.OffSignerInfo:], 7<<2) })
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassSig)
	// SIGNING_KEY = 2 (reserved) → parse.
	rep = f.mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[sevsnptest.OffSignerInfo:], 2<<2) })
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassParse)
	// VCEK without hwID.
	g := newFixture(t, Milan, false)
	leaf, key, err := g.amd.Leaf(sevsnptest.LeafOptions{TCB: testTCB, OmitHWID: true})
	if err != nil {
		t.Fatal(err)
	}
	g.key, g.col = key, &cloudra.Collateral{Certificates: []*x509.Certificate{leaf, g.amd.ASK}}
	checktest.WantClass(t, g.verify(Evidence{Report: g.sign(append([]byte(nil), g.report...))}, nil), cloudra.ClassChain)
	// A VCEK issued by the ASVK: intermediate and signer kind disagree.
	ro := g.ro
	leaf, key, err = g.amd.Leaf(sevsnptest.LeafOptions{TCB: testTCB, HWID: ro.ChipID[:], Issuer: g.amd.ASVK, IssuerKey: g.amd.ASVKKey})
	if err != nil {
		t.Fatal(err)
	}
	g.key, g.col = key, &cloudra.Collateral{Certificates: []*x509.Certificate{leaf, g.amd.ASVK}}
	checktest.WantClass(t, g.verify(Evidence{Report: g.sign(append([]byte(nil), g.report...))}, nil), cloudra.ClassChain)
	// MASK_CHIP_KEY: unsigned.
	rep = g.mutate(func(b []byte) { b[sevsnptest.OffSignerInfo] |= 2 })
	checktest.WantClass(t, g.verify(Evidence{Report: rep}, nil), cloudra.ClassSig)
}

// B4: CHIP_ID vs hwID.
func TestB4ChipID(t *testing.T) {
	f := newFixture(t, Milan, false)
	rep := f.mutate(func(b []byte) { b[sevsnptest.OffChipID+63] ^= 1 })
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassBinding)
	rep = f.mutate(func(b []byte) { clear(b[sevsnptest.OffChipID : sevsnptest.OffChipID+64]) })
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassBinding)
	checktest.WantPass(t, f.verify(Evidence{Report: rep}, &Policy{AllowMaskedChipID: true}))
	// Turin: 8-byte hwID; CHIP_ID[8:64] must be zero.
	g := newFixture(t, Turin, false)
	checktest.WantPass(t, g.verify(Evidence{Report: g.report}, nil))
	rep = g.mutate(func(b []byte) { b[sevsnptest.OffChipID+40] = 1 })
	checktest.WantClass(t, g.verify(Evidence{Report: rep}, nil), cloudra.ClassBinding)
	rep = g.mutate(func(b []byte) { b[sevsnptest.OffChipID+7] ^= 1 })
	checktest.WantClass(t, g.verify(Evidence{Report: rep}, nil), cloudra.ClassBinding)
}

func putTCB(b []byte, off int, product string, t sevsnptest.TCB) {
	binary.LittleEndian.PutUint64(b[off:], t.Bytes(product))
}

// B5: TCB consistency, component-wise per product.
func TestB5TCB(t *testing.T) {
	for _, product := range []string{Milan, Turin} {
		f := newFixture(t, product, false)
		for _, mut := range []func(*sevsnptest.TCB){
			func(x *sevsnptest.TCB) { x.Bootloader++ },
			func(x *sevsnptest.TCB) { x.TEE++ },
			func(x *sevsnptest.TCB) { x.SNP-- },
			func(x *sevsnptest.TCB) { x.Microcode-- },
			func(x *sevsnptest.TCB) { x.FMC++ },
		} {
			x := testTCB
			mut(&x)
			if product != Turin && x.FMC != testTCB.FMC {
				continue
			}
			rep := f.mutate(func(b []byte) { putTCB(b, sevsnptest.OffReportedTCB, product, x) })
			res := f.verify(Evidence{Report: rep}, nil)
			checktest.WantClass(t, res, cloudra.ClassPolicy)
			if c, _ := res.Check(checkLeafTCB); c.Outcome != cloudra.OutcomeFail {
				t.Errorf("%s %+v: leaf.tcb not failed", product, x)
			}
		}
	}
	// Floor in one component while the packed value is larger.
	f := newFixture(t, Milan, false)
	res := f.verify(Evidence{Report: f.report}, &Policy{MinTCB: &TCBFloor{Bootloader: 5}})
	checktest.WantClass(t, res, cloudra.ClassPolicy)
	checktest.WantPass(t, f.verify(Evidence{Report: f.report}, &Policy{MinTCB: &TCBFloor{Bootloader: 4, SNP: 0x18, Microcode: 0xdb}}))
}

// B6: provisional firmware.
func TestB6Provisional(t *testing.T) {
	f := newFixture(t, Milan, false)
	up := testTCB
	up.Microcode++
	prov := f.mutate(func(b []byte) { putTCB(b, sevsnptest.OffCurrentTCB, Milan, up) })
	checktest.WantPass(t, f.verify(Evidence{Report: prov}, nil)) // default: allowed (V1)
	checktest.WantClass(t, f.verify(Evidence{Report: prov}, &Policy{AllowProvisional: policy.Bool(false)}), cloudra.ClassPolicy)
	build := f.mutate(func(b []byte) { b[sevsnptest.OffCurrentVer]++ })
	checktest.WantClass(t, f.verify(Evidence{Report: build}, &Policy{AllowProvisional: policy.Bool(false)}), cloudra.ClassPolicy)
	checktest.WantPass(t, f.verify(Evidence{Report: f.report}, &Policy{AllowProvisional: policy.Bool(false)}))
	// COMMITTED above CURRENT: always rejected.
	bad := f.mutate(func(b []byte) { putTCB(b, sevsnptest.OffCommittedTCB, Milan, up) })
	res := f.verify(Evidence{Report: bad}, nil)
	checktest.WantClass(t, res, cloudra.ClassPolicy)
	if !hasRule(res, "committed-above-current") {
		t.Errorf("rule missing: %+v", res.Violations)
	}
}

func hasRule(res *cloudra.Result, rule string) bool {
	for _, v := range res.Violations {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

// B7: guest policy bits; every violation is reported, not only the first.
func TestB7GuestPolicy(t *testing.T) {
	f := newFixture(t, Milan, false)
	set := func(bits uint64) []byte {
		return f.mutate(func(b []byte) {
			binary.LittleEndian.PutUint64(b[sevsnptest.OffPolicy:], 0x30000|bits)
		})
	}
	res := f.verify(Evidence{Report: set(PolicyDebug | PolicyMigrateMA)}, nil)
	checktest.WantClass(t, res, cloudra.ClassPolicy)
	if !hasRule(res, "allow-debug") || !hasRule(res, "allow-migrate-agent") {
		t.Errorf("violations %+v", res.Violations)
	}
	checktest.WantPass(t, f.verify(Evidence{Report: set(PolicyDebug)}, &Policy{AllowDebug: policy.Bool(true)}))
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, &Policy{AllowSMT: policy.Bool(false)}), cloudra.ClassPolicy)
	for _, c := range []struct {
		bit uint64
		pol Policy
	}{
		{PolicySingleSocket, Policy{RequireSingleSocket: true}},
		{PolicyMemAES256XTS, Policy{RequireMemAES256XTS: true}},
		{PolicyRAPLDis, Policy{RequireRAPLDis: true}},
		{PolicyCiphertextHiding, Policy{RequireCiphertextHiding: true}},
		{PolicyPageSwapDisable, Policy{RequirePageSwapDisable: true}},
	} {
		checktest.WantClass(t, f.verify(Evidence{Report: f.report}, &c.pol), cloudra.ClassPolicy)
		checktest.WantPass(t, f.verify(Evidence{Report: set(c.bit)}, &c.pol))
	}
	checktest.WantClass(t, f.verify(Evidence{Report: set(PolicyCXLAllow)}, &Policy{AllowCXL: policy.Bool(false)}), cloudra.ClassPolicy)
	checktest.WantClass(t, f.verify(Evidence{Report: set(0x0100)}, &Policy{MinGuestABI: "1.51"}), cloudra.ClassPolicy)
	checktest.WantPass(t, f.verify(Evidence{Report: set(0x0133)}, &Policy{MinGuestABI: "1.51"}))
	// Bits 26–63 are reserved: parse error.
	checktest.WantClass(t, f.verify(Evidence{Report: set(1 << 30)}, nil), cloudra.ClassParse)
	checktest.WantClass(t, f.verify(Evidence{Report: f.mutate(func(b []byte) { b[sevsnptest.OffPolicy+2] = 0 })}, nil), cloudra.ClassParse) // bit 17 must be one
}

// B8: VMPL.
func TestB8VMPL(t *testing.T) {
	f := newFixture(t, Milan, false)
	for _, vmpl := range []uint32{1, 2, 3, 4, 0xFFFFFFFF} {
		rep := f.mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[sevsnptest.OffVMPL:], vmpl) })
		checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassPolicy)
		v := vmpl
		if vmpl == 2 {
			checktest.WantPass(t, f.verify(Evidence{Report: rep}, &Policy{VMPL: &v}))
		}
	}
}

// B9: REPORT_DATA is compared full width and its failure is fatal.
func TestB9ReportData(t *testing.T) {
	f := newFixture(t, Milan, false)
	var want [32]byte
	for i := range want {
		want[i] = byte(0xa0 + i)
	}
	good := f.mutate(func(b []byte) { copy(b[sevsnptest.OffReportData:], want[:]) })
	checktest.WantPass(t, f.verify(Evidence{Report: good}, &Policy{ReportData: want[:]}))
	wrong := append([]byte(nil), want[:]...)
	wrong[31] ^= 1
	checktest.WantClass(t, f.verify(Evidence{Report: good}, &Policy{ReportData: wrong}), cloudra.ClassBinding)
	upper := f.mutate(func(b []byte) { copy(b[sevsnptest.OffReportData:], want[:]); b[sevsnptest.OffReportData+40] = 1 })
	checktest.WantClass(t, f.verify(Evidence{Report: upper}, &Policy{ReportData: want[:]}), cloudra.ClassBinding)
	full := make([]byte, 64)
	copy(full, want[:])
	checktest.WantPass(t, f.verify(Evidence{Report: good}, &Policy{ReportData: full}))
}

// B10: versions.
func TestB10Versions(t *testing.T) {
	f := newFixture(t, Milan, false)
	for _, v := range []uint32{0, 1, 6, 0xFFFFFFFF} {
		rep := f.mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[0:], v) })
		if _, err := ParseReport(rep); !errors.Is(err, ErrMalformed) {
			t.Errorf("version %d: %v", v, err)
		}
		checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassParse)
	}
	for _, v := range []uint32{2, 3, 4, 5} {
		ro := f.ro
		ro.Version = v
		rep := f.sign(sevsnptest.NewReport(ro))
		checktest.WantPass(t, f.verify(Evidence{Report: rep, Product: Milan}, nil))
		res := f.verify(Evidence{Report: rep, Product: Milan}, &Policy{MinReportVersion: 3})
		if v == 2 {
			checktest.WantClass(t, res, cloudra.ClassPolicy)
		} else {
			checktest.WantPass(t, res)
		}
	}
	// v2: the CPUID bytes are reserved.
	ro := f.ro
	ro.Version = 2
	rep := f.sign(sevsnptest.NewReport(ro))
	rep[sevsnptest.OffCPUID] = 0x19
	f.sign(rep)
	checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassParse)
}

// B11: every reserved range, signed or not.
func TestB11MBZ(t *testing.T) {
	f := newFixture(t, Milan, false)
	ranges := [][2]int{{0x04C, 0x050}, {0x18B, 0x1A0}, {0x1EB, 0x1EC}, {0x1EF, 0x1F0}, {0x1F8, 0x2A0}}
	for _, rg := range ranges {
		for _, off := range []int{rg[0], rg[1] - 1} {
			rep := f.mutate(func(b []byte) { b[off] = 0xEE })
			checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassParse)
		}
	}
	for _, off := range []int{0x330, 0x400, 0x49F, SignedSize + 48, SignedSize + 71, SignedSize + 72 + 48, SignedSize + 72 + 71} {
		rep := append([]byte(nil), f.report...)
		rep[off] = 0xEE
		checktest.WantClass(t, f.verify(Evidence{Report: rep}, nil), cloudra.ClassParse)
	}
	all := append([]byte(nil), f.report...)
	for i := 0x330; i < ReportSize; i++ {
		all[i] = 0xEE
	}
	checktest.WantClass(t, f.verify(Evidence{Report: all}, nil), cloudra.ClassParse)
	// v5: mitigation vectors are fields, 0x208– reserved.
	ro := f.ro
	ro.Version = 5
	v5 := f.sign(sevsnptest.NewReport(ro))
	v5[0x1F8] = 1
	checktest.WantPass(t, f.verify(Evidence{Report: f.sign(v5)}, nil))
	v5[0x208] = 1
	checktest.WantClass(t, f.verify(Evidence{Report: f.sign(v5)}, nil), cloudra.ClassParse)
}

// B12: CRL handling.
func TestB12CRL(t *testing.T) {
	f := newFixture(t, Milan, false)
	res := f.verify(Evidence{Report: f.report}, nil)
	checktest.WantPass(t, res)
	if c, _ := res.Check(checkCRL); c.Outcome != cloudra.OutcomeSkip || len(res.Warnings) == 0 {
		t.Errorf("fail-open without warning: %+v %v", c, res.Warnings)
	}
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, &Policy{RequireCRL: true}), cloudra.ClassCollateral)
	base := *f.col
	crl := func(this, next time.Time, signer bool, revoked ...*big.Int) {
		t.Helper()
		var k = f.amd.ARKKey
		if signer {
			k = f.amd.ASKKey
		}
		c, err := f.amd.CRL(this, next, k, revoked...)
		if err != nil {
			t.Fatal(err)
		}
		col := base
		col.CRLs = []*x509.RevocationList{c}
		f.col = &col
	}
	crl(testTime.Add(-time.Hour), testTime.Add(24*time.Hour), false)
	checktest.WantPass(t, f.verify(Evidence{Report: f.report}, &Policy{RequireCRL: true}))
	crl(testTime.Add(-time.Hour), testTime.Add(24*time.Hour), false, f.amd.ASK.SerialNumber)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassChain)
	crl(testTime.Add(-time.Hour), testTime.Add(24*time.Hour), true) // signed by a non-ARK key
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassChain)
	crl(testTime.Add(-48*time.Hour), testTime.Add(-time.Hour), false)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassFresh)
	crl(testTime.Add(time.Hour), testTime.Add(48*time.Hour), false)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, nil), cloudra.ClassFresh)
	// CRL from the certificate table.
	c, _ := f.amd.CRL(testTime.Add(-time.Hour), testTime.Add(time.Hour), nil, f.amd.ASK.SerialNumber)
	table := sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw}, sevsnptest.Entry{GUID: GUIDASK(), Data: f.amd.ASK.Raw}, sevsnptest.Entry{GUID: GUIDCRL(), Data: c.Raw})
	res, err := f.v.Verify(context.Background(), Evidence{Report: f.report, CertTable: table}, nil, nil, f.opts)
	res = checktest.Result(t, res, err)
	checktest.WantClass(t, res, cloudra.ClassChain)
}

// Intermediate checks: BasicConstraints and the link's signature algorithm.
func TestIntermediateConstraints(t *testing.T) {
	a, err := sevsnptest.NewAMD(Genoa, sevsnptest.CAOptions{ASKNotCA: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf, key, err := a.Leaf(sevsnptest.LeafOptions{TCB: testTCB, HWID: func() []byte { c := chip(1); return c[:] }()})
	if err != nil {
		t.Skipf("cannot mint under a non-CA ASK: %v", err)
	}
	rep := sevsnptest.NewReport(ReportOptions{Product: Genoa, ChipID: chip(1), TCB: testTCB})
	if err := sevsnptest.Sign(rep, key); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(testRoots(t).WithTestARK(Genoa, a.ARK))
	res, err := v.Verify(context.Background(), Evidence{Report: rep}, &cloudra.Collateral{Certificates: []*x509.Certificate{leaf, a.ASK}}, nil, cloudra.Options{Time: testTime, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	checktest.WantClass(t, res, cloudra.ClassChain)
}

// Two candidate leaves (V7): the one that verifies is used and named.
func TestTwoCandidates(t *testing.T) {
	f := newFixture(t, Milan, false)
	other, _, err := f.amd.Leaf(sevsnptest.LeafOptions{TCB: testTCB, HWID: func() []byte { c := chip(1); return c[:] }(), Serial: 7})
	if err != nil {
		t.Fatal(err)
	}
	f.col = &cloudra.Collateral{Certificates: []*x509.Certificate{other, f.leaf, f.amd.ASK}}
	res := f.verify(Evidence{Report: f.report}, nil)
	checktest.WantPass(t, res)
	h := sha256.Sum256(f.leaf.Raw)
	if res.Signer != "VCEK sha256:"+hexPrefix(h[:8]) {
		t.Errorf("signer %q", res.Signer)
	}
}

// Product hints: a hint that contradicts CPUID is rejected; a v2 report
// without hint takes the product from the certificate.
func TestProductResolution(t *testing.T) {
	f := newFixture(t, Milan, false)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report, Product: "Genoa"}, nil), cloudra.ClassParse)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report}, &Policy{Product: "Turin"}), cloudra.ClassPolicy)
	checktest.WantClass(t, f.verify(Evidence{Report: f.report, Product: "Bergamo-X"}, nil), cloudra.ClassParse)
	ro := f.ro
	ro.Version = 2
	checktest.WantPass(t, f.verify(Evidence{Report: f.sign(sevsnptest.NewReport(ro))}, nil))
}

func TestTrailingBytes(t *testing.T) {
	f := newFixture(t, Milan, false)
	rep := append(append([]byte(nil), f.report...), '\n')
	res := f.verify(Evidence{Report: rep}, nil)
	checktest.WantClass(t, res, cloudra.ClassParse)
	// Same with a flipped signed byte: both the parse and the sig failure.
	rep[0x15B] ^= 0x10
	res = f.verify(Evidence{Report: rep}, nil)
	checktest.WantClass(t, res, cloudra.ClassSig)
	checktest.WantClass(t, res, cloudra.ClassParse)
}

func TestCertTableRules(t *testing.T) {
	f := newFixture(t, Milan, false)
	good := sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVLEK(), Data: []byte("x")})
	ct, err := ParseCertTable(good)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Entries[0].GUID.String() != "a8074bc2-a25a-483e-aae6-39c045a0b8a1" || ct.Entries[0].GUID[0] != 0xa8 {
		t.Errorf("GUID byte order: %s", ct.Entries[0].GUID)
	}
	// Page padding after the data is fine.
	if _, err := ParseCertTable(append(good, make([]byte, 100)...)); err != nil {
		t.Error(err)
	}
	dup := sevsnptest.CertTable(sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw}, sevsnptest.Entry{GUID: GUIDVCEK(), Data: f.leaf.Raw})
	if _, err := ParseCertTable(dup); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicate: %v", err)
	}
	noTerm := good[:24]
	if _, err := ParseCertTable(noTerm); !errors.Is(err, ErrMalformed) {
		t.Errorf("no terminator: %v", err)
	}
	wrap := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(wrap[16:], 0x100)
	binary.LittleEndian.PutUint32(wrap[20:], 0xFFFFFF80)
	if _, err := ParseCertTable(wrap); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrap-around: %v", err)
	}
	inHeader := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(inHeader[16:], 8)
	if _, err := ParseCertTable(inHeader); !errors.Is(err, ErrMalformed) {
		t.Errorf("offset in header: %v", err)
	}
	res, err := f.v.Verify(context.Background(), Evidence{Report: f.report, CertTable: wrap}, f.col, nil, f.opts)
	res = checktest.Result(t, res, err)
	checktest.WantClass(t, res, cloudra.ClassParse)
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func lastIndexOf(b, sub []byte) int {
	for i := len(b) - len(sub); i >= 0; i-- {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

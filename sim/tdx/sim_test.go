package tdxsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/sim/internal/simtest"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
)

var testSeed = []byte("cloudra tdxsim test seed")

func newPlatform(t testing.TB) *Platform {
	t.Helper()
	return simtest.New(t, string(testSeed), New)
}

func TestDeterministic(t *testing.T) {
	a, b := newPlatform(t), newPlatform(t)
	if !bytes.Equal(a.Root().Raw, b.Root().Raw) || a.MRTD() != b.MRTD() || a.RTMR() != b.RTMR() {
		t.Error("same seed, different platform")
	}
	qa, _ := a.Quote([64]byte{1}, QuoteOptions{})
	qb, _ := b.Quote([64]byte{1}, QuoteOptions{})
	if !bytes.Equal(qa, qb) {
		t.Error("quote not deterministic")
	}
	// One seed, one simulated Intel root for TDX and SGX.
	s := simtest.New(t, string(testSeed), sgxsim.New)
	if !bytes.Equal(s.Root().Raw, a.Root().Raw) {
		t.Error("tdxsim and sgxsim roots differ for one seed")
	}
	c, _ := New([]byte("another seed"))
	if c.MRTD() == a.MRTD() || bytes.Equal(c.Root().Raw, a.Root().Raw) {
		t.Error("different seeds, same platform")
	}
	if _, err := New(nil); err == nil {
		t.Error("empty seed accepted")
	}
}

// TestQuoteLayout checks every version and body against the offsets of
// Intel ECDSA Quote Library API and TDX DCAP Quoting Library API (independently of the parser), then parses with
// dcap.ParseQuote and checks signature, binding and chain.
func TestQuoteLayout(t *testing.T) {
	p := newPlatform(t)
	var rd [64]byte
	copy(rd[:], "tdx nonce")
	le := binary.LittleEndian
	for _, c := range []struct {
		o        QuoteOptions
		bodyOff  int
		bodySize int
	}{
		{QuoteOptions{}, 0x30, dcap.TDReport10Size},
		{QuoteOptions{Version: 5}, 0x36, dcap.TDReport10Size},
		{QuoteOptions{Version: 5, TD15: true}, 0x36, dcap.TDReport15Size},
	} {
		raw, err := p.Quote(rd, c.o)
		if err != nil {
			t.Fatal(err)
		}
		v := c.o.Version
		if v == 0 {
			v = 4
		}
		vendor := dcap.IntelQEVendorID()
		if le.Uint16(raw[0:]) != v || le.Uint16(raw[2:]) != 2 || le.Uint32(raw[4:]) != 0x81 || le.Uint32(raw[8:]) != 0 ||
			!bytes.Equal(raw[12:28], vendor[:]) {
			t.Errorf("v%d header %x", v, raw[:48])
		}
		if v == 5 && (int(le.Uint16(raw[0x30:])) != map[bool]int{false: 2, true: 3}[c.o.TD15] || int(le.Uint32(raw[0x32:])) != c.bodySize) {
			t.Errorf("v5 body descriptor %x", raw[0x30:0x36])
		}
		body := raw[c.bodyOff : c.bodyOff+c.bodySize]
		mrtd := p.MRTD()
		if !bytes.Equal(body[520:584], rd[:]) || !bytes.Equal(body[136:184], mrtd[:]) || !bytes.Equal(body[0:3], []byte{6, 1, 3}) ||
			!bytes.Equal(body[120:128], []byte{0, 0, 0, 0x10, 0, 0, 0, 0}) || !bytes.Equal(body[128:136], []byte{0xe7, 2, 6, 0, 0, 0, 0, 0}) {
			t.Errorf("v%d TD body fields misplaced", v)
		}
		if c.o.TD15 && !bytes.Equal(body[584:600], body[0:16]) {
			t.Error("TEE_TCB_SVN_2")
		}
		sdOff := c.bodyOff + c.bodySize
		if int(le.Uint32(raw[sdOff:]))+sdOff+4 != len(raw) || le.Uint16(raw[sdOff+4+128:]) != dcap.CertTypeQEReport {
			t.Errorf("v%d signature data framing", v)
		}

		q, err := dcap.ParseQuote(raw)
		if err != nil {
			t.Fatalf("v%d ParseQuote: %v", v, err)
		}
		tq, ok := q.(dcap.TDQuote)
		if !ok || tq.TDReport().V15 != c.o.TD15 || tq.TDReport().ReportData != rd || q.Padding() != 0 {
			t.Fatalf("v%d parsed as %T", v, q)
		}
		if len(q.SignedBytes()) != sdOff {
			t.Errorf("v%d signed %d bytes, want %d", v, len(q.SignedBytes()), sdOff)
		}
		sd := q.Signature()
		if sd.OuterCertType != dcap.CertTypeQEReport || sd.QE.Cert.Type != dcap.CertTypePCKChain || sd.QE.Report.ISVProdID != 2 {
			t.Errorf("v%d certification data %d/%d", v, sd.OuterCertType, sd.QE.Cert.Type)
		}
		if err := dcap.VerifyQuoteSignature(q); err != nil {
			t.Error(err)
		}
		if err := dcap.CheckQEBinding(sd); err != nil {
			t.Error(err)
		}
		certs, err := dcap.ParsePCKChain(sd.QE.Cert.Data)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := dcap.VerifyPCKChain(certs, []*x509.Certificate{p.Root()}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if chain.Ext.FMSPC != p.Machine().FMSPC() {
			t.Error("FMSPC")
		}
		if err := dcap.VerifyQEReportSignature(&sd.QE, certs[0].PublicKey.(*ecdsa.PublicKey)); err != nil {
			t.Error(err)
		}
	}
	if _, err := p.Quote(rd, QuoteOptions{TD15: true}); err == nil {
		t.Error("TD 1.5 body in a v4 quote accepted")
	}
	if _, err := p.Quote(rd, QuoteOptions{Version: 3}); err == nil {
		t.Error("version 3 accepted")
	}
}

func TestQuoteOptions(t *testing.T) {
	p := newPlatform(t)
	parse := func(o QuoteOptions) dcap.TDQuote {
		t.Helper()
		raw, err := p.Quote([64]byte{}, o)
		if err != nil {
			t.Fatal(err)
		}
		q, err := dcap.ParseQuote(raw)
		if err != nil {
			t.Fatal(err)
		}
		return q.(dcap.TDQuote)
	}
	if q := parse(QuoteOptions{Debug: true}); q.TDReport().Attributes() != dcap.TDAttrDebug|dcap.TDAttrSEPTVEDisable || dcap.VerifyQuoteSignature(q) != nil {
		t.Error("debug TD")
	}
	if q := parse(QuoteOptions{OutOfDateModule: true}); q.TDReport().TEETCBSVN[0] != 2 {
		t.Error("out-of-date module")
	}
	q := parse(QuoteOptions{OutOfDateTCB: true})
	certs, _ := dcap.ParsePCKChain(q.Signature().QE.Cert.Data)
	x, err := dcap.PCKExtensionOf(certs[0])
	if err != nil || x.CompSVN != p.Machine().TCB(true).CompSVN {
		t.Errorf("stale PCK: %v", err)
	}
	if q := parse(QuoteOptions{TamperSignedBytes: true, Version: 5}); dcap.VerifyQuoteSignature(q) == nil {
		t.Error("tampered quote verifies")
	}
	m, r := [48]byte{1}, [4][48]byte{{2}, {3}, {4}, {5}}
	if q := parse(QuoteOptions{MRTD: &m, RTMR: &r}); q.TDReport().MRTD != m || q.TDReport().RTMR != r {
		t.Error("measurement options")
	}
}

func TestProvider(t *testing.T) {
	p := newPlatform(t)
	for _, o := range []QuoteOptions{{}, {Version: 5, TD15: true}} {
		raw, err := p.Provider(o).Report([64]byte{7})
		if err != nil {
			t.Fatal(err)
		}
		if raw.Interface != Interface || raw.TDReport != nil {
			t.Errorf("raw %+v", raw.Interface)
		}
		q, err := dcap.ParseQuote(raw.Quote)
		if err != nil || q.(dcap.TDQuote).TDReport().ReportData[0] != 7 {
			t.Errorf("provider quote: %v", err)
		}
	}
}

func TestSpeed(t *testing.T) {
	start := time.Now()
	p := newPlatform(t)
	if _, err := p.Quote([64]byte{}, QuoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Collateral(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), sgxsim.CollateralOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("New+Quote+Collateral took %v", d)
	} else {
		t.Logf("New+Quote+Collateral: %v", d)
	}
}

package sgxsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

var (
	testSeed = []byte("cloudra sgxsim test seed")
	testTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

func newPlatform(t testing.TB) *Platform {
	t.Helper()
	p, err := New(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeterministic(t *testing.T) {
	a, b := newPlatform(t), newPlatform(t)
	pa, pb := a.Machine().PKI(), b.Machine().PKI()
	for _, pair := range [][2]*x509.Certificate{
		{pa.Root(), pb.Root()}, {pa.PCKCA(), pb.PCKCA()}, {pa.TCBSigner(), pb.TCBSigner()},
		{a.Machine().PCK(false), b.Machine().PCK(false)}, {a.Machine().PCK(true), b.Machine().PCK(true)},
	} {
		if !bytes.Equal(pair[0].Raw, pair[1].Raw) {
			t.Errorf("%s differs between two platforms of one seed", pair[0].Subject.CommonName)
		}
	}
	qa, _ := a.Quote([64]byte{1}, QuoteOptions{})
	qb, _ := b.Quote([64]byte{1}, QuoteOptions{})
	if !bytes.Equal(qa, qb) {
		t.Error("quote not deterministic")
	}
	fa, _ := a.CollateralFiles(testTime, CollateralOptions{})
	fb, _ := b.CollateralFiles(testTime, CollateralOptions{})
	for i := range fa {
		if fa[i].Name != fb[i].Name || !bytes.Equal(fa[i].Data, fb[i].Data) {
			t.Errorf("%s not deterministic", fa[i].Name)
		}
	}
	c, err := New([]byte("another seed"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c.Root().RawSubjectPublicKeyInfo, a.Root().RawSubjectPublicKeyInfo) || c.MREnclave() == a.MREnclave() {
		t.Error("different seeds, same platform")
	}
	if _, err := New(nil); err == nil {
		t.Error("empty seed accepted")
	}
	// The TDX machine of the same seed shares the PKI but not the PCK.
	m, err := NewMachine(pa, TDX)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(m.PCK(false).RawSubjectPublicKeyInfo, a.Machine().PCK(false).RawSubjectPublicKeyInfo) || m.FMSPC() == a.Machine().FMSPC() {
		t.Error("TDX and SGX machines share a PCK key or FMSPC")
	}
}

func TestChain(t *testing.T) {
	p := newPlatform(t)
	pki := p.Machine().PKI()
	for _, c := range []*x509.Certificate{pki.Root(), pki.PCKCA(), pki.TCBSigner(), p.Machine().PCK(false), p.Machine().PCK(true)} {
		if len(c.Subject.Organization) != 1 || !strings.Contains(c.Subject.Organization[0], "NOT INTEL") ||
			len(c.Subject.OrganizationalUnit) != 1 || !strings.Contains(c.Subject.OrganizationalUnit[0], "NOT INTEL") {
			t.Errorf("%s not marked as simulated", c.Subject)
		}
		if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
			t.Errorf("%s signed with %v", c.Subject.CommonName, c.SignatureAlgorithm)
		}
	}
	if !strings.Contains(pki.Root().Subject.CommonName, "NOT INTEL") {
		t.Error("root CN not marked")
	}
	if pki.PCKCA().Subject.CommonName != dcap.PlatformCACN || pki.TCBSigner().Subject.CommonName != pcs.TCBSigningCN {
		t.Error("CA or TCB signer common name is not the one verifiers select")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(pki.Root())
	inter.AddCert(pki.PCKCA())
	for _, leaf := range []*x509.Certificate{p.Machine().PCK(false), p.Machine().PCK(true), pki.TCBSigner()} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: testTime,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: %v", leaf.Subject.CommonName, err)
		}
	}
	if !pki.PCKCA().MaxPathLenZero || pki.Root().MaxPathLen != 1 || p.Machine().PCK(false).IsCA || pki.TCBSigner().IsCA {
		t.Error("basic constraints differ from Intel's profile")
	}
	// The dcap chain check the verifiers run.
	c, err := dcap.VerifyPCKChain([]*x509.Certificate{p.Machine().PCK(false), pki.PCKCA(), pki.Root()}, []*x509.Certificate{pki.Root()}, testTime)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Machine().TCB(false)
	if c.CA != "platform" || c.Ext.FMSPC != p.Machine().FMSPC() || c.Ext.CompSVN != want.CompSVN || c.Ext.PCESVN != want.PCESVN ||
		c.Ext.CPUSVN != want.CompSVN || c.Ext.SGXType != dcap.SGXTypeScalable || c.Ext.PlatformInstanceID == nil || c.Ext.Configuration == nil {
		t.Errorf("PCK extension %v", c.Ext)
	}
	for _, f := range []func(time.Time) ([]byte, error){pki.RootCACRL, func(at time.Time) ([]byte, error) { return pki.PCKCRL(at) }} {
		der, err := f(testTime)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := pcs.ParseCRL(der)
		if err != nil {
			t.Fatal(err)
		}
		issuer := pki.Root()
		if crl.Issuer.CommonName == dcap.PlatformCACN {
			issuer = pki.PCKCA()
		}
		if err := pcs.VerifyCRL(crl, issuer, testTime.Add(time.Hour)); err != nil {
			t.Errorf("CRL: %v", err)
		}
	}
}

// pckFromQuote extracts the PCK leaf certificate of a real quote's PEM chain.
func pckFromQuote(t *testing.T, quote []byte) *x509.Certificate {
	t.Helper()
	m := regexp.MustCompile(`(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----`).Find(quote)
	blk, _ := pem.Decode(m)
	if blk == nil {
		t.Fatal("no PEM certificate in the quote")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExtensionMatchesIntel re-encodes the SGX extension of real PCK
// certificates (a Platform-CA one from a TDX host, a Processor-CA one from
// an SGX host) from their parsed values and requires Intel's exact bytes.
func TestExtensionMatchesIntel(t *testing.T) {
	for _, rel := range []string{"tdx/dcapqvl-v4-uptodate/quote.bin", "sgx/dcapqvl-v3-configuration-swhardening/quote.bin", "sgx/automata-v3-00606a-swhardening/quote.bin"} {
		leaf := pckFromQuote(t, vectortest.Read(t, rel))
		var real []byte
		for _, e := range leaf.Extensions {
			if e.Id.Equal(dcap.OIDSGXExtension()) {
				real = e.Value
				if e.Critical {
					t.Errorf("%s: critical", rel)
				}
			}
		}
		x, err := dcap.ParsePCKExtension(real)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		got, err := ExtensionDER(x)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, real) {
			t.Errorf("%s: re-encoded extension differs from Intel's\n got %x\nwant %x", rel, got, real)
		}
	}
	// The simulated PCK's extension is non-critical too.
	for _, e := range newPlatform(t).Machine().PCK(false).Extensions {
		if e.Id.Equal(dcap.OIDSGXExtension()) && e.Critical {
			t.Error("simulated SGX extension is critical")
		}
	}
}

func TestQuoteLayout(t *testing.T) {
	p := newPlatform(t)
	var rd [64]byte
	copy(rd[:], "nonce nonce nonce")
	raw, err := p.Quote(rd, QuoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Independent of the parser: offsets of Intel ECDSA Quote Library API and TDX DCAP Quoting Library API.
	le := binary.LittleEndian
	vendor := dcap.IntelQEVendorID()
	if le.Uint16(raw[0:]) != 3 || le.Uint16(raw[2:]) != 2 || le.Uint32(raw[4:]) != 0 ||
		!bytes.Equal(raw[12:28], vendor[:]) || !bytes.Equal(raw[48+320:48+384], rd[:]) ||
		le.Uint16(raw[10:]) != p.Machine().TCB(false).PCESVN || raw[48+48] != 0x05 {
		t.Errorf("header/body layout wrong: %x", raw[:64])
	}
	if int(le.Uint32(raw[432:]))+436 != len(raw) {
		t.Error("signature-data length does not span the rest")
	}
	q, err := dcap.ParseQuote(raw)
	if err != nil {
		t.Fatalf("ParseQuote: %v", err)
	}
	v3, ok := q.(*dcap.QuoteV3)
	if !ok {
		t.Fatalf("parsed as %T", q)
	}
	if v3.Pad != 0 || v3.Body.ReportData != rd || v3.Body.MREnclave != p.MREnclave() || v3.Body.Flags()&dcap.SGXAttrDebug != 0 ||
		v3.Body.CPUSVN != p.Machine().TCB(false).CompSVN || v3.Sig.OuterCertType != 0 || v3.Sig.QE.Cert.Type != dcap.CertTypePCKChain ||
		v3.Sig.QE.Report.ISVProdID != 1 || v3.Sig.QE.Report.MRSigner != p.Machine().QEMRSigner() {
		t.Errorf("parsed fields: %+v", v3.Body)
	}
	if err := dcap.VerifyQuoteSignature(q); err != nil {
		t.Error(err)
	}
	if err := dcap.CheckQEBinding(q.Signature()); err != nil {
		t.Error(err)
	}
	if !bytes.HasSuffix(v3.Sig.QE.Cert.Data, []byte("-----END CERTIFICATE-----\n\x00")) {
		t.Error("PCK chain does not end with the NUL Intel's QE writes")
	}
	certs, err := dcap.ParsePCKChain(v3.Sig.QE.Cert.Data)
	if err != nil || len(certs) != 3 || !bytes.Equal(certs[2].Raw, p.Root().Raw) {
		t.Fatalf("chain: %v", err)
	}
	if err := dcap.VerifyQEReportSignature(&v3.Sig.QE, certs[0].PublicKey.(*ecdsa.PublicKey)); err != nil {
		t.Error(err)
	}
	// QE REPORT_DATA, recomputed here.
	h := sha256.New()
	h.Write(v3.Sig.AttestationKey[:])
	h.Write(v3.Sig.QE.AuthData)
	if !bytes.Equal(v3.Sig.QE.Report.ReportData[:32], h.Sum(nil)) || len(v3.Sig.QE.AuthData) != 32 {
		t.Error("QE binding")
	}
}

func TestQuoteOptions(t *testing.T) {
	p := newPlatform(t)
	parse := func(o QuoteOptions) *dcap.QuoteV3 {
		t.Helper()
		raw, err := p.Quote([64]byte{}, o)
		if err != nil {
			t.Fatal(err)
		}
		q, err := dcap.ParseQuote(raw)
		if err != nil {
			t.Fatal(err)
		}
		return q.(*dcap.QuoteV3)
	}
	if q := parse(QuoteOptions{Debug: true}); q.Body.Flags() != 0x07 || dcap.VerifyQuoteSignature(q) != nil {
		t.Error("debug enclave")
	}
	q := parse(QuoteOptions{OutOfDateTCB: true})
	stale := p.Machine().TCB(true)
	certs, _ := dcap.ParsePCKChain(q.Sig.QE.Cert.Data)
	x, err := dcap.PCKExtensionOf(certs[0])
	if err != nil || x.CompSVN != stale.CompSVN || x.PCESVN != stale.PCESVN || q.Header.PCESVN != stale.PCESVN || q.Sig.QE.Report.CPUSVN != stale.CompSVN {
		t.Errorf("stale quote: %v %v", x, err)
	}
	if err := dcap.VerifyQEReportSignature(&q.Sig.QE, certs[0].PublicKey.(*ecdsa.PublicKey)); err != nil {
		t.Error(err)
	}
	if q := parse(QuoteOptions{TamperSignedBytes: true}); dcap.VerifyQuoteSignature(q) == nil {
		t.Error("tampered quote verifies")
	}
	mr := [32]byte{9}
	if q := parse(QuoteOptions{MREnclave: &mr}); q.Body.MREnclave != mr {
		t.Error("MREnclave option")
	}
}

func TestCollateral(t *testing.T) {
	p := newPlatform(t)
	for _, tee := range []TEE{SGX, TDX} {
		m := p.Machine()
		if tee == TDX {
			var err error
			if m, err = NewMachine(p.Machine().PKI(), TDX); err != nil {
				t.Fatal(err)
			}
		}
		files, err := m.CollateralFiles(testTime, CollateralOptions{})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string][]byte{}
		for _, f := range files {
			byName[f.Name] = f.Data
		}
		info, err := pcs.ParseTCBInfo(byName[FileTCBInfo])
		if err != nil {
			t.Fatalf("%v: %v", tee, err)
		}
		id, err := pcs.ParseQEIdentity(byName[FileQEIdentity])
		if err != nil {
			t.Fatalf("%v: %v", tee, err)
		}
		col, err := m.Collateral(testTime, CollateralOptions{})
		if err != nil {
			t.Fatal(err)
		}
		root := m.PKI().Root()
		if err := info.Verify(col, root, testTime); err != nil {
			t.Errorf("%v: tcb info: %v", tee, err)
		}
		if err := id.Verify(col, root, testTime); err != nil {
			t.Errorf("%v: qe identity: %v", tee, err)
		}
		if err := info.Verify(col, root, testTime.Add(CollateralValidity)); err == nil {
			t.Errorf("%v: tcb info valid after its window", tee)
		}
		wantTEE := pcs.SGX
		if tee == TDX {
			wantTEE = pcs.TDX
		}
		if err := info.Match(wantTEE, m.FMSPC(), [2]byte{}); err != nil || id.Match(wantTEE) != nil {
			t.Errorf("%v: match: %v", tee, err)
		}
		if len(info.TCBLevels) != 2 || info.TCBLevels[0].Status != pcs.UpToDate || info.TCBLevels[1].Status != pcs.OutOfDate {
			t.Errorf("%v: levels", tee)
		}
		if _, err := pcs.FindTCBInfo(col, wantTEE, m.FMSPC(), root, testTime); err != nil {
			t.Error(err)
		}
		if err := pcs.CheckRevocation(col, m.PCK(false), m.PKI().PCKCA(), testTime); err != nil {
			t.Error(err)
		}
		// Platform evaluation at the current and stale TCB.
		for _, stale := range []bool{false, true} {
			tcb := m.TCB(stale)
			var ev *pcs.TCBEvaluation
			if tee == TDX {
				ev, err = pcs.EvaluateTDX(info, tcb.CompSVN, tcb.PCESVN, [16]byte{6, 1, 3})
			} else {
				ev, err = pcs.EvaluateSGX(info, tcb.CompSVN, tcb.PCESVN)
			}
			want := pcs.UpToDate
			if stale {
				want = pcs.OutOfDate
			}
			if err != nil || ev.Status != want {
				t.Errorf("%v stale=%v: %v %v", tee, stale, ev, err)
			}
		}
		// The signature covers the exact inner bytes: one changed byte fails.
		bad := bytes.Replace(byName[FileTCBInfo], []byte(`"tcbEvaluationDataNumber":19`), []byte(`"tcbEvaluationDataNumber":18`), 1)
		if bi, err := pcs.ParseTCBInfo(bad); err != nil || bi.Verify(col, root, testTime) == nil {
			t.Errorf("%v: modified tcb info verifies (%v)", tee, err)
		}
		// Revoked PCK.
		rcol, _ := m.Collateral(testTime, CollateralOptions{RevokePCK: true})
		if err := pcs.CheckRevocation(rcol, m.PCK(false), m.PKI().PCKCA(), testTime); err == nil {
			t.Errorf("%v: revoked PCK passes", tee)
		}
	}
}

func TestProvider(t *testing.T) {
	p := newPlatform(t)
	raw, err := p.Provider(QuoteOptions{}).Report([64]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	if raw.Interface != Interface || raw.AttestationType != "dcap" || raw.Quote[48+320] != 7 {
		t.Errorf("raw %+v", raw.Interface)
	}
}

func TestSpeed(t *testing.T) {
	start := time.Now()
	p := newPlatform(t)
	if _, err := p.Quote([64]byte{}, QuoteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Collateral(testTime, CollateralOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("New+Quote+Collateral took %v", d)
	} else {
		t.Logf("New+Quote+Collateral: %v", d)
	}
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.40s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// jsonPath descends into raw by object keys and array indices.
func jsonPath(t *testing.T, raw []byte, path ...any) json.RawMessage {
	t.Helper()
	cur := json.RawMessage(raw)
	for _, p := range path {
		switch p := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(cur, &m); err != nil {
				t.Fatal(err)
			}
			cur = m[p]
		case int:
			var a []json.RawMessage
			if err := json.Unmarshal(cur, &a); err != nil || len(a) <= p {
				t.Fatalf("no element %d", p)
			}
			cur = a[p]
		}
	}
	return cur
}

// TestCollateralKeyOrder: simulated TCB Info and QE Identity serialise
// their objects with Intel's key order (the signature covers the bytes, so
// the order is part of what a verifier sees).
func TestCollateralKeyOrder(t *testing.T) {
	p := newPlatform(t)
	tdxM, err := NewMachine(p.Machine().PKI(), TDX)
	if err != nil {
		t.Fatal(err)
	}
	get := func(m *Machine, name string) []byte {
		files, err := m.CollateralFiles(testTime, CollateralOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name == name {
				return f.Data
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	paths := [][]any{
		{"tcbInfo"}, {"tcbInfo", "tcbLevels", 0}, {"tcbInfo", "tcbLevels", 0, "tcb"},
		{"tcbInfo", "tcbLevels", 0, "tcb", "sgxtcbcomponents", 0}, {"tcbInfo", "tdxModule"},
		{"tcbInfo", "tdxModuleIdentities", 0}, {"tcbInfo", "tdxModuleIdentities", 0, "tcbLevels", 0},
	}
	realTDX := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/collateral/tcb_info.json")
	simTDX := get(tdxM, FileTCBInfo)
	for _, path := range paths {
		if got, want := objectKeys(t, jsonPath(t, simTDX, path...)), objectKeys(t, jsonPath(t, realTDX, path...)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("TDX TCB Info %v keys %v, Intel %v", path, got, want)
		}
	}
	realSGX := vectortest.Read(t, "sgx/automata-v3-00606a-swhardening/collateral/tcb_info.json")
	simSGX := get(p.Machine(), FileTCBInfo)
	if got, want := objectKeys(t, jsonPath(t, simSGX, "tcbInfo")), objectKeys(t, jsonPath(t, realSGX, "tcbInfo")); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("SGX TCB Info keys %v, Intel %v", got, want)
	}
	for _, c := range []struct {
		m    *Machine
		real string
	}{{tdxM, "tdx/dcapqvl-v4-uptodate/collateral/qe_identity.json"}, {p.Machine(), "sgx/automata-v3-00606a-swhardening/collateral/qe_identity.json"}} {
		realID := vectortest.Read(t, c.real)
		simID := get(c.m, FileQEIdentity)
		for _, path := range [][]any{{"enclaveIdentity"}, {"enclaveIdentity", "tcbLevels", 0}} {
			if got, want := objectKeys(t, jsonPath(t, simID, path...)), objectKeys(t, jsonPath(t, realID, path...)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%v QE Identity %v keys %v, Intel %v", c.m.TEE(), path, got, want)
			}
		}
	}
	if got := objectKeys(t, simTDX); strings.Join(got, ",") != "tcbInfo,signature" {
		t.Errorf("envelope keys %v", got)
	}
}

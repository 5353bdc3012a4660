package snpsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/sim/internal/simtest"
)

var testSeed = []byte("cloudra snpsim test seed")

func newPlatform(t testing.TB) *Platform {
	t.Helper()
	return simtest.New(t, string(testSeed), New)
}

// leInt reads a little-endian zero-extended component, independently of
// the marshaller.
func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// verifyReport is a minimal independent check of a simulated report.
func verifyReport(t *testing.T, rep []byte, vcek *x509.Certificate) bool {
	t.Helper()
	if len(rep) != 0x4A0 {
		t.Fatalf("report is %d bytes", len(rep))
	}
	pub, ok := vcek.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatal("VCEK key is not ECDSA")
	}
	h := sha512.Sum384(rep[:0x2A0])
	r, s := leInt(rep[0x2A0:0x2E8]), leInt(rep[0x2E8:0x330])
	for _, b := range rep[0x330:0x4A0] {
		if b != 0 {
			t.Fatal("signature tail not zero")
		}
	}
	return ecdsa.Verify(pub, h[:], r, s)
}

func TestDeterministic(t *testing.T) {
	a, b := newPlatform(t), newPlatform(t)
	if !bytes.Equal(a.ARK().RawSubjectPublicKeyInfo, b.ARK().RawSubjectPublicKeyInfo) ||
		!bytes.Equal(a.VCEK().RawSubjectPublicKeyInfo, b.VCEK().RawSubjectPublicKeyInfo) ||
		a.ChipID() != b.ChipID() {
		t.Error("same seed, different platform")
	}
	c := simtest.New(t, "another seed", New)
	if bytes.Equal(a.VCEK().RawSubjectPublicKeyInfo, c.VCEK().RawSubjectPublicKeyInfo) || a.ChipID() == c.ChipID() {
		t.Error("different seeds, same platform")
	}
	if _, err := New(nil); err == nil {
		t.Error("empty seed accepted")
	}
	ra, _ := a.Report([64]byte{1}, 0, ReportOptions{})
	rb, _ := b.Report([64]byte{1}, 0, ReportOptions{})
	if !bytes.Equal(ra, rb) {
		t.Error("report not deterministic")
	}
}

func TestReportLayout(t *testing.T) {
	p := newPlatform(t)
	var rd [64]byte
	copy(rd[:], "nonce nonce nonce")
	rep, err := p.Report(rd, 0, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !verifyReport(t, rep, p.VCEK()) {
		t.Fatal("signature does not verify")
	}
	le := binary.LittleEndian
	chip := p.ChipID()
	meas := p.Measurement()
	checks := []struct {
		name string
		ok   bool
	}{
		{"version 3", le.Uint32(rep[0:]) == 3},
		{"policy 0x30000", le.Uint64(rep[8:]) == 0x30000},
		{"vmpl", le.Uint32(rep[0x30:]) == 0},
		{"sig algo", le.Uint32(rep[0x34:]) == 1},
		{"current tcb", hex.EncodeToString(rep[0x38:0x40]) == "0300000000000873"},
		{"reported tcb", hex.EncodeToString(rep[0x180:0x188]) == "0300000000000873"},
		{"committed tcb", hex.EncodeToString(rep[0x1E0:0x1E8]) == "0300000000000873"},
		{"launch tcb", hex.EncodeToString(rep[0x1F0:0x1F8]) == "0300000000000873"},
		{"report data", bytes.Equal(rep[0x50:0x90], rd[:])},
		{"measurement", bytes.Equal(rep[0x90:0xC0], meas[:])},
		{"cpuid", rep[0x188] == 0x19 && rep[0x189] == 0x01},
		{"reserved 0x18B", bytes.Equal(rep[0x18B:0x1A0], make([]byte, 21))},
		{"chip id", bytes.Equal(rep[0x1A0:0x1E0], chip[:])},
		{"reserved 0x1F8", bytes.Equal(rep[0x1F8:0x2A0], make([]byte, 0x2A0-0x1F8))},
		{"reserved 0x4C", bytes.Equal(rep[0x4C:0x50], make([]byte, 4))},
		{"report id ma", bytes.Equal(rep[0x160:0x180], bytes.Repeat([]byte{0xFF}, 32))},
		{"fw 1.55.22", rep[0x1E8] == 22 && rep[0x1E9] == 55 && rep[0x1EA] == 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong", c.name)
		}
	}
	if DefaultTCB().Uint64() != 0x7308000000000003 {
		t.Errorf("TCB u64 %#x", DefaultTCB().Uint64())
	}
}

func TestVCEKExtensions(t *testing.T) {
	p := newPlatform(t)
	chip := p.ChipID()
	want := map[string]string{
		"1.3.6.1.4.1.3704.1.1":   "020100",
		"1.3.6.1.4.1.3704.1.2":   "16054d696c616e", // IA5String "Milan"
		"1.3.6.1.4.1.3704.1.3.1": "020103",
		"1.3.6.1.4.1.3704.1.3.2": "020100",
		"1.3.6.1.4.1.3704.1.3.3": "020108",
		"1.3.6.1.4.1.3704.1.3.4": "020100",
		"1.3.6.1.4.1.3704.1.3.5": "020100",
		"1.3.6.1.4.1.3704.1.3.6": "020100",
		"1.3.6.1.4.1.3704.1.3.7": "020100",
		"1.3.6.1.4.1.3704.1.3.8": "020173",
		"1.3.6.1.4.1.3704.1.4":   hex.EncodeToString(chip[:]),
	}
	got := map[string]string{}
	for _, e := range p.VCEK().Extensions {
		if strings.HasPrefix(e.Id.String(), "1.3.6.1.4.1.3704.") {
			got[e.Id.String()] = hex.EncodeToString(e.Value)
			if e.Critical {
				t.Errorf("%s critical", e.Id)
			}
		}
	}
	for oid, v := range want {
		if got[oid] != v {
			t.Errorf("%s = %s, want %s", oid, got[oid], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d AMD extensions, want %d", len(got), len(want))
	}
	// Microcode SPLs ≥ 0x80 need a leading zero byte (AMD KDS spec #57230).
	e, err := intExt(oidUcodeSPL, 0xd9)
	if err != nil || hex.EncodeToString(e.Value) != "020200d9" {
		t.Errorf("0xd9 encodes as %x", e.Value)
	}
	if p.VCEK().SerialNumber.Sign() != 0 || p.VCEK().Subject.CommonName != "SEV-VCEK" {
		t.Error("VCEK serial/CN")
	}
}

func TestChain(t *testing.T) {
	p := newPlatform(t)
	for _, c := range []*x509.Certificate{p.ARK(), p.ASK(), p.VCEK()} {
		if len(c.Subject.Organization) != 1 || !strings.Contains(c.Subject.Organization[0], "NOT AMD") {
			t.Errorf("%s not marked as simulated", c.Subject)
		}
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(p.ARK())
	inter.AddCert(p.ASK())
	if _, err := p.VCEK().Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter,
		CurrentTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		t.Fatal(err)
	}
	// A chain minted in another process (another New with the same seed)
	// verifies under this process's ARK: only the keys are deterministic.
	q := newPlatform(t)
	if err := q.ASK().CheckSignatureFrom(p.ARK()); err != nil {
		t.Errorf("cross-process chain: %v", err)
	}
	for _, c := range []*x509.Certificate{p.ARK(), p.ASK(), p.VCEK()} {
		if c.SignatureAlgorithm != x509.SHA384WithRSAPSS {
			t.Errorf("%s signed with %v", c.Subject.CommonName, c.SignatureAlgorithm)
		}
	}
	if k, ok := p.ARK().PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 4096 {
		t.Error("ARK is not RSA-4096")
	}
	if !p.ASK().MaxPathLenZero || !p.ASK().IsCA || p.ASK().KeyUsage != x509.KeyUsageCertSign {
		t.Error("ASK constraints")
	}
	crl, err := p.CRL(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rl, err := x509.ParseRevocationList(crl)
	if err != nil || rl.CheckSignatureFrom(p.ARK()) != nil {
		t.Fatalf("CRL: %v", err)
	}
}

func TestCertTable(t *testing.T) {
	p := newPlatform(t)
	tab := p.CertTable()
	le := binary.LittleEndian
	wantGUIDs := []string{
		"63da758de6644564adc5f4b93be8accd",
		"4ab7b379bbac4fe4a02f05aef327c782",
		"c0b406a4a80349529743 3fb6014cd0ae",
	}
	ders := [][]byte{p.VCEK().Raw, p.ASK().Raw, p.ARK().Raw}
	for i, g := range wantGUIDs {
		e := tab[i*24 : i*24+24]
		if hex.EncodeToString(e[:16]) != strings.ReplaceAll(g, " ", "") {
			t.Errorf("entry %d GUID %x", i, e[:16])
		}
		off, n := le.Uint32(e[16:]), le.Uint32(e[20:])
		if off < 96 || uint64(off)+uint64(n) > uint64(len(tab)) || !bytes.Equal(tab[off:off+n], ders[i]) {
			t.Errorf("entry %d: off %d len %d", i, off, n)
		}
	}
	if !bytes.Equal(tab[72:96], make([]byte, 24)) {
		t.Error("no terminator")
	}
}

func TestNegativeOptions(t *testing.T) {
	p := newPlatform(t)
	le := binary.LittleEndian
	two := uint32(2)
	old := TCB{Bootloader: 3, SNP: 8, Microcode: 0x60}

	rep, _ := p.Report([64]byte{}, 0, ReportOptions{Debug: true})
	if le.Uint64(rep[8:])&PolicyDebug == 0 || !verifyReport(t, rep, p.VCEK()) {
		t.Error("debug report")
	}
	rep, _ = p.Report([64]byte{}, 0, ReportOptions{VMPL: &two})
	if le.Uint32(rep[0x30:]) != 2 || !verifyReport(t, rep, p.VCEK()) {
		t.Error("other-VMPL report")
	}
	rep, _ = p.Report([64]byte{}, 0, ReportOptions{ReportedTCB: &old})
	if le.Uint64(rep[0x180:]) != old.Uint64() || !verifyReport(t, rep, p.VCEK()) {
		t.Error("wrong-TCB report")
	}
	rep, _ = p.Report([64]byte{}, 0, ReportOptions{CurrentTCB: &old})
	if le.Uint64(rep[0x38:]) != old.Uint64() || le.Uint64(rep[0x180:]) != DefaultTCB().Uint64() {
		t.Error("old current TCB report")
	}
	rep, _ = p.Report([64]byte{}, 0, ReportOptions{TamperSignedBytes: true})
	if verifyReport(t, rep, p.VCEK()) {
		t.Error("tampered report verifies")
	}
	if _, err := p.Report([64]byte{}, 0, ReportOptions{GuestVMPL: 2}); err == nil {
		t.Error("VMPL below guest VMPL accepted")
	}
	if _, err := p.Report([64]byte{}, 4, ReportOptions{}); err == nil {
		t.Error("VMPL 4 accepted")
	}
}

func TestProvider(t *testing.T) {
	p := newPlatform(t)
	raw, err := p.Provider(ReportOptions{Extended: true, GuestVMPL: 2}).Report([64]byte{7}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Interface != Interface || !bytes.Equal(raw.CertTable, p.CertTable()) || raw.Report[0x50] != 7 {
		t.Errorf("raw %+v", raw.Interface)
	}
	raw, err = p.Provider(ReportOptions{}).Report([64]byte{}, 0)
	if err != nil || raw.CertTable != nil {
		t.Fatalf("standard: %v", err)
	}
}

func TestSpeed(t *testing.T) {
	start := time.Now()
	p := newPlatform(t)
	if _, err := p.Report([64]byte{}, 0, ReportOptions{Extended: true}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("New+Report took %v", d)
	} else {
		t.Logf("New+Report: %v", d)
	}
}

// TestSignatureASN1 checks that r and s land in the right halves: a
// signature with r and s swapped must fail.
func TestSignatureHalves(t *testing.T) {
	p := newPlatform(t)
	rep, _ := p.Report([64]byte{}, 0, ReportOptions{})
	swapped := bytes.Clone(rep)
	copy(swapped[0x2A0:0x2E8], rep[0x2E8:0x330])
	copy(swapped[0x2E8:0x330], rep[0x2A0:0x2E8])
	if verifyReport(t, swapped, p.VCEK()) {
		t.Error("swapped r/s verifies")
	}
	var sig struct{ R, S *big.Int }
	h := sha512.Sum384(rep[:0x2A0])
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{leInt(rep[0x2A0:0x2E8]), leInt(rep[0x2E8:0x330])})
	if _, err := asn1.Unmarshal(der, &sig); err != nil || !ecdsa.VerifyASN1(p.VCEK().PublicKey.(*ecdsa.PublicKey), h[:], der) {
		t.Error("ASN.1 form does not verify")
	}
}

// TestCheckerOnRealReport runs the independent checker used above on a
// real Milan report and its KDS VCEK, so the checker itself is known good;
// it also compares the real VCEK's extension encodings with the simulated
// ones for the OIDs both carry.
func TestCheckerOnRealReport(t *testing.T) {
	rep := vectortest.Read(t, "snp/gosevguest-milan-v2-vcek/attestation.bin")
	vcek, err := x509.ParseCertificate(vectortest.Read(t, "snp/gosevguest-milan-v2-vcek/vcek.der"))
	if err != nil {
		t.Fatal(err)
	}
	if !verifyReport(t, rep, vcek) {
		t.Fatal("checker rejects a real report")
	}
	real := map[string][]byte{}
	for _, e := range vcek.Extensions {
		real[e.Id.String()] = e.Value
	}
	sim := newPlatform(t).VCEK()
	for _, e := range sim.Extensions {
		id := e.Id.String()
		r, ok := real[id]
		if !strings.HasPrefix(id, "1.3.6.1.4.1.3704.") || !ok {
			continue
		}
		// The HWID is raw bytes of the same length; the others share the tag.
		if id == "1.3.6.1.4.1.3704.1.4" {
			if len(r) != len(e.Value) {
				t.Errorf("HWID: real %d bytes, simulated %d", len(r), len(e.Value))
			}
			continue
		}
		if len(r) == 0 || len(e.Value) == 0 || r[0] != e.Value[0] {
			t.Errorf("%s: real %x, simulated %x", id, r, e.Value)
		}
	}
}

package pcs

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
)

// vector is one real DCAP artifact with the verdict its PROVENANCE.md and
// the README of the vector collection state.
type vector struct {
	dir, collateral string
	tee             TEE
	at              string
	status          Status // merged
	platform        Status
	module          Status // 0: no module identity involved
	advisories      []string
	tcbDate         string // "" when not supported
}

var vectors = []vector{
	{dir: "tdx/automata-v4-gcp", tee: TDX, at: "2025-10-24T07:10:18Z", status: OutOfDate, platform: OutOfDate, module: UpToDate,
		advisories: []string{"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}, tcbDate: "2023-08-09T00:00:00Z"},
	{dir: "tdx/dcapqvl-near-v4", tee: TDX, at: "2025-09-15T00:00:00Z", status: UpToDate, platform: UpToDate, module: UpToDate, tcbDate: "2024-03-13T00:00:00Z"},
	{dir: "tdx/dcapqvl-v4-uptodate", tee: TDX, at: "2025-07-01T00:00:00Z", status: UpToDate, platform: UpToDate, module: UpToDate, tcbDate: "2024-03-13T00:00:00Z"},
	{dir: "tdx/dcapqvl-v5-td15-tcb-not-supported", tee: TDX, at: "2026-03-01T00:00:00Z", status: NotSupported, platform: NotSupported, module: UpToDate},
	{dir: "tdx/gotdxguest-v4-spr-e4", tee: TDX, at: "2023-07-01T01:00:00Z", status: NotSupported, platform: NotSupported},
	{dir: "tdx/gotdxguest-v5-td15", tee: TDX, at: "2026-02-25T00:00:00Z", status: UpToDate, platform: UpToDate, module: UpToDate, tcbDate: "2024-11-13T00:00:00Z"},
	{dir: "tdx/gotdxguest-v5-td15", collateral: "collateral-alt-dcapqvl", tee: TDX, at: "2026-02-25T00:00:00Z", status: UpToDate, platform: UpToDate, module: UpToDate, tcbDate: "2024-11-13T00:00:00Z"},
	{dir: "tdx/trustee-v4-spr-tdx_quote_4", tee: TDX, at: "2023-07-01T01:00:00Z", status: UpToDate, platform: UpToDate, tcbDate: "2023-02-15T00:00:00Z"},
	{dir: "tdx/trustee-v5-alibaba-tdx_quote_5", tee: TDX, at: "2025-06-25T00:00:00Z", status: NotSupported, platform: NotSupported, module: UpToDate},
	{dir: "sgx/automata-v3-00606a-swhardening", tee: SGX, at: "2025-08-15T05:45:00Z", status: SWHardeningNeeded, platform: SWHardeningNeeded,
		advisories: []string{"INTEL-SA-00615"}, tcbDate: "2024-03-13T00:00:00Z"},
	{dir: "sgx/dcapqvl-v3-configuration-swhardening", tee: SGX, at: "2025-07-01T00:00:00Z", status: ConfigurationAndSWHardeningNeeded, platform: ConfigurationAndSWHardeningNeeded,
		advisories: []string{"INTEL-SA-00289", "INTEL-SA-00615"}, tcbDate: "2024-03-13T00:00:00Z"},
	{dir: "sgx/trustee-occlum-v3-debug-outofdate", tee: SGX, at: "2025-08-15T05:45:00Z", status: OutOfDate, platform: OutOfDate,
		advisories: []string{"INTEL-SA-00586", "INTEL-SA-00614", "INTEL-SA-00615", "INTEL-SA-00657", "INTEL-SA-00730", "INTEL-SA-00738", "INTEL-SA-00767", "INTEL-SA-00828", "INTEL-SA-00837", "INTEL-SA-00960"},
		tcbDate:    "2021-11-10T00:00:00Z"},
}

func (v vector) colDir() string {
	c := v.collateral
	if c == "" {
		c = "collateral"
	}
	return v.dir + "/" + c
}

func (v vector) name() string { return v.colDir() }

func root(t testing.TB) *x509.Certificate {
	t.Helper()
	r, err := intelroot.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// loadCollateral builds a cloudra.Collateral from a vector's collateral folder
// the way the collateral loader does: documents carry their issuer chains,
// CRLs are parsed, the PCK CRL issuer chain joins the certificates.
func loadCollateral(t testing.TB, dir string) *cloudra.Collateral {
	t.Helper()
	col := &cloudra.Collateral{}
	col.Documents = append(col.Documents,
		cloudra.Document{Kind: "tcb-info", Raw: vectortest.Read(t, dir+"/tcb_info.json"), IssuerChain: vectortest.Read(t, dir+"/tcb_info_issuer_chain.pem"), Source: dir + "/tcb_info.json"},
		cloudra.Document{Kind: "qe-identity", Raw: vectortest.Read(t, dir+"/qe_identity.json"), IssuerChain: vectortest.Read(t, dir+"/qe_identity_issuer_chain.pem"), Source: dir + "/qe_identity.json"},
	)
	for _, f := range []string{"root_ca_crl.der", "pck_crl.der"} {
		crl, err := ParseCRL(vectortest.Read(t, dir+"/"+f))
		if err != nil {
			t.Fatalf("%s/%s: %v", dir, f, err)
		}
		col.AddCRL(crl)
	}
	for _, c := range ParsePEMChain(vectortest.Read(t, dir+"/pck_crl_issuer_chain.pem")) {
		col.AddCertificate(c)
	}
	return col
}

// platformInputs are the values a quote verifier hands to this package,
// read from the independent checker's CHECK-OUTPUT.txt of the vector.
type platformInputs struct {
	fmspc           [6]byte
	pceID           [2]byte
	comps           [16]byte
	pcesvn          uint16
	tee, tee2       [16]byte
	hasTee2         bool
	qeSVN, qeProdID uint16
	qeMisc          uint32
	qeAttr          [16]byte
	qeMRSigner      [32]byte
	mrSignerSeam    [48]byte
	seamAttributes  [8]byte
}

func field(t testing.TB, out, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("CHECK-OUTPUT: no match for %s", re)
	}
	return m[1]
}

func hexInto(t testing.TB, dst []byte, s string) {
	t.Helper()
	if err := hexFixed(dst, s, "test"); err != nil {
		t.Fatal(err)
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func inputs(t testing.TB, dir string) platformInputs {
	t.Helper()
	out := string(vectortest.Read(t, dir+"/CHECK-OUTPUT.txt"))
	var p platformInputs
	hexInto(t, p.fmspc[:], field(t, out, `PCK ext: FMSPC=([0-9a-f]{12})`))
	hexInto(t, p.pceID[:], field(t, out, `PCEID=([0-9a-f]{4})`))
	p.pcesvn = uint16(atoi(t, field(t, out, `PCESVN=(\d+)`)))
	for i, s := range strings.Fields(field(t, out, `compSVN=\[([0-9 ]+)\]`)) {
		p.comps[i] = byte(atoi(t, s))
	}
	if strings.Contains(out, "TEE_TCB_SVN=") {
		hexInto(t, p.tee[:], field(t, out, `TEE_TCB_SVN=([0-9a-f]{32})`))
		hexInto(t, p.mrSignerSeam[:], field(t, out, `MRSIGNERSEAM=([0-9a-f]{96})`))
		hexInto(t, p.seamAttributes[:], field(t, out, `SEAMATTRIBUTES=([0-9a-f]{16})`))
	}
	if strings.Contains(out, "TEE_TCB_SVN2=") {
		hexInto(t, p.tee2[:], field(t, out, `TEE_TCB_SVN2=([0-9a-f]{32})`))
		p.hasTee2 = true
	}
	hexInto(t, p.qeMRSigner[:], field(t, out, `QE report: .*MRSIGNER=([0-9a-f]{64})`))
	p.qeProdID = uint16(atoi(t, field(t, out, `QE report: .*ISVPRODID=(\d+)`)))
	p.qeSVN = uint16(atoi(t, field(t, out, `QE report: .*ISVSVN=(\d+)`)))
	var misc [4]byte
	hexInto(t, misc[:], field(t, out, `QE report: .*MISCSELECT=([0-9a-f]{8})`))
	p.qeMisc = uint32(misc[0]) | uint32(misc[1])<<8 | uint32(misc[2])<<16 | uint32(misc[3])<<24
	hexInto(t, p.qeAttr[:], field(t, out, `QE report: .*ATTR=([0-9a-f]{32})`))
	return p
}

// evaluate runs the whole collateral path a quote verifier runs.
func evaluate(t testing.TB, v vector, col *cloudra.Collateral, at time.Time) (Verdict, error) {
	t.Helper()
	in := inputs(t, v.dir)
	r := root(t)
	info, err := FindTCBInfo(col, v.tee, in.fmspc, r, at)
	if err != nil {
		return Verdict{}, err
	}
	if err := info.Match(v.tee, in.fmspc, in.pceID); err != nil {
		return Verdict{}, err
	}
	qeid, err := FindQEIdentity(col, v.tee, r, at)
	if err != nil {
		return Verdict{}, err
	}
	qe, err := EvaluateQE(qeid, in.qeSVN, in.qeMisc, in.qeAttr, in.qeMRSigner, in.qeProdID)
	if err != nil {
		return Verdict{}, err
	}
	var p *TCBEvaluation
	switch {
	case v.tee == SGX:
		p, err = EvaluateSGX(info, in.comps, in.pcesvn)
	case in.hasTee2:
		if err := info.CheckTDXModule(in.mrSignerSeam, in.seamAttributes, in.tee); err != nil {
			return Verdict{}, err
		}
		p, err = EvaluateTDX15(info, in.comps, in.pcesvn, in.tee, in.tee2)
	default:
		if err := info.CheckTDXModule(in.mrSignerSeam, in.seamAttributes, in.tee); err != nil {
			return Verdict{}, err
		}
		p, err = EvaluateTDX(info, in.comps, in.pcesvn, in.tee)
	}
	if err != nil {
		return Verdict{}, err
	}
	return Converge(p, qe), nil
}

func TestVectors(t *testing.T) {
	vectortest.Dir(t)
	for _, v := range vectors {
		t.Run(v.name(), func(t *testing.T) {
			col := loadCollateral(t, v.colDir())
			at := vectortest.Time(t, v.at)
			got, err := evaluate(t, v, col, at)
			if err != nil {
				t.Fatalf("at %s: %v", v.at, err)
			}
			if got.Status != v.status || got.Platform != v.platform || got.Module != v.module || got.QE != UpToDate {
				t.Errorf("status %v platform %v module %v qe %v; want %v %v %v UpToDate", got.Status, got.Platform, got.Module, got.QE, v.status, v.platform, v.module)
			}
			if !slices.Equal(got.Advisories, v.advisories) {
				t.Errorf("advisories %v, want %v", got.Advisories, v.advisories)
			}
			if v.tcbDate != "" && !got.TCBDate.Equal(vectortest.Time(t, v.tcbDate)) {
				t.Errorf("tcbDate %s, want %s", got.TCBDate, v.tcbDate)
			}
			if got.RelaunchAdvised {
				t.Error("relaunch advised on a vector that states none")
			}

			// The CRLs verify at the vector time: the root CRL under the
			// root, the PCK CRL under its Platform/Processor CA.
			r := root(t)
			if _, err := FindCRL(col, r, at); err != nil {
				t.Errorf("root CA CRL: %v", err)
			}
			pckCA := ParsePEMChain(vectortest.Read(t, v.colDir()+"/pck_crl_issuer_chain.pem"))[0]
			if CAFromIssuerCN(pckCA.Subject.CommonName) == "" {
				t.Errorf("pck crl issuer %q", pckCA.Subject.CommonName)
			}
			if err := CheckRevocation(col, pckCA, r, at); err != nil {
				t.Errorf("PCK CA revocation: %v", err)
			}
			if _, err := FindCRL(col, pckCA, at); err != nil {
				t.Errorf("PCK CRL: %v", err)
			}

			// Freshness: after the TCB Info's nextUpdate and before its
			// issueDate the same collateral is rejected as stale.
			in := inputs(t, v.dir)
			info, err := FindTCBInfo(col, v.tee, in.fmspc, r, at)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := FindTCBInfo(col, v.tee, in.fmspc, r, info.NextUpdate); !errors.Is(err, ErrExpired) {
				t.Errorf("at nextUpdate: %v, want ErrExpired", err)
			}
			if _, err := evaluate(t, v, col, time.Date(2053, 7, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
				t.Errorf("in 2053: %v, want ErrExpired", err)
			}
			if _, err := FindTCBInfo(col, v.tee, in.fmspc, r, info.IssueDate.Add(-time.Second)); !errors.Is(err, ErrNotYetValid) {
				t.Errorf("before issueDate: %v, want ErrNotYetValid", err)
			}
			if err := info.Verify(col, r, info.IssueDate); err != nil {
				t.Errorf("at issueDate (inclusive): %v", err)
			}
		})
	}
}

// TestRenewedSigningCertificate: the 2018–2025 and 2025–2032 "Intel SGX TCB
// Signing" certificates share key and serial (vectors README, V8). Verification
// must pick the one valid at the time, whatever the order, and an expired
// copy alone must fail as stale.
func TestRenewedSigningCertificate(t *testing.T) {
	vectortest.Dir(t)
	oldChain := ParsePEMChain(vectortest.Read(t, "tdx/gotdxguest-v4-spr-e4/collateral/tcb_info_issuer_chain.pem"))
	newChain := ParsePEMChain(vectortest.Read(t, "tdx/automata-v4-gcp/collateral/tcb_info_issuer_chain.pem"))
	oldCert, newCert := oldChain[0], newChain[0]
	if oldCert.SerialNumber.Cmp(newCert.SerialNumber) != 0 || string(oldCert.RawSubjectPublicKeyInfo) != string(newCert.RawSubjectPublicKeyInfo) {
		t.Fatal("the two signing certificates should share serial and key")
	}
	r := root(t)
	info2023, err := ParseTCBInfo(vectortest.Read(t, "tdx/gotdxguest-v4-spr-e4/collateral/tcb_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	info2025, err := ParseTCBInfo(vectortest.Read(t, "tdx/automata-v4-gcp/collateral/tcb_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	at2023 := vectortest.Time(t, "2023-07-01T01:00:00Z")
	at2025 := vectortest.Time(t, "2025-10-24T07:10:18Z")
	both := &cloudra.Collateral{Certificates: []*x509.Certificate{newCert, oldCert}}
	bothRev := &cloudra.Collateral{Certificates: []*x509.Certificate{oldCert, newCert}}
	for _, c := range []*cloudra.Collateral{both, bothRev} {
		if err := info2023.Verify(c, r, at2023); err != nil {
			t.Errorf("2023 with both certificates: %v", err)
		}
		if err := info2025.Verify(c, r, at2025); err != nil {
			t.Errorf("2025 with both certificates: %v", err)
		}
	}
	if err := info2023.Verify(&cloudra.Collateral{Certificates: []*x509.Certificate{newCert}}, r, at2023); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("2023 with only the 2025 certificate: %v, want ErrNotYetValid", err)
	}
	if err := info2025.Verify(&cloudra.Collateral{Certificates: []*x509.Certificate{oldCert}}, r, at2025); !errors.Is(err, ErrExpired) {
		t.Errorf("2025 with only the expired 2018 certificate: %v, want ErrExpired", err)
	}
	if err := info2025.Verify(&cloudra.Collateral{}, r, at2025); !errors.Is(err, ErrChain) {
		t.Errorf("no signer: %v, want ErrChain", err)
	}
	// A signer that does not chain to the pinned root (here: the root
	// itself offered as signer, with the PCK CA) is a chain failure.
	pckCA := ParsePEMChain(vectortest.Read(t, "tdx/automata-v4-gcp/collateral/pck_crl_issuer_chain.pem"))[0]
	if err := info2025.Verify(&cloudra.Collateral{Certificates: []*x509.Certificate{newCert}}, pckCA, at2025); !errors.Is(err, ErrChain) {
		t.Errorf("wrong root: %v, want ErrChain", err)
	}
}

// TestCollateralTypeConfusion: SGX TCB Info or QE identity for a TDX quote
// and vice versa (docs/pitfalls-dcap.md C4).
func TestCollateralTypeConfusion(t *testing.T) {
	vectortest.Dir(t)
	r := root(t)
	sgxDir := "sgx/automata-v3-00606a-swhardening/collateral"
	col := loadCollateral(t, sgxDir)
	at := vectortest.Time(t, "2025-08-15T05:45:00Z")
	info, err := FindTCBInfo(col, SGX, [6]byte{0x00, 0x60, 0x6a}, r, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FindTCBInfo(col, TDX, info.FMSPC, r, at); !errors.Is(err, ErrMismatch) {
		t.Errorf("SGX TCB Info for TDX: %v, want ErrMismatch", err)
	}
	if err := info.Match(TDX, info.FMSPC, info.PCEID); !errors.Is(err, ErrMismatch) {
		t.Errorf("Match(TDX): %v", err)
	}
	if _, err := EvaluateTDX(info, [16]byte{}, 0, [16]byte{}); !errors.Is(err, ErrMismatch) {
		t.Errorf("EvaluateTDX(SGX info): %v", err)
	}
	if _, err := FindQEIdentity(col, TDX, r, at); !errors.Is(err, ErrMismatch) {
		t.Errorf("QE identity for TDX: %v, want ErrMismatch", err)
	}
	if _, err := FindTCBInfo(col, SGX, [6]byte{1, 2, 3, 4, 5, 6}, r, at); !errors.Is(err, ErrNotFound) {
		t.Errorf("other FMSPC: %v, want ErrNotFound", err)
	} else {
		var mce *cloudra.MissingCollateralError
		if !errors.As(err, &mce) || !strings.Contains(mce.Items[0].URL, "/sgx/certification/v4/tcb?fmspc=010203040506") {
			t.Errorf("missing-collateral URL: %v", err)
		}
	}
	if err := info.Match(SGX, info.FMSPC, [2]byte{0, 1}); !errors.Is(err, ErrMismatch) {
		t.Errorf("PCE-ID mismatch: %v", err)
	}

	tdxCol := loadCollateral(t, "tdx/automata-v4-gcp/collateral")
	tdxAt := vectortest.Time(t, "2025-10-24T07:10:18Z")
	tinfo, err := FindTCBInfo(tdxCol, TDX, [6]byte{0x00, 0x80, 0x6f, 0x05}, r, tdxAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EvaluateSGX(tinfo, [16]byte{}, 0); !errors.Is(err, ErrMismatch) {
		t.Errorf("EvaluateSGX(TDX info): %v", err)
	}
	if _, err := FindQEIdentity(tdxCol, SGX, r, tdxAt); !errors.Is(err, ErrMismatch) {
		t.Errorf("TD_QE identity for SGX: %v", err)
	}
}

func TestCRLs(t *testing.T) {
	vectortest.Dir(t)
	dir := "tdx/automata-v4-gcp/collateral"
	r := root(t)
	at := vectortest.Time(t, "2025-10-24T07:10:18Z")
	der := vectortest.Read(t, dir+"/pck_crl.der")
	crl, err := ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCRL(append(slices.Clone(der), 0)); !errors.Is(err, ErrParse) {
		t.Errorf("trailing byte: %v, want ErrParse", err)
	}
	pckCA := ParsePEMChain(vectortest.Read(t, dir+"/pck_crl_issuer_chain.pem"))[0]
	if err := VerifyCRL(crl, pckCA, at); err != nil {
		t.Fatal(err)
	}
	if err := VerifyCRL(crl, r, at); !errors.Is(err, ErrMismatch) {
		t.Errorf("PCK CRL under the root: %v, want ErrMismatch", err)
	}
	if err := VerifyCRL(crl, pckCA, crl.NextUpdate); !errors.Is(err, ErrExpired) {
		t.Errorf("at nextUpdate: %v, want ErrExpired", err)
	}
	if err := VerifyCRL(crl, pckCA, crl.ThisUpdate.Add(-time.Second)); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("before thisUpdate: %v, want ErrNotYetValid", err)
	}
	// One flipped bit in the signed TBS (a revoked serial) keeps the CRL
	// parseable but breaks its signature.
	bad := slices.Clone(der)
	serial := crl.RevokedCertificateEntries[0].SerialNumber.Bytes()
	i := strings.Index(string(bad), string(serial))
	if i < 0 {
		t.Fatal("serial not found in CRL")
	}
	bad[i+len(serial)-1] ^= 1
	if badCRL, err := ParseCRL(bad); err != nil {
		t.Fatalf("mutated CRL must still parse: %v", err)
	} else if err := VerifyCRL(badCRL, pckCA, at); !errors.Is(err, ErrSignature) {
		t.Errorf("mutated CRL: %v, want ErrSignature", err)
	}

	listed := &x509.Certificate{SerialNumber: crl.RevokedCertificateEntries[3].SerialNumber}
	if !IsRevoked(crl, listed) {
		t.Error("listed serial not revoked")
	}
	leafSerial, _ := hex.DecodeString("b6e84ed5c5dee11da48e3b4c4d35c2ae55ab2153")
	leaf := &x509.Certificate{SerialNumber: new(big.Int).SetBytes(leafSerial)}
	if IsRevoked(crl, leaf) {
		t.Error("the vector's PCK leaf is reported revoked")
	}
	col := &cloudra.Collateral{CRLs: []*x509.RevocationList{crl}}
	if err := CheckRevocation(col, listed, pckCA, at); !errors.Is(err, ErrRevoked) {
		t.Errorf("CheckRevocation(listed): %v", err)
	}
	if err := CheckRevocation(&cloudra.Collateral{}, leaf, pckCA, at); !errors.Is(err, ErrNotFound) {
		t.Errorf("no CRL: %v, want ErrNotFound", err)
	}
}

// qvlGreater is Intel QVL's TcbLevel::operator> for TCB Info v3: SGX
// component SVNs compared lexicographically, then PCESVN, then (TDX) the TDX
// component SVNs.
func qvlGreater(a, b *TCBLevel) bool {
	for i := range a.SGXComponents {
		if a.SGXComponents[i].SVN != b.SGXComponents[i].SVN {
			return a.SGXComponents[i].SVN > b.SGXComponents[i].SVN
		}
	}
	if a.PCESVN != b.PCESVN {
		return a.PCESVN > b.PCESVN
	}
	if a.TDXComponents != nil && b.TDXComponents != nil {
		for i := range a.TDXComponents {
			if a.TDXComponents[i].SVN != b.TDXComponents[i].SVN {
				return a.TDXComponents[i].SVN > b.TDXComponents[i].SVN
			}
		}
	}
	return false
}

// TestLevelOrder: every real TCB Info lists its levels in the order QVL's
// std::set<TcbLevel, greater> iterates them, so walking the document order
// is QVL's walk (docs/pitfalls-dcap.md C6, dcap-qvl #126).
func TestLevelOrder(t *testing.T) {
	vectortest.Dir(t)
	for _, v := range vectors {
		d := v.colDir()
		info, err := ParseTCBInfo(vectortest.Read(t, d+"/tcb_info.json"))
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(info.TCBLevels); i++ {
			if !qvlGreater(&info.TCBLevels[i-1], &info.TCBLevels[i]) {
				t.Errorf("%s: level %d is not QVL-greater than level %d", d, i-1, i)
			}
		}
	}
}

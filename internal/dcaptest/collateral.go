package dcaptest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcapbuild"
)

// Level is one TCB level of forged TCB Info.
type Level struct {
	Comp       [16]byte
	PCESVN     uint16
	TDX        [16]byte // TDX only
	Status     string
	Date       time.Time
	Advisories []string
}

// Module is a forged TDX module identity.
type Module struct {
	ID       string // "TDX_01"
	MRSigner [48]byte
	// Levels: isvsvn → status, highest first.
	Levels []IdentityLevel
}

// IdentityLevel is a QE or module identity level.
type IdentityLevel struct {
	ISVSVN     uint16
	Status     string
	Advisories []string
}

// TCBInfo describes forged TCB Info.
type TCBInfo struct {
	ID         string // "TDX" or "SGX"
	FMSPC      [6]byte
	PCEID      [2]byte
	Issue      time.Time
	Next       time.Time
	EvalNumber int
	Levels     []Level
	// TDXModuleMRSigner and TDXModuleAttributes(Mask) form tdxModule.
	TDXModuleMRSigner [48]byte
	Modules           []Module
}

// QEIdentity describes a forged enclave identity.
type QEIdentity struct {
	ID         string // "TD_QE" or "QE"
	Issue      time.Time
	Next       time.Time
	EvalNumber int
	MRSigner   [32]byte
	ISVProdID  uint16
	Attributes [16]byte
	AttrMask   [16]byte
	Levels     []IdentityLevel
}

// DefaultTCBInfo matches the kit's platform and its default quotes:
// UpToDate at the kit's SVNs, OutOfDate one level below.
func (k *Kit) DefaultTCBInfo(tdx bool) *TCBInfo {
	t := &TCBInfo{ID: "SGX", FMSPC: k.FMSPC, PCEID: k.PCEID, Issue: k.Now.AddDate(0, 0, -15), Next: k.Now.AddDate(0, 0, 15), EvalNumber: 17}
	up := Level{Comp: k.CompSVN, PCESVN: k.PCESVN, Status: "UpToDate", Date: k.Now.AddDate(0, -6, 0)}
	old := Level{PCESVN: 5, Status: "OutOfDate", Date: k.Now.AddDate(-2, 0, 0), Advisories: []string{"INTEL-SA-00001"}}
	if tdx {
		t.ID = "TDX"
		up.TDX = [16]byte{0, 0, 3}
		t.Modules = []Module{{ID: "TDX_01", Levels: []IdentityLevel{{ISVSVN: 4, Status: "UpToDate"}, {ISVSVN: 2, Status: "OutOfDate", Advisories: []string{"INTEL-SA-00002"}}}}}
	}
	t.Levels = []Level{up, old}
	return t
}

// DefaultQEIdentity matches the kit's default QE reports (ISVSVN 8).
func (k *Kit) DefaultQEIdentity(tdx bool) *QEIdentity {
	q := &QEIdentity{ID: "QE", ISVProdID: 1, Issue: k.Now.AddDate(0, 0, -15), Next: k.Now.AddDate(0, 0, 15), EvalNumber: 17,
		MRSigner: QEMRSigner, Attributes: QEAttrs, AttrMask: [16]byte{0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		Levels: []IdentityLevel{{ISVSVN: 8, Status: "UpToDate"}, {ISVSVN: 0, Status: "OutOfDate", Advisories: []string{"INTEL-SA-00003"}}}}
	if tdx {
		q.ID, q.ISVProdID = "TD_QE", 2
	}
	return q
}

func idLevels(ls []IdentityLevel, date time.Time) []dcapbuild.IdentityLevel {
	out := make([]dcapbuild.IdentityLevel, len(ls))
	for i, l := range ls {
		out[i] = dcapbuild.IdentityLevel{TCB: dcapbuild.ISVSVN{ISVSVN: int(l.ISVSVN)}, TCBDate: dcapbuild.Time(date), TCBStatus: l.Status, AdvisoryIDs: l.Advisories}
	}
	return out
}

// Marshal returns the signed inner object (before signing).
func (t *TCBInfo) Marshal() []byte {
	j := dcapbuild.TCBInfo{ID: t.ID, Version: 3, IssueDate: dcapbuild.Time(t.Issue), NextUpdate: dcapbuild.Time(t.Next),
		FMSPC: dcapbuild.Hex(t.FMSPC[:]), PCEID: dcapbuild.Hex(t.PCEID[:]), TCBEvaluationDataNumber: t.EvalNumber}
	mask := "FFFFFFFFFFFFFFFF"
	if t.ID == "TDX" {
		j.TDXModule = &dcapbuild.TDXModule{MRSigner: dcapbuild.Hex(t.TDXModuleMRSigner[:]), Attributes: "0000000000000000", AttributesMask: mask}
		for _, m := range t.Modules {
			j.TDXModuleIdentities = append(j.TDXModuleIdentities, dcapbuild.TDXModuleIdentity{ID: m.ID,
				TDXModule: dcapbuild.TDXModule{MRSigner: dcapbuild.Hex(m.MRSigner[:]), Attributes: "0000000000000000", AttributesMask: mask},
				TCBLevels: idLevels(m.Levels, t.Issue.AddDate(0, -6, 0))})
		}
	}
	for _, l := range t.Levels {
		jl := dcapbuild.TCBLevel{TCB: dcapbuild.TCB{SGX: dcapbuild.Components(l.Comp, nil), PCESVN: int(l.PCESVN)},
			TCBDate: dcapbuild.Time(l.Date), TCBStatus: l.Status, AdvisoryIDs: l.Advisories}
		if t.ID == "TDX" {
			jl.TCB.TDX = dcapbuild.Components(l.TDX, nil)
		}
		j.TCBLevels = append(j.TCBLevels, jl)
	}
	return must(json.Marshal(j))
}

// Marshal returns the signed inner object.
func (q *QEIdentity) Marshal() []byte {
	return must(json.Marshal(dcapbuild.QEIdentity{ID: q.ID, Version: 2, IssueDate: dcapbuild.Time(q.Issue), NextUpdate: dcapbuild.Time(q.Next),
		TCBEvaluationDataNumber: q.EvalNumber, MiscSelect: "00000000", MiscSelectMask: "FFFFFFFF",
		Attributes: dcapbuild.Hex(q.Attributes[:]), AttributesMask: dcapbuild.Hex(q.AttrMask[:]),
		MRSigner: dcapbuild.Hex(q.MRSigner[:]), ISVProdID: int(q.ISVProdID), TCBLevels: idLevels(q.Levels, q.Issue.AddDate(0, -6, 0))}))
}

// SignTCBInfo signs inner with the TCB signing key and wraps it.
func (k *Kit) SignTCBInfo(inner []byte) []byte {
	return dcapbuild.Envelope("tcbInfo", inner, sign(k.TCBKey, inner))
}

// SignQEIdentity signs inner with the TCB signing key and wraps it.
func (k *Kit) SignQEIdentity(inner []byte) []byte {
	return dcapbuild.Envelope("enclaveIdentity", inner, sign(k.TCBKey, inner))
}

// IssuerChainPEM is the TCB signer and the root, as PCS headers carry them.
func (k *Kit) IssuerChainPEM() []byte {
	return dcapbuild.PEMChain(k.TCBSigner, k.Root)
}

// CRL signs a CRL by issuer listing the revoked certificates.
func (k *Kit) CRL(issuer *x509.Certificate, issuerKey crypto.Signer, revoked ...*x509.Certificate) *x509.RevocationList {
	var entries []x509.RevocationListEntry
	for _, c := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: k.Now.AddDate(0, 0, -1)})
	}
	der := must(x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: k.Now.AddDate(0, 0, -10), NextUpdate: k.Now.AddDate(0, 0, 20),
		RevokedCertificateEntries: entries,
	}, issuer, issuerKey))
	return must(x509.ParseRevocationList(der))
}

// Collateral builds a complete, valid collateral set for the kit.
func (k *Kit) Collateral(tdx bool) *cloudra.Collateral {
	return k.CollateralWith(k.DefaultTCBInfo(tdx).Marshal(), k.DefaultQEIdentity(tdx).Marshal())
}

// CollateralWith builds collateral around the given TCB Info and QE
// Identity inner objects (signed here).
func (k *Kit) CollateralWith(tcbInner, qeInner []byte) *cloudra.Collateral {
	col := &cloudra.Collateral{}
	col.Documents = []cloudra.Document{
		{Kind: "tcb-info", Raw: k.SignTCBInfo(tcbInner), IssuerChain: k.IssuerChainPEM(), Source: "forged"},
		{Kind: "qe-identity", Raw: k.SignQEIdentity(qeInner), IssuerChain: k.IssuerChainPEM(), Source: "forged"},
	}
	col.AddCRL(k.CRL(k.CA, k.CAKey))
	col.AddCRL(k.CRL(k.Root, k.RootKey))
	col.AddCertificate(k.CA)
	return col
}

package sgxsim

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudra/cloudra"
)

// CollateralValidity is the window of simulated TCB Info, QE Identity and
// CRLs, as Intel PCS issues them (30 days).
const CollateralValidity = 30 * 24 * time.Hour

// TCBEvaluationDataNumber is the simulated collateral's
// tcbEvaluationDataNumber.
const TCBEvaluationDataNumber = 19

// SimulatedAdvisory is the advisory ID of the simulated OutOfDate levels.
// It is not an Intel advisory.
const SimulatedAdvisory = "CLOUDRA-SIM-SA-00001"

// CollateralOptions shape the simulated collateral. The zero value is what
// PCS would serve for an honest, unrevoked machine.
type CollateralOptions struct {
	// RevokePCK lists the machine's PCK certificates (current and stale) on
	// the PCK CRL.
	RevokePCK bool
}

// File is one collateral file as PCS serves it, named as in a PCS dump
// (the layout `collateral.LoadDir` reads: X.json beside X_issuer_chain.pem).
type File struct {
	Name string
	// Kind is the bundle artifact kind for the file: cloudra.KindPCSJSON,
	// cloudra.KindCRL or cloudra.KindCertificate.
	Kind cloudra.Kind
	Data []byte
}

// Collateral file names.
const (
	FileTCBInfo            = "tcb_info.json"
	FileTCBInfoChain       = "tcb_info_issuer_chain.pem"
	FileQEIdentity         = "qe_identity.json"
	FileQEIdentityChain    = "qe_identity_issuer_chain.pem"
	FilePCKCRL             = "pck_crl.der"
	FilePCKCRLIssuerChain  = "pck_crl_issuer_chain.pem"
	FileRootCACRL          = "root_ca_crl.der"
	collateralSourcePrefix = "cloudra simulator: "
)

// CollateralFiles returns the collateral PCS would serve for this machine
// at time at: TCB Info v3 and QE Identity v2 signed by the simulated TCB
// signer, issued one day before at and valid for [CollateralValidity],
// their issuer chains, the PCK CA's CRL and the root CA's CRL (same window).
// The result is a function of the seed, at and o.
func (m *Machine) CollateralFiles(at time.Time, o CollateralOptions) ([]File, error) {
	issue := at.UTC().Truncate(time.Second).Add(-24 * time.Hour)
	tcbInner, err := json.Marshal(m.tcbInfo(issue))
	if err != nil {
		return nil, fmt.Errorf("sgxsim: tcb info: %w", err)
	}
	tcbInfo, err := m.pki.SignTCBInfo(tcbInner)
	if err != nil {
		return nil, err
	}
	qeInner, err := json.Marshal(m.qeIdentity(issue))
	if err != nil {
		return nil, fmt.Errorf("sgxsim: qe identity: %w", err)
	}
	qeID, err := m.pki.SignQEIdentity(qeInner)
	if err != nil {
		return nil, err
	}
	var revoked []*x509.Certificate
	if o.RevokePCK {
		revoked = []*x509.Certificate{m.pck, m.stalePCK}
	}
	pckCRL, err := m.pki.PCKCRL(issue, revoked...)
	if err != nil {
		return nil, err
	}
	rootCRL, err := m.pki.RootCACRL(issue)
	if err != nil {
		return nil, err
	}
	return []File{
		{FileTCBInfo, cloudra.KindPCSJSON, tcbInfo},
		{FileTCBInfoChain, cloudra.KindCertificate, m.pki.TCBIssuerChainPEM()},
		{FileQEIdentity, cloudra.KindPCSJSON, qeID},
		{FileQEIdentityChain, cloudra.KindCertificate, m.pki.TCBIssuerChainPEM()},
		{FilePCKCRL, cloudra.KindCRL, pckCRL},
		{FilePCKCRLIssuerChain, cloudra.KindCertificate, m.pki.PCKCRLIssuerChainPEM()},
		{FileRootCACRL, cloudra.KindCRL, rootCRL},
	}, nil
}

// Collateral returns [Machine.CollateralFiles] as a collateral set ready for
// the verifiers: the two documents with their issuer chains, both CRLs and
// the PCK CA certificate.
func (m *Machine) Collateral(at time.Time, o CollateralOptions) (*cloudra.Collateral, error) {
	files, err := m.CollateralFiles(at, o)
	if err != nil {
		return nil, err
	}
	col := &cloudra.Collateral{Sources: map[string]string{}}
	src := func(f File) string {
		s := sha256.Sum256(f.Data)
		col.Sources[hex.EncodeToString(s[:])] = collateralSourcePrefix + f.Name
		return collateralSourcePrefix + f.Name
	}
	for _, f := range files {
		switch f.Name {
		case FileTCBInfo:
			col.Documents = append(col.Documents, cloudra.Document{Kind: "tcb-info", Raw: f.Data, IssuerChain: m.pki.TCBIssuerChainPEM(), Source: src(f)})
		case FileQEIdentity:
			col.Documents = append(col.Documents, cloudra.Document{Kind: "qe-identity", Raw: f.Data, IssuerChain: m.pki.TCBIssuerChainPEM(), Source: src(f)})
		case FilePCKCRL, FileRootCACRL:
			crl, err := x509.ParseRevocationList(f.Data)
			if err != nil {
				return nil, fmt.Errorf("sgxsim: %s: %w", f.Name, err)
			}
			src(f)
			col.AddCRL(crl)
		}
	}
	col.AddCertificate(m.pki.ca)
	return col, nil
}

// JSON shapes of PCS TCB Info v3 and enclave identity v2, fields in the
// order Intel serialises them.
type jComponent struct {
	SVN      int    `json:"svn"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

type jTCB struct {
	SGX    []jComponent `json:"sgxtcbcomponents"`
	PCESVN int          `json:"pcesvn"`
	TDX    []jComponent `json:"tdxtcbcomponents,omitempty"`
}

type jLevel struct {
	TCB         jTCB     `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

type jISVSVN struct {
	ISVSVN int `json:"isvsvn"`
}

type jIDLevel struct {
	TCB         jISVSVN  `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

type jModule struct {
	MRSigner       string `json:"mrsigner"`
	Attributes     string `json:"attributes"`
	AttributesMask string `json:"attributesMask"`
}

type jModuleIdentity struct {
	ID             string     `json:"id"`
	MRSigner       string     `json:"mrsigner"`
	Attributes     string     `json:"attributes"`
	AttributesMask string     `json:"attributesMask"`
	TCBLevels      []jIDLevel `json:"tcbLevels"`
}

type jTCBInfo struct {
	ID                      string            `json:"id"`
	Version                 int               `json:"version"`
	IssueDate               string            `json:"issueDate"`
	NextUpdate              string            `json:"nextUpdate"`
	FMSPC                   string            `json:"fmspc"`
	PCEID                   string            `json:"pceId"`
	TCBType                 int               `json:"tcbType"`
	TCBEvaluationDataNumber int               `json:"tcbEvaluationDataNumber"`
	TDXModule               *jModule          `json:"tdxModule,omitempty"`
	TDXModuleIdentities     []jModuleIdentity `json:"tdxModuleIdentities,omitempty"`
	TCBLevels               []jLevel          `json:"tcbLevels"`
}

type jQEIdentity struct {
	ID                      string     `json:"id"`
	Version                 int        `json:"version"`
	IssueDate               string     `json:"issueDate"`
	NextUpdate              string     `json:"nextUpdate"`
	TCBEvaluationDataNumber int        `json:"tcbEvaluationDataNumber"`
	MiscSelect              string     `json:"miscselect"`
	MiscSelectMask          string     `json:"miscselectMask"`
	Attributes              string     `json:"attributes"`
	AttributesMask          string     `json:"attributesMask"`
	MRSigner                string     `json:"mrsigner"`
	ISVProdID               int        `json:"isvprodid"`
	TCBLevels               []jIDLevel `json:"tcbLevels"`
}

// sgxComponentMeta and tdxComponentMeta give category and type of a
// component as Intel's TCB Info carries them (observed); the other
// components have an SVN only.
func sgxComponentMeta(i int) (string, string) {
	switch i {
	case 0:
		return "BIOS", "Early Microcode Update"
	case 1:
		return "OS/VMM", "SGX Late Microcode Update"
	case 2:
		return "OS/VMM", "TXT SINIT"
	case 3, 4, 5:
		return "BIOS", ""
	}
	return "", ""
}

func tdxComponentMeta(i int) (string, string) {
	switch i {
	case 0, 1:
		return "OS/VMM", "TDX Module"
	case 2:
		return "OS/VMM", "TDX Late Microcode Update"
	}
	return "", ""
}

func components(svn [16]byte, meta func(int) (string, string)) []jComponent {
	out := make([]jComponent, 16)
	for i := range svn {
		cat, typ := meta(i)
		out[i] = jComponent{SVN: int(svn[i]), Category: cat, Type: typ}
	}
	return out
}

func hexU(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// TEE TCB SVN levels of the simulated TDX TCB Info (tdxtcbcomponents). With
// a module of major version 1 (TEE_TCB_SVN[1] = 1), only bytes 2..15 are
// compared against them; bytes 0..1 are judged by module identity TDX_01.
var (
	tdxLevelCurrent = [16]byte{6, 1, 3}
	tdxLevelStale   = [16]byte{4, 1, 2}
)

// TDX module identity levels: isvsvn (TEE_TCB_SVN[0]) ≥ 4 is UpToDate, ≥ 2
// OutOfDate.
const (
	tdxModuleUpToDateSVN  = 4
	tdxModuleOutOfDateSVN = 2
)

func (m *Machine) tcbInfo(issue time.Time) *jTCBInfo {
	t := &jTCBInfo{
		ID: "SGX", Version: 3, IssueDate: ts(issue), NextUpdate: ts(issue.Add(CollateralValidity)),
		FMSPC: hexU(m.prof.fmspc[:]), PCEID: "0000", TCBEvaluationDataNumber: TCBEvaluationDataNumber,
	}
	upDate, oldDate := ts(day(issue.AddDate(0, -3, 0))), ts(day(issue.AddDate(-2, 0, 0)))
	up := jLevel{TCB: jTCB{SGX: components(m.prof.tcb.CompSVN, sgxComponentMeta), PCESVN: int(m.prof.tcb.PCESVN)},
		TCBDate: upDate, TCBStatus: "UpToDate"}
	old := jLevel{TCB: jTCB{SGX: components(m.prof.stale.CompSVN, sgxComponentMeta), PCESVN: int(m.prof.stale.PCESVN)},
		TCBDate: oldDate, TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}}
	if m.tee == TDX {
		t.ID = "TDX"
		up.TCB.TDX = components(tdxLevelCurrent, tdxComponentMeta)
		old.TCB.TDX = components(tdxLevelStale, tdxComponentMeta)
		// Intel's TDX module is signed by an all-zero MRSIGNERSEAM and runs
		// with SEAM_ATTRIBUTES 0 (observed in every real TCB Info).
		zero48 := hexU(make([]byte, 48))
		t.TDXModule = &jModule{MRSigner: zero48, Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF"}
		t.TDXModuleIdentities = []jModuleIdentity{
			{ID: "TDX_03", MRSigner: zero48, Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF",
				TCBLevels: []jIDLevel{{TCB: jISVSVN{3}, TCBDate: upDate, TCBStatus: "UpToDate"}}},
			{ID: "TDX_01", MRSigner: zero48, Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF",
				TCBLevels: []jIDLevel{
					{TCB: jISVSVN{tdxModuleUpToDateSVN}, TCBDate: upDate, TCBStatus: "UpToDate"},
					{TCB: jISVSVN{tdxModuleOutOfDateSVN}, TCBDate: oldDate, TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}},
				}},
		}
	}
	t.TCBLevels = []jLevel{up, old}
	return t
}

func (m *Machine) qeIdentity(issue time.Time) *jQEIdentity {
	id := "QE"
	if m.tee == TDX {
		id = "TD_QE"
	}
	return &jQEIdentity{
		ID: id, Version: 2, IssueDate: ts(issue), NextUpdate: ts(issue.Add(CollateralValidity)),
		TCBEvaluationDataNumber: TCBEvaluationDataNumber,
		MiscSelect:              "00000000", MiscSelectMask: "FFFFFFFF",
		Attributes: "11000000000000000000000000000000", AttributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
		MRSigner: hexU(m.qeMRSigner[:]), ISVProdID: int(m.prof.qeProdID),
		TCBLevels: []jIDLevel{
			{TCB: jISVSVN{int(m.prof.qeSVN)}, TCBDate: ts(day(issue.AddDate(0, -3, 0))), TCBStatus: "UpToDate"},
			{TCB: jISVSVN{0}, TCBDate: ts(day(issue.AddDate(-2, 0, 0))), TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}},
		},
	}
}

package sgxsim

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcapbuild"
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

func (m *Machine) tcbInfo(issue time.Time) *dcapbuild.TCBInfo {
	t := &dcapbuild.TCBInfo{
		ID: "SGX", Version: 3, IssueDate: dcapbuild.Time(issue), NextUpdate: dcapbuild.Time(issue.Add(CollateralValidity)),
		FMSPC: dcapbuild.Hex(m.prof.fmspc[:]), PCEID: "0000", TCBEvaluationDataNumber: TCBEvaluationDataNumber,
	}
	upDate, oldDate := dcapbuild.Time(day(issue.AddDate(0, -3, 0))), dcapbuild.Time(day(issue.AddDate(-2, 0, 0)))
	up := dcapbuild.TCBLevel{TCB: dcapbuild.TCB{SGX: dcapbuild.Components(m.prof.tcb.CompSVN, sgxComponentMeta), PCESVN: int(m.prof.tcb.PCESVN)},
		TCBDate: upDate, TCBStatus: "UpToDate"}
	old := dcapbuild.TCBLevel{TCB: dcapbuild.TCB{SGX: dcapbuild.Components(m.prof.stale.CompSVN, sgxComponentMeta), PCESVN: int(m.prof.stale.PCESVN)},
		TCBDate: oldDate, TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}}
	if m.tee == TDX {
		t.ID = "TDX"
		up.TCB.TDX = dcapbuild.Components(tdxLevelCurrent, tdxComponentMeta)
		old.TCB.TDX = dcapbuild.Components(tdxLevelStale, tdxComponentMeta)
		// Intel's TDX module is signed by an all-zero MRSIGNERSEAM and runs
		// with SEAM_ATTRIBUTES 0 (observed in every real TCB Info).
		module := dcapbuild.TDXModule{MRSigner: dcapbuild.Hex(make([]byte, 48)), Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF"}
		t.TDXModule = &module
		t.TDXModuleIdentities = []dcapbuild.TDXModuleIdentity{
			{ID: "TDX_03", TDXModule: module,
				TCBLevels: []dcapbuild.IdentityLevel{{TCB: dcapbuild.ISVSVN{ISVSVN: 3}, TCBDate: upDate, TCBStatus: "UpToDate"}}},
			{ID: "TDX_01", TDXModule: module,
				TCBLevels: []dcapbuild.IdentityLevel{
					{TCB: dcapbuild.ISVSVN{ISVSVN: tdxModuleUpToDateSVN}, TCBDate: upDate, TCBStatus: "UpToDate"},
					{TCB: dcapbuild.ISVSVN{ISVSVN: tdxModuleOutOfDateSVN}, TCBDate: oldDate, TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}},
				}},
		}
	}
	t.TCBLevels = []dcapbuild.TCBLevel{up, old}
	return t
}

func (m *Machine) qeIdentity(issue time.Time) *dcapbuild.QEIdentity {
	id := "QE"
	if m.tee == TDX {
		id = "TD_QE"
	}
	return &dcapbuild.QEIdentity{
		ID: id, Version: 2, IssueDate: dcapbuild.Time(issue), NextUpdate: dcapbuild.Time(issue.Add(CollateralValidity)),
		TCBEvaluationDataNumber: TCBEvaluationDataNumber,
		MiscSelect:              "00000000", MiscSelectMask: "FFFFFFFF",
		Attributes: "11000000000000000000000000000000", AttributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
		MRSigner: dcapbuild.Hex(m.qeMRSigner[:]), ISVProdID: int(m.prof.qeProdID),
		TCBLevels: []dcapbuild.IdentityLevel{
			{TCB: dcapbuild.ISVSVN{ISVSVN: int(m.prof.qeSVN)}, TCBDate: dcapbuild.Time(day(issue.AddDate(0, -3, 0))), TCBStatus: "UpToDate"},
			{TCB: dcapbuild.ISVSVN{ISVSVN: 0}, TCBDate: dcapbuild.Time(day(issue.AddDate(-2, 0, 0))), TCBStatus: "OutOfDate", AdvisoryIDs: []string{SimulatedAdvisory}},
		},
	}
}

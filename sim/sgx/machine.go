package sgxsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra/internal/dcapbuild"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// TEE selects the quoting enclave a [Machine] runs: the SGX QE (quote v3,
// enclave bodies) or the TD QE (quote v4/v5, TD bodies). TDX quotes are
// produced by an SGX enclave certified by the same SGX PKI, which is why
// the TDX simulator (package tdxsim) builds on a Machine. It is the TEE
// kind of the collateral (package pcs), so a machine's kind selects its
// TCB Info and QE Identity directly.
type TEE = pcs.TEE

// TEE kinds.
const (
	SGX = pcs.SGX
	TDX = pcs.TDX
)

// TCB is a platform TCB as a PCK certificate states it: the 16 SGX TCB
// component SVNs and the PCE SVN. The CPUSVN the certificate carries is the
// component SVNs as bytes, as on Intel's platforms (observed).
type TCB struct {
	CompSVN [16]byte
	PCESVN  uint16
}

// machineProfile is the fixed description of a simulated machine.
type machineProfile struct {
	fmspc      [6]byte
	tcb, stale TCB
	qeProdID   uint16
	qeSVN      uint16
}

// profile describes the simulated machine of tee. FMSPCs are made up ("C10D5A…") so they never name
// a real Intel part; TCB values are shaped like real ones (an SPR-like TDX
// host, an ICX-like SGX host). The stale TCB is what the machine had
// before its last microcode/PCE update: it matches the OutOfDate level.
func profile(tee TEE) (machineProfile, bool) {
	switch tee {
	case TDX:
		return machineProfile{
			fmspc:    [6]byte{0xc1, 0x0d, 0x5a, 0x00, 0x00, 0x81},
			tcb:      TCB{CompSVN: [16]byte{3, 3, 2, 2, 4, 1, 0, 5}, PCESVN: 11},
			stale:    TCB{CompSVN: [16]byte{2, 2, 2, 2, 3, 1, 0, 5}, PCESVN: 10},
			qeProdID: 2, // TD_QE (observed)
			qeSVN:    4,
		}, true
	case SGX:
		return machineProfile{
			fmspc:    [6]byte{0xc1, 0x0d, 0x5a, 0x00, 0x00, 0x00},
			tcb:      TCB{CompSVN: [16]byte{14, 14, 3, 3, 255, 255, 1}, PCESVN: 13},
			stale:    TCB{CompSVN: [16]byte{12, 12, 3, 3, 255, 255, 1}, PCESVN: 11},
			qeProdID: 1, // QE (observed)
			qeSVN:    8,
		}, true
	}
	return machineProfile{}, false
}

// QE report ATTRIBUTES: FLAGS 0x15 (INIT|MODE64BIT|PROVISIONKEY), XFRM 0xe7,
// as Intel's QE and TD QE carry them (observed); QE Identity masks them
// with FBFFFFFFFFFFFFFF… to 0x11.
var qeAttributes = [16]byte{0x15, 8: 0xe7}

// authData returns the QE authentication data of Intel's QEs: 32 bytes
// 0..31 (observed in every real quote).
func authData() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// Machine is one simulated SGX-capable machine: its PCK certificates at the
// current and at a stale TCB, the quoting enclave's attestation key and
// report, and the collateral PCS would serve for it.
type Machine struct {
	pki              *PKI
	tee              TEE
	prof             machineProfile
	pckKey, staleKey *ecdsa.PrivateKey
	pck, stalePCK    *x509.Certificate
	attKey           *ecdsa.PrivateKey
	attPub           [64]byte
	qeID             [16]byte
	qeMREnclave      [32]byte
	qeMRSigner       [32]byte
}

// NewMachine derives a machine running the quoting enclave of tee from the
// PKI's seed.
func NewMachine(pki *PKI, tee TEE) (*Machine, error) {
	prof, ok := profile(tee)
	if !ok {
		return nil, fmt.Errorf("sgxsim: unknown TEE %v", tee)
	}
	m := &Machine{pki: pki, tee: tee, prof: prof}
	l := tee.String() + " "
	var err error
	if m.pckKey, err = deriveKey(pki.seed, l+"pck"); err != nil {
		return nil, err
	}
	if m.staleKey, err = deriveKey(pki.seed, l+"pck stale"); err != nil {
		return nil, err
	}
	if m.attKey, err = deriveKey(pki.seed, l+"attestation key"); err != nil {
		return nil, err
	}
	if m.attPub, err = rawPublicKey(&m.attKey.PublicKey); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		label string
		out   []byte
	}{{"qe id", m.qeID[:]}, {"qe mrenclave", m.qeMREnclave[:]}, {"qe mrsigner", m.qeMRSigner[:]}} {
		if err := derive(pki.seed, l+d.label, d.out); err != nil {
			return nil, err
		}
	}
	var ppid, instance [16]byte
	if err := derive(pki.seed, l+"ppid", ppid[:]); err != nil {
		return nil, err
	}
	if err := derive(pki.seed, l+"platform instance id", instance[:]); err != nil {
		return nil, err
	}
	yes := true
	issue := func(key *ecdsa.PrivateKey, tcb TCB, label string) (*x509.Certificate, error) {
		// A Platform-CA PCK certificate of a multi-package (Scalable) platform,
		// with entries .1–.7 in Intel's order (Intel PCK certificate profile).
		inst := instance
		ext := &dcap.PCKExtension{
			PPID: ppid, CompSVN: tcb.CompSVN, PCESVN: tcb.PCESVN, CPUSVN: tcb.CompSVN,
			FMSPC: prof.fmspc, SGXType: dcap.SGXTypeScalable, PlatformInstanceID: &inst,
			Configuration: &dcap.PCKConfiguration{DynamicPlatform: &yes, CachedKeys: &yes, SMTEnabled: &yes},
		}
		return pki.IssuePCK(&key.PublicKey, ext, l+label)
	}
	if m.pck, err = issue(m.pckKey, prof.tcb, "current"); err != nil {
		return nil, err
	}
	if m.stalePCK, err = issue(m.staleKey, prof.stale, "stale"); err != nil {
		return nil, err
	}
	return m, nil
}

// PKI returns the machine's PKI.
func (m *Machine) PKI() *PKI { return m.pki }

// TEE returns the quoting enclave's kind.
func (m *Machine) TEE() TEE { return m.tee }

// FMSPC returns the machine's FMSPC.
func (m *Machine) FMSPC() [6]byte { return m.prof.fmspc }

// TCB returns the machine's current TCB, or with stale the older TCB that
// TCB Info rates OutOfDate.
func (m *Machine) TCB(stale bool) TCB {
	if stale {
		return m.prof.stale
	}
	return m.prof.tcb
}

// PCK returns the PCK certificate for the current TCB, or with stale the one
// issued for the stale TCB. Callers must not modify it.
func (m *Machine) PCK(stale bool) *x509.Certificate {
	if stale {
		return m.stalePCK
	}
	return m.pck
}

// QEMRSigner returns the simulated quoting enclave's MRSIGNER (the QE
// Identity's mrsigner).
func (m *Machine) QEMRSigner() [32]byte { return m.qeMRSigner }

// Header returns the 48-byte quote header (Intel DCAP quote header): version,
// attestation key type 2, TEE type, QE SVN and PCE SVN (v3 only; reserved
// zero in v4/v5), Intel's QE vendor ID, and user data = QE ID ‖ 4 zeros.
func (m *Machine) Header(version uint16, stale bool) []byte {
	b := binary.LittleEndian.AppendUint16(nil, version)
	b = binary.LittleEndian.AppendUint16(b, dcap.AttestationKeyECDSAP256)
	if m.tee == TDX {
		b = binary.LittleEndian.AppendUint32(b, dcap.TEETypeTDX)
		b = append(b, 0, 0, 0, 0)
	} else {
		b = binary.LittleEndian.AppendUint32(b, dcap.TEETypeSGX)
		b = binary.LittleEndian.AppendUint16(b, m.prof.qeSVN)
		b = binary.LittleEndian.AppendUint16(b, m.TCB(stale).PCESVN)
	}
	vendor := dcap.IntelQEVendorID()
	b = append(b, vendor[:]...)
	b = append(b, m.qeID[:]...)
	return append(b, 0, 0, 0, 0)
}

// Sign appends to signed (header ‖ body, exactly the bytes the attestation
// key signs) the u32 signature-data length and the signature data
// (Intel DCAP signature data): ECDSA r‖s by the attestation key over signed, the
// attestation key X‖Y, then the QE report (REPORT_DATA = SHA-256(attestation
// key ‖ QE auth data) ‖ zeros) signed by the PCK key, the QE auth data and
// certification data type 5 (PCK chain: leaf, PCK CA, root in PEM and a
// trailing NUL, as Intel's QE writes it). For TDX that QE part is wrapped in
// certification data type 6; SGX v3 carries it directly. With stale the
// machine is at its stale TCB: the QE report's CPUSVN and the PCK
// certificate are the stale ones.
func (m *Machine) Sign(signed []byte, stale bool) ([]byte, error) {
	if len(signed) < dcap.HeaderSize {
		return nil, errors.New("sgxsim: signed bytes shorter than a quote header")
	}
	tcb, pck, pckKey := m.prof.tcb, m.pck, m.pckKey
	if stale {
		tcb, pck, pckKey = m.prof.stale, m.stalePCK, m.staleKey
	}
	qe := dcap.EnclaveReport{
		CPUSVN:     tcb.CompSVN,
		Attributes: qeAttributes,
		MREnclave:  m.qeMREnclave,
		MRSigner:   m.qeMRSigner,
		ISVProdID:  m.prof.qeProdID,
		ISVSVN:     m.prof.qeSVN,
	}
	h := sha256.New()
	h.Write(m.attPub[:])
	auth := authData()
	h.Write(auth)
	copy(qe.ReportData[:32], h.Sum(nil))
	qeRaw := qe.Marshal()
	qeSig, err := signRS(pckKey, qeRaw)
	if err != nil {
		return nil, err
	}
	chain := append(dcapbuild.PEMChain(pck, m.pki.ca, m.pki.root), 0)
	inner := dcapbuild.QECertData(qeRaw, qeSig[:], auth, dcap.CertTypePCKChain, chain)
	quoteSig, err := signRS(m.attKey, signed)
	if err != nil {
		return nil, err
	}
	return dcapbuild.AppendSignatureData(bytes.Clone(signed), quoteSig[:], m.attPub[:], m.tee == TDX, inner), nil
}

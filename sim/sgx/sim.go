// Package sgxsim is a SIMULATED Intel SGX platform: a software stand-in for
// an SGX machine, its quoting enclave and Intel's provisioning
// certification service (PCS), for the no-hardware demo and end-to-end
// tests. It also provides the simulated Intel PKI and quoting enclave that
// the TDX simulator (package tdxsim) builds on.
//
// Nothing it produces is trusted by default. Its root is "cloudra simulated
// SGX Root CA - NOT INTEL", and every certificate carries the organisation
// "cloudra simulator - NOT INTEL"; quotes verify only where a verifier is
// given the root (sgx.WithTestRoot, tdx.WithTestRoot) and told to accept
// test roots (cloudra.Options.AllowTestRoots).
//
// What is simulated, and how faithfully:
//
//   - The PKI (Intel DCAP signature data; Intel PCK certificate profile; Intel PCS API v4): root CA, "Intel SGX PCK Platform CA",
//     PCK certificates whose SGX extension (1.2.840.113741.1.13.1) is
//     encoded entry for entry as Intel's (PPID, 16 TCB component SVNs,
//     PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type Scalable, platform instance
//     ID, configuration), the "Intel SGX TCB Signing" certificate, and the
//     root CA and PCK CA CRLs. All ECDSA P-256, as Intel's.
//   - SGX ECDSA quote v3 (Intel ECDSA Quote Library API and TDX DCAP Quoting Library API): header, ISV enclave report
//     body, attestation-key signature over header‖body, QE report signed by
//     the PCK key and bound to the attestation key, certification data type
//     5 with the PEM chain. TDX quotes (package tdxsim) differ only in header,
//     body and the type-6 wrapper.
//   - PCS collateral (Intel PCS API v4): TCB Info v3 and QE Identity v2 as PCS
//     JSON, signed over the exact inner bytes; levels UpToDate (the machine's
//     TCB) and OutOfDate (its stale TCB, advisory [SimulatedAdvisory]).
//
// Keys are derived from the seed (HKDF-SHA-256) and every signature uses
// RFC 6979 nonces, so the same seed yields byte-identical certificates and
// quotes in any process; collateral is a function of the seed and the time
// it is asked for. Building a platform costs a few P-256 signatures.
package sgxsim

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/sgx/device"
)

// Interface is what the simulated provider reports in [device.Raw.Interface].
const Interface = "simulated"

// Platform is one simulated SGX machine running one enclave.
type Platform struct {
	m         *Machine
	mrEnclave [32]byte
	mrSigner  [32]byte
}

// New builds the platform for seed. The same seed always yields the same
// PKI, PCK certificates, enclave measurement and byte-identical quotes.
func New(seed []byte) (*Platform, error) {
	pki, err := NewPKI(seed)
	if err != nil {
		return nil, err
	}
	m, err := NewMachine(pki, SGX)
	if err != nil {
		return nil, err
	}
	p := &Platform{m: m}
	if err := derive(pki.seed, "enclave mrenclave", p.mrEnclave[:]); err != nil {
		return nil, err
	}
	if err := derive(pki.seed, "enclave mrsigner", p.mrSigner[:]); err != nil {
		return nil, err
	}
	return p, nil
}

// Root returns the simulated root CA to give verifiers as a test root.
func (p *Platform) Root() *x509.Certificate { return p.m.pki.root }

// Machine returns the simulated machine (PKI, PCK certificates, QE).
func (p *Platform) Machine() *Machine { return p.m }

// MREnclave returns the simulated enclave's measurement.
func (p *Platform) MREnclave() [32]byte { return p.mrEnclave }

// MRSigner returns the simulated enclave's signer measurement.
func (p *Platform) MRSigner() [32]byte { return p.mrSigner }

// Enclave identity of the simulated enclave.
const (
	ISVProdID = 1
	ISVSVN    = 1
)

// QuoteOptions shape one simulated quote. The zero value is an honest quote
// of a production enclave on an up-to-date machine.
type QuoteOptions struct {
	// Debug sets ATTRIBUTES.DEBUG: an enclave whose memory the host can read.
	Debug bool
	// OutOfDateTCB quotes on the machine's stale TCB: the PCK certificate,
	// CPUSVN and PCE SVN that TCB Info rates OutOfDate.
	OutOfDateTCB bool
	// MREnclave, when set, replaces the enclave measurement.
	MREnclave *[32]byte
	// TamperSignedBytes flips one bit of MRENCLAVE after signing, so the
	// quote signature no longer verifies.
	TamperSignedBytes bool
}

// Quote builds and signs an SGX quote v3 for reportData.
func (p *Platform) Quote(reportData [64]byte, o QuoteOptions) ([]byte, error) {
	flags := uint64(dcap.SGXAttrInit | dcap.SGXAttrMode64Bit)
	if o.Debug {
		flags |= dcap.SGXAttrDebug
	}
	body := dcap.EnclaveReport{
		CPUSVN:     p.m.TCB(o.OutOfDateTCB).CompSVN,
		MREnclave:  p.mrEnclave,
		MRSigner:   p.mrSigner,
		ISVProdID:  ISVProdID,
		ISVSVN:     ISVSVN,
		ReportData: reportData,
	}
	binary.LittleEndian.PutUint64(body.Attributes[:8], flags)
	binary.LittleEndian.PutUint64(body.Attributes[8:], 0xe7) // XFRM: x87, SSE, AVX, AVX-512
	if o.MREnclave != nil {
		body.MREnclave = *o.MREnclave
	}
	signed := append(p.m.Header(3, o.OutOfDateTCB), body.Marshal()...)
	q, err := p.m.Sign(signed, o.OutOfDateTCB)
	if err != nil {
		return nil, err
	}
	if o.TamperSignedBytes {
		q[dcap.HeaderSize+offMREnclave] ^= 0x01
	}
	return q, nil
}

// offMREnclave is MRENCLAVE's offset in the enclave report body.
const offMREnclave = 64

// Collateral returns the collateral for this platform at time at (see
// [Machine.CollateralFiles]).
func (p *Platform) Collateral(at time.Time, o CollateralOptions) (*cloudra.Collateral, error) {
	return p.m.Collateral(at, o)
}

// CollateralFiles returns the collateral for this platform at time at as
// files.
func (p *Platform) CollateralFiles(at time.Time, o CollateralOptions) ([]File, error) {
	return p.m.CollateralFiles(at, o)
}

// Provider returns a [device.Provider] backed by the simulator, so the
// collect path is the same for hardware and simulation.
func (p *Platform) Provider(o QuoteOptions) device.Provider { return &provider{p: p, o: o} }

type provider struct {
	p *Platform
	o QuoteOptions
}

var _ device.Provider = (*provider)(nil)

func (s *provider) Report(reportData [64]byte) (*device.Raw, error) {
	q, err := s.p.Quote(reportData, s.o)
	if err != nil {
		return nil, fmt.Errorf("sgxsim: %w", err)
	}
	return &device.Raw{Quote: bytes.Clone(q), AttestationType: "dcap", Interface: Interface}, nil
}

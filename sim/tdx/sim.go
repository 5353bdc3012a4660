// Package tdxsim is a SIMULATED Intel TDX platform: a software stand-in for
// a TDX host, its TD quoting enclave and Intel's provisioning certification
// service (PCS), for the no-hardware demo and end-to-end tests.
//
// Nothing it produces is trusted by default. It shares the simulated Intel
// PKI of package sgxsim (root "cloudra simulated SGX Root CA - NOT INTEL",
// organisation "cloudra simulator - NOT INTEL"): the same seed gives the
// same root for both simulators. Quotes verify only where a verifier is
// given that root (tdx.WithTestRoot) and told to accept test roots
// (cloudra.Options.AllowTestRoots).
//
// What is simulated, and how faithfully:
//
//   - TDX quote v4 with a TD report 1.0 body, and v5 with a TD report 1.0
//     (body type 2) or 1.5 (body type 3) body (Intel ECDSA Quote Library API and TDX DCAP Quoting Library API): header
//     with TEE type 0x81, TD body laid out by the TDX module ABI, signature
//     over header‖body (v5: ‖ body type ‖ size ‖ body) by the attestation
//     key, and certification data type 6 wrapping the QE report, its PCK
//     signature, the QE auth data and type 5 (the PEM PCK chain; Intel DCAP
//     signature data).
//   - The TD: module major version 1 (TEE_TCB_SVN 06 01 03 …, judged by
//     module identity TDX_01), Intel-signed module (MRSIGNERSEAM zero),
//     SEPT_VE_DISABLE set, XFAM e702060000000000, MRTD and RTMR0–2 derived
//     from the seed, RTMR3 zero.
//   - PCS collateral: TDX TCB Info v3 with tdxModule, module identities
//     TDX_01 and TDX_03 and levels UpToDate / OutOfDate, and the TD_QE
//     identity, signed by the simulated TCB signer (package sgxsim).
//
// The same seed yields byte-identical quotes (RFC 6979 signatures).
package tdxsim

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/tdx/device"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
)

// Interface is what the simulated provider reports in [device.Raw.Interface].
const Interface = "simulated"

// teeTCBSVN is the simulated TEE_TCB_SVN: module SVN 6 of major version 1
// (module identity TDX_01, UpToDate from SVN 4), byte 2 = 3 (compared with
// tdxtcbcomponents[2]).
var teeTCBSVN = [16]byte{6, 1, 3}

// staleTEETCBSVN is TEE_TCB_SVN of a module below TDX_01's UpToDate level
// (SVN 2: OutOfDate).
var staleTEETCBSVN = [16]byte{2, 1, 3}

// xfam of the simulated TD: e702060000000000, the value real TDs carry
// (observed).
var xfam = [8]byte{0xe7, 0x02, 0x06}

// Platform is one simulated TDX host running one TD.
type Platform struct {
	m      *sgxsim.Machine
	mrseam [48]byte
	mrtd   [48]byte
	rtmr   [4][48]byte
}

// New builds the platform for seed. The same seed always yields the same
// PKI (shared with sgxsim.New(seed)), PCK certificates, TD measurements and
// byte-identical quotes.
func New(seed []byte) (*Platform, error) {
	pki, err := sgxsim.NewPKI(seed)
	if err != nil {
		return nil, fmt.Errorf("tdxsim: %w", err)
	}
	m, err := sgxsim.NewMachine(pki, sgxsim.TDX)
	if err != nil {
		return nil, fmt.Errorf("tdxsim: %w", err)
	}
	p := &Platform{m: m}
	outs := []struct {
		label string
		out   []byte
	}{{"mrseam", p.mrseam[:]}, {"mrtd", p.mrtd[:]}, {"rtmr0", p.rtmr[0][:]}, {"rtmr1", p.rtmr[1][:]}, {"rtmr2", p.rtmr[2][:]}}
	for _, o := range outs {
		if err := derive(seed, o.label, o.out); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Root returns the simulated root CA to give verifiers as a test root.
func (p *Platform) Root() *x509.Certificate { return p.m.PKI().Root() }

// Machine returns the simulated host (PKI, PCK certificates, TD QE).
func (p *Platform) Machine() *sgxsim.Machine { return p.m }

// MRTD returns the simulated TD's build-time measurement.
func (p *Platform) MRTD() [48]byte { return p.mrtd }

// RTMR returns the simulated TD's run-time measurement registers.
func (p *Platform) RTMR() [4][48]byte { return p.rtmr }

// QuoteOptions shape one simulated quote. The zero value is an honest quote
// v4 of a production TD on an up-to-date host.
type QuoteOptions struct {
	// Version is the quote version: 4 (default) or 5.
	Version uint16
	// TD15 gives a v5 quote a TD report 1.5 body (type 3: TEE_TCB_SVN_2 =
	// TEE_TCB_SVN, MRSERVICETD zero) instead of 1.0 (type 2).
	TD15 bool
	// Debug sets TD_ATTRIBUTES.DEBUG: a TD whose memory the host can read.
	Debug bool
	// OutOfDateTCB quotes on the host's stale TCB: the PCK certificate and
	// QE CPUSVN that TCB Info rates OutOfDate.
	OutOfDateTCB bool
	// OutOfDateModule runs a TDX module whose SVN TCB Info rates OutOfDate
	// (TEE_TCB_SVN 02 01 03 …, below TDX_01's UpToDate SVN 4).
	OutOfDateModule bool
	// MRTD and RTMR, when set, replace the TD's measurements.
	MRTD *[48]byte
	RTMR *[4][48]byte
	// TamperSignedBytes flips one bit of MRTD after signing, so the quote
	// signature no longer verifies.
	TamperSignedBytes bool
}

// Quote builds and signs a TDX quote for reportData.
func (p *Platform) Quote(reportData [64]byte, o QuoteOptions) ([]byte, error) {
	version := o.Version
	if version == 0 {
		version = 4
	}
	if version != 4 && version != 5 {
		return nil, fmt.Errorf("tdxsim: quote version %d (want 4 or 5)", version)
	}
	if o.TD15 && version != 5 {
		return nil, fmt.Errorf("tdxsim: a TD report 1.5 body needs quote version 5")
	}
	r := dcap.TDReport{
		V15:          o.TD15,
		TEETCBSVN:    teeTCBSVN,
		MRSEAM:       p.mrseam,
		XFAM:         xfam,
		MRTD:         p.mrtd,
		RTMR:         p.rtmr,
		ReportData:   reportData,
		MRSignerSEAM: [48]byte{}, // Intel's module
	}
	if o.OutOfDateModule {
		r.TEETCBSVN = staleTEETCBSVN
	}
	attrs := uint64(dcap.TDAttrSEPTVEDisable)
	if o.Debug {
		attrs |= dcap.TDAttrDebug
	}
	binary.LittleEndian.PutUint64(r.TDAttributes[:], attrs)
	if o.MRTD != nil {
		r.MRTD = *o.MRTD
	}
	if o.RTMR != nil {
		r.RTMR = *o.RTMR
	}
	if o.TD15 {
		r.TEETCBSVN2 = r.TEETCBSVN
	}
	body := r.Marshal()
	signed := p.m.Header(version, o.OutOfDateTCB)
	if version == 5 {
		typ := uint16(dcap.BodyTypeTD10)
		if o.TD15 {
			typ = dcap.BodyTypeTD15
		}
		signed = binary.LittleEndian.AppendUint16(signed, typ)
		signed = binary.LittleEndian.AppendUint32(signed, uint32(len(body)))
	}
	bodyOff := len(signed)
	signed = append(signed, body...)
	q, err := p.m.Sign(signed, o.OutOfDateTCB)
	if err != nil {
		return nil, fmt.Errorf("tdxsim: %w", err)
	}
	if o.TamperSignedBytes {
		q[bodyOff+offMRTD] ^= 0x01
	}
	return q, nil
}

// derive fills out from HKDF-SHA-256(seed, label).
func derive(seed []byte, label string, out []byte) error {
	k, err := hkdf.Key(sha256.New, seed, nil, "cloudra tdxsim "+label, len(out))
	if err != nil {
		return fmt.Errorf("tdxsim: derive %s: %w", label, err)
	}
	copy(out, k)
	return nil
}

// offMRTD is MRTD's offset in the TD report body (Intel TDX DCAP API, TD quote body).
const offMRTD = 136

// Collateral returns the collateral for this platform at time at: TDX TCB
// Info and TD_QE identity issued one day before at and valid for 30 days,
// their issuer chains and both CRLs (see sgxsim.Machine.CollateralFiles).
func (p *Platform) Collateral(at time.Time, o sgxsim.CollateralOptions) (*cloudra.Collateral, error) {
	return p.m.Collateral(at, o)
}

// CollateralFiles returns the same collateral as files named as in a PCS
// dump.
func (p *Platform) CollateralFiles(at time.Time, o sgxsim.CollateralOptions) ([]sgxsim.File, error) {
	return p.m.CollateralFiles(at, o)
}

// Provider returns a [device.Provider] backed by the simulator, answering
// as the configfs-tsm path does (a quote, no TDREPORT), so the collect path
// is the same for hardware and simulation.
func (p *Platform) Provider(o QuoteOptions) device.Provider { return &provider{p: p, o: o} }

type provider struct {
	p *Platform
	o QuoteOptions
}

var _ device.Provider = (*provider)(nil)

func (s *provider) Report(reportData [64]byte) (*device.Raw, error) {
	q, err := s.p.Quote(reportData, s.o)
	if err != nil {
		return nil, err
	}
	return &device.Raw{Quote: bytes.Clone(q), Interface: Interface}, nil
}

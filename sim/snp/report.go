package snpsim

import (
	"crypto"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/cloudra/cloudra/platform/sevsnp/device"
)

// Report layout (SEV-SNP ABI spec Table 22; SEV-SNP ABI spec, ATTESTATION_REPORT).
const (
	ReportSize = 0x4A0

	offVersion      = 0x000
	offGuestSVN     = 0x004
	offPolicy       = 0x008
	offFamilyID     = 0x010
	offImageID      = 0x020
	offVMPL         = 0x030
	offSigAlgo      = 0x034
	offCurrentTCB   = 0x038
	offPlatformInfo = 0x040
	offSignerInfo   = 0x048
	offReportData   = 0x050
	offMeasurement  = 0x090
	offHostData     = 0x0C0
	offReportID     = 0x140
	offReportIDMA   = 0x160
	offReportedTCB  = 0x180
	offCPUID        = 0x188
	offChipID       = 0x1A0
	offCommittedTCB = 0x1E0
	offCurrentVer   = 0x1E8
	offCommitVer    = 0x1EC
	offLaunchTCB    = 0x1F0
	offSignature    = 0x2A0 // R at 0x2A0, S at 0x2E8, 72 bytes each, LE
	sigComponent    = 72
	SignedSize      = offSignature
)

// Policy bits (SEV-SNP ABI spec, ATTESTATION_REPORT).
const (
	PolicySMT      = 1 << 16
	PolicyReserved = 1 << 17 // must be 1
	PolicyDebug    = 1 << 19
	// DefaultPolicy is 0x30000: SMT allowed, no debug, no migration agent.
	DefaultPolicy = PolicySMT | PolicyReserved
)

// Simulated firmware version 1.55.22 (report v3 needs ≥ 1.55.22).
const (
	fwMajor = 1
	fwMinor = 55
	fwBuild = 22
)

// platformInfo: SMT_EN | TSME_EN.
const platformInfo = 0x3

// ReportOptions shape one simulated report. The zero value is an honest
// report of the platform at its TCB with DefaultPolicy.
type ReportOptions struct {
	// Extended adds the certificate table ([device.Raw.CertTable]).
	Extended bool
	// Policy replaces DefaultPolicy (0 = DefaultPolicy).
	Policy uint64
	// Debug sets POLICY.DEBUG (bit 19): a guest the host can inspect.
	Debug bool
	// VMPL, when set, is the VMPL the report states regardless of the one
	// requested (a report "at another VMPL").
	VMPL *uint32
	// GuestVMPL is the VMPL the simulated guest kernel runs at: requests
	// below it fail the way the firmware refuses them (Sakura Internet = 2).
	GuestVMPL uint32
	// ReportedTCB, when set, replaces REPORTED_TCB, so the VCEK (issued for
	// the platform TCB) no longer matches the report.
	ReportedTCB *TCB
	// CurrentTCB, when set, replaces CURRENT_TCB, COMMITTED_TCB and
	// LAUNCH_TCB (e.g. an out-of-date microcode for TCB policy demos);
	// REPORTED_TCB stays at the platform TCB.
	CurrentTCB *TCB
	// Measurement, when set, replaces the launch digest.
	Measurement *[48]byte
	// HostData is copied to HOST_DATA.
	HostData [32]byte
	// TamperSignedBytes flips one bit of MEASUREMENT after signing, so the
	// signature no longer verifies.
	TamperSignedBytes bool
}

// Report builds and signs a report for reportData at vmpl.
func (p *Platform) Report(reportData [64]byte, vmpl uint32, o ReportOptions) ([]byte, error) {
	if vmpl > 3 {
		return nil, fmt.Errorf("snpsim: VMPL %d out of range 0..3", vmpl)
	}
	if vmpl < o.GuestVMPL {
		return nil, fmt.Errorf("snpsim: firmware rejected the request (INVALID_PARAM): VMPL %d is below the guest's VMPL %d; "+
			"hint: request VMPL %d or higher", vmpl, o.GuestVMPL, o.GuestVMPL)
	}
	r := make([]byte, ReportSize)
	le := binary.LittleEndian
	policy := o.Policy
	if policy == 0 {
		policy = DefaultPolicy
	}
	if o.Debug {
		policy |= PolicyDebug
	}
	stated := vmpl
	if o.VMPL != nil {
		stated = *o.VMPL
	}
	cur, rep := p.tcb, p.tcb
	if o.CurrentTCB != nil {
		cur = *o.CurrentTCB
	}
	if o.ReportedTCB != nil {
		rep = *o.ReportedTCB
	}
	meas := p.measurement
	if o.Measurement != nil {
		meas = *o.Measurement
	}

	le.PutUint32(r[offVersion:], 3)
	le.PutUint32(r[offGuestSVN:], 0)
	le.PutUint64(r[offPolicy:], policy)
	// FAMILY_ID (0x010), IMAGE_ID (0x020): zero (no ID block).
	le.PutUint32(r[offVMPL:], stated)
	le.PutUint32(r[offSigAlgo:], 1) // ECDSA P-384 with SHA-384
	le.PutUint64(r[offCurrentTCB:], cur.Uint64())
	le.PutUint64(r[offPlatformInfo:], platformInfo)
	le.PutUint32(r[offSignerInfo:], 0) // SIGNING_KEY 0 = VCEK, chip ID not masked
	copy(r[offReportData:], reportData[:])
	copy(r[offMeasurement:], meas[:])
	copy(r[offHostData:], o.HostData[:])
	// ID_KEY_DIGEST, AUTHOR_KEY_DIGEST: zero (no ID block).
	copy(r[offReportID:], p.reportID[:])
	for i := range 32 {
		r[offReportIDMA+i] = 0xFF // no migration agent
	}
	le.PutUint64(r[offReportedTCB:], rep.Uint64())
	r[offCPUID], r[offCPUID+1], r[offCPUID+2] = CPUIDFamily, CPUIDModel, CPUIDStepping
	copy(r[offChipID:], p.chipID[:])
	le.PutUint64(r[offCommittedTCB:], cur.Uint64())
	r[offCurrentVer], r[offCurrentVer+1], r[offCurrentVer+2] = fwBuild, fwMinor, fwMajor
	r[offCommitVer], r[offCommitVer+1], r[offCommitVer+2] = fwBuild, fwMinor, fwMajor
	le.PutUint64(r[offLaunchTCB:], cur.Uint64())

	if err := p.sign(r); err != nil {
		return nil, err
	}
	if o.TamperSignedBytes {
		r[offMeasurement] ^= 0x01
	}
	return r, nil
}

// sign writes the VCEK signature over r[0:0x2A0]: R and S little-endian,
// zero-extended to 72 bytes, the rest of the signature field zero.
func (p *Platform) sign(r []byte) error {
	digest := sha512.Sum384(r[:SignedSize])
	der, err := p.vcekKey.Sign(nil, digest[:], crypto.SHA384) // RFC 6979
	if err != nil {
		return fmt.Errorf("snpsim: sign: %w", err)
	}
	var sig struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 {
		return errors.New("snpsim: sign: malformed ECDSA signature")
	}
	putLE(r[offSignature:offSignature+sigComponent], sig.R)
	putLE(r[offSignature+sigComponent:offSignature+2*sigComponent], sig.S)
	return nil
}

func putLE(dst []byte, v *big.Int) {
	be := v.FillBytes(make([]byte, 48))
	for i := range be {
		dst[i] = be[len(be)-1-i]
	}
}

// Interface is what the simulated provider reports in [device.Raw.Interface].
const Interface = "simulated"

// Provider returns a [device.Provider] backed by the simulator, so the
// collect path is the same for hardware and simulation.
func (p *Platform) Provider(o ReportOptions) device.Provider { return &provider{p: p, o: o} }

type provider struct {
	p *Platform
	o ReportOptions
}

var _ device.Provider = (*provider)(nil)

func (s *provider) Report(reportData [64]byte, vmpl uint32) (*device.Raw, error) {
	rep, err := s.p.Report(reportData, vmpl, s.o)
	if err != nil {
		return nil, err
	}
	raw := &device.Raw{Report: rep, Interface: Interface}
	if s.o.Extended {
		raw.CertTable = s.p.CertTable()
	}
	return raw, nil
}

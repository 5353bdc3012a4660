package pcs

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TCBEvaluation is the outcome of matching a platform against TCB Info,
// following Intel QVL TcbLevelCheck.cpp / TdxModuleCheck.cpp /
// TDRelaunchCheck.cpp.
type TCBEvaluation struct {
	TEE TEE
	// SGXLevel is the first level whose sgxtcbcomponents and pcesvn are all
	// ≤ the PCK certificate's values; nil when none matches.
	SGXLevel  *TCBLevel
	SGXStatus Status
	// TDXLevel (TDX only) is the first level that also satisfies the TDX
	// component rule; nil when none matches.
	TDXLevel  *TCBLevel
	TDXStatus Status
	// Module (TDX with TEE_TCB_SVN[1] > 0) is the matched TDX module identity.
	Module *ModuleEvaluation
	// Status is the platform status: SGX: SGXStatus; TDX: TDXStatus converged
	// with the module status (QVL convergeTcbStatusWithTdxModuleStatus).
	// NotSupported when no level (or no module level) matches.
	Status Status
	// RelaunchStatus is TDRelaunchAdvised or
	// TDRelaunchAdvisedConfigurationNeeded when the TD report 1.5 relaunch
	// rule applies, else 0. [Converge] uses it unless the QE is out of date,
	// revoked or not supported.
	RelaunchStatus Status
	// TCBDate is the matched platform level's tcbDate (TDX level for TDX).
	TCBDate time.Time
	// Advisories of the matched platform level and module level, sorted.
	Advisories []string
}

// ModuleEvaluation is the TDX module identity match.
type ModuleEvaluation struct {
	ID     string // "TDX_01", …
	Level  *IdentityLevel
	Status Status // NotSupported when no level has isvsvn ≤ TEE_TCB_SVN[0]
}

// QEEvaluation is the outcome of [EvaluateQE].
type QEEvaluation struct {
	ID     string // "QE" or "TD_QE"
	Level  *IdentityLevel
	Status Status // NotSupported when no level has isvsvn ≤ the QE's ISVSVN
}

// sgxAtLeast is QVL isCpuSvnHigherOrEqual plus the PCESVN rule: every PCK
// SGX TCB component SVN ≥ the level's, and PCESVN ≥ the level's.
func sgxAtLeast(l *TCBLevel, comps [16]byte, pcesvn uint16) bool {
	for i := range comps {
		if comps[i] < l.SGXComponents[i].SVN {
			return false
		}
	}
	return pcesvn >= l.PCESVN
}

// tdxAtLeast is QVL isTdxTcbHigherOrEqual: every TEE_TCB_SVN byte ≥ the
// level's tdxtcbcomponents SVN, except that when TEE_TCB_SVN[1] (module
// major version) is non-zero bytes 0 and 1 are skipped, because the module
// is then judged by its module identity instead.
func tdxAtLeast(l *TCBLevel, tee [16]byte) bool {
	if l.TDXComponents == nil {
		return false
	}
	start := 0
	if tee[1] > 0 {
		start = 2
	}
	for i := start; i < 16; i++ {
		if tee[i] < l.TDXComponents[i].SVN {
			return false
		}
	}
	return true
}

// EvaluateSGX evaluates an SGX platform against SGX TCB Info: walk tcbLevels
// in order and take the first level whose 16 sgxtcbcomponents SVNs are each ≤
// the PCK certificate's TCB component SVNs (PCK extension OIDs .2.1–.2.16;
// comps) and whose pcesvn ≤ the PCK certificate's PCESVN. No such level
// gives Status NotSupported (not an error). TDX TCB Info is rejected with
// [ErrMismatch].
//
// Levels are walked in document order: Intel publishes them newest (highest)
// first and the order is covered by its signature. QVL iterates a
// std::set<TcbLevel, greater> instead; every real document in the test
// collection already lists its levels in that order (TestLevelOrder).
func EvaluateSGX(info *TCBInfo, comps [16]byte, pcesvn uint16) (*TCBEvaluation, error) {
	if info == nil || info.TEE() != SGX {
		return nil, fmt.Errorf("pcs: SGX evaluation needs SGX TCB Info: %w", ErrMismatch)
	}
	e := &TCBEvaluation{TEE: SGX, Status: NotSupported, SGXStatus: NotSupported}
	for i := range info.TCBLevels {
		l := &info.TCBLevels[i]
		if sgxAtLeast(l, comps, pcesvn) {
			e.SGXLevel, e.SGXStatus, e.Status = l, l.Status, l.Status
			e.TCBDate = l.TCBDate
			e.Advisories = unionSorted(l.AdvisoryIDs)
			break
		}
	}
	return e, nil
}

// EvaluateTDX evaluates a TDX platform (TD report 1.0, or 1.5 without the
// relaunch rule) against TDX TCB Info, as Intel QVL does:
//
//  1. walk tcbLevels in order; the SGX level is the first whose
//     sgxtcbcomponents and pcesvn are ≤ the PCK certificate's (comps,
//     pcesvn); the TDX level is the first that satisfies that and whose
//     tdxtcbcomponents are ≤ TEE_TCB_SVN, skipping bytes 0 and 1 when
//     TEE_TCB_SVN[1] > 0. No SGX or no TDX level → NotSupported.
//  2. when TEE_TCB_SVN[1] > 0, the module identity "TDX_%02X" of
//     TEE_TCB_SVN[1] must exist ([ErrMismatch] otherwise, QVL
//     STATUS_TDX_MODULE_MISMATCH); its first level with isvsvn ≤
//     TEE_TCB_SVN[0] gives the module status (none → NotSupported).
//  3. the platform status is the TDX level status converged with the module
//     status: a module OutOfDate turns UpToDate/SWHardeningNeeded into
//     OutOfDate and ConfigurationNeeded/ConfigurationAndSWHardeningNeeded
//     into OutOfDateConfigurationNeeded; a module Revoked gives Revoked.
//
// SGX TCB Info is rejected with [ErrMismatch]. MRSIGNERSEAM and
// SEAM_ATTRIBUTES are checked separately by [TCBInfo.CheckTDXModule].
func EvaluateTDX(info *TCBInfo, comps [16]byte, pcesvn uint16, teeTCBSVN [16]byte) (*TCBEvaluation, error) {
	if info == nil || info.TEE() != TDX {
		return nil, fmt.Errorf("pcs: TDX evaluation needs TDX TCB Info (id \"TDX\"): %w", ErrMismatch)
	}
	e := &TCBEvaluation{TEE: TDX, Status: NotSupported, SGXStatus: NotSupported, TDXStatus: NotSupported}
	for i := range info.TCBLevels {
		l := &info.TCBLevels[i]
		if !sgxAtLeast(l, comps, pcesvn) {
			continue
		}
		if e.SGXLevel == nil {
			e.SGXLevel, e.SGXStatus = l, l.Status
		}
		if tdxAtLeast(l, teeTCBSVN) {
			e.TDXLevel, e.TDXStatus = l, l.Status
			break
		}
	}
	moduleStatus := UpToDate // QVL: module version 0 → STATUS_OK
	if teeTCBSVN[1] > 0 {
		id := info.moduleIdentity(teeTCBSVN[1])
		if id == nil {
			return nil, fmt.Errorf("pcs: no TDX module identity TDX_%02X in TCB Info for TEE_TCB_SVN[1]=%d: %w", teeTCBSVN[1], teeTCBSVN[1], ErrMismatch)
		}
		m := &ModuleEvaluation{ID: id.ID, Status: NotSupported}
		for i := range id.TCBLevels {
			if uint16(teeTCBSVN[0]) >= id.TCBLevels[i].ISVSVN {
				m.Level, m.Status = &id.TCBLevels[i], id.TCBLevels[i].Status
				break
			}
		}
		e.Module, moduleStatus = m, m.Status
	}
	if e.TDXLevel == nil || moduleStatus == NotSupported {
		return e, nil
	}
	e.Status = convergeModule(e.TDXStatus, moduleStatus)
	e.TCBDate = e.TDXLevel.TCBDate
	adv := [][]string{e.TDXLevel.AdvisoryIDs}
	if e.Module != nil && e.Module.Level != nil {
		adv = append(adv, e.Module.Level.AdvisoryIDs)
	}
	e.Advisories = unionSorted(adv...)
	return e, nil
}

// EvaluateTDX15 is [EvaluateTDX] for a TD report 1.5, which adds Intel's TD
// relaunch rule (QVL TDRelaunchCheck.cpp, checkForRelaunch) using
// TEE_TCB_SVN_2, the SVNs of the TDX module the platform now runs: when the
// SGX status is UpToDate/SWHardeningNeeded/ConfigurationNeeded/
// ConfigurationAndSWHardeningNeeded, the TDX status is OutOfDate or
// OutOfDateConfigurationNeeded, and the module identity status is OutOfDate,
// then relaunch is advised if, against the newest TCB level L0,
//   - TEE_TCB_SVN_2[1] == 0: TEE_TCB_SVN_2[0] ≥ L0.tdx[0] and TEE_TCB_SVN_2[2] ≥ L0.tdx[2];
//   - otherwise: the module identity TDX_%02X of TEE_TCB_SVN_2[1] exists
//     ([ErrMismatch] if not) and TEE_TCB_SVN_2[0] ≥ its newest level's isvsvn
//     and TEE_TCB_SVN_2[2] ≥ L0.tdx[2].
//
// RelaunchStatus is TDRelaunchAdvisedConfigurationNeeded when the SGX or TDX
// status needs configuration, else TDRelaunchAdvised. [Converge] applies it
// only when the QE status is not OutOfDate, Revoked or NotSupported.
func EvaluateTDX15(info *TCBInfo, comps [16]byte, pcesvn uint16, teeTCBSVN, teeTCBSVN2 [16]byte) (*TCBEvaluation, error) {
	e, err := EvaluateTDX(info, comps, pcesvn, teeTCBSVN)
	if err != nil {
		return nil, err
	}
	switch e.SGXStatus {
	case UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded:
	default:
		return e, nil
	}
	if e.Status != OutOfDate && e.Status != OutOfDateConfigurationNeeded {
		return e, nil
	}
	if e.Module == nil || e.Module.Status != OutOfDate {
		return e, nil
	}
	latest := &info.TCBLevels[0]
	var ok bool
	if teeTCBSVN2[1] == 0 {
		ok = teeTCBSVN2[0] >= latest.TDXComponents[0].SVN && teeTCBSVN2[2] >= latest.TDXComponents[2].SVN
	} else {
		id := info.moduleIdentity(teeTCBSVN2[1])
		if id == nil {
			return nil, fmt.Errorf("pcs: no TDX module identity TDX_%02X in TCB Info for TEE_TCB_SVN_2[1]=%d: %w", teeTCBSVN2[1], teeTCBSVN2[1], ErrMismatch)
		}
		ok = uint16(teeTCBSVN2[0]) >= id.TCBLevels[0].ISVSVN && teeTCBSVN2[2] >= latest.TDXComponents[2].SVN
	}
	if ok {
		e.RelaunchStatus = TDRelaunchAdvised
		if e.SGXStatus.configurationNeeded() || e.Status.configurationNeeded() {
			e.RelaunchStatus = TDRelaunchAdvisedConfigurationNeeded
		}
	}
	return e, nil
}

// moduleIdentity finds tdxModuleIdentities[id == "TDX_%02X"], compared
// case-insensitively as QVL does.
func (t *TCBInfo) moduleIdentity(major byte) *TDXModuleIdentity {
	want := fmt.Sprintf("TDX_%02X", major)
	for i := range t.TDXModuleIdentities {
		if strings.EqualFold(t.TDXModuleIdentities[i].ID, want) {
			return &t.TDXModuleIdentities[i]
		}
	}
	return nil
}

// CheckTDXModule checks the TDX module that produced a TD quote against TCB
// Info: MRSIGNERSEAM must equal, and SEAM_ATTRIBUTES & attributesMask must
// equal attributes, of the module identity "TDX_%02X" of TEE_TCB_SVN[1] when
// TEE_TCB_SVN[1] > 0, or of the top-level tdxModule otherwise; and
// SEAM_ATTRIBUTES must be all zero (Intel QVL QuoteVerifier.cpp, step
// 4.1.2.4.11). Every violation is reported; errors wrap [ErrMismatch].
func (t *TCBInfo) CheckTDXModule(mrSignerSeam [48]byte, seamAttributes [8]byte, teeTCBSVN [16]byte) error {
	if t.TEE() != TDX || t.TDXModule == nil {
		return fmt.Errorf("pcs: TDX module check needs TDX TCB Info: %w", ErrMismatch)
	}
	name := "tdxModule"
	signer, attrs, mask := t.TDXModule.MRSigner, t.TDXModule.Attributes, t.TDXModule.AttributesMask
	if teeTCBSVN[1] > 0 {
		id := t.moduleIdentity(teeTCBSVN[1])
		if id == nil {
			return fmt.Errorf("pcs: no TDX module identity TDX_%02X in TCB Info: %w", teeTCBSVN[1], ErrMismatch)
		}
		name, signer, attrs, mask = id.ID, id.MRSigner, id.Attributes, id.AttributesMask
	}
	var errs []error
	if mrSignerSeam != signer {
		errs = append(errs, fmt.Errorf("pcs: MRSIGNERSEAM %x is not %s mrsigner %x: %w", mrSignerSeam, name, signer, ErrMismatch))
	}
	for i := range seamAttributes {
		if seamAttributes[i]&mask[i] != attrs[i] {
			errs = append(errs, fmt.Errorf("pcs: SEAM_ATTRIBUTES %x & mask %x is not %s attributes %x: %w", seamAttributes, mask, name, attrs, ErrMismatch))
			break
		}
	}
	if seamAttributes != ([8]byte{}) {
		errs = append(errs, fmt.Errorf("pcs: SEAM_ATTRIBUTES %x is not zero: %w", seamAttributes, ErrMismatch))
	}
	return errors.Join(errs...)
}

// EvaluateQE checks a quoting enclave's report against its identity (Intel
// QVL EnclaveIdentityV2 / EnclaveReportVerifier): MRSIGNER equal, ISVPRODID
// equal, MISCSELECT & miscselectMask == miscselect, ATTRIBUTES &
// attributesMask == attributes. Every mismatch is reported in one error
// wrapping [ErrMismatch] (docs/pitfalls-dcap.md C1). Then the first tcbLevels entry with
// isvsvn ≤ the QE's ISVSVN gives the QE status (none → NotSupported).
// miscselect is the report's MISCSELECT read as a little-endian u32.
func EvaluateQE(id *QEIdentity, isvsvn uint16, miscselect uint32, attributes [16]byte, mrsigner [32]byte, isvprodid uint16) (*QEEvaluation, error) {
	if id == nil || id.TEE() == 0 {
		return nil, fmt.Errorf("pcs: QE evaluation needs a QE or TD_QE identity: %w", ErrMismatch)
	}
	var errs []error
	if mrsigner != id.MRSigner {
		errs = append(errs, fmt.Errorf("pcs: QE MRSIGNER %x, %s identity wants %x: %w", mrsigner, id.ID, id.MRSigner, ErrMismatch))
	}
	if isvprodid != id.ISVProdID {
		errs = append(errs, fmt.Errorf("pcs: QE ISVPRODID %d, %s identity wants %d: %w", isvprodid, id.ID, id.ISVProdID, ErrMismatch))
	}
	if miscselect&id.MiscSelectMask != id.MiscSelect {
		errs = append(errs, fmt.Errorf("pcs: QE MISCSELECT %08x & mask %08x is not %08x: %w", miscselect, id.MiscSelectMask, id.MiscSelect, ErrMismatch))
	}
	var masked [16]byte
	for i := range attributes {
		masked[i] = attributes[i] & id.AttributesMask[i]
	}
	if !bytes.Equal(masked[:], id.Attributes[:]) {
		errs = append(errs, fmt.Errorf("pcs: QE ATTRIBUTES %x & mask %x is not %x: %w", attributes, id.AttributesMask, id.Attributes, ErrMismatch))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	q := &QEEvaluation{ID: id.ID, Status: NotSupported}
	for i := range id.TCBLevels {
		if isvsvn >= id.TCBLevels[i].ISVSVN {
			q.Level, q.Status = &id.TCBLevels[i], id.TCBLevels[i].Status
			break
		}
	}
	return q, nil
}

// Verdict is the merged TCB outcome of a quote.
type Verdict struct {
	// Status is the merged status (see [Converge]).
	Status Status
	// Platform is the platform status before the QE is taken into account
	// (TDX: TDX level converged with the module); SGX, TDX, Module and QE are
	// the individual statuses (0 when not applicable).
	Platform, SGX, TDX, Module, QE Status
	// RelaunchAdvised: a TD report 1.5 whose TD should be relaunched.
	RelaunchAdvised bool
	// TCBDate is the platform level's tcbDate.
	TCBDate time.Time
	// Advisories is the sorted union of the platform, module and QE level
	// advisory IDs.
	Advisories []string
}

// Converge merges a platform evaluation with the QE evaluation the way Intel
// QVL does (TcbLevelCheck.cpp convergeTcbStatusWithQeTcbStatus, preceded by
// the relaunch rule of TDRelaunchCheck.cpp):
//   - the TD relaunch status replaces the platform status unless the QE is
//     OutOfDate, Revoked or NotSupported;
//   - QE OutOfDate turns UpToDate/SWHardeningNeeded into OutOfDate and
//     ConfigurationNeeded/ConfigurationAndSWHardeningNeeded into
//     OutOfDateConfigurationNeeded; QE Revoked gives Revoked; QE
//     NotSupported gives NotSupported; otherwise the platform status stands.
//
// A nil qe leaves the platform status as it is (callers must not skip the QE
// identity; docs/pitfalls-dcap.md C1).
func Converge(p *TCBEvaluation, qe *QEEvaluation) Verdict {
	v := Verdict{Status: NotSupported, Platform: NotSupported}
	if p == nil {
		return v
	}
	v.Platform, v.SGX, v.TCBDate = p.Status, p.SGXStatus, p.TCBDate
	if p.TEE == TDX {
		v.TDX = p.TDXStatus
	}
	adv := [][]string{p.Advisories}
	if p.Module != nil {
		v.Module = p.Module.Status
	}
	st := p.Status
	var qs Status
	if qe != nil {
		qs = qe.Status
		v.QE = qs
		if qe.Level != nil {
			adv = append(adv, qe.Level.AdvisoryIDs)
		}
	}
	if p.RelaunchStatus != 0 && qs != OutOfDate && qs != Revoked && qs != NotSupported {
		st, v.RelaunchAdvised = p.RelaunchStatus, true
	}
	switch qs {
	case OutOfDate:
		switch st {
		case UpToDate, SWHardeningNeeded:
			st = OutOfDate
		case ConfigurationNeeded, ConfigurationAndSWHardeningNeeded:
			st = OutOfDateConfigurationNeeded
		}
	case Revoked:
		st = Revoked
	case NotSupported:
		st = NotSupported
	}
	v.Status = st
	v.Advisories = unionSorted(adv...)
	return v
}

// convergeModule is QVL convergeTcbStatusWithTdxModuleStatus.
func convergeModule(level, module Status) Status {
	switch module {
	case OutOfDate:
		switch level {
		case UpToDate, SWHardeningNeeded:
			return OutOfDate
		case ConfigurationNeeded, ConfigurationAndSWHardeningNeeded:
			return OutOfDateConfigurationNeeded
		}
	case Revoked:
		return Revoked
	}
	return level
}

func unionSorted(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

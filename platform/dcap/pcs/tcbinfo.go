package pcs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TEE selects the kind of quote collateral is for.
type TEE int

// TEE kinds.
const (
	SGX TEE = iota + 1
	TDX
)

func (t TEE) String() string {
	switch t {
	case SGX:
		return "SGX"
	case TDX:
		return "TDX"
	}
	return fmt.Sprintf("TEE(%d)", int(t))
}

// TCBInfo is a parsed PCS TCB Info v3 document (Intel PCS API v4
// "TCB Info V3" for SGX and TDX). It is immutable once returned.
type TCBInfo struct {
	ID                      string // "SGX" or "TDX"
	Version                 int    // 3
	IssueDate               time.Time
	NextUpdate              time.Time
	FMSPC                   [6]byte
	PCEID                   [2]byte
	TCBType                 int // 0: components compared as in this package
	TCBEvaluationDataNumber int
	// TDXModule is the top-level "tdxModule" (TDX only; nil for SGX).
	TDXModule *TDXModule
	// TDXModuleIdentities are "tdxModuleIdentities" (TDX only; may be empty).
	TDXModuleIdentities []TDXModuleIdentity
	// TCBLevels in document order (Intel publishes them newest first).
	TCBLevels []TCBLevel

	// RawSigned is the exact byte span of the "tcbInfo" value as received;
	// Signature (r‖s, big-endian) is over SHA-256(RawSigned).
	RawSigned []byte
	Signature [64]byte
}

// TEE returns the TEE this TCB Info is for.
func (t *TCBInfo) TEE() TEE {
	if t.ID == "TDX" {
		return TDX
	}
	return SGX
}

// TDXModule is TCB Info's top-level "tdxModule": the identity of modules
// whose TEE_TCB_SVN[1] (major version) is 0.
type TDXModule struct {
	MRSigner       [48]byte
	Attributes     [8]byte
	AttributesMask [8]byte
}

// TDXModuleIdentity is one entry of "tdxModuleIdentities" (id "TDX_01",
// "TDX_03", …: "TDX_" and the module major version TEE_TCB_SVN[1] in two
// hex digits).
type TDXModuleIdentity struct {
	ID             string
	MRSigner       [48]byte
	Attributes     [8]byte
	AttributesMask [8]byte
	TCBLevels      []IdentityLevel
}

// IdentityLevel is a TCB level keyed by ISVSVN (QE identity levels and TDX
// module identity levels).
type IdentityLevel struct {
	ISVSVN      uint16
	TCBDate     time.Time
	Status      Status
	AdvisoryIDs []string
}

// TCBComponent is one entry of sgxtcbcomponents / tdxtcbcomponents.
type TCBComponent struct {
	SVN      uint8
	Category string
	Type     string
}

// TCBLevel is one entry of TCB Info's "tcbLevels".
type TCBLevel struct {
	SGXComponents [16]TCBComponent
	PCESVN        uint16
	// TDXComponents is present (non-nil) exactly for TDX TCB Info.
	TDXComponents *[16]TCBComponent
	TCBDate       time.Time
	Status        Status
	AdvisoryIDs   []string
}

// JSON shapes. Required fields are pointers so that absence is detected.
type jsonTCBComponent struct {
	SVN      *int   `json:"svn"`
	Category string `json:"category"`
	Type     string `json:"type"`
}

type jsonTCBLevel struct {
	TCB *struct {
		SGX    []jsonTCBComponent `json:"sgxtcbcomponents"`
		PCESVN *int               `json:"pcesvn"`
		TDX    []jsonTCBComponent `json:"tdxtcbcomponents"`
	} `json:"tcb"`
	TCBDate     *string  `json:"tcbDate"`
	TCBStatus   *string  `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs"`
}

type jsonIdentityLevel struct {
	TCB *struct {
		ISVSVN *int `json:"isvsvn"`
	} `json:"tcb"`
	TCBDate     *string  `json:"tcbDate"`
	TCBStatus   *string  `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs"`
}

type jsonTDXModule struct {
	MRSigner       *string `json:"mrsigner"`
	Attributes     *string `json:"attributes"`
	AttributesMask *string `json:"attributesMask"`
}

type jsonTDXModuleIdentity struct {
	ID *string `json:"id"`
	jsonTDXModule
	TCBLevels []jsonIdentityLevel `json:"tcbLevels"`
}

type jsonTCBInfo struct {
	ID                      *string                 `json:"id"`
	Version                 *int                    `json:"version"`
	IssueDate               *string                 `json:"issueDate"`
	NextUpdate              *string                 `json:"nextUpdate"`
	FMSPC                   *string                 `json:"fmspc"`
	PCEID                   *string                 `json:"pceId"`
	TCBType                 *int                    `json:"tcbType"`
	TCBEvaluationDataNumber *int                    `json:"tcbEvaluationDataNumber"`
	TDXModule               *jsonTDXModule          `json:"tdxModule"`
	TDXModuleIdentities     []jsonTDXModuleIdentity `json:"tdxModuleIdentities"`
	TCBLevels               []jsonTCBLevel          `json:"tcbLevels"`
}

// ParseTCBInfo parses a PCS TCB Info response body
// {"tcbInfo":{…},"signature":"<hex r‖s>"}. It keeps the exact signed span,
// and rejects: duplicate keys (any depth, case-insensitively), unknown
// fields, trailing data, id/version other than SGX/3 and TDX/3, component
// arrays that do not have exactly 16 entries (dcap-qvl
// GHSA-6q6c-vvf9-fj3w), TDX levels without tdxtcbcomponents (and SGX levels
// with them), SVNs outside 0..255, unknown tcbStatus strings, and
// issueDate ≥ nextUpdate. It does not verify the signature: see
// [TCBInfo.Verify].
func ParseTCBInfo(raw []byte) (*TCBInfo, error) {
	const what = "tcb info"
	signed, sig, err := splitEnvelope(raw, "tcbInfo", what)
	if err != nil {
		return nil, err
	}
	var j jsonTCBInfo
	if err := decodeStrict(signed, &j); err != nil {
		return nil, parseErr(what, "%w", err)
	}
	t := &TCBInfo{RawSigned: signed, Signature: sig}
	if err := t.fill(&j); err != nil {
		return nil, parseErr(what, "%w", err)
	}
	return t, nil
}

func (t *TCBInfo) fill(j *jsonTCBInfo) error {
	if j.ID == nil || j.Version == nil {
		return errors.New("missing id or version")
	}
	t.ID, t.Version = *j.ID, *j.Version
	if (t.ID != "SGX" && t.ID != "TDX") || t.Version != 3 {
		return fmt.Errorf("unsupported TCB Info id %q version %d (want SGX or TDX, version 3)", t.ID, t.Version)
	}
	var err error
	if t.IssueDate, t.NextUpdate, err = window(j.IssueDate, j.NextUpdate); err != nil {
		return err
	}
	if j.FMSPC == nil || j.PCEID == nil || j.TCBType == nil || j.TCBEvaluationDataNumber == nil {
		return errors.New("missing fmspc, pceId, tcbType or tcbEvaluationDataNumber")
	}
	if err := hexFixed(t.FMSPC[:], *j.FMSPC, "fmspc"); err != nil {
		return err
	}
	if err := hexFixed(t.PCEID[:], *j.PCEID, "pceId"); err != nil {
		return err
	}
	t.TCBType, t.TCBEvaluationDataNumber = *j.TCBType, *j.TCBEvaluationDataNumber
	if t.TCBType != 0 {
		// Type 0 is the only defined comparison (component-wise SVNs).
		return fmt.Errorf("unsupported tcbType %d", t.TCBType)
	}
	if t.TCBEvaluationDataNumber < 0 {
		return errors.New("negative tcbEvaluationDataNumber")
	}
	tdx := t.ID == "TDX"
	if !tdx && (j.TDXModule != nil || j.TDXModuleIdentities != nil) {
		return errors.New("SGX TCB Info carries TDX module fields")
	}
	if tdx {
		if j.TDXModule == nil {
			return errors.New("TDX TCB Info without tdxModule")
		}
		m, err := fillModule(j.TDXModule, "tdxModule")
		if err != nil {
			return err
		}
		t.TDXModule = &TDXModule{MRSigner: m.MRSigner, Attributes: m.Attributes, AttributesMask: m.AttributesMask}
		seen := map[string]bool{}
		for i := range j.TDXModuleIdentities {
			ji := &j.TDXModuleIdentities[i]
			if ji.ID == nil {
				return fmt.Errorf("tdxModuleIdentities[%d]: missing id", i)
			}
			id := strings.ToUpper(*ji.ID)
			if seen[id] {
				return fmt.Errorf("tdxModuleIdentities: duplicate id %q", *ji.ID)
			}
			seen[id] = true
			mi, err := fillModule(&ji.jsonTDXModule, "tdxModuleIdentities["+*ji.ID+"]")
			if err != nil {
				return err
			}
			mi.ID = *ji.ID
			if mi.TCBLevels, err = fillIdentityLevels(ji.TCBLevels); err != nil {
				return fmt.Errorf("tdxModuleIdentities[%s]: %w", *ji.ID, err)
			}
			t.TDXModuleIdentities = append(t.TDXModuleIdentities, mi)
		}
	}
	if len(j.TCBLevels) == 0 {
		return errors.New("no tcbLevels")
	}
	t.TCBLevels = make([]TCBLevel, len(j.TCBLevels))
	for i := range j.TCBLevels {
		if err := fillLevel(&t.TCBLevels[i], &j.TCBLevels[i], tdx); err != nil {
			return fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
	}
	return nil
}

func fillModule(j *jsonTDXModule, field string) (TDXModuleIdentity, error) {
	var m TDXModuleIdentity
	if j.MRSigner == nil || j.Attributes == nil || j.AttributesMask == nil {
		return m, fmt.Errorf("%s: missing mrsigner, attributes or attributesMask", field)
	}
	if err := hexFixed(m.MRSigner[:], *j.MRSigner, field+".mrsigner"); err != nil {
		return m, err
	}
	if err := hexFixed(m.Attributes[:], *j.Attributes, field+".attributes"); err != nil {
		return m, err
	}
	if err := hexFixed(m.AttributesMask[:], *j.AttributesMask, field+".attributesMask"); err != nil {
		return m, err
	}
	return m, nil
}

func fillComponents(dst *[16]TCBComponent, src []jsonTCBComponent, field string) error {
	if len(src) != 16 {
		return fmt.Errorf("%s has %d entries, want exactly 16", field, len(src))
	}
	for i, c := range src {
		if c.SVN == nil || *c.SVN < 0 || *c.SVN > 255 {
			return fmt.Errorf("%s[%d]: svn missing or outside 0..255", field, i)
		}
		dst[i] = TCBComponent{SVN: uint8(*c.SVN), Category: c.Category, Type: c.Type}
	}
	return nil
}

func fillLevel(l *TCBLevel, j *jsonTCBLevel, tdx bool) error {
	if j.TCB == nil || j.TCB.PCESVN == nil {
		return errors.New("missing tcb or pcesvn")
	}
	if err := fillComponents(&l.SGXComponents, j.TCB.SGX, "sgxtcbcomponents"); err != nil {
		return err
	}
	if *j.TCB.PCESVN < 0 || *j.TCB.PCESVN > 0xffff {
		return errors.New("pcesvn outside 0..65535")
	}
	l.PCESVN = uint16(*j.TCB.PCESVN)
	switch {
	case tdx:
		l.TDXComponents = new([16]TCBComponent)
		if err := fillComponents(l.TDXComponents, j.TCB.TDX, "tdxtcbcomponents"); err != nil {
			return err
		}
	case j.TCB.TDX != nil:
		return errors.New("SGX TCB level carries tdxtcbcomponents")
	}
	var err error
	if l.TCBDate, l.Status, err = levelMeta(j.TCBDate, j.TCBStatus); err != nil {
		return err
	}
	l.AdvisoryIDs, err = advisories(j.AdvisoryIDs)
	return err
}

func fillIdentityLevels(js []jsonIdentityLevel) ([]IdentityLevel, error) {
	if len(js) == 0 {
		return nil, errors.New("no tcbLevels")
	}
	out := make([]IdentityLevel, len(js))
	for i, j := range js {
		if j.TCB == nil || j.TCB.ISVSVN == nil || *j.TCB.ISVSVN < 0 || *j.TCB.ISVSVN > 0xffff {
			return nil, fmt.Errorf("tcbLevels[%d]: isvsvn missing or outside 0..65535", i)
		}
		out[i].ISVSVN = uint16(*j.TCB.ISVSVN)
		var err error
		if out[i].TCBDate, out[i].Status, err = levelMeta(j.TCBDate, j.TCBStatus); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
		if out[i].AdvisoryIDs, err = advisories(j.AdvisoryIDs); err != nil {
			return nil, fmt.Errorf("tcbLevels[%d]: %w", i, err)
		}
	}
	return out, nil
}

func levelMeta(date, status *string) (time.Time, Status, error) {
	if date == nil || status == nil {
		return time.Time{}, 0, errors.New("missing tcbDate or tcbStatus")
	}
	d, err := time.Parse(time.RFC3339, *date)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("tcbDate: %w", err)
	}
	st, err := parseLevelStatus(*status)
	return d, st, err
}

func advisories(ids []string) ([]string, error) {
	for _, id := range ids {
		if id == "" {
			return nil, errors.New("empty advisory ID")
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return append([]string(nil), ids...), nil
}

// window parses issueDate and nextUpdate (RFC 3339) and requires
// issueDate < nextUpdate.
func window(issue, next *string) (time.Time, time.Time, error) {
	if issue == nil || next == nil {
		return time.Time{}, time.Time{}, errors.New("missing issueDate or nextUpdate")
	}
	a, err := time.Parse(time.RFC3339, *issue)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("issueDate: %w", err)
	}
	b, err := time.Parse(time.RFC3339, *next)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("nextUpdate: %w", err)
	}
	if !a.Before(b) {
		return time.Time{}, time.Time{}, errors.New("issueDate is not before nextUpdate")
	}
	return a, b, nil
}

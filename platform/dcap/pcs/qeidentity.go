package pcs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// QEIdentity is a parsed PCS enclave identity v2 document: the identity of
// Intel's SGX Quoting Enclave ("QE"), TD Quoting Enclave ("TD_QE") or Quote
// Verification Enclave ("QVE"). It is immutable once returned.
type QEIdentity struct {
	ID                      string // "QE", "TD_QE" or "QVE"
	Version                 int    // 2
	IssueDate               time.Time
	NextUpdate              time.Time
	TCBEvaluationDataNumber int
	// MiscSelect and MiscSelectMask as they appear in an SGX report (the
	// JSON hex is the report's little-endian byte order).
	MiscSelect     uint32
	MiscSelectMask uint32
	Attributes     [16]byte
	AttributesMask [16]byte
	MRSigner       [32]byte
	ISVProdID      uint16
	// TCBLevels in document order (highest ISVSVN first).
	TCBLevels []IdentityLevel

	// RawSigned is the exact byte span of the "enclaveIdentity" value;
	// Signature (r‖s) is over SHA-256(RawSigned).
	RawSigned []byte
	Signature [64]byte
}

// TEE returns the TEE whose quotes this identity's enclave signs: TD_QE for
// TDX, QE for SGX. A QVE identity is for neither and returns 0.
func (q *QEIdentity) TEE() TEE {
	switch q.ID {
	case "QE":
		return SGX
	case "TD_QE":
		return TDX
	}
	return 0
}

type jsonQEIdentity struct {
	ID                      *string             `json:"id"`
	Version                 *int                `json:"version"`
	IssueDate               *string             `json:"issueDate"`
	NextUpdate              *string             `json:"nextUpdate"`
	TCBEvaluationDataNumber *int                `json:"tcbEvaluationDataNumber"`
	MiscSelect              *string             `json:"miscselect"`
	MiscSelectMask          *string             `json:"miscselectMask"`
	Attributes              *string             `json:"attributes"`
	AttributesMask          *string             `json:"attributesMask"`
	MRSigner                *string             `json:"mrsigner"`
	ISVProdID               *int                `json:"isvprodid"`
	TCBLevels               []jsonIdentityLevel `json:"tcbLevels"`
}

// ParseQEIdentity parses a PCS enclave identity response body
// {"enclaveIdentity":{…},"signature":"<hex r‖s>"}, keeping the exact signed
// span. Rejects duplicate keys, unknown fields, trailing data, ids other than
// QE/TD_QE/QVE, versions other than 2, malformed hex, unknown tcbStatus
// strings and issueDate ≥ nextUpdate. The signature is checked by
// [QEIdentity.Verify].
func ParseQEIdentity(raw []byte) (*QEIdentity, error) {
	const what = "qe identity"
	signed, sig, err := splitEnvelope(raw, "enclaveIdentity", what)
	if err != nil {
		return nil, err
	}
	var j jsonQEIdentity
	if err := decodeStrict(signed, &j); err != nil {
		return nil, parseErr(what, "%w", err)
	}
	q := &QEIdentity{RawSigned: signed, Signature: sig}
	if err := q.fill(&j); err != nil {
		return nil, parseErr(what, "%w", err)
	}
	return q, nil
}

func (q *QEIdentity) fill(j *jsonQEIdentity) error {
	if j.ID == nil || j.Version == nil {
		return errors.New("missing id or version")
	}
	q.ID, q.Version = *j.ID, *j.Version
	if (q.ID != "QE" && q.ID != "TD_QE" && q.ID != "QVE") || q.Version != 2 {
		return fmt.Errorf("unsupported enclave identity id %q version %d (want QE, TD_QE or QVE, version 2)", q.ID, q.Version)
	}
	var err error
	if q.IssueDate, q.NextUpdate, err = window(j.IssueDate, j.NextUpdate); err != nil {
		return err
	}
	if j.TCBEvaluationDataNumber == nil || *j.TCBEvaluationDataNumber < 0 {
		return errors.New("tcbEvaluationDataNumber missing or negative")
	}
	q.TCBEvaluationDataNumber = *j.TCBEvaluationDataNumber
	if j.MiscSelect == nil || j.MiscSelectMask == nil || j.Attributes == nil || j.AttributesMask == nil || j.MRSigner == nil || j.ISVProdID == nil {
		return errors.New("missing miscselect, miscselectMask, attributes, attributesMask, mrsigner or isvprodid")
	}
	var ms, mm [4]byte
	if err := hexFixed(ms[:], *j.MiscSelect, "miscselect"); err != nil {
		return err
	}
	if err := hexFixed(mm[:], *j.MiscSelectMask, "miscselectMask"); err != nil {
		return err
	}
	q.MiscSelect, q.MiscSelectMask = binary.LittleEndian.Uint32(ms[:]), binary.LittleEndian.Uint32(mm[:])
	if err := hexFixed(q.Attributes[:], *j.Attributes, "attributes"); err != nil {
		return err
	}
	if err := hexFixed(q.AttributesMask[:], *j.AttributesMask, "attributesMask"); err != nil {
		return err
	}
	if err := hexFixed(q.MRSigner[:], *j.MRSigner, "mrsigner"); err != nil {
		return err
	}
	if *j.ISVProdID < 0 || *j.ISVProdID > 0xffff {
		return errors.New("isvprodid outside 0..65535")
	}
	q.ISVProdID = uint16(*j.ISVProdID)
	q.TCBLevels, err = fillIdentityLevels(j.TCBLevels)
	return err
}

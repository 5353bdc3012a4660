package dcapbuild

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The JSON shapes of PCS TCB Info v3 and enclave identity v2 (Intel PCS API
// v4; Intel PCS API v4). Fields are declared in the order Intel serialises
// them: the signature covers the exact bytes, so key order is part of what
// a verifier sees. encoding/json of these values gives the signed inner
// object; [Envelope] wraps it with its signature.

// TCBInfo is the "tcbInfo" object.
type TCBInfo struct {
	ID                      string              `json:"id"`
	Version                 int                 `json:"version"`
	IssueDate               string              `json:"issueDate"`
	NextUpdate              string              `json:"nextUpdate"`
	FMSPC                   string              `json:"fmspc"`
	PCEID                   string              `json:"pceId"`
	TCBType                 int                 `json:"tcbType"`
	TCBEvaluationDataNumber int                 `json:"tcbEvaluationDataNumber"`
	TDXModule               *TDXModule          `json:"tdxModule,omitempty"`
	TDXModuleIdentities     []TDXModuleIdentity `json:"tdxModuleIdentities,omitempty"`
	TCBLevels               []TCBLevel          `json:"tcbLevels"`
}

// TCBLevel is one entry of "tcbLevels" in TCB Info.
type TCBLevel struct {
	TCB         TCB      `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

// TCB is a TCB level's "tcb": 16 SGX components, the PCE SVN and, for TDX,
// 16 TDX components.
type TCB struct {
	SGX    []Component `json:"sgxtcbcomponents"`
	PCESVN int         `json:"pcesvn"`
	TDX    []Component `json:"tdxtcbcomponents,omitempty"`
}

// Component is one TCB component. Intel names the category and type of
// some components only.
type Component struct {
	SVN      int    `json:"svn"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

// TDXModule is TCB Info's "tdxModule" (hex strings, upper case).
type TDXModule struct {
	MRSigner       string `json:"mrsigner"`
	Attributes     string `json:"attributes"`
	AttributesMask string `json:"attributesMask"`
}

// TDXModuleIdentity is one entry of "tdxModuleIdentities".
type TDXModuleIdentity struct {
	ID string `json:"id"`
	TDXModule
	TCBLevels []IdentityLevel `json:"tcbLevels"`
}

// IdentityLevel is one entry of "tcbLevels" in an enclave identity or a
// TDX module identity.
type IdentityLevel struct {
	TCB         ISVSVN   `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

// ISVSVN is an identity level's "tcb".
type ISVSVN struct {
	ISVSVN int `json:"isvsvn"`
}

// QEIdentity is the "enclaveIdentity" object (QE, TD_QE).
type QEIdentity struct {
	ID                      string          `json:"id"`
	Version                 int             `json:"version"`
	IssueDate               string          `json:"issueDate"`
	NextUpdate              string          `json:"nextUpdate"`
	TCBEvaluationDataNumber int             `json:"tcbEvaluationDataNumber"`
	MiscSelect              string          `json:"miscselect"`
	MiscSelectMask          string          `json:"miscselectMask"`
	Attributes              string          `json:"attributes"`
	AttributesMask          string          `json:"attributesMask"`
	MRSigner                string          `json:"mrsigner"`
	ISVProdID               int             `json:"isvprodid"`
	TCBLevels               []IdentityLevel `json:"tcbLevels"`
}

// Components returns the 16 components of svn. meta, when set, gives a
// component's category and type by index (empty strings are left out).
func Components(svn [16]byte, meta func(i int) (category, typ string)) []Component {
	out := make([]Component, len(svn))
	for i := range svn {
		out[i].SVN = int(svn[i])
		if meta != nil {
			out[i].Category, out[i].Type = meta(i)
		}
	}
	return out
}

// Hex is b in upper-case hex, as PCS writes identifiers and masks.
func Hex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// Time is t in UTC as RFC 3339 without fractional seconds, as PCS writes
// dates ("2025-07-01T00:00:00Z").
func Time(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Envelope wraps a signed inner object as PCS serves it:
// {"<key>":<inner>,"signature":"<hex r‖s>"}; key is "tcbInfo" or
// "enclaveIdentity" and sig the r‖s signature over inner's exact bytes.
func Envelope(key string, inner, sig []byte) []byte {
	return fmt.Appendf(nil, `{"%s":%s,"signature":"%s"}`, key, inner, hex.EncodeToString(sig))
}

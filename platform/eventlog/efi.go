package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// GUID is an EFI_GUID in its in-memory (mixed-endian) byte order.
type GUID [16]byte

// String renders the GUID in registry form (first three fields little
// endian, UEFI 2.10 Appendix A).
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(g[0:4]),
		binary.LittleEndian.Uint16(g[4:6]), binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
}

func mustGUID(s string) GUID {
	var g GUID
	h := strings.ReplaceAll(s, "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		panic("eventlog: bad GUID literal " + s)
	}
	binary.LittleEndian.PutUint32(g[0:4], binary.BigEndian.Uint32(b[0:4]))
	binary.LittleEndian.PutUint16(g[4:6], binary.BigEndian.Uint16(b[4:6]))
	binary.LittleEndian.PutUint16(g[6:8], binary.BigEndian.Uint16(b[6:8]))
	copy(g[8:], b[8:])
	return g
}

// Well-known GUIDs (UEFI 2.10 §3.3 "Globally Defined Variables", §32.6.1),
// behind functions so that no caller can change what the log is compared
// against.
var (
	efiGlobalVariable  = mustGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	efiImageSecurityDB = mustGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	efiCertX509        = mustGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	efiCertSHA256      = mustGUID("c1c41626-504c-4092-aca9-41f936934328")
	shimLockGUID       = mustGUID("605dab50-e046-4300-abb6-3dd810dd8b23")
)

// EFIGlobalVariable returns EFI_GLOBAL_VARIABLE, the vendor GUID of the
// globally defined variables (SecureBoot, PK, KEK; UEFI 2.10 §3.3).
func EFIGlobalVariable() GUID { return efiGlobalVariable }

// EFIImageSecurityDB returns EFI_IMAGE_SECURITY_DATABASE_GUID, the vendor
// GUID of db and dbx (UEFI 2.10 §32.6.1).
func EFIImageSecurityDB() GUID { return efiImageSecurityDB }

// EFICertX509 returns EFI_CERT_X509_GUID, the signature type of an X.509
// certificate in an EFI_SIGNATURE_LIST.
func EFICertX509() GUID { return efiCertX509 }

// EFICertSHA256 returns EFI_CERT_SHA256_GUID, the signature type of a
// SHA-256 image digest in an EFI_SIGNATURE_LIST.
func EFICertSHA256() GUID { return efiCertSHA256 }

// ShimLockGUID returns SHIM_LOCK_GUID, the vendor GUID of shim's variables
// (MokList, SbatLevel).
func ShimLockGUID() GUID { return shimLockGUID }

// Variable is UEFI_VARIABLE_DATA (PFP §10.4.6): the payload of
// EV_EFI_VARIABLE_* events.
type Variable struct {
	GUID GUID
	Name string
	Data []byte
}

// ParseVariable parses UEFI_VARIABLE_DATA: VariableName GUID,
// UnicodeNameLength u64 (characters), VariableDataLength u64, the UTF-16LE
// name and the data, with nothing after them.
func ParseVariable(b []byte) (*Variable, error) {
	c := newCursor(b)
	g, ok1 := c.Bytes(16)
	nameLen, ok2 := c.U64()
	dataLen, ok3 := c.U64()
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("eventlog: truncated UEFI_VARIABLE_DATA")
	}
	if nameLen > uint64(c.Len())/2 || dataLen > uint64(c.Len()) || 2*nameLen+dataLen != uint64(c.Len()) {
		return nil, fmt.Errorf("eventlog: UEFI_VARIABLE_DATA lengths %d+%d do not fit %d bytes", nameLen, dataLen, c.Len())
	}
	nb, _ := c.Bytes(int(2 * nameLen))
	data, _ := c.Bytes(int(dataLen))
	v := &Variable{Data: data, Name: decodeUTF16(nb)}
	copy(v.GUID[:], g)
	return v, nil
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return strings.TrimRight(string(utf16.Decode(u)), "\x00")
}

// scrtmVersion renders EV_S_CRTM_VERSION data, which is a UCS-2 string
// (usually NUL-terminated) or an EFI_GUID (PFP §10.4.1): as text when it
// is printable ASCII, or NUL-terminated UCS-2 of printable characters; as a
// GUID when it is 16 bytes otherwise; as hex for anything else. Decoding
// arbitrary bytes as UTF-16 would print a GUID as CJK characters.
func scrtmVersion(b []byte) string {
	if len(b)%2 == 0 {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		terminated := len(u) > 0 && u[len(u)-1] == 0
		for len(u) > 0 && u[len(u)-1] == 0 {
			u = u[:len(u)-1]
		}
		ascii, printable := true, true
		for _, c := range u {
			ascii = ascii && c >= 0x20 && c <= 0x7e
			printable = printable && c >= 0x20 && (c < 0x7f || c >= 0xa0) && !utf16.IsSurrogate(rune(c))
		}
		if ascii || (terminated && printable) {
			return string(utf16.Decode(u))
		}
	}
	if len(b) == len(GUID{}) {
		return GUID(b).String()
	}
	return hex.EncodeToString(b)
}

// SignatureDB summarises an EFI_SIGNATURE_LIST sequence (PK, KEK, db, dbx;
// UEFI 2.10 §32.4.1).
type SignatureDB struct {
	// Certs are SHA-256 fingerprints (hex) of the X.509 certificates.
	Certs []string `json:"certs,omitempty"`
	// Hashes are the SHA-256 image hashes (hex).
	Hashes []string `json:"hashes,omitempty"`
	// Other counts entries of other signature types.
	Other int `json:"other,omitempty"`
}

// ParseSignatureDB parses a sequence of EFI_SIGNATURE_LIST structures.
func ParseSignatureDB(b []byte) (*SignatureDB, error) {
	db := &SignatureDB{}
	c := newCursor(b)
	for c.Len() > 0 {
		typ, ok1 := c.Bytes(16)
		listSize, ok2 := c.U32()
		hdrSize, ok3 := c.U32()
		sigSize, ok4 := c.U32()
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, errors.New("eventlog: truncated EFI_SIGNATURE_LIST")
		}
		if listSize < 28 || int64(listSize)-28 > int64(c.Len()) || uint64(hdrSize) > uint64(listSize)-28 || sigSize < 16 {
			return nil, fmt.Errorf("eventlog: EFI_SIGNATURE_LIST sizes %d/%d/%d", listSize, hdrSize, sigSize)
		}
		body, _ := c.Bytes(int(listSize) - 28)
		body = body[hdrSize:]
		if len(body)%int(sigSize) != 0 {
			return nil, fmt.Errorf("eventlog: EFI_SIGNATURE_LIST of %d bytes is not a multiple of %d", len(body), sigSize)
		}
		var g GUID
		copy(g[:], typ)
		for off := 0; off < len(body); off += int(sigSize) {
			data := body[off+16 : off+int(sigSize)] // after SignatureOwner
			switch g {
			case EFICertX509():
				sum := sha256.Sum256(data)
				db.Certs = append(db.Certs, hex.EncodeToString(sum[:]))
			case EFICertSHA256():
				db.Hashes = append(db.Hashes, hex.EncodeToString(data))
			default:
				db.Other++
			}
		}
	}
	return db, nil
}

// SecureBoot is the UEFI Secure Boot configuration measured into PCR7.
type SecureBoot struct {
	Enabled bool         `json:"enabled"`
	PK      *SignatureDB `json:"pk,omitempty"`
	KEK     *SignatureDB `json:"kek,omitempty"`
	DB      *SignatureDB `json:"db,omitempty"`
	DBX     *SignatureDB `json:"dbx,omitempty"`
	// Authorities are SHA-256 fingerprints of the db entries that
	// authorised loaded images (EV_EFI_VARIABLE_AUTHORITY, after the
	// separator).
	Authorities []string `json:"authorities,omitempty"`
}

// State is what a replayed log says about the boot, taken only from events
// whose data is proven by their digests (in the chosen bank and every other
// bank the log carries and cloudra can compute), in PCRs whose replay
// matched the quote.
type State struct {
	Bank uint16 `json:"-"`
	// SecureBoot is nil when PCR7 was not verified or has no SecureBoot
	// variable event.
	SecureBoot *SecureBoot `json:"secure_boot,omitempty"`
	// EFIApps are the digests (hex, in Bank) of the images measured into
	// PCR4, in boot order: shim, boot loader, kernel … — the
	// EV_EFI_BOOT_SERVICES_APPLICATION events, and EV_EFI_BOOT_SERVICES_DRIVER
	// or EV_IPL events whose digest is not of their data (an image, so
	// that retyping an application to them cannot hide it, docs/pitfalls-tpm.md D5).
	EFIApps []string `json:"efi_apps,omitempty"`
	// KernelCmdline is the measured command line without its trailing NUL.
	KernelCmdline string `json:"kernel_cmdline,omitempty"`
	// GrubCommands are the GRUB commands measured into PCR8.
	GrubCommands []string `json:"grub_commands,omitempty"`
	// EFIActions are EV_EFI_ACTION strings whose digests verify.
	EFIActions []string `json:"efi_actions,omitempty"`
	// SCRTMVersion is the EV_S_CRTM_VERSION string of PCR0, when verified.
	SCRTMVersion string `json:"scrtm_version,omitempty"`
	// Problems lists events that break the rules (retyped, unverified
	// separators, unexpected types in PCR4/PCR7, error separators, and —
	// starting with ProblemDataDigest — events whose data a claim would come
	// from but whose digests do not all prove it). A verifier must treat a
	// non-empty list as a failure (docs/pitfalls-tpm.md D5).
	Problems []string `json:"problems,omitempty"`
	// Notes lists oddities that do not affect the claims.
	Notes []string `json:"notes,omitempty"`
}

func (s *State) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// ProblemDataDigest starts every problem of an event whose data a claim
// would be derived from but which its digests do not prove: the data must
// hash to every digest of the event (each computable bank) for the types
// whose digest the PFP defines over the event data (§10.4.1; §10.4.6 for
// EV_EFI_VARIABLE_DRIVER_CONFIG and EV_EFI_VARIABLE_AUTHORITY, whose digest
// is over the whole UEFI_VARIABLE_DATA). The claim is then not made, and
// the problem says why, so that a claim list is never silently shorter.
const ProblemDataDigest = "eventlog.data-digest"

func (s *State) dataProblem(format string, args ...any) {
	s.problem("%s: %s", ProblemDataDigest, fmt.Sprintf(format, args...))
}

var (
	sepZero = []byte{0, 0, 0, 0}
	sepErr  = []byte{0xff, 0xff, 0xff, 0xff}
)

const (
	callingEFIApp    = "Calling EFI Application from Boot Option"
	exitBootServices = "Exit Boot Services Invocation"
)

// Types expected in PCR4 and PCR7 (PFP §3.3.4.5 and §3.3.4.8). Any other type
// there may be a retyped measurement (docs/pitfalls-tpm.md D5) and is a problem.
var (
	pcr4Types = map[EventType]bool{EvEFIBootServicesApp: true, EvEFIAction: true, EvSeparator: true,
		EvIPL: true, EvEventTag: true, EvCompactHash: true, EvEFIBootServicesDriver: true}
	pcr7Types = map[EventType]bool{EvEFIVariableDriverConfig: true, EvEFIVariableAuthority: true,
		EvSeparator: true, EvEFIAction: true, EvEFISPDMFirmwareBlob: true, EvEFISPDMFirmwareConfig: true}
)

// Analyze derives the boot state from a log in one bank. verified says
// which PCRs replayed to their quoted values; events of other PCRs are not
// used for claims. Nothing here is trusted unless its digest proves it.
func Analyze(l *Log, bank uint16, verified map[int]bool) (*State, error) {
	h, ok := HashFor(bank)
	if !ok || !l.HasAlg(bank) {
		return nil, fmt.Errorf("%w (%s)", ErrNoBank, AlgName(bank))
	}
	hashOf := func(b []byte) []byte {
		hh := h.New()
		hh.Write(b)
		return hh.Sum(nil)
	}
	a := analysis{
		st:       &State{Bank: bank},
		verified: verified,
		sepZero:  hashOf(sepZero), sepErr: hashOf(sepErr),
		call: hashOf([]byte(callingEFIApp)), ebs: hashOf([]byte(exitBootServices)),
		seenSep: map[uint32]bool{},
	}
	for i := range l.Events {
		a.event(&l.Events[i])
	}
	st := a.st
	if a.sb != nil && a.sbSeen {
		st.SecureBoot = a.sb
	} else if verified[7] && a.sb != nil {
		st.Notes = append(st.Notes, "PCR7 has no SecureBoot variable event")
	}
	return st, nil
}

// analysis is the state Analyze carries from event to event.
type analysis struct {
	st       *State
	verified map[int]bool
	// Digests, in the analysed bank, of the separator values and of the
	// EFI action strings that mark the boot phases.
	sepZero, sepErr, call, ebs []byte

	seenSep map[uint32]bool // PCRs whose separator has been seen
	sb      *SecureBoot
	sbSeen  bool // the SecureBoot variable was measured
	ebsSeen bool // ExitBootServices was measured
}

func (a *analysis) note(format string, args ...any) {
	a.st.Notes = append(a.st.Notes, fmt.Sprintf(format, args...))
}

// event analyses one event: the consistency of its banks, then separators,
// EFI actions and the events of the PCRs claims come from.
func (a *analysis) event(e *Event) {
	if e.Type == EvNoAction || e.Index > maxIndex {
		return
	}
	d := e.Digest(a.st.Bank)
	// proven: the data is what was measured, in every computable bank of
	// the log, not only the chosen one. A log whose banks disagree about the
	// same event's data contradicts itself (PFP §10.2.2: one measurement, a
	// digest per bank) and is reported whatever the event's type or PCR.
	proven, some := e.DataProven(e.Data)
	if some && !proven {
		a.st.dataProblem("%v event %d in PCR %d: its data matches some of its digests but not its %s digest", e.Type, e.Seq, e.Index, e.mismatchedBanks(e.Data))
	}
	if a.separator(e, d, proven) || a.action(e, d, proven) {
		return
	}
	switch e.Index {
	case 0:
		if e.Type == EvSCRTMVersion && a.verified[0] {
			if proven {
				a.st.SCRTMVersion = scrtmVersion(e.Data)
			} else {
				a.st.Notes = append(a.st.Notes, "EV_S_CRTM_VERSION digest does not match its data")
			}
		}
	case 4:
		a.pcr4(e, d, proven)
	case 5:
		if e.Type == EvEFIAction && bytes.Equal(d, a.ebs) && proven {
			a.ebsSeen = true
		}
	case 7:
		a.pcr7(e, proven)
	case 8, 12:
		if e.Type == EvIPL && a.verified[int(e.Index)] {
			a.st.addBootLoaderEvent(e, proven)
		}
	}
}

// separator checks separators: any event carrying a separator digest must
// be typed as one, and every separator must carry 0 or the error value. It
// reports whether the event is done with.
func (a *analysis) separator(e *Event, d []byte, proven bool) bool {
	st := a.st
	looksSep := bytes.Equal(d, a.sepZero) || bytes.Equal(d, a.sepErr)
	if e.Type == EvSeparator && e.Index > 7 {
		// Separators of OS PCRs carry OS-defined data (Windows: "WBCL");
		// PFP §3.3.2.2 fixes the data only for PCRs 0–7.
		return true
	}
	if e.Type != EvSeparator && !looksSep {
		return false
	}
	switch {
	case e.Type != EvSeparator && (e.Index == 4 || e.Index == 5 || e.Index == 7):
		st.problem("event %d in PCR %d has separator data but type %v", e.Seq, e.Index, e.Type)
	case e.Type != EvSeparator:
		// Elsewhere (e.g. an S-CRTM contents event of four zero bytes)
		// nothing is derived from it; record it only.
		a.note("event %d in PCR %d (%v) has separator data", e.Seq, e.Index, e.Type)
		return true
	case !proven:
		st.dataProblem("separator event %d in PCR %d: digest does not match its data", e.Seq, e.Index)
	case bytes.Equal(e.Data, sepErr):
		st.problem("PCR %d separator signals a firmware error (0xFFFFFFFF)", e.Index)
	case !bytes.Equal(e.Data, sepZero):
		st.problem("separator event %d in PCR %d has data %x", e.Seq, e.Index, e.Data)
	}
	if e.Type == EvSeparator && e.Index <= 7 {
		if a.seenSep[e.Index] {
			st.problem("second separator in PCR %d (event %d)", e.Index, e.Seq)
		}
		a.seenSep[e.Index] = true
	}
	return true
}

// action records EFI action strings (the digest of an action is
// H(string)). It reports whether the event is done with: an event carrying
// an action digest under another type is a problem.
func (a *analysis) action(e *Event, d []byte, proven bool) bool {
	if bytes.Equal(d, a.call) || bytes.Equal(d, a.ebs) {
		if e.Type != EvEFIAction {
			a.st.problem("event %d in PCR %d carries an EFI action digest but type %v", e.Seq, e.Index, e.Type)
			return true
		}
	}
	if e.Type == EvEFIAction {
		if proven {
			a.st.EFIActions = append(a.st.EFIActions, string(e.Data))
		} else {
			a.note("EV_EFI_ACTION event %d in PCR %d does not match its data", e.Seq, e.Index)
		}
	}
	return false
}

// pcr4 checks a PCR4 event and lists the boot applications.
func (a *analysis) pcr4(e *Event, d []byte, proven bool) {
	if !pcr4Types[e.Type] {
		a.st.problem("unexpected %v event %d in PCR4", e.Type, e.Seq)
		return
	}
	// A PCR4 event whose type says its digest is of its data (EV_EFI_ACTION,
	// EV_COMPACT_HASH, EV_EVENT_TAG — the latter possibly of its
	// taggedEventData; PFP §10.4.1) must match it: otherwise it may be a
	// retyped application hidden from EFIApps, and so from the
	// efi-app-digests and kernel-digests rules (docs/pitfalls-tpm.md D5).
	switch e.Type {
	case EvEFIAction, EvCompactHash, EvEventTag:
		if !proven && !(e.Type == EvEventTag && taggedDataProven(e)) {
			a.st.dataProblem("%v event %d in PCR4: digest does not match its data", e.Type, e.Seq)
			return
		}
	}
	// Boot applications are measured after the PCR4 separator (PFP
	// §3.3.4.5: the separator precedes the first boot option) and until
	// ExitBootServices. Drivers and IPL code measured as images count as
	// well.
	image := e.Type == EvEFIBootServicesApp ||
		((e.Type == EvEFIBootServicesDriver || e.Type == EvIPL) && !proven)
	if image && a.verified[4] && !a.ebsSeen {
		a.st.EFIApps = append(a.st.EFIApps, hex.EncodeToString(d))
	}
}

// pcr7 checks a PCR7 event and gathers the Secure Boot state.
func (a *analysis) pcr7(e *Event, proven bool) {
	if !pcr7Types[e.Type] {
		a.st.problem("unexpected %v event %d in PCR7", e.Type, e.Seq)
		return
	}
	if e.Type == EvEFIAction && !proven {
		a.st.dataProblem("EV_EFI_ACTION event %d in PCR7: digest does not match its data", e.Seq)
		return
	}
	if !a.verified[7] {
		return
	}
	switch e.Type {
	case EvEFIVariableDriverConfig:
		a.secureBootConfig(e, proven)
	case EvEFIVariableAuthority:
		a.secureBootAuthority(e, proven)
	}
}

// secureBootConfig takes a Secure Boot configuration variable, which must
// be measured before the PCR7 separator.
func (a *analysis) secureBootConfig(e *Event, proven bool) {
	st := a.st
	if a.seenSep[7] {
		st.problem("Secure Boot configuration event %d after the PCR7 separator", e.Seq)
		return
	}
	if !proven {
		st.dataProblem("Secure Boot variable event %d: digest does not match its data", e.Seq)
		return
	}
	v, err := ParseVariable(e.Data)
	if err != nil {
		st.problem("event %d: %v", e.Seq, err)
		return
	}
	if a.sb == nil {
		a.sb = &SecureBoot{}
	}
	if err := a.sb.addVariable(v); err != nil {
		st.problem("event %d: %v", e.Seq, err)
	}
	if v.GUID == EFIGlobalVariable() && v.Name == "SecureBoot" {
		a.sbSeen = true
		if len(v.Data) == 0 {
			st.Notes = append(st.Notes, "SecureBoot variable is empty: Secure Boot off")
		}
	}
}

// secureBootAuthority lists the authority that verified an image.
func (a *analysis) secureBootAuthority(e *Event, proven bool) {
	if !a.seenSep[7] {
		a.note("EV_EFI_VARIABLE_AUTHORITY event %d before the PCR7 separator", e.Seq)
	}
	if a.sb == nil {
		a.sb = &SecureBoot{}
	}
	switch {
	case proven:
		v, err := ParseVariable(e.Data)
		if err != nil {
			a.st.problem("EV_EFI_VARIABLE_AUTHORITY event %d: %v", e.Seq, err)
			return
		}
		sum := sha256.Sum256(v.Data)
		a.sb.Authorities = append(a.sb.Authorities, hex.EncodeToString(sum[:]))
	case shimAuthorityQuirk(e):
		a.note("EV_EFI_VARIABLE_AUTHORITY event %d: malformed by shim "+
			"(one byte after UEFI_VARIABLE_DATA, outside the digest; signature data without its owner GUID): "+
			"digest proven over the data without that byte, authority not listed", e.Seq)
	default:
		a.st.dataProblem("EV_EFI_VARIABLE_AUTHORITY event %d: digest does not match its data, authority not listed", e.Seq)
	}
}

// taggedDataProven reports whether the digests of e are those of the
// taggedEventData of its TCG_PCClientTaggedEvent (taggedEventID u32,
// taggedEventDataSize u32, data; PFP §10.4.1, EV_EVENT_TAG), in every bank.
func taggedDataProven(e *Event) bool {
	data := e.Data
	if len(data) < 8 {
		return false
	}
	n := binary.LittleEndian.Uint32(data[4:8])
	if uint64(n) != uint64(len(data)-8) {
		return false
	}
	all, _ := e.DataProven(data[8:])
	return all
}

// shimAuthorityQuirk recognises the EV_EFI_VARIABLE_AUTHORITY events of shim
// versions without rhboot/shim commit 8a27a4809a6a: the event data is one byte longer than what was hashed,
// and its UEFI_VARIABLE_DATA holds the bare certificate where an
// EFI_SIGNATURE_DATA (owner GUID, certificate) belongs, with lengths that do
// not add up. go-attestation verifies such events over the data without its
// last byte (its issue 157). Nothing is derived from them: the data does not
// parse as the PFP §10.4.6 structure.
func shimAuthorityQuirk(e *Event) bool {
	if len(e.Data) == 0 {
		return false
	}
	if _, err := ParseVariable(e.Data); err == nil {
		return false
	}
	all, _ := e.DataProven(e.Data[:len(e.Data)-1])
	return all
}

func (sb *SecureBoot) addVariable(v *Variable) error {
	switch {
	case v.GUID == EFIGlobalVariable() && v.Name == "SecureBoot":
		if len(v.Data) > 1 {
			return fmt.Errorf("SecureBoot variable has %d bytes", len(v.Data))
		}
		sb.Enabled = len(v.Data) == 1 && v.Data[0] == 1
	case v.GUID == EFIGlobalVariable() && (v.Name == "PK" || v.Name == "KEK"),
		v.GUID == EFIImageSecurityDB() && (v.Name == "db" || v.Name == "dbx"):
		db, err := ParseSignatureDB(v.Data)
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		switch v.Name {
		case "PK":
			sb.PK = db
		case "KEK":
			sb.KEK = db
		case "db":
			sb.DB = db
		case "dbx":
			sb.DBX = db
		}
	}
	return nil
}

// GRUB measures its commands and the kernel command line into PCR8 as
// EV_IPL strings with a prefix; the digest covers the text after the prefix,
// with or without the trailing NUL depending on the version
// (https://www.gnu.org/software/grub/manual/grub/grub.html#Measured-Boot).
var grubPrefixes = []string{"grub_cmd: ", "kernel_cmdline: ", "module_cmdline: ", "grub_kernel_cmdline ", "grub_cmd "}

// addBootLoaderEvent reads a PCR8/PCR12 EV_IPL event. proven says its data
// hashes to every digest. A GRUB string counts only when the text after its
// prefix (with or without the NUL, but the same in every bank) hashes to
// every digest: that text is what GRUB measured. Otherwise the event is a
// data-digest problem, never a command line or command left out in silence.
func (st *State) addBootLoaderEvent(e *Event, proven bool) {
	for _, p := range grubPrefixes {
		if !bytes.HasPrefix(e.Data, []byte(p)) {
			continue
		}
		text := e.Data[len(p):]
		measured := false
		for _, m := range [][]byte{text, bytes.TrimSuffix(text, []byte{0})} {
			if all, _ := e.DataProven(m); all {
				measured = true
				break
			}
		}
		if !measured {
			st.dataProblem("GRUB event %d in PCR %d: digest does not match its text (%s)", e.Seq, e.Index, e.mismatchedBanks(text))
			return
		}
		s := strings.TrimSuffix(string(text), "\x00")
		if p == "kernel_cmdline: " || p == "grub_kernel_cmdline " {
			if st.KernelCmdline != "" {
				st.problem("second kernel command line (event %d)", e.Seq)
				return
			}
			st.KernelCmdline = s
		} else {
			st.GrubCommands = append(st.GrubCommands, s)
		}
		return
	}
	// systemd-stub measures the kernel command line (LoadOptions) as UTF-16LE
	// into PCR12 (earlier PCR8), digest over the UTF-16 bytes. Its other
	// PCR12 EV_IPL events (credentials, add-ons) are digests of files with a
	// description as data, so an event whose data is not proven is not a
	// command line, and nothing is derived from it.
	if len(e.Data)%2 == 0 && proven {
		s := decodeUTF16(e.Data)
		if st.KernelCmdline == "" && e.Index == 12 {
			st.KernelCmdline = s
		}
	}
}

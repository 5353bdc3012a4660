// Package eventlog parses TCG PC Client event logs (SHA-1 legacy and
// crypto-agile) and the Confidential Computing event log (CCEL), replays
// them into PCRs or TDX RTMRs, and extracts what the measured events mean
// (Secure Boot state, EFI applications, kernel command line) from events
// whose data is proven by their digests.
//
// References: TCG PC Client Platform Firmware Profile (PFP) 1.05 §10
// ("Event Logging"); UEFI 2.10 §38.4 "EFI_CC_MEASUREMENT_PROTOCOL" for CCEL;
// google/go-eventlog and go-attestation's event-log-disclosure.md for the
// pitfalls of trusting event types.
//
// The package is pure: it reads bytes and returns values.
package eventlog

import (
	"bytes"
	"crypto"
	_ "crypto/sha1" // SHA-1 banks of legacy logs
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra/internal/tpmalg"
)

// Hash algorithm identifiers (TPM_ALG_ID) as they appear in logs.
const (
	AlgSHA1   uint16 = 0x0004
	AlgSHA256 uint16 = 0x000B
	AlgSHA384 uint16 = 0x000C
	AlgSHA512 uint16 = 0x000D
	AlgSM3    uint16 = 0x0012
)

// HashFor returns the Go hash of a TPM hash algorithm identifier.
func HashFor(alg uint16) (crypto.Hash, bool) {
	h, ok := tpmalg.ByID(alg)
	return h.Go, ok && h.Go != 0
}

// AlgName names an algorithm the way tpm2-tools does.
func AlgName(alg uint16) string {
	if h, ok := tpmalg.ByID(alg); ok {
		return h.Name
	}
	return fmt.Sprintf("0x%04x", alg)
}

// Format is the record format of a log.
type Format int

// Formats.
const (
	// FormatSHA1 is the TPM 1.2 / SHA-1-only format: every record a
	// TCG_PCR_EVENT (PFP §10.2.1).
	FormatSHA1 Format = 1
	// FormatCryptoAgile starts with a TCG_PCR_EVENT holding the
	// "Spec ID Event03" header, followed by TCG_PCR_EVENT2 records (PFP §10.2.2).
	FormatCryptoAgile Format = 2
)

// AlgSize is one entry of the Spec ID event's digestSizes list.
type AlgSize struct {
	Alg  uint16 `json:"alg"`
	Size int    `json:"size"`
}

// SpecID is TCG_EfiSpecIDEvent (PFP §10.4.5.1).
type SpecID struct {
	PlatformClass uint32
	VersionMinor  uint8
	VersionMajor  uint8
	Errata        uint8
	UintnSize     uint8
	Algs          []AlgSize
	VendorInfo    []byte
}

// Digest is one digest of an event.
type Digest struct {
	Alg   uint16
	Value []byte
}

// Event is one record. Type and Data are NOT covered by the digests (only
// Data is, for event types whose digest is defined as H(Data)): never trust
// them unless Verified says so (go-attestation event-log-disclosure.md).
type Event struct {
	// Seq is the position in the log (0 = the first record).
	Seq int
	// Index is the PCR index (TPM logs) or CC MR index (CCEL).
	Index   uint32
	Type    EventType
	Digests []Digest
	Data    []byte
}

// Digest returns the event's digest for alg, or nil.
func (e *Event) Digest(alg uint16) []byte {
	for _, d := range e.Digests {
		if d.Alg == alg {
			return d.Value
		}
	}
	return nil
}

// DataVerified reports whether the event's digest in alg equals H(Data):
// only then is Data what was measured.
func (e *Event) DataVerified(alg uint16) bool {
	return e.digestOf(alg, e.Data)
}

// DataProven compares H(data) with every digest of the event whose
// algorithm can be computed (SHA-1, SHA-256, SHA-384, SHA-512). all is true
// when there is at least one such digest and every one matches; some when at
// least one matches. A record carries one digest per active bank for the
// same measurement (PFP §10.2.2), so for an event whose digest is defined
// over its data (PFP §10.4.1) all and some differ only in a log that
// contradicts itself: one bank proves the data, another says something else
// was measured.
func (e *Event) DataProven(data []byte) (all, some bool) {
	all = true
	n := 0
	for _, d := range e.Digests {
		h, ok := HashFor(d.Alg)
		if !ok {
			continue
		}
		n++
		hh := h.New()
		hh.Write(data)
		if bytes.Equal(hh.Sum(nil), d.Value) {
			some = true
		} else {
			all = false
		}
	}
	return all && n > 0, some
}

// mismatchedBanks names the computable banks of e whose digest is not
// H(data), for problem reports.
func (e *Event) mismatchedBanks(data []byte) string {
	var bad []string
	for _, d := range e.Digests {
		if _, ok := HashFor(d.Alg); ok && !e.digestOf(d.Alg, data) {
			bad = append(bad, AlgName(d.Alg))
		}
	}
	return strings.Join(bad, ",")
}

func (e *Event) digestOf(alg uint16, data []byte) bool {
	h, ok := HashFor(alg)
	d := e.Digest(alg)
	if !ok || d == nil {
		return false
	}
	hh := h.New()
	hh.Write(data)
	return bytes.Equal(hh.Sum(nil), d)
}

// Log is a parsed event log.
type Log struct {
	Format Format
	// SpecID is the crypto-agile header (nil for FormatSHA1).
	SpecID *SpecID
	// Algs lists the banks the log carries, in header order.
	Algs []AlgSize
	// Events are all records after the Spec ID header, EV_NO_ACTION included.
	Events []Event
}

// HasAlg reports whether the log carries digests for alg.
func (l *Log) HasAlg(alg uint16) bool {
	for _, a := range l.Algs {
		if a.Alg == alg {
			return true
		}
	}
	return false
}

// ParseError is a malformed log.
type ParseError struct {
	Offset int
	Err    error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("eventlog: malformed log at offset %d: %v", e.Offset, e.Err)
}
func (e *ParseError) Unwrap() error { return e.Err }

// MaxLogSize bounds the logs Parse accepts (real logs are tens of KiB; a
// CCEL area is at most a few MiB).
const MaxLogSize = 16 << 20

// maxIndex bounds PCR / MR indices (PC Client TPMs have 24 PCRs).
const maxIndex = 31

const specIDSignature = "Spec ID Event03\x00"

// ErrTruncated is a log that ends inside a record.
var ErrTruncated = errors.New("log truncated inside a record")

// Parse parses a TCG PC Client event log as read from
// /sys/kernel/security/tpm0/binary_bios_measurements: the crypto-agile
// format when the first record is the Spec ID Event03 header, else the SHA-1
// format. A log that ends inside a record is an error (never a partial log).
func Parse(b []byte) (*Log, error) {
	return parse(b, false)
}

// ParseCCEL parses a CC event log area (ACPI CCEL LASA..LASA+LAML). The
// unused rest of the area (all 0xFF or all 0x00 bytes) ends the log.
func ParseCCEL(b []byte) (*Log, error) {
	l, err := parse(b, true)
	if err != nil {
		return nil, err
	}
	if l.Format != FormatCryptoAgile {
		return nil, &ParseError{Err: errors.New("CCEL log does not start with a Spec ID Event03 header")}
	}
	if !l.HasAlg(AlgSHA384) {
		return nil, &ParseError{Err: errors.New("CCEL log has no SHA-384 digests")}
	}
	return l, nil
}

func allSame(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}

// parse reads a log; ccel selects the CC event log rules (the unused rest
// of the area ends the log; the Spec ID event may carry any MR index).
func parse(b []byte, ccel bool) (*Log, error) {
	if len(b) > MaxLogSize {
		return nil, &ParseError{Err: fmt.Errorf("%d bytes exceeds %d", len(b), MaxLogSize)}
	}
	if len(b) == 0 {
		return nil, &ParseError{Err: errors.New("empty log")}
	}
	raw := append([]byte(nil), b...)
	c := newCursor(raw)
	l := &Log{}
	first, err := readEvent1(c, 0)
	if err != nil {
		return nil, err
	}
	// The Spec ID event (PFP §10.4.5.1) is the first record, EV_NO_ACTION,
	// with a zero SHA-1 digest. PFP puts it in PCR 0. In a CC event log its
	// index is a CC MR index (UEFI 2.10 §38.4: 0 = MRTD, 1–4 = RTMR0–3) and
	// firmware that maps PCR 0 to MR index 1 (RTMR0) writes 1 there, as
	// GCP's TDX firmware does; an EV_NO_ACTION event is never extended
	// (PFP §10.4.1), so the index means nothing for replay and any index is
	// accepted there. The header must still be first and well-formed.
	if first.Type == EvNoAction && (first.Index == 0 || ccel) && bytes.HasPrefix(first.Data, []byte(specIDSignature)) &&
		allSame(first.Digests[0].Value, 0) {
		sid, err := parseSpecID(first.Data)
		if err != nil {
			return nil, &ParseError{Offset: 32, Err: err}
		}
		l.Format, l.SpecID, l.Algs = FormatCryptoAgile, sid, sid.Algs
	} else {
		l.Format, l.Algs = FormatSHA1, []AlgSize{{Alg: AlgSHA1, Size: 20}}
		l.Events = append(l.Events, *first)
	}
	for seq := len(l.Events) + 1; c.Len() > 0; seq++ {
		if ccel && (allSame(c.Rest(), 0xFF) || allSame(c.Rest(), 0)) {
			break
		}
		var e *Event
		if l.Format == FormatSHA1 {
			e, err = readEvent1(c, seq)
		} else {
			e, err = readEvent2(c, seq, l.Algs)
		}
		if err != nil {
			return nil, err
		}
		l.Events = append(l.Events, *e)
	}
	return l, nil
}

// readEvent1 reads a TCG_PCR_EVENT (PFP §10.2.1): index, type, SHA-1
// digest, size, data.
func readEvent1(c *cursor, seq int) (*Event, error) {
	off := c.Offset()
	idx, ok1 := c.U32()
	typ, ok2 := c.U32()
	dig, ok3 := c.Bytes(20)
	size, ok4 := c.U32()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, &ParseError{Offset: off, Err: ErrTruncated}
	}
	if idx > maxIndex && EventType(typ) != EvNoAction {
		return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: index %d", seq, idx)}
	}
	// The size is checked against what is left before slicing: a length
	// field never causes an allocation.
	if int64(size) > int64(c.Len()) {
		return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: %w (data size %d, %d bytes left)", seq, ErrTruncated, size, c.Len())}
	}
	data, _ := c.Bytes(int(size))
	return &Event{Seq: seq, Index: idx, Type: EventType(typ), Digests: []Digest{{Alg: AlgSHA1, Value: dig}}, Data: data}, nil
}

// readEvent2 reads a TCG_PCR_EVENT2 (PFP §10.2.2). Every record must carry
// one digest for each algorithm of the header, each once (PFP §10.2.2:
// "digests: the count of digests for all active PCR banks"); sizes come
// from the header, so unknown algorithms are still parsed.
func readEvent2(c *cursor, seq int, algs []AlgSize) (*Event, error) {
	off := c.Offset()
	idx, ok1 := c.U32()
	typ, ok2 := c.U32()
	count, ok3 := c.U32()
	if !ok1 || !ok2 || !ok3 {
		return nil, &ParseError{Offset: off, Err: ErrTruncated}
	}
	if idx > maxIndex && EventType(typ) != EvNoAction {
		return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: index %d", seq, idx)}
	}
	if int(count) != len(algs) {
		return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: %d digests, the header lists %d algorithms", seq, count, len(algs))}
	}
	e := &Event{Seq: seq, Index: idx, Type: EventType(typ), Digests: make([]Digest, 0, count)}
	for i := 0; i < int(count); i++ {
		alg, ok := c.U16()
		if !ok {
			return nil, &ParseError{Offset: off, Err: ErrTruncated}
		}
		size := -1
		for _, a := range algs {
			if a.Alg == alg {
				size = a.Size
			}
		}
		if size < 0 {
			return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: digest algorithm %s not in the Spec ID header", seq, AlgName(alg))}
		}
		if e.Digest(alg) != nil {
			return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: two %s digests", seq, AlgName(alg))}
		}
		v, ok := c.Bytes(size)
		if !ok {
			return nil, &ParseError{Offset: off, Err: ErrTruncated}
		}
		e.Digests = append(e.Digests, Digest{Alg: alg, Value: v})
	}
	size, ok := c.U32()
	if !ok {
		return nil, &ParseError{Offset: off, Err: ErrTruncated}
	}
	if int64(size) > int64(c.Len()) {
		return nil, &ParseError{Offset: off, Err: fmt.Errorf("event %d: %w (data size %d, %d bytes left)", seq, ErrTruncated, size, c.Len())}
	}
	e.Data, _ = c.Bytes(int(size))
	return e, nil
}

// knownSizes are the digest sizes of the algorithms cloudra can replay; a
// header that disagrees is malformed.
var knownSizes = map[uint16]int{AlgSHA1: 20, AlgSHA256: 32, AlgSHA384: 48, AlgSHA512: 64, AlgSM3: 32}

// parseSpecID parses TCG_EfiSpecIDEvent (PFP §10.4.5.1).
func parseSpecID(d []byte) (*SpecID, error) {
	c := newCursor(d)
	s := &SpecID{}
	var ok [8]bool
	_, ok[0] = c.Bytes(16)
	s.PlatformClass, ok[1] = c.U32()
	s.VersionMinor, ok[2] = c.U8()
	s.VersionMajor, ok[3] = c.U8()
	s.Errata, ok[4] = c.U8()
	s.UintnSize, ok[5] = c.U8()
	n, ok6 := c.U32()
	for _, o := range ok[:6] {
		if !o || !ok6 {
			return nil, errors.New("truncated Spec ID event")
		}
	}
	if s.UintnSize != 1 && s.UintnSize != 2 {
		return nil, fmt.Errorf("spec ID uintnSize %d (want 1 or 2)", s.UintnSize)
	}
	if n == 0 || int64(n)*4 > int64(c.Len()) {
		return nil, fmt.Errorf("spec ID lists %d algorithms in %d bytes", n, c.Len())
	}
	for i := 0; i < int(n); i++ {
		alg, ok1 := c.U16()
		size, ok2 := c.U16()
		if !ok1 || !ok2 {
			return nil, errors.New("truncated Spec ID algorithm list")
		}
		if size == 0 || size > 128 {
			return nil, fmt.Errorf("spec ID digest size %d for %s", size, AlgName(alg))
		}
		if want, known := knownSizes[alg]; known && int(size) != want {
			return nil, fmt.Errorf("spec ID says %s digests have %d bytes, not %d", AlgName(alg), size, want)
		}
		for _, a := range s.Algs {
			if a.Alg == alg {
				return nil, fmt.Errorf("spec ID lists %s twice", AlgName(alg))
			}
		}
		s.Algs = append(s.Algs, AlgSize{Alg: alg, Size: int(size)})
	}
	vs, ok7 := c.U8()
	vi, ok8 := c.Bytes(int(vs))
	if !ok7 || !ok8 {
		return nil, errors.New("truncated Spec ID vendorInfo")
	}
	s.VendorInfo = vi
	if c.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes in the Spec ID event", c.Len())
	}
	return s, nil
}

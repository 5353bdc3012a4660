package eventlog

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"

	"github.com/cloudra/cloudra"
)

// CCELTable is the ACPI "CCEL" table (UEFI 2.10 §38.4.3; ACPI 6.5 §5.2.34):
// where the firmware left the CC event log.
type CCELTable struct {
	Revision uint8
	CCType   uint8 // 1 SEV, 2 TDX
	CCSub    uint8
	LAML     uint64 // log area minimum length
	LASA     uint64 // log area start address
}

// ParseCCELTable parses the 56-byte CCEL ACPI table as read from
// /sys/firmware/acpi/tables/CCEL.
func ParseCCELTable(b []byte) (*CCELTable, error) {
	c := newCursor(b)
	sig, ok1 := c.Bytes(4)
	length, ok2 := c.U32()
	rev, ok3 := c.U8()
	_, ok4 := c.Bytes(36 - 9) // checksum, OEM fields, creator
	t := &CCELTable{Revision: rev}
	var ok [5]bool
	t.CCType, ok[0] = c.U8()
	t.CCSub, ok[1] = c.U8()
	_, ok[2] = c.U16()
	t.LAML, ok[3] = c.U64()
	t.LASA, ok[4] = c.U64()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok[0] || !ok[1] || !ok[2] || !ok[3] || !ok[4] {
		return nil, errors.New("eventlog: truncated CCEL table")
	}
	if string(sig) != "CCEL" {
		return nil, fmt.Errorf("eventlog: ACPI table signature %q, not CCEL", sig)
	}
	if int(length) != len(b) || c.Len() != 0 {
		return nil, fmt.Errorf("eventlog: CCEL table length %d, %d bytes given", length, len(b))
	}
	var sum byte
	for _, x := range b {
		sum += x
	}
	if sum != 0 {
		return nil, errors.New("eventlog: CCEL table checksum does not add up to zero")
	}
	return t, nil
}

// NumRTMRs is the number of TDX runtime measurement registers.
const NumRTMRs = 4

// ReplayRTMRs replays a CC event log into TDX RTMR0–3 with SHA-384: CC MR
// index 0 is MRTD (measured by the TDX module, not replayable), indices 1–4
// are RTMR0–3 (UEFI 2.10 §38.4.1 "EFI_CC_MEASUREMENT_PROTOCOL",
// TDX: MrIndex = RtmrIndex + 1). Every RTMR starts at zero. EV_NO_ACTION
// events are not extended whatever their index; an extended event at MR
// index 0 is skipped (MRTDEvents lists them), and one beyond 4 names no
// register and is an error.
func ReplayRTMRs(l *Log) ([NumRTMRs][]byte, error) {
	var out [NumRTMRs][]byte
	if !l.HasAlg(AlgSHA384) {
		return out, fmt.Errorf("%w (sha384)", ErrNoBank)
	}
	for i := range out {
		out[i] = make([]byte, sha512.Size384)
	}
	h := sha512.New384()
	for i := range l.Events {
		e := &l.Events[i]
		if e.Type == EvNoAction {
			continue
		}
		if e.Index == 0 {
			continue // MRTD
		}
		if e.Index > NumRTMRs {
			return out, fmt.Errorf("eventlog: event %d has CC MR index %d (RTMRs are 1–4)", e.Seq, e.Index)
		}
		d := e.Digest(AlgSHA384)
		h.Reset()
		h.Write(out[e.Index-1])
		h.Write(d)
		out[e.Index-1] = h.Sum(nil)
	}
	return out, nil
}

// MRTDEvents returns the extended events (not EV_NO_ACTION) at CC MR index
// 0: MRTD is built by the TDX module when the TD is created, not extended
// by the log, so these events cannot be checked against any register.
func MRTDEvents(l *Log) []int {
	var seqs []int
	for i := range l.Events {
		if e := &l.Events[i]; e.Type != EvNoAction && e.Index == 0 {
			seqs = append(seqs, e.Seq)
		}
	}
	return seqs
}

// CompareRTMRs returns the indices of RTMRs whose replayed value differs
// from the quoted one.
func CompareRTMRs(replayed, quoted [NumRTMRs][]byte) []int {
	var bad []int
	for i := range replayed {
		if !bytes.Equal(replayed[i], quoted[i]) {
			bad = append(bad, i)
		}
	}
	return bad
}

// CheckRTMRs parses a CC event log area, replays it into RTMR0–3 and
// records one "eventlog.replay" check per RTMR in r (every mismatch
// reported), against RTMR values taken from a verified TD quote. It returns
// the parsed log, or nil when it could not be parsed ("eventlog.parse").
func CheckRTMRs(r *cloudra.Result, area []byte, rtmrs [NumRTMRs][]byte) *Log {
	l, err := ParseCCEL(area)
	if err != nil {
		r.Failf("eventlog.parse", cloudra.ClassParse, "%v", err)
		return nil
	}
	r.Passf("eventlog.parse", "CC event log, %d events", len(l.Events))
	got, err := ReplayRTMRs(l)
	if err != nil {
		r.Failf("eventlog.replay", cloudra.ClassParse, "%v", err)
		return nil
	}
	if seqs := MRTDEvents(l); len(seqs) > 0 {
		r.Add("eventlog.replay", cloudra.OutcomeWarn, "", fmt.Sprintf("events %v have CC MR index 0 (MRTD): not replayed, not verified by any RTMR", seqs))
	}
	for i := range got {
		if bytes.Equal(got[i], rtmrs[i]) {
			r.Passf("eventlog.replay", "RTMR%d: log replays to the quoted value", i)
		} else {
			r.Failf("eventlog.replay", cloudra.ClassBinding, "RTMR%d: log replays to %x, quote has %x", i, got[i], rtmrs[i])
		}
	}
	return l
}

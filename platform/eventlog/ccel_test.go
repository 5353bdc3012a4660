package eventlog

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
)

// ccelArea marshals l as a CC event log area whose Spec ID event carries CC
// MR index specIndex, padded with 0xFF as the firmware leaves the rest of
// the area.
func ccelArea(l *Log, specIndex uint32) []byte {
	b := l.Marshal()
	binary.LittleEndian.PutUint32(b[0:4], specIndex)
	return append(b, bytes.Repeat([]byte{0xff}, 512)...)
}

// TestCCELSpecIDEventAtAnyMRIndex: the Spec ID event of a CC event log is
// accepted whatever its MR index (GCP's TDX firmware writes 1: PCR 0 mapped
// to RTMR0); it is not replayed, the log replays as with index 0, and it
// must still be the first, well-formed EV_NO_ACTION record.
func TestCCELSpecIDEventAtAnyMRIndex(t *testing.T) {
	l := newLog(AlgSHA384)
	l.add(1, EvEFIPlatformFirmwareBlob2, []byte("cfv"))
	l.add(2, EvIPL, []byte("kernel"))
	l.add(3, EvEFIAction, []byte("cmdline"))
	l.add(4, EvIPL, []byte("app"))
	zero := make([]byte, 48)
	want := [NumRTMRs][]byte{extend(crypto.SHA384, zero, []byte("cfv")), extend(crypto.SHA384, zero, []byte("kernel")),
		extend(crypto.SHA384, zero, []byte("cmdline")), extend(crypto.SHA384, zero, []byte("app"))}
	for _, idx := range []uint32{0, 1, 4, 0xffffffff} {
		area := ccelArea(l, idx)
		pl, err := ParseCCEL(area)
		if err != nil {
			t.Fatalf("Spec ID at MR index %d: %v", idx, err)
		}
		if pl.Format != FormatCryptoAgile || pl.SpecID == nil || len(pl.Events) != 4 {
			t.Fatalf("MR index %d: format %v, %d events", idx, pl.Format, len(pl.Events))
		}
		got, err := ReplayRTMRs(pl)
		if err != nil {
			t.Fatal(err)
		}
		if bad := CompareRTMRs(got, want); len(bad) != 0 {
			t.Errorf("MR index %d: RTMRs %v differ", idx, bad)
		}
		r := &cloudra.Result{}
		if CheckRTMRs(r, area, want) == nil || r.Finish().Verdict != cloudra.Pass {
			t.Errorf("MR index %d: CheckRTMRs %+v", idx, r.Checks)
		}
	}

	// Still first and well-formed, whatever the index.
	first := ccelArea(l, 1)
	for _, tc := range []struct {
		name string
		edit func(b []byte)
	}{
		{"not-no-action", func(b []byte) { binary.LittleEndian.PutUint32(b[4:8], uint32(EvEFIAction)) }},
		{"nonzero-digest", func(b []byte) { b[8] = 1 }},
		{"bad-signature", func(b []byte) { b[32] = 'X' }},
		{"truncated-spec-id", func(b []byte) { binary.LittleEndian.PutUint32(b[28:32], 20) }},
		{"no-sha384", func(b []byte) {
			// The only algorithm becomes SHA-256: the records' SHA-384
			// digests are then of an algorithm the header does not list.
			off := 32 + 16 + 4 + 4 + 4
			binary.LittleEndian.PutUint16(b[off:], AlgSHA256)
			binary.LittleEndian.PutUint16(b[off+2:], 32)
		}},
	} {
		b := append([]byte(nil), first...)
		tc.edit(b)
		if _, err := ParseCCEL(b); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// A Spec ID event that is not the first record is not a header.
	var rec []byte
	rec = binary.LittleEndian.AppendUint32(rec, 1)
	rec = binary.LittleEndian.AppendUint32(rec, uint32(EvEFIAction))
	rec = append(rec, make([]byte, 20)...)
	rec = binary.LittleEndian.AppendUint32(rec, 1)
	rec = append(rec, 'x')
	if _, err := ParseCCEL(append(rec, first...)); err == nil {
		t.Error("a Spec ID event after another record accepted")
	}
}

// TestCCELMRTDAndOutOfRangeEvents: an extended event at CC MR index 0
// (MRTD) is not replayed into any RTMR and is reported as a warning; one
// at an index beyond RTMR3 names no register and fails the replay.
func TestCCELMRTDAndOutOfRangeEvents(t *testing.T) {
	l := newLog(AlgSHA384)
	l.add(0, EvEFIPlatformFirmwareBlob2, []byte("td hob"))
	l.add(1, EvEFIPlatformFirmwareBlob2, []byte("cfv"))
	l.add(7, EvNoAction, []byte("not extended"))
	zero := make([]byte, 48)
	want := [NumRTMRs][]byte{extend(crypto.SHA384, zero, []byte("cfv")), zero, zero, zero}
	r := &cloudra.Result{}
	if CheckRTMRs(r, ccelArea(l, 1), want) == nil || r.Finish().Verdict != cloudra.Pass {
		t.Fatalf("MRTD event: %+v", r.Checks)
	}
	warned := false
	for _, c := range r.Checks {
		warned = warned || (c.Name == "eventlog.replay" && c.Outcome == cloudra.OutcomeWarn && strings.Contains(c.Detail, "MRTD"))
	}
	if !warned {
		t.Errorf("MRTD event not reported: %+v", r.Checks)
	}
	l.add(5, EvIPL, []byte("x"))
	r = &cloudra.Result{}
	CheckRTMRs(r, ccelArea(l, 1), want)
	if r.Finish().Verdict != cloudra.Fail {
		t.Errorf("MR index 5 accepted: %+v", r.Checks)
	}
	if !hasFailed(r, "eventlog.replay", cloudra.ClassParse) {
		t.Errorf("MR index 5: %+v", r.Checks)
	}
}

func hasFailed(r *cloudra.Result, name string, class cloudra.Class) bool {
	for _, c := range r.Checks {
		if c.Name == name && c.Outcome == cloudra.OutcomeFail && c.Class == class {
			return true
		}
	}
	return false
}

package eventlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// newLog builds a crypto-agile log with the given banks.
func newLog(algs ...uint16) *Log {
	sid := &SpecID{VersionMajor: 2, UintnSize: 2}
	for _, a := range algs {
		h, _ := HashFor(a)
		sid.Algs = append(sid.Algs, AlgSize{Alg: a, Size: h.Size()})
	}
	return &Log{Format: FormatCryptoAgile, SpecID: sid, Algs: sid.Algs}
}

// add appends an event whose digests are H(data) in every bank.
func (l *Log) add(idx uint32, typ EventType, data []byte) {
	e := Event{Seq: len(l.Events) + 1, Index: idx, Type: typ, Data: data}
	for _, a := range l.Algs {
		h, _ := HashFor(a.Alg)
		hh := h.New()
		hh.Write(data)
		e.Digests = append(e.Digests, Digest{Alg: a.Alg, Value: hh.Sum(nil)})
	}
	l.Events = append(l.Events, e)
}

func extend(h crypto.Hash, cur []byte, data ...[]byte) []byte {
	for _, d := range data {
		hh := h.New()
		hh.Write(d)
		dd := hh.Sum(nil)
		hh.Reset()
		hh.Write(cur)
		hh.Write(dd)
		cur = hh.Sum(nil)
	}
	return cur
}

// TestRoundTripVectors: every real log re-marshals to its exact bytes.
func TestRoundTripVectors(t *testing.T) {
	ex := loadExpected(t)
	for name := range ex.Logs {
		b := vectortest.Read(t, gceLogs+"/"+name)
		l, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.Marshal(), b) {
			t.Errorf("%s: Marshal differs from input", name)
		}
	}
}

// D6: EV_NO_ACTION is never extended; StartupLocality sets PCR0's start.
func TestReplayNoActionAndLocality(t *testing.T) {
	l := newLog(AlgSHA256)
	l.add(0, EvNoAction, append([]byte(startupLocalitySig), 3))
	l.add(0, EvNoAction, []byte("anything with a non-zero digest"))
	l.add(0, EvSCRTMVersion, []byte("v1"))
	l2, err := Parse(l.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Replay(l2, AlgSHA256)
	if err != nil {
		t.Fatal(err)
	}
	start := make([]byte, 32)
	start[31] = 3
	if want := extend(crypto.SHA256, start, []byte("v1")); !bytes.Equal(got[0], want) {
		t.Errorf("PCR0 %x, want %x (locality 3 start, EV_NO_ACTION skipped)", got[0], want)
	}
	if loc, ok := l2.StartupLocality(); !ok || loc != 3 {
		t.Errorf("locality %d %v", loc, ok)
	}
}

// D6: a log truncated mid-event is an error, at every cut.
func TestTruncatedLog(t *testing.T) {
	b := vectortest.Read(t, gceLogs+"/cos-85-amd-sev.bin")
	l, _ := Parse(b)
	ends := map[int]bool{}
	off := 0
	full := l.Marshal()
	_ = full
	// Record event boundaries by re-marshalling prefixes of the event list.
	for i := 0; i <= len(l.Events); i++ {
		p := *l
		p.Events = l.Events[:i]
		off = len(p.Marshal())
		ends[off] = true
	}
	for cut := 1; cut < len(b); cut += 41 {
		_, err := Parse(b[:cut])
		if ends[cut] {
			continue
		}
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) {
			t.Fatalf("cut at %d: err %v, want ParseError", cut, err)
		}
	}
}

// Digest count must match the header; algorithms must be in the header.
func TestDigestCountAndAlgs(t *testing.T) {
	l := newLog(AlgSHA1, AlgSHA256)
	l.add(0, EvSCRTMVersion, []byte("x"))
	good := l.Marshal()
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	// Drop the SHA-256 digest: count 1 while the header lists 2.
	bad := *l
	bad.Events = []Event{l.Events[0]}
	bad.Events[0].Digests = bad.Events[0].Digests[:1]
	if _, err := Parse(bad.Marshal()); err == nil || !strings.Contains(err.Error(), "digests") {
		t.Errorf("digest count mismatch: %v", err)
	}
	// A digest in an algorithm not in the header.
	bad.Events[0].Digests = []Digest{{Alg: AlgSHA1, Value: make([]byte, 20)}, {Alg: AlgSHA384, Value: make([]byte, 48)}}
	if _, err := Parse(bad.Marshal()); err == nil {
		t.Error("digest algorithm outside the header accepted")
	}
	// An unknown algorithm's size comes from the header.
	u := newLog(AlgSHA256)
	u.SpecID.Algs = append(u.SpecID.Algs, AlgSize{Alg: 0x0099, Size: 40})
	u.Algs = u.SpecID.Algs
	u.Events = []Event{{Index: 1, Type: EvAction, Data: []byte("a"),
		Digests: []Digest{{Alg: AlgSHA256, Value: make([]byte, 32)}, {Alg: 0x0099, Value: make([]byte, 40)}}}}
	pl, err := Parse(u.Marshal())
	if err != nil || len(pl.Events) != 1 || len(pl.Events[0].Digest(0x0099)) != 40 {
		t.Errorf("unknown algorithm with header size: %v", err)
	}
	// A known algorithm with the wrong size in the header.
	w := newLog(AlgSHA256)
	w.SpecID.Algs[0].Size = 20
	if _, err := Parse(w.Marshal()); err == nil {
		t.Error("SHA-256 with 20-byte digests accepted")
	}
	// A huge event size does not allocate and is an error.
	h := newLog(AlgSHA256)
	h.add(1, EvAction, []byte("a"))
	b := h.Marshal()
	copy(b[len(b)-5:], []byte{0xff, 0xff, 0xff, 0x7f})
	if _, err := Parse(b); err == nil {
		t.Error("oversized event data accepted")
	}
}

// D5: retyped PCR7 events (EV_UNUSED) and a retyped PCR4 application are
// problems even though the replay still matches.
func TestRetypedEvents(t *testing.T) {
	b := vectortest.Read(t, gceLogs+"/cos-85-amd-sev.bin")
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Replay(l, AlgSHA256)
	for i := range l.Events {
		e := &l.Events[i]
		if e.Index == 7 && e.Type != EvNoAction {
			e.Type = EvUnused
		}
		if e.Index == 4 && e.Type == EvEFIBootServicesApp {
			e.Type = EvEFIPlatformFirmwareBlob
			break
		}
	}
	after, _ := Replay(l, AlgSHA256)
	if len(Compare(after, before)) != 0 {
		t.Fatal("retyping changed the replay")
	}
	st, err := Analyze(l, AlgSHA256, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	var p4, p7 bool
	for _, p := range st.Problems {
		p4 = p4 || strings.Contains(p, "in PCR4")
		p7 = p7 || strings.Contains(p, "in PCR7")
	}
	if !p4 || !p7 {
		t.Errorf("problems %v", st.Problems)
	}
	if st.SecureBoot != nil {
		t.Error("secure boot state derived from retyped events")
	}
}

// A separator with error data, and a non-separator carrying separator data.
func TestSeparatorRules(t *testing.T) {
	l := newLog(AlgSHA256)
	l.add(7, EvSeparator, []byte{0xff, 0xff, 0xff, 0xff})
	l.add(4, EvEFIAction, []byte{0, 0, 0, 0})
	st, err := Analyze(l, AlgSHA256, allVerified())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 2 {
		t.Errorf("problems %v", st.Problems)
	}
}

// Secure Boot from PCR7 only when its digest proves the data.
func TestSecureBootVariable(t *testing.T) {
	mk := func(name string, data []byte) []byte {
		var b []byte
		g := EFIGlobalVariable()
		b = append(b, g[:]...)
		n := []byte{}
		for _, r := range name {
			n = append(n, byte(r), 0)
		}
		b = append(b, byte(len(name)), 0, 0, 0, 0, 0, 0, 0, byte(len(data)), 0, 0, 0, 0, 0, 0, 0)
		b = append(b, n...)
		return append(b, data...)
	}
	l := newLog(AlgSHA256)
	l.add(7, EvEFIVariableDriverConfig, mk("SecureBoot", []byte{1}))
	l.add(7, EvSeparator, []byte{0, 0, 0, 0})
	st, _ := Analyze(l, AlgSHA256, allVerified())
	if st.SecureBoot == nil || !st.SecureBoot.Enabled || len(st.Problems) != 0 {
		t.Fatalf("state %+v", st)
	}
	// Data swapped after measurement (digest of SecureBoot=0): not trusted.
	l.Events[0].Data = mk("SecureBoot", []byte{1})
	h := sha256.Sum256(mk("SecureBoot", []byte{0}))
	l.Events[0].Digests[0].Value = h[:]
	st, _ = Analyze(l, AlgSHA256, allVerified())
	if st.SecureBoot != nil || len(st.Problems) == 0 {
		t.Errorf("unverified variable trusted: %+v", st)
	}
	// PCR7 not verified by the quote: no claim.
	l.Events[0].Digests[0].Value = sha256Sum(mk("SecureBoot", []byte{1}))
	st, _ = Analyze(l, AlgSHA256, map[int]bool{})
	if st.SecureBoot != nil {
		t.Error("secure boot claimed from an unverified PCR7")
	}
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// CCEL: MR index 1..4 → RTMR0..3 with SHA-384; index 0 (MRTD) is skipped.
func TestCCELReplay(t *testing.T) {
	l := newLog(AlgSHA384)
	l.add(0, EvEFIPlatformFirmwareBlob2, []byte("td hob"))
	l.add(1, EvEFIPlatformFirmwareBlob2, []byte("cfv"))
	l.add(2, EvIPL, []byte("kernel"))
	l.add(4, EvIPL, []byte("app"))
	area := append(l.Marshal(), bytes.Repeat([]byte{0xff}, 4096)...)
	pl, err := ParseCCEL(area)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReplayRTMRs(pl)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 48)
	want := [NumRTMRs][]byte{extend(crypto.SHA384, zero, []byte("cfv")), extend(crypto.SHA384, zero, []byte("kernel")), zero, extend(crypto.SHA384, zero, []byte("app"))}
	if bad := CompareRTMRs(got, want); len(bad) != 0 {
		t.Errorf("RTMRs %v differ", bad)
	}
	want[2] = sha512.New384().Sum(nil)
	if bad := CompareRTMRs(got, want); len(bad) != 1 || bad[0] != 2 {
		t.Errorf("mismatch not reported: %v", bad)
	}
	r := &cloudra.Result{}
	if CheckRTMRs(r, area, want) == nil || r.Finish().Verdict != cloudra.Fail {
		t.Error("CheckRTMRs did not fail on RTMR2")
	}
	if c := r.Checks[len(r.Checks)-2]; c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassBinding {
		t.Errorf("RTMR2 check %+v", c)
	}
	l.add(5, EvIPL, []byte("x"))
	pl, _ = ParseCCEL(l.Marshal())
	if _, err := ReplayRTMRs(pl); err == nil {
		t.Error("MR index 5 accepted")
	}
	if _, err := ParseCCEL(newLogSHA1Only()); err == nil {
		t.Error("CCEL without Spec ID accepted")
	}
}

func newLogSHA1Only() []byte {
	l := &Log{Format: FormatSHA1, Algs: []AlgSize{{AlgSHA1, 20}}, Events: []Event{{Index: 1, Type: EvAction, Digests: []Digest{{AlgSHA1, make([]byte, 20)}}, Data: []byte("a")}}}
	return l.Marshal()
}

func TestCCELTable(t *testing.T) {
	b := make([]byte, 56)
	copy(b, "CCEL")
	b[4] = 56
	b[8] = 1
	b[36] = 2 // TDX
	b[40] = 0x00
	b[41] = 0x10 // LAML 0x1000
	b[48] = 0x00
	b[50] = 0x80 // LASA
	var sum byte
	for _, x := range b {
		sum += x
	}
	b[9] = -sum
	tb, err := ParseCCELTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if tb.CCType != 2 || tb.LAML != 0x1000 || tb.LASA != 0x800000 {
		t.Errorf("%+v", tb)
	}
	b[20]++
	if _, err := ParseCCELTable(b); err == nil {
		t.Error("bad checksum accepted")
	}
}

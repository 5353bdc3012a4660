package platform_test

import (
	"context"
	"crypto/sha512"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cloudra/cloudra/internal/simroots"
	cloudrasim "github.com/cloudra/cloudra/sim"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform"
	sgxsim "github.com/cloudra/cloudra/sim/sgx"
	tdxsim "github.com/cloudra/cloudra/sim/tdx"
)

// ccelEvent is one EV_EFI_ACTION event of a CC event log, measured into
// MR index mr (1–4 = RTMR0–3).
type ccelEvent struct {
	mr   uint32
	data string
}

// ccelLog builds a crypto-agile CC event log (TCG PC Client PFP §10.2 with
// the UEFI CC measurement MR index: 1–4 = RTMR0–3) with SHA-384 digests, and
// returns it with the RTMR values its replay gives.
func ccelLog(events []ccelEvent) ([]byte, [4][48]byte) {
	le32 := func(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
	var spec []byte
	spec = append(spec, "Spec ID Event03\x00"...)
	spec = le32(spec, 0)                                  // platformClass
	spec = append(spec, 0, 2, 0, 2)                       // version 2.0, errata 0, uintnSize 2 (64-bit)
	spec = le32(spec, 1)                                  // one algorithm
	spec = binary.LittleEndian.AppendUint16(spec, 0x000c) // TPM_ALG_SHA384
	spec = binary.LittleEndian.AppendUint16(spec, 48)
	spec = append(spec, 0) // no vendor info
	var log []byte
	log = le32(log, 0)
	log = le32(log, 3) // EV_NO_ACTION
	log = append(log, make([]byte, 20)...)
	log = le32(log, uint32(len(spec)))
	log = append(log, spec...)
	var rtmr [4][48]byte
	for _, e := range events {
		d := sha512.Sum384([]byte(e.data))
		log = le32(log, e.mr)
		log = le32(log, 0x80000007) // EV_EFI_ACTION
		log = le32(log, 1)
		log = binary.LittleEndian.AppendUint16(log, 0x000c)
		log = append(log, d[:]...)
		log = le32(log, uint32(len(e.data)))
		log = append(log, e.data...)
		i := e.mr - 1
		rtmr[i] = sha512.Sum384(append(rtmr[i][:], d[:]...))
	}
	return log, rtmr
}

// ccelTD is the CC event log of events with a quote of the demo's
// simulated TDX platform whose RTMRs the log's replay gives, and verify,
// which verifies the quote with a log through the dispatcher (the
// platform's collateral in the bundle, test roots allowed).
func ccelTD(t *testing.T, events []ccelEvent) (log []byte, verify func(log []byte) *cloudra.Result) {
	t.Helper()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	td, err := tdxsim.New([]byte(cloudrasim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	files, err := td.CollateralFiles(now, sgxsim.CollateralOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var col []cloudra.Artifact
	for _, f := range files {
		col = append(col, cloudra.Artifact{Kind: f.Kind, Name: f.Name, Data: f.Data})
	}
	log, rtmr := ccelLog(events)
	quote, err := td.Quote([64]byte{}, tdxsim.QuoteOptions{RTMR: &rtmr})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := platform.New(platform.WithTestRoots(simroots.Demo))
	if err != nil {
		t.Fatal(err)
	}
	return log, func(log []byte) *cloudra.Result {
		t.Helper()
		b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Collateral: col, Artifacts: []cloudra.Artifact{
			{Kind: cloudra.KindTDXQuote, Data: quote}, {Kind: cloudra.KindCCELLog, Data: log}}}
		res, err := vs.Verify(context.Background(), platform.Input{Bundle: b, Options: cloudra.Options{Time: now, AllowTestRoots: true}})
		return checktest.Result(t, res, err)
	}
}

// TestTDXCCELReplay: a TD quote that carries its CC event log has every RTMR
// replayed and compared; a log that does not explain the RTMRs fails.
func TestTDXCCELReplay(t *testing.T) {
	log, verify := ccelTD(t, []ccelEvent{{1, "tdvf: acpi tables"}, {2, "shim, grub, kernel"}, {3, "cmdline: ro quiet"}, {2, "initrd"}})
	res := verify(log)
	if res.Verdict != cloudra.Pass {
		t.Fatalf("matching log: %+v", res.Checks)
	}
	if replays := checktest.Count(res, "eventlog.replay", cloudra.OutcomePass); replays != 4 {
		t.Fatalf("want 4 passing RTMR replays, got %d: %+v", replays, res.Checks)
	}
	// Change one byte of the last event's digest: the replay no longer
	// gives the quote's RTMR1.
	bad := append([]byte(nil), log...)
	bad[len(bad)-len("initrd")-4-48] ^= 1
	res = verify(bad)
	if res.Verdict != cloudra.Fail {
		t.Fatalf("log that does not explain RTMR1 accepted: %+v", res.Checks)
	}
}

// TestTDXCCELSpecIDEventAtMRIndex1: a CC event log whose Spec ID event
// carries MR index 1 (GCP's TDX firmware: PCR 0 mapped to RTMR0) is parsed
// and replayed through the TD quote path like one with index 0; nothing
// fails eventlog.parse.
func TestTDXCCELSpecIDEventAtMRIndex1(t *testing.T) {
	log, verify := ccelTD(t, []ccelEvent{{1, "tdvf: acpi tables"}, {2, "shim, grub, kernel"}, {3, "cmdline: ro quiet"}, {4, "app"}})
	for _, idx := range []uint32{0, 1, 4} {
		l := append([]byte(nil), log...)
		binary.LittleEndian.PutUint32(l[0:4], idx) // the Spec ID event's MR index
		res := verify(l)
		if res.Verdict != cloudra.Pass {
			t.Fatalf("Spec ID at MR index %d: %+v", idx, res.Checks)
		}
		parsed := checktest.Count(res, "eventlog.parse", cloudra.OutcomePass) > 0
		replays := checktest.Count(res, "eventlog.replay", cloudra.OutcomePass)
		if !parsed || replays != 4 {
			t.Errorf("Spec ID at MR index %d: parsed %v, %d RTMR replays: %+v", idx, parsed, replays, res.Checks)
		}
	}
}

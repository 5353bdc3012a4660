package pcs

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cloudra/cloudra/internal/vectortest"
)

func comps(svns ...uint8) [16]TCBComponent {
	var c [16]TCBComponent
	for i, s := range svns {
		c[i].SVN = s
	}
	return c
}

func tdxLevel(sgx, tdx []uint8, pcesvn uint16, st Status, date string, adv ...string) TCBLevel {
	tc := comps(tdx...)
	d, _ := time.Parse(time.RFC3339, date)
	return TCBLevel{SGXComponents: comps(sgx...), PCESVN: pcesvn, TDXComponents: &tc, TCBDate: d, Status: st, AdvisoryIDs: adv}
}

func idLevel(svn uint16, st Status, adv ...string) IdentityLevel {
	return IdentityLevel{ISVSVN: svn, Status: st, AdvisoryIDs: adv}
}

// synthetic TDX TCB Info shaped like Intel's (levels newest first).
func syntheticTDX() *TCBInfo {
	return &TCBInfo{
		ID: "TDX", Version: 3, TDXModule: &TDXModule{AttributesMask: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		TDXModuleIdentities: []TDXModuleIdentity{{
			ID: "TDX_01", AttributesMask: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			TCBLevels: []IdentityLevel{idLevel(6, UpToDate), idLevel(4, OutOfDate, "INTEL-SA-01036"), idLevel(2, Revoked, "INTEL-SA-00001")},
		}},
		TCBLevels: []TCBLevel{
			tdxLevel([]uint8{4, 4, 2}, []uint8{5, 0, 3}, 13, UpToDate, "2024-11-13T00:00:00Z"),
			tdxLevel([]uint8{3, 3, 2}, []uint8{3, 0, 3}, 13, SWHardeningNeeded, "2024-03-13T00:00:00Z", "INTEL-SA-00615"),
			tdxLevel([]uint8{3, 3, 2}, []uint8{3, 0, 2}, 11, ConfigurationNeeded, "2023-08-09T00:00:00Z", "INTEL-SA-00960"),
		},
	}
}

func TestEvaluateTDXRules(t *testing.T) {
	info := syntheticTDX()
	sgxOK := [16]byte{4, 4, 2}
	cases := []struct {
		name     string
		comps    [16]byte
		pcesvn   uint16
		tee      [16]byte
		status   Status
		module   Status
		adv      []string
		noModule bool
	}{
		{"up to date, module 1.x", sgxOK, 13, [16]byte{6, 1, 3}, UpToDate, UpToDate, nil, false},
		// C7: TEE_TCB_SVN[1] > 0 → bytes 0–1 skipped: [0]=0 is below every
		// level's tdxtcbcomponents[0] yet level 0 matches on bytes 2..15;
		// the module identity (isvsvn 0) then finds no level.
		{"skip rule, module svn below all", sgxOK, 13, [16]byte{0, 1, 3}, NotSupported, NotSupported, nil, false},
		{"skip rule, module OutOfDate", sgxOK, 13, [16]byte{4, 1, 3}, OutOfDate, OutOfDate, []string{"INTEL-SA-01036"}, false},
		{"module Revoked", sgxOK, 13, [16]byte{2, 1, 3}, Revoked, Revoked, []string{"INTEL-SA-00001"}, false},
		// Module version 0: all 16 bytes compared, no module identity.
		{"strict compare, version 0", sgxOK, 13, [16]byte{5, 0, 3}, UpToDate, 0, nil, true},
		{"strict compare, [0] below level 0", sgxOK, 13, [16]byte{4, 0, 3}, SWHardeningNeeded, 0, []string{"INTEL-SA-00615"}, true},
		{"tdx [2] below: next level", sgxOK, 13, [16]byte{6, 1, 2}, ConfigurationNeeded, UpToDate, []string{"INTEL-SA-00960"}, false},
		{"module OutOfDate + Configuration", sgxOK, 13, [16]byte{4, 1, 2}, OutOfDateConfigurationNeeded, OutOfDate, []string{"INTEL-SA-00960", "INTEL-SA-01036"}, false},
		{"sgx comps lower: level 1", [16]byte{3, 3, 2}, 13, [16]byte{6, 1, 3}, SWHardeningNeeded, UpToDate, []string{"INTEL-SA-00615"}, false},
		{"pcesvn one below", [16]byte{3, 3, 2}, 12, [16]byte{6, 1, 3}, ConfigurationNeeded, UpToDate, []string{"INTEL-SA-00960"}, false},
		{"no level", [16]byte{2, 9, 9}, 13, [16]byte{6, 1, 3}, NotSupported, UpToDate, nil, false},
		{"pcesvn below all", sgxOK, 10, [16]byte{6, 1, 3}, NotSupported, UpToDate, nil, false},
		{"tdx below all", sgxOK, 13, [16]byte{6, 1, 1}, NotSupported, UpToDate, nil, false},
	}
	for _, c := range cases {
		e, err := EvaluateTDX(info, c.comps, c.pcesvn, c.tee)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var mod Status
		if e.Module != nil {
			mod = e.Module.Status
		}
		if e.Status != c.status || mod != c.module || (e.Module == nil) != c.noModule || !slices.Equal(e.Advisories, c.adv) {
			t.Errorf("%s: status %v module %v advisories %v; want %v %v %v", c.name, e.Status, mod, e.Advisories, c.status, c.module, c.adv)
		}
	}
	if _, err := EvaluateTDX(info, sgxOK, 13, [16]byte{6, 3, 3}); !errors.Is(err, ErrMismatch) {
		t.Errorf("missing TDX_03 identity: %v, want ErrMismatch", err)
	}
}

// TestPlatformNotReplacedByModule: C14 — a platform OutOfDate with a module
// UpToDate stays OutOfDate.
func TestPlatformNotReplacedByModule(t *testing.T) {
	info := syntheticTDX()
	info.TCBLevels[0].Status = OutOfDate
	e, err := EvaluateTDX(info, [16]byte{4, 4, 2}, 13, [16]byte{6, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if e.Module.Status != UpToDate || e.Status != OutOfDate {
		t.Fatalf("module %v platform %v", e.Module.Status, e.Status)
	}
	if v := Converge(e, &QEEvaluation{Status: UpToDate}); v.Status != OutOfDate {
		t.Fatalf("merged %v", v.Status)
	}
}

func TestRelaunch(t *testing.T) {
	info := syntheticTDX()
	sgxOK := [16]byte{4, 4, 2}
	tee := [16]byte{4, 1, 3} // module isvsvn 4: OutOfDate → platform OutOfDate
	cases := []struct {
		name  string
		tee2  [16]byte
		qe    Status
		want  Status
		relch bool
	}{
		{"module updated", [16]byte{6, 1, 3}, UpToDate, TDRelaunchAdvised, true},
		{"module updated, QE out of date", [16]byte{6, 1, 3}, OutOfDate, OutOfDate, false},
		{"module updated, QE revoked", [16]byte{6, 1, 3}, Revoked, Revoked, false},
		{"module not updated", [16]byte{4, 1, 3}, UpToDate, OutOfDate, false},
		{"microcode behind", [16]byte{6, 1, 2}, UpToDate, OutOfDate, false},
		{"version 0 module, current", [16]byte{5, 0, 3}, UpToDate, TDRelaunchAdvised, true},
		{"version 0 module, behind", [16]byte{4, 0, 3}, UpToDate, OutOfDate, false},
	}
	for _, c := range cases {
		e, err := EvaluateTDX15(info, sgxOK, 13, tee, c.tee2)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v := Converge(e, &QEEvaluation{Status: c.qe})
		if v.Status != c.want || v.RelaunchAdvised != c.relch || v.Platform != OutOfDate {
			t.Errorf("%s: %v relaunch=%v platform=%v; want %v %v", c.name, v.Status, v.RelaunchAdvised, v.Platform, c.want, c.relch)
		}
	}
	// Configuration needed on the SGX side → the configuration variant.
	info.TCBLevels[0].Status = ConfigurationNeeded
	e, err := EvaluateTDX15(info, sgxOK, 13, tee, [16]byte{6, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if v := Converge(e, &QEEvaluation{Status: UpToDate}); v.Status != TDRelaunchAdvisedConfigurationNeeded {
		t.Errorf("configuration: %v", v.Status)
	}
	if _, err := EvaluateTDX15(info, sgxOK, 13, tee, [16]byte{6, 3, 3}); !errors.Is(err, ErrMismatch) {
		t.Errorf("unknown TEE_TCB_SVN_2 module: %v", err)
	}
}

func TestConverge(t *testing.T) {
	cases := []struct{ platform, qe, want Status }{
		{UpToDate, UpToDate, UpToDate},
		{UpToDate, OutOfDate, OutOfDate},
		{SWHardeningNeeded, OutOfDate, OutOfDate},
		{ConfigurationNeeded, OutOfDate, OutOfDateConfigurationNeeded},
		{ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded},
		{OutOfDate, OutOfDate, OutOfDate},
		{Revoked, OutOfDate, Revoked},
		{UpToDate, Revoked, Revoked},
		{UpToDate, NotSupported, NotSupported},
		{SWHardeningNeeded, UpToDate, SWHardeningNeeded},
		{NotSupported, UpToDate, NotSupported},
	}
	for _, c := range cases {
		v := Converge(&TCBEvaluation{TEE: SGX, Status: c.platform, SGXStatus: c.platform}, &QEEvaluation{Status: c.qe})
		if v.Status != c.want {
			t.Errorf("platform %v + QE %v = %v, want %v", c.platform, c.qe, v.Status, c.want)
		}
	}
	if v := Converge(nil, nil); v.Status != NotSupported {
		t.Errorf("nil platform: %v", v.Status)
	}
}

func TestEvaluateQE(t *testing.T) {
	vectortest.Dir(t)
	id, err := ParseQEIdentity(vectortest.Read(t, tdxDir+"/qe_identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mr [32]byte
	copy(mr[:], id.MRSigner[:])
	attr := [16]byte{0x15, 0, 0, 0, 0, 0, 0, 0, 0xe7}
	good, err := EvaluateQE(id, 7, 0, attr, mr, 2)
	if err != nil || good.Status != UpToDate {
		t.Fatalf("positive twin: %v %v", good, err)
	}
	low, err := EvaluateQE(id, 3, 0, attr, mr, 2)
	if err != nil || low.Status != NotSupported || low.Level != nil {
		t.Fatalf("ISVSVN below all levels: %+v %v", low, err)
	}
	if v := Converge(&TCBEvaluation{TEE: TDX, Status: UpToDate}, low); v.Status != NotSupported {
		t.Errorf("A3: platform UpToDate with QE below all levels merged to %v", v.Status)
	}
	// C1: every mismatch reported at once.
	debug := attr
	debug[0] |= 0x02 // DEBUG
	badMR := mr
	badMR[0] ^= 1
	_, err = EvaluateQE(id, 7, 1, debug, badMR, 1)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d mismatches reported, want 4: %v", n, err)
	}
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"mrsigner", func() error { _, e := EvaluateQE(id, 7, 0, attr, badMR, 2); return e }},
		{"isvprodid", func() error { _, e := EvaluateQE(id, 7, 0, attr, mr, 1); return e }},
		{"miscselect", func() error { _, e := EvaluateQE(id, 7, 1, attr, mr, 2); return e }},
		{"debug attribute", func() error { _, e := EvaluateQE(id, 7, 0, debug, mr, 2); return e }},
	} {
		if err := c.f(); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Bits outside the mask do not matter: the mask covers only the flags
	// (bytes 0–7, with bit 2 of byte 0 cleared), not XFRM (bytes 8–15).
	if _, err := EvaluateQE(id, 7, 0, [16]byte{0x11, 0, 0, 0, 0, 0, 0, 0, 0xff}, mr, 2); err != nil {
		t.Errorf("masked-out bits: %v", err)
	}
	qve := *id
	qve.ID = "QVE"
	if _, err := EvaluateQE(&qve, 7, 0, attr, mr, 2); !errors.Is(err, ErrMismatch) {
		t.Errorf("QVE identity: %v", err)
	}
}

func TestCheckTDXModule(t *testing.T) {
	info := syntheticTDX()
	info.TDXModuleIdentities[0].MRSigner[0] = 0xaa
	var zero [48]byte
	signer := zero
	signer[0] = 0xaa
	if err := info.CheckTDXModule(signer, [8]byte{}, [16]byte{6, 1}); err != nil {
		t.Errorf("TDX_01 positive: %v", err)
	}
	if err := info.CheckTDXModule(zero, [8]byte{}, [16]byte{6, 1}); !errors.Is(err, ErrMismatch) {
		t.Errorf("MRSIGNERSEAM ≠ TDX_01: %v", err)
	}
	if err := info.CheckTDXModule(zero, [8]byte{}, [16]byte{6, 0}); err != nil {
		t.Errorf("tdxModule positive: %v", err)
	}
	if err := info.CheckTDXModule(signer, [8]byte{}, [16]byte{6, 0}); !errors.Is(err, ErrMismatch) {
		t.Errorf("MRSIGNERSEAM ≠ tdxModule: %v", err)
	}
	if err := info.CheckTDXModule(zero, [8]byte{1}, [16]byte{6, 0}); !errors.Is(err, ErrMismatch) {
		t.Errorf("SEAM_ATTRIBUTES: %v", err)
	}
	if err := info.CheckTDXModule(zero, [8]byte{}, [16]byte{6, 7}); !errors.Is(err, ErrMismatch) {
		t.Errorf("TDX_07 absent: %v", err)
	}
}

func TestURLs(t *testing.T) {
	fmspc := [6]byte{0x00, 0x80, 0x6f, 0x05, 0, 0}
	for _, c := range []struct{ got, want string }{
		{TCBInfoURL("", TDX, fmspc), "https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=00806f050000"},
		{TCBInfoURL("https://pccs.example:8081/", SGX, fmspc), "https://pccs.example:8081/sgx/certification/v4/tcb?fmspc=00806f050000"},
		{QEIdentityURL("", SGX), "https://api.trustedservices.intel.com/sgx/certification/v4/qe/identity"},
		{QEIdentityURL("https://global.acccache.azure.net", TDX), "https://global.acccache.azure.net/tdx/certification/v4/qe/identity"},
		{PCKCRLURL("", PlatformCA), "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der"},
		{PCKCRLURL("", CAFromIssuerCN("Intel SGX PCK Processor CA")), "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=processor&encoding=der"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if UpToDate.String() != "UpToDate" || Status(99).String() != "Status(99)" {
		t.Error("status names")
	}
}

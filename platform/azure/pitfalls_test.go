package azure

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func setU32(b []byte, off int, v uint32) []byte {
	b = clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

// Offsets in the HCL report.
const (
	offReportSize = 8
	offDataSize   = RuntimeDataOffset
	offRDVersion  = RuntimeDataOffset + 4
	offReportType = RuntimeDataOffset + 8
	offHashType   = RuntimeDataOffset + 12
	offVarSize    = RuntimeDataOffset + 16
)

// TestParsePitfalls: malformed HCL reports are parse errors, never panics
// (docs/azure.md, the HCL report layout).
func TestParsePitfalls(t *testing.T) {
	snp := vectortest.Read(t, vectors[1].dir+"/hcl_report.bin")
	td := vectortest.Read(t, vectors[5].dir+"/hcl_report.bin")
	size := binary.LittleEndian.Uint32(snp[offReportSize:])
	cases := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"empty", nil, "header"},
		{"short-header", snp[:20], "header"},
		{"magic", setU32(snp, 0, 0x41434c48), "signature"},
		{"version-0", setU32(snp, 4, 0), "version"},
		{"version-3", setU32(snp, 4, 3), "version"},
		{"request-type-0", setU32(snp, 12, 0), "request type"},
		{"reserved", func() []byte { b := clone(snp); b[25] = 1; return b }(), "reserved"},
		{"report-size-beyond-input", setU32(snp, offReportSize, uint32(len(snp))+1), "exceeds"},
		{"report-size-huge", setU32(snp, offReportSize, 0xffffffff), "exceeds"},
		{"report-size-small", setU32(snp, offReportSize, 100), "below"},
		{"truncated-to-report-size", snp[:size-1], "exceeds"},
		{"data-size", setU32(snp, offDataSize, 1131), "report_size"},
		{"var-size-beyond-buffer", setU32(snp, offVarSize, 0xfffffff0), "variable_data_size"},
		{"var-size-smaller", setU32(snp, offVarSize, 1109), "variable_data_size"},
		{"rd-version", setU32(snp, offRDVersion, 2), "version"},
		{"hash-type-0", setU32(snp, offHashType, 0), "hash_type"},
		{"hash-type-4", setU32(snp, offHashType, 4), "hash_type"},
		{"report-type-vbs", setU32(snp, offReportType, 1), "not supported"},
		{"report-type-tvm", setU32(snp, offReportType, 3), "not supported"},
		{"report-type-5", setU32(snp, offReportType, 5), "not supported"},
		{"tdx-declared-snp-body", setU32(snp, offReportType, uint32(ReportTypeTDX)), "TDX"},
		{"snp-declared-tdreport-body", setU32(td, offReportType, uint32(ReportTypeSNP)), "not an SNP report"},
		{"tdx-slot-padding", func() []byte { b := clone(td); b[HeaderSize+TDReportSize+5] = 1; return b }(), "after the TDREPORT"},
		{"nv-padding-nonzero", func() []byte { b := clone(snp); b[len(b)-1] = 0x0a; return b }(), "after report_size"},
		{"too-large", make([]byte, MaxSize+1), "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHCLReport(tc.b)
			if err == nil || h != nil {
				t.Fatalf("parsed (%v)", err)
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v, want ErrMalformed mentioning %q", err, tc.msg)
			}
		})
	}
	// The report alone (no NV padding) parses: padding is optional.
	if h, err := ParseHCLReport(snp[:size]); err != nil || h.Padding != 0 {
		t.Errorf("unpadded: %v", err)
	}
}

// TestHashTypes: SHA-384 and SHA-512 digests are zero-padded to 64 bytes
// (cloud-ra-sample's dd conv=sync); a report declaring SHA-384 over claims
// bound with SHA-256 does not bind.
func TestHashTypes(t *testing.T) {
	raw := vectortest.Read(t, vectors[1].dir+"/hcl_report.bin")
	for _, c := range []struct {
		ht HashType
		n  int
	}{{HashSHA256, 32}, {HashSHA384, 48}, {HashSHA512, 64}} {
		h, err := ParseHCLReport(setU32(raw, offHashType, uint32(c.ht)))
		if err != nil {
			t.Fatal(err)
		}
		rd := h.ExpectedReportData()
		if len(h.ClaimsDigest()) != c.n || !bytes.Equal(rd[:c.n], h.ClaimsDigest()) || !bytes.Equal(rd[c.n:], make([]byte, 64-c.n)) {
			t.Errorf("%v: expected REPORT_DATA %x", c.ht, rd)
		}
		if got := h.bindsClaims(h.ReportData()); got != (c.ht == HashSHA256) {
			t.Errorf("%v binds: %v", c.ht, got)
		}
	}
	// Verified: declaring SHA-384 breaks the binding (the header is not
	// signed, but the hash must match the signed REPORT_DATA).
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[1])
	ev.HCLReport = setU32(raw, offHashType, uint32(HashSHA384))
	r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
	r = checktest.Result(t, r, err)
	checktest.WantFail(t, r, CheckBinding, cloudra.ClassBinding)
}

// TestClaimsAltered: one byte of the claims changed → the binding fails,
// HCLAkPub is not bound, the vTPM quote's AK is not anchored, and no
// claims are returned (docs/azure.md, runtime claims; trustee report[0x06e0] += 1).
func TestClaimsAltered(t *testing.T) {
	av := newVerifier(t)
	for _, off := range []int{0x06e0, ClaimsOffset + 2, ClaimsOffset + 1109} {
		ev, col, opts := evidence(t, vectors[0])
		b := clone(ev.HCLReport)
		b[off]++
		ev.HCLReport = b
		r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
		r = checktest.Result(t, r, err)
		checktest.WantFail(t, r, CheckBinding, cloudra.ClassBinding)
		if c, _ := r.Check(CheckAKBinding); c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassBinding {
			t.Errorf("offset %#x: %s %+v", off, CheckAKBinding, c)
		}
		// Where the altered claims still name HCLAkPub, the quote verifies
		// under it but the AK is not anchored.
		if c, ok := r.Check("ak.trust"); ok && c.Outcome != cloudra.OutcomeFail {
			t.Errorf("offset %#x: ak.trust %+v", off, c)
		}
		if r.Claims != nil {
			t.Errorf("offset %#x: claims returned", off)
		}
	}
}

// TestAKSwapped: a quote by another key, a supplied AK that is not
// HCLAkPub, and claims whose HCLAkPub is replaced by the quote signer's
// key all fail (docs/pitfalls-tpm.md E3).
func TestAKSwapped(t *testing.T) {
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[1])
	other := vectors[0]

	// Quote of another VM (another AK) with this HCL report.
	ev2 := ev
	ev2.Quote = loadQuote(t, other, "quote_v1")
	r, err := av.Verify(context.Background(), ev2, col, Sections{}, opts)
	r = checktest.Result(t, r, err)
	checktest.WantFail(t, r, CheckAKBinding, cloudra.ClassBinding)
	if c, _ := r.Check("quote.signature"); c.Class != cloudra.ClassSig {
		t.Errorf("quote.signature %+v", c)
	}

	// A supplied AK that is not HCLAkPub: the quote is still verified with
	// HCLAkPub, and the mismatch is a binding failure.
	ak, err := tpm.ParsePublic(vectortest.Read(t, other.dir+"/hcl_akpub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ev3 := ev
	ev3.AKPublic = ak
	r, _ = av.Verify(context.Background(), ev3, col, Sections{}, opts)
	checktest.WantFail(t, r, CheckAKMatch, cloudra.ClassBinding)
	if c, _ := r.Check("quote.signature"); c.Outcome != cloudra.OutcomePass {
		t.Errorf("quote.signature %+v", c)
	}
	own, _ := tpm.ParsePublic(vectortest.Read(t, vectors[1].dir+"/hcl_akpub.pem"))
	ev3.AKPublic = own
	r, _ = av.Verify(context.Background(), ev3, col, Sections{}, opts)
	checktest.WantPass(t, r)

	// HCLAkPub in the claims replaced by the other VM's AK (same size), and
	// that VM's quote: the quote verifies under the swapped key, but the
	// claims no longer hash to REPORT_DATA, so the AK is not bound.
	h, _ := ParseHCLReport(ev.HCLReport)
	rc, _ := ParseRuntimeClaims(h.Claims)
	ho, _ := ParseHCLReport(vectortest.Read(t, other.dir+"/hcl_report.bin"))
	rco, _ := ParseRuntimeClaims(ho.Claims)
	mine, _ := rc.Key(KidAK)
	theirs, _ := rco.Key(KidAK)
	if len(mine.N) != len(theirs.N) {
		t.Fatal("keys of different sizes")
	}
	ev4 := ev
	ev4.HCLReport = bytes.Replace(ev.HCLReport, []byte(mine.N), []byte(theirs.N), 1)
	ev4.Quote = loadQuote(t, other, "quote_v1")
	r, _ = av.Verify(context.Background(), ev4, col, Sections{}, opts)
	checktest.WantFail(t, r, CheckBinding, cloudra.ClassBinding)
	checktest.WantFail(t, r, CheckAKBinding, cloudra.ClassBinding)
	if c, _ := r.Check("quote.signature"); c.Outcome != cloudra.OutcomePass {
		t.Errorf("quote.signature %+v", c)
	}
	if c, _ := r.Check("ak.trust"); c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassChain {
		t.Errorf("ak.trust %+v", c)
	}
}

// TestFreshness: the vTPM nonce must be the challenge; without a quote and
// without a user-data echo the boot-time report is replayable.
func TestFreshness(t *testing.T) {
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[1])
	ev.Nonce = []byte("challengf")
	r, _ := av.Verify(context.Background(), ev, col, Sections{}, opts)
	checktest.WantFail(t, r, "quote.nonce", cloudra.ClassFresh)
	if !hasViolation(r, RuleFreshness) {
		t.Errorf("no freshness violation\n%s", checktest.Dump(r))
	}

	ev, col, opts = evidence(t, vectors[1])
	ev.Quote = nil
	r, _ = av.Verify(context.Background(), ev, col, Sections{}, opts)
	if r.Verdict != cloudra.Fail || !hasViolation(r, RuleFreshness) || !r.HasFailure(cloudra.ClassFresh) {
		t.Errorf("want REJECT/fresh\n%s", checktest.Dump(r))
	}
	r, _ = av.Verify(context.Background(), ev, col, Sections{Azure: &Policy{RequireFreshness: policy.Bool(false)}}, opts)
	checktest.WantPass(t, r)
	r, _ = av.Verify(context.Background(), ev, col, Sections{Azure: &Policy{RequireFreshness: policy.Bool(false), RequireVTPMQuote: policy.Bool(true)}}, opts)
	if !hasViolation(r, RuleVTPMQuote) {
		t.Errorf("require-vtpm-quote\n%s", checktest.Dump(r))
	}
	// The v2 user-data echo alone is fresh.
	ev2, col2, opts2 := evidence(t, vectors[3])
	ev2.Quote = nil
	r, _ = av.Verify(context.Background(), ev2, col2, Sections{}, opts2)
	checktest.WantPass(t, r)
}

// TestVMPLAndPolicyCopies: the paravisor's SNP report is judged at VMPL 0
// whatever the sev-snp section says, and the caller's sections are never
// modified.
func TestVMPLAndPolicyCopies(t *testing.T) {
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[1])
	two := uint32(2)
	snp := &sevsnp.Policy{VMPL: &two, ReportData: []byte("challenge")}
	r, _ := av.Verify(context.Background(), ev, col, Sections{SEVSNP: snp}, opts)
	if hasViolation(r, "vmpl") {
		t.Errorf("guest VMPL rule applied to the paravisor's report\n%s", checktest.Dump(r))
	}
	if *snp.VMPL != 2 || string(snp.ReportData) != "challenge" {
		t.Error("caller's sev-snp policy modified")
	}
	// report-data "challenge" was taken as the expected user-data, which the
	// v0 evidence (zero user-data) does not echo.
	checktest.WantFail(t, r, CheckUserData, cloudra.ClassBinding)
}

// TestVMConfiguration: the paravisor's statement is appraised.
func TestVMConfiguration(t *testing.T) {
	av := newVerifier(t)
	ev, col, opts := evidence(t, vectors[1])
	pol := Sections{Azure: &Policy{RequireSecureBoot: policy.Bool(true), RequireTPMEnabled: policy.Bool(true),
		VMUniqueIDs: []string{"26f8bc30-774e-4290-8e7a-535f3b672aee"}}}
	r, _ := av.Verify(context.Background(), ev, col, pol, opts)
	checktest.WantPass(t, r)
	pol.Azure.AllowConsole = policy.Bool(false)
	pol.Azure.VMUniqueIDs = []string{"00000000-0000-0000-0000-000000000000"}
	r, _ = av.Verify(context.Background(), ev, col, pol, opts)
	if !hasViolation(r, RuleConsole) || !hasViolation(r, RuleVMUniqueID) || r.Verdict != cloudra.Fail {
		t.Errorf("%s", checktest.Dump(r))
	}
}

// TestRuntimeClaims: duplicate members, kid selection, user-data forms.
func TestRuntimeClaims(t *testing.T) {
	real := vectortest.Read(t, vectors[1].dir+"/runtime_claims.json")
	rc, err := ParseRuntimeClaims(real)
	if err != nil {
		t.Fatal(err)
	}
	ak, _ := rc.Key(KidAK)
	ek, _ := rc.Key(KidEK)
	key := func(kid string, k *JWK) string {
		return `{"kid":"` + kid + `","kty":"RSA","e":"AQAB","n":"` + k.N + `"}`
	}
	cases := []struct {
		name, doc, err string
	}{
		{"ek-first", `{"keys":[` + key(KidEK, ek) + `,` + key(KidAK, ak) + `]}`, ""},
		{"dup-user-data", `{"keys":[` + key(KidAK, ak) + `],"user-data":"00","user-data":"01"}`, "duplicate"},
		{"dup-keys", `{"keys":[],"keys":[` + key(KidAK, ak) + `]}`, "duplicate"},
		{"dup-nested", `{"keys":[` + key(KidAK, ak) + `],"vm-configuration":{"secure-boot":false,"secure-boot":true}}`, "duplicate"},
		{"two-aks", `{"keys":[` + key(KidAK, ak) + `,` + key(KidAK, ek) + `]}`, "two keys"},
		{"no-ak", `{"keys":[` + key(KidEK, ek) + `]}`, "no key"},
		{"trailing", `{"keys":[` + key(KidAK, ak) + `]} {}`, "after"},
		{"not-object", `[1]`, "object"},
		{"user-data-not-hex", `{"keys":[` + key(KidAK, ak) + `],"user-data":"zz"}`, "hex"},
		{"user-data-upper", `{"keys":[` + key(KidAK, ak) + `],"user-data":"ABCD"}`, ""},
		{"deep", `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,"keys":[` + key(KidAK, ak) + `]}`, "nesting"},
		{"bad-utf8", "{\"keys\":[],\"x\":\"\xff\"}", "UTF-8"},
		{"ec-key", `{"keys":[{"kid":"HCLAkPub","kty":"EC","crv":"P-256","x":"","y":""}]}`, "kty"},
		{"small-key", `{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"` + strings.Repeat("_", 100) + `"}]}`, "modulus"},
		{"even-e", `{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"Ag","n":"` + ak.N + `"}]}`, "exponent"},
		{"padded-n", `{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"` + ak.N + `=="}]}`, "n:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := ParseRuntimeClaims([]byte(tc.doc))
			if err == nil {
				_, err = rc.AKPub()
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("err %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	// Exponent 0 is the TPM's encoding of 65537.
	rc, err = ParseRuntimeClaims([]byte(`{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AA","n":"` + ak.N + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := rc.AKPub(); err != nil || k.E != 65537 {
		t.Errorf("e=0: %v", err)
	}
}

// TestUserDataShapes: a claims user-data shorter than 64 bytes, absent, or
// only prefix-equal never passes (docs/pitfalls-tpm.md E3: trustee's prefix compare).
func TestUserDataShapes(t *testing.T) {
	want := []byte("nonce")
	full := make([]byte, UserDataSize)
	copy(full, want)
	for _, tc := range []struct {
		name string
		rc   *RuntimeClaims
		pass bool
	}{
		{"exact", &RuntimeClaims{UserData: full}, true},
		{"short", &RuntimeClaims{UserData: want}, false},
		{"absent", &RuntimeClaims{}, false},
		{"unreadable", nil, false},
		{"trailing-nonzero", &RuntimeClaims{UserData: append(append([]byte{}, full[:63]...), 1)}, false},
	} {
		r := &cloudra.Result{}
		got := checkUserData(r, tc.rc, want, "test")
		c, _ := r.Check(CheckUserData)
		if got != tc.pass || (c.Outcome == cloudra.OutcomePass) != tc.pass {
			t.Errorf("%s: fresh %v, check %+v", tc.name, got, c)
		}
		if !tc.pass && c.Class != cloudra.ClassBinding {
			t.Errorf("%s: class %s", tc.name, c.Class)
		}
	}
	// An all-zero expected value passes but is not a freshness proof.
	r := &cloudra.Result{}
	if checkUserData(r, &RuntimeClaims{UserData: make([]byte, 64)}, make([]byte, 64), "test") {
		t.Error("zero user-data counted as fresh")
	}
}

// TestTDXFields: the TDREPORT is displayed field by field.
func TestTDXFields(t *testing.T) {
	h, err := ParseHCLReport(vectortest.Read(t, vectors[5].dir+"/hcl_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	for _, f := range h.Fields() {
		m[f.Name] = f.Value
	}
	if m["TDREPORT.MRTD"] != "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b" ||
		m["TDREPORT.REPORTTYPE"] != "81000000" || m["RUNTIME_DATA.REPORT_TYPE"] != "TDX" || m["NV_PADDING"] != 163 {
		t.Errorf("fields %v", m)
	}
}

package azure

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
	"github.com/cloudra/cloudra/policy"
)

// TestParseVectors: every HCL report parses; the hardware report and the
// claims are the exact bytes PROVENANCE.md extracted; the claims hash is
// REPORT_DATA[0:32] followed by zeros.
func TestParseVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.dir, func(t *testing.T) {
			raw := vectortest.Read(t, v.dir+"/hcl_report.bin")
			h, err := ParseHCLReport(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h.Claims, vectortest.Read(t, v.dir+"/runtime_claims.json")) {
				t.Error("claims differ from runtime_claims.json")
			}
			hwFile := "snp_report.bin"
			if v.tdx {
				hwFile = "tdreport.bin"
			}
			if !bytes.Equal(h.HardwareReport, vectortest.Read(t, v.dir+"/"+hwFile)) {
				t.Errorf("hardware report differs from %s", hwFile)
			}
			if got := hex.EncodeToString(h.ClaimsDigest()); got != v.claimsHash {
				t.Errorf("claims digest %s, want %s", got, v.claimsHash)
			}
			rd := h.ReportData()
			if hex.EncodeToString(rd[:32]) != v.claimsHash || !h.bindsClaims(rd) {
				t.Errorf("REPORT_DATA %x does not bind the claims", rd)
			}
			if h.HashType != HashSHA256 || h.RequestType != RequestAKCert || int(h.ReportSize)+h.Padding != len(raw) {
				t.Errorf("hash %v request %d size %d padding %d", h.HashType, h.RequestType, h.ReportSize, h.Padding)
			}
			wantVersion := uint32(1)
			if v.tdx {
				wantVersion = 2
			}
			if h.Version != wantVersion {
				t.Errorf("version %d, want %d", h.Version, wantVersion)
			}
			if (h.ReportType == ReportTypeTDX) != v.tdx {
				t.Errorf("report type %v", h.ReportType)
			}
			rc, err := ParseRuntimeClaims(h.Claims)
			if err != nil {
				t.Fatal(err)
			}
			ak, err := rc.AKPub()
			if err != nil {
				t.Fatal(err)
			}
			pem, err := tpm.ParsePublic(vectortest.Read(t, v.dir+"/hcl_akpub.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if !tpm.SameKey(ak, pem.Key) {
				t.Error("HCLAkPub differs from hcl_akpub.pem")
			}
			if rc.VMConfiguration == nil || rc.VMConfiguration.SecureBoot == nil || !*rc.VMConfiguration.SecureBoot {
				t.Errorf("vm-configuration %+v", rc.VMConfiguration)
			}
			if len(h.Fields()) < 20 {
				t.Errorf("%d fields", len(h.Fields()))
			}
		})
	}
}

// TestVerifyVectors: the composite verification of each vector at its
// PROVENANCE.md time, with every vTPM quote it carries.
func TestVerifyVectors(t *testing.T) {
	av := newVerifier(t)
	for _, v := range vectors {
		if v.tdx || len(v.quotes) == 0 {
			continue // TestTDXVector, TestKinvolkMismatch
		}
		for _, prefix := range v.quotes {
			t.Run(v.dir+"/"+prefix, func(t *testing.T) {
				ev, col, opts := evidence(t, v)
				ev.Quote = loadQuote(t, v, prefix)
				r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
				r = checktest.Result(t, r, err)
				checktest.WantPass(t, r)
				if len(r.Parts) != 2 || r.Parts[0].Platform != "sev-snp" || r.Parts[1].Platform != "tpm" {
					t.Fatalf("parts %v", r.Parts)
				}
				trust, _ := r.Check("ak.trust")
				if !strings.Contains(trust.Detail, "HCLAkPub in runtime claims bound to SNP report") {
					t.Errorf("ak.trust %q", trust.Detail)
				}
				if c, _ := r.Check(CheckBinding); c.Outcome != cloudra.OutcomePass {
					t.Errorf("binding %+v", c)
				}
				if r.Claim("claims_bound_to") != "SNP report" || r.Claim("paravisor_vm_configuration") == nil {
					t.Errorf("claims %v", r.Claims.Claims())
				}
				if r.Parts[0].Claim("vmpl") == nil && r.Parts[0].Claims == nil {
					t.Error("no SNP claims")
				}
				wantUD := v.userData != nil
				if c, _ := r.Check(CheckUserData); (c.Outcome == cloudra.OutcomePass) != wantUD {
					t.Errorf("user-data check %+v", c)
				}
			})
		}
	}
}

// TestV2UserData: the v2 evidence echoes the 48-byte nonce in user-data;
// "123abc" (trustee test_verify_user_data) is REJECT/binding, and so is a
// prefix of the nonce (docs/pitfalls-tpm.md E3: no prefix compare).
func TestV2UserData(t *testing.T) {
	av := newVerifier(t)
	v := vectors[3]
	for _, tc := range []struct {
		name string
		ud   []byte
		pass bool
	}{
		{"nonce", v2Nonce, true},
		{"123abc", []byte("123abc"), false},
		{"123abc-hex", mustHex("123abc"), false},
		{"prefix", v2Nonce[:16], false},
		{"longer", append(append([]byte{}, v2Nonce...), 1), false},
		{"too-long", make([]byte, 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, col, opts := evidence(t, v)
			ev.UserData = tc.ud
			r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
			r = checktest.Result(t, r, err)
			if tc.pass {
				checktest.WantPass(t, r)
				return
			}
			checktest.WantFail(t, r, CheckUserData, cloudra.ClassBinding)
		})
	}
	// From the policy, and from the sev-snp report-data (the CLI's
	// --report-data) when the azure section names none.
	ev, col, opts := evidence(t, v)
	ev.UserData = nil
	r, _ := av.Verify(context.Background(), ev, col, Sections{Azure: &Policy{UserData: v2Nonce}}, opts)
	checktest.WantPass(t, r)
	r, _ = av.Verify(context.Background(), ev, col, Sections{SEVSNP: &sevsnp.Policy{ReportData: []byte("123abc")}}, opts)
	checktest.WantFail(t, r, CheckUserData, cloudra.ClassBinding)
	// The v0 evidence (zero user-data) fails an expected echo.
	ev0, col0, opts0 := evidence(t, vectors[1])
	ev0.UserData = []byte("challenge")
	r, _ = av.Verify(context.Background(), ev0, col0, Sections{}, opts0)
	checktest.WantFail(t, r, CheckUserData, cloudra.ClassBinding)
}

// TestTDXVector: HCL v2 with a TDREPORT; the TD quote from IMDS is a
// quote of that TDREPORT; with the cross-source collateral the quote is
// genuine but OutOfDate (REJECT/policy), and SEPT_VE_DISABLE is not
// required on Azure; the vTPM quotes are bound through the TD quote.
func TestTDXVector(t *testing.T) {
	av := newVerifier(t)
	v := vectors[5]
	for _, prefix := range v.quotes {
		t.Run(prefix, func(t *testing.T) {
			ev, col, opts := evidence(t, v)
			ev.Quote = loadQuote(t, v, prefix)
			r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
			r = checktest.Result(t, r, err)
			if r.Verdict != cloudra.Fail || !hasViolation(r, "tcb.status") || hasViolation(r, "td-attributes.sept-ve-disable") {
				t.Fatalf("want fail on tcb.status only\n%s", checktest.Dump(r))
			}
			if got := r.FailureClasses(); len(got) != 1 || got[0] != cloudra.ClassPolicy {
				t.Errorf("classes %v\n%s", got, checktest.Dump(r))
			}
			for _, c := range []string{CheckTDReport, CheckBinding, CheckAKBinding, "quote.signature", "ak.trust", "quote.nonce", "quote.pcr-digest"} {
				if got, _ := r.Check(c); got.Outcome != cloudra.OutcomePass {
					t.Errorf("%s: %+v", c, got)
				}
			}
			if trust, _ := r.Check("ak.trust"); !strings.Contains(trust.Detail, "bound to TD quote") {
				t.Errorf("ak.trust %q", trust.Detail)
			}
			tdxPart := r.Parts[0]
			if tdxPart.Platform != "tdx" || tdxPart.Claim("rtmr0") != strings.Repeat("00", 48) || tdxPart.Claim("td_attributes") != "0000000000000000" {
				t.Errorf("tdx part %s", checktest.Dump(tdxPart))
			}
			// Accepting OutOfDate (with its advisories) passes.
			pol := Sections{TDX: &tdx.Policy{TCB: &dcap.TCBPolicy{AcceptStatus: []string{"UpToDate", "OutOfDate"}}}}
			r, err = av.Verify(context.Background(), ev, col, pol, opts)
			r = checktest.Result(t, r, err)
			checktest.WantPass(t, r)
			if pol.TDX.RequireSEPTVEDisable != nil || pol.TDX.ReportData != nil {
				t.Error("caller's tdx policy modified")
			}
			// An explicit SEPT_VE_DISABLE requirement is honoured.
			pol.TDX.RequireSEPTVEDisable = policy.Bool(true)
			r, _ = av.Verify(context.Background(), ev, col, pol, opts)
			if !hasViolation(r, "td-attributes.sept-ve-disable") {
				t.Errorf("explicit require-sept-ve-disable ignored\n%s", checktest.Dump(r))
			}
		})
	}
	// The TD quote's REPORTDATA equals the TDREPORT's.
	h, err := ParseHCLReport(vectortest.Read(t, v.dir+"/hcl_report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, v.dir+"/td_quote.bin")
	// Body at 48, REPORTDATA at body offset 520 (TD report 1.0).
	if !bytes.Equal(q[48+520:48+584], h.TDReport.ReportData[:]) {
		t.Error("TD quote REPORTDATA ≠ TDREPORT REPORTDATA")
	}
	if hex.EncodeToString(h.TDReport.MRTD[:]) != "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b" {
		t.Errorf("MRTD %x", h.TDReport.MRTD)
	}
	// Without the TD quote: undecidable.
	ev, col, opts := evidence(t, v)
	ev.TDQuote = nil
	if _, err := av.Verify(context.Background(), ev, col, Sections{}, opts); err != ErrNoTDQuote {
		t.Errorf("err %v, want ErrNoTDQuote", err)
	}
}

// TestKinvolkMismatch: parse and binding hold, but certs.pem holds the
// VCEK of another chip: REJECT/sig, no claims, and the AK is not bound.
func TestKinvolkMismatch(t *testing.T) {
	av := newVerifier(t)
	v := vectors[6]
	ev, col, opts := evidence(t, v)
	r, err := av.Verify(context.Background(), ev, col, Sections{}, opts)
	r = checktest.Result(t, r, err)
	checktest.WantFail(t, r, "report.signature", cloudra.ClassSig)
	if c, _ := r.Check(CheckBinding); c.Outcome != cloudra.OutcomePass {
		t.Errorf("binding %+v", c)
	}
	if r.Claims != nil {
		t.Error("claims of unauthenticated evidence")
	}
	// Without any VCEK: the KDS URL is named.
	ev.Quote = nil
	_, err = av.Verify(context.Background(), ev, &cloudra.Collateral{}, Sections{}, opts)
	if err == nil || !strings.Contains(err.Error(), "VCEK") {
		t.Fatalf("err %v, want missing collateral", err)
	}
	var mc *cloudra.MissingCollateralError
	if !asMissing(err, &mc) || len(mc.Items) == 0 || !strings.Contains(mc.Items[0].URL, "kdsintf.amd.com") {
		t.Errorf("err %v", err)
	}
}

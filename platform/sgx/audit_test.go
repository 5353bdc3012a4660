package sgx

// Tests added by the pitfall audit (docs/pitfalls-dcap.md): the DCAP
// pitfalls the TDX verifier tests, run through the SGX verifier too (A4:
// every entry point rejects the same forgeries).

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
)

// C3: header combinations an SGX quote must not have.
func TestAuditHeaderCombinations(t *testing.T) {
	k, v := setup(t)
	for name, mut := range map[string]func(q *dcaptest.Quote){
		"version 4":   func(q *dcaptest.Quote) { q.Header.Version = 4 },
		"version 5":   func(q *dcaptest.Quote) { q.Header.Version = 5; q.BodyType = 1 },
		"version 2":   func(q *dcaptest.Quote) { q.Header.Version = 2 },
		"key type 3":  func(q *dcaptest.Quote) { q.Header.AttestationKeyType = 3 },
		"TDX TEE":     func(q *dcaptest.Quote) { q.Header.TEEType = dcap.TEETypeTDX },
		"unknown TEE": func(q *dcaptest.Quote) { q.Header.TEEType = 0x82 },
		"vendor ID":   func(q *dcaptest.Quote) { q.Header.QEVendorID[0] ^= 1 },
	} {
		t.Run(name, func(t *testing.T) {
			q := k.SGXQuote()
			mut(q)
			checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(false), nil), "quote.parse", cloudra.ClassParse)
		})
	}
}

// C1: the QE report against the SGX QE Identity.
func TestAuditQEIdentity(t *testing.T) {
	k, v := setup(t)
	for name, mut := range map[string]func(q *dcaptest.Quote){
		"mrsigner":   func(q *dcaptest.Quote) { q.QEReport.MRSigner[31] ^= 1 },
		"miscselect": func(q *dcaptest.Quote) { q.QEReport.MiscSelect = 4 },
		"debug QE":   func(q *dcaptest.Quote) { q.QEReport.Attributes[0] |= dcap.SGXAttrDebug },
	} {
		t.Run(name, func(t *testing.T) {
			q := k.SGXQuote()
			mut(q)
			checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(false), nil), "qe-identity.match", cloudra.ClassPolicy)
		})
	}
	t.Run("isvsvn below every level", func(t *testing.T) {
		qe := k.DefaultQEIdentity(false)
		qe.Levels = []dcaptest.IdentityLevel{{ISVSVN: 9, Status: "UpToDate"}}
		res := run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(k.DefaultTCBInfo(false).Marshal(), qe.Marshal()), nil)
		dcaptest.WantStatusFail(t, res, "NotSupported")
	})
	t.Run("QE OutOfDate, platform UpToDate (A3)", func(t *testing.T) {
		q := k.SGXQuote()
		q.QEReport.ISVSVN = 3
		res := run(t, v, k, q.Bytes(), k.Collateral(false), nil)
		dcaptest.WantStatusFail(t, res, "OutOfDate")
	})
}

// C2: the QE report binds the attestation key.
func TestAuditAttestationKeyBinding(t *testing.T) {
	k, v := setup(t)
	q := k.SGXQuote()
	dcaptest.SwapAttestationKey(t, q)
	res := run(t, v, k, q.Bytes(), k.Collateral(false), nil)
	dcaptest.WantBindingOnly(t, res)
	if res.Claims != nil {
		t.Error("claims on a binding failure")
	}
}

// C5: status gating by the default policy, and with accept-status
// [UpToDate].
func TestAuditStatusGating(t *testing.T) {
	k, v := setup(t)
	for status, pass := range map[string]bool{
		"UpToDate": true, "SWHardeningNeeded": true, "ConfigurationAndSWHardeningNeeded": true,
		"OutOfDate": false, "OutOfDateConfigurationNeeded": false, "Revoked": false,
	} {
		t.Run(status, func(t *testing.T) {
			ti := k.DefaultTCBInfo(false)
			ti.Levels[0].Status = status
			ti.Levels[0].Advisories = []string{"INTEL-SA-00615"}
			col := k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(false).Marshal())
			res := run(t, v, k, k.SGXQuote().Bytes(), col, nil)
			if res.TCB == nil || res.TCB.Status != status || !slices.Equal(res.TCB.Advisories, []string{"INTEL-SA-00615"}) {
				t.Fatalf("TCB %+v", res.TCB)
			}
			if pass {
				if res.Verdict != cloudra.Pass {
					t.Fatalf("want pass: %v", res.Violations)
				}
				if status != "UpToDate" && !strings.Contains(strings.Join(res.Warnings, " "), "INTEL-SA-00615") {
					t.Errorf("no warning naming the advisory: %v", res.Warnings)
				}
			} else {
				checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
			}
			strict := run(t, v, k, k.SGXQuote().Bytes(), col, &Policy{TCB: &dcap.TCBPolicy{AcceptStatus: []string{"UpToDate"}}})
			if status == "UpToDate" {
				if strict.Verdict != cloudra.Pass {
					t.Errorf("UpToDate under [UpToDate]: %v", strict.Violations)
				}
			} else {
				checktest.WantFail(t, strict, "tcb.status", cloudra.ClassPolicy)
			}
		})
	}
	t.Run("unknown status", func(t *testing.T) {
		ti := k.DefaultTCBInfo(false)
		ti.Levels[0].Status = "Fine"
		checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(false).Marshal()), nil), "tcb-info.verify", cloudra.ClassParse)
	})
	t.Run("PCESVN below every level", func(t *testing.T) {
		ti := k.DefaultTCBInfo(false)
		ti.Levels = ti.Levels[:1]
		ti.Levels[0].PCESVN = k.PCESVN + 1
		res := run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(false).Marshal()), nil)
		checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
		if res.TCB.Status != "NotSupported" {
			t.Errorf("status %s, want NotSupported", res.TCB.Status)
		}
	})
}

// C8: stale or future collateral for SGX.
func TestAuditCollateralFreshness(t *testing.T) {
	k, v := setup(t)
	ti := k.DefaultTCBInfo(false)
	ti.Next = k.Now.AddDate(0, 0, -1)
	checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(false).Marshal()), nil), "tcb-info.verify", cloudra.ClassFresh)
	ti = k.DefaultTCBInfo(false)
	ti.Issue = k.Now.AddDate(0, 0, 1)
	checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(false).Marshal()), nil), "tcb-info.verify", cloudra.ClassFresh)
	qe := k.DefaultQEIdentity(false)
	qe.Next = k.Now.AddDate(0, 0, -1)
	checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(k.DefaultTCBInfo(false).Marshal(), qe.Marshal()), nil), "qe-identity.verify", cloudra.ClassFresh)
	checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), k.Collateral(false), &Policy{TCB: &dcap.TCBPolicy{MinTCBEvaluationDataNumber: 18}}), "tcb.min-tcb-evaluation-data-number", cloudra.ClassFresh)
}

// C9: the TCB Info signature covers the exact bytes.
func TestAuditCollateralExactBytes(t *testing.T) {
	k, v := setup(t)
	col := k.Collateral(false)
	raw := col.Documents[0].Raw
	col.Documents[0].Raw = bytes.Replace(raw, []byte(`"version":3,`), []byte(`"version": 3,`), 1)
	if bytes.Equal(raw, col.Documents[0].Raw) {
		t.Fatal("fixture changed")
	}
	checktest.WantFail(t, run(t, v, k, k.SGXQuote().Bytes(), col, nil), "tcb-info.verify", cloudra.ClassSig)
}

// A6: only big-endian r‖s verifies.
func TestAuditLittleEndianSignature(t *testing.T) {
	k, v := setup(t)
	b := k.SGXQuote().Bytes()
	dcaptest.LittleEndianSignature(t, b)
	checktest.WantFail(t, run(t, v, k, b, k.Collateral(false), nil), "quote.signature", cloudra.ClassSig)
}

// A2, A5: a chain to another root; the quote truncated at every length.
func TestAuditChainAndTruncation(t *testing.T) {
	k, v := setup(t)
	q := k.SGXQuote()
	q.CertData = dcaptest.New(dcaptest.DefaultConfig()).ChainPEM()
	checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(false), nil), "pck.chain", cloudra.ClassChain)
	b := k.SGXQuote().Bytes()
	col := k.Collateral(false)
	step := 1
	if testing.Short() {
		step = 7
	}
	for n := 0; n < len(b); n += step {
		res := run(t, v, k, b[:n], col, nil)
		if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassParse) || res.Claims != nil {
			t.Fatalf("truncated at %d: %s %v", n, res.Verdict, res.FailureClasses())
		}
	}
}

// Vector expectations not asserted by TestVectors: accepted with an
// advisory allow-list naming every advisory (the positive twin of the
// allow-list that omits one), the PCK leaf serial, the TCB date and the
// remaining enclave fields of PROVENANCE.md.
func TestAuditVectorDetails(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, at string
		pol           *Policy
		verdict       cloudra.Verdict
		serial, date  string
		claims        map[string]any
	}{
		{name: "dcapqvl-v3 allow-list", dir: "sgx/dcapqvl-v3-configuration-swhardening", at: "2025-07-01T00:00:00Z",
			pol:     &Policy{TCB: &dcap.TCBPolicy{AllowedAdvisories: []string{"INTEL-SA-00289", "INTEL-SA-00615"}}},
			verdict: cloudra.Pass, serial: "81b77732b761e98eb9b963a4abd1e5b9bf5dd8d6", date: "2024-03-13T00:00:00Z",
			claims: map[string]any{"isvsvn": uint16(0), "miscselect": uint32(0), "fmspc": "00a067110000"}},
		{name: "automata-v3", dir: "sgx/automata-v3-00606a-swhardening", at: "2025-08-15T05:45:00Z",
			verdict: cloudra.Pass, date: "2024-03-13T00:00:00Z",
			claims: map[string]any{"isvprodid": uint16(0), "isvsvn": uint16(0), "attributes": "0500000000000000e700000000000000",
				"report_data": strings.Repeat("00", 64), "fmspc": "00606a000000"}},
		{name: "occlum debug", dir: "sgx/trustee-occlum-v3-debug-outofdate", at: "2025-08-15T05:45:00Z",
			verdict: cloudra.Fail, date: "2021-11-10T00:00:00Z",
			claims: map[string]any{"mrsigner": "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e",
				"cpusvn": "06060c0cffff00000000000000000000", "isvprodid": uint16(0), "isvsvn": uint16(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := vectortest.Read(t, tc.dir+"/quote.bin")
			col := dcaptest.LoadCollateral(t, tc.dir+"/collateral")
			res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, tc.pol, cloudra.Options{Time: vectortest.Time(t, tc.at)})
			res = checktest.Result(t, res, err)
			dcaptest.WantAuthentic(t, res)
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s: %v", res.Verdict, tc.verdict, res.Violations)
			}
			if tc.serial != "" && !strings.Contains(res.Signer, "PCK certificate "+tc.serial+" ") {
				t.Errorf("signer %q, want serial %s", res.Signer, tc.serial)
			}
			if res.TCB == nil || res.TCB.Date != tc.date {
				t.Errorf("TCB %+v, want date %s", res.TCB, tc.date)
			}
			for name, want := range tc.claims {
				if got := res.Claim(name); got != want {
					t.Errorf("claim %s = %v (%T), want %v", name, got, got, want)
				}
			}
		})
	}
}

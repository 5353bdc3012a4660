package tdx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/intelroot"
	"github.com/cloudra/cloudra/platform/internal/dcapverify"
	"github.com/cloudra/cloudra/policy"
)

// raceEnabled thins the bit-flip sweep under the race detector.
var raceEnabled bool

var (
	kitOnce sync.Once
	kit     *dcaptest.Kit
)

func testKit() *dcaptest.Kit {
	kitOnce.Do(func() { kit = dcaptest.New(dcaptest.DefaultConfig()) })
	return kit
}

func forgedVerifier(t testing.TB, k *dcaptest.Kit) *Verifier {
	t.Helper()
	v, err := NewVerifier(WithTestRoot(k.Root))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func run(t testing.TB, v *Verifier, k *dcaptest.Kit, quote []byte, col *cloudra.Collateral, pol *Policy) *cloudra.Result {
	t.Helper()
	res, err := v.Verify(context.Background(), Evidence{Quote: quote}, col, pol, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	return res
}

// tdBodyQuote is a v4 quote of k whose TD 1.0 body is dcaptest.TDBody
// after edit.
func tdBodyQuote(k *dcaptest.Kit, edit func(r *dcap.TDReport)) []byte {
	q := k.TDQuote(4, false)
	r := dcaptest.TDBody(false)
	edit(r)
	q.Body = r.Marshal()
	return q.Bytes()
}

// ppidQuote is a v4 quote of k whose certification data is an RSA-3072
// encrypted PPID of 0xee bytes with k's CPUSVN, PCESVN and PCE-ID, and
// that certification data.
func ppidQuote(k *dcaptest.Kit) (*dcaptest.Quote, []byte) {
	info := append(bytes.Repeat([]byte{0xee}, 384), k.CompSVN[:]...)
	info = binary.LittleEndian.AppendUint16(info, k.PCESVN)
	info = append(info, k.PCEID[:]...)
	q := k.TDQuote(4, false)
	q.CertType, q.CertData = dcap.CertTypePPIDRSA3072, info
	return q, info
}

func TestForgedPositive(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	for _, tc := range []struct {
		version uint16
		v15     bool
	}{{4, false}, {5, false}, {5, true}} {
		res := run(t, v, k, k.TDQuote(tc.version, tc.v15).Bytes(), k.Collateral(true), nil)
		if res.Verdict != cloudra.Pass || res.TCB.Status != "UpToDate" {
			t.Fatalf("v%d v15=%v: %s\n%s", tc.version, tc.v15, res.Verdict, dcaptest.Dump(res))
		}
		if res.Claim("mrtd") != "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" {
			t.Errorf("mrtd claim %v", res.Claim("mrtd"))
		}
	}
	// The forged root is never trusted without AllowTestRoots.
	res, err := v.Verify(context.Background(), Evidence{Quote: k.TDQuote(4, false).Bytes()}, k.Collateral(true), nil, cloudra.Options{Time: k.Now})
	res = checktest.Result(t, res, err)
	checktest.WantFail(t, res, "pck.chain", cloudra.ClassChain)
	if res.Claims != nil {
		t.Error("claims returned for an untrusted chain")
	}
	// A verifier without the test root rejects it even when test roots are allowed.
	plain, _ := NewVerifier()
	checktest.WantFail(t, run(t, plain, k, k.TDQuote(4, false).Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassChain)
}

// A2/A5-like: chains that do not reach the pinned root.
func TestChainForgeries(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	other := dcaptest.New(dcaptest.DefaultConfig())
	pemOf := func(cs ...[]byte) []byte {
		var b []byte
		for _, c := range cs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
		}
		return b
	}
	cases := map[string][]byte{
		"other root's chain":         other.ChainPEM(),
		"swapped intermediate, root": pemOf(k.PCK.Raw, k.Root.Raw, k.CA.Raw),
		"leaf from another CA":       pemOf(other.PCK.Raw, k.CA.Raw, k.Root.Raw),
		"foreign root appended":      pemOf(k.PCK.Raw, k.CA.Raw, other.Root.Raw),
	}
	for name, chain := range cases {
		t.Run(name, func(t *testing.T) {
			q := k.TDQuote(4, false)
			q.CertData = chain
			checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassChain)
		})
	}
	t.Run("leaf TBS byte flipped", func(t *testing.T) {
		der := bytes.Clone(k.PCK.Raw)
		der[len(der)-100] ^= 1 // inside the signature value: still parses
		q := k.TDQuote(4, false)
		q.CertData = pemOf(der, k.CA.Raw, k.Root.Raw)
		checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassChain)
	})
	t.Run("processor CA accepted", func(t *testing.T) {
		c := dcaptest.DefaultConfig()
		c.Processor = true
		pk := dcaptest.New(c)
		res := run(t, forgedVerifier(t, pk), pk, pk.TDQuote(4, false).Bytes(), pk.Collateral(true), nil)
		if res.Verdict != cloudra.Pass || res.Claim("pck_ca") != "processor" {
			t.Fatalf("%s\n%s", res.Verdict, dcaptest.Dump(res))
		}
	})
	t.Run("certification data type 4", func(t *testing.T) {
		q := k.TDQuote(4, false)
		q.CertType = dcap.CertTypePCKLeaf
		checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassParse)
	})
}

func TestRevocation(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	col := k.Collateral(true)
	col.CRLs = nil
	col.AddCRL(k.CRL(k.CA, k.CAKey, k.PCK))
	col.AddCRL(k.CRL(k.Root, k.RootKey))
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), col, nil), "pck.crl", cloudra.ClassChain)

	col = k.Collateral(true)
	col.CRLs = nil
	col.AddCRL(k.CRL(k.CA, k.CAKey))
	col.AddCRL(k.CRL(k.Root, k.RootKey, k.CA))
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), col, nil), "root-ca.crl", cloudra.ClassChain)

	// A CRL signed by the wrong key.
	col = k.Collateral(true)
	col.CRLs = nil
	col.AddCRL(k.CRL(k.CA, k.RootKey))
	col.AddCRL(k.CRL(k.Root, k.RootKey))
	res := run(t, v, k, k.TDQuote(4, false).Bytes(), col, nil)
	checktest.WantFail(t, res, "pck.crl", cloudra.ClassSig)
}

// C1: QE identity evaluated.
func TestQEIdentity(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	for name, mut := range map[string]func(q *dcaptest.Quote){
		"mrsigner":  func(q *dcaptest.Quote) { q.QEReport.MRSigner[0] ^= 1 },
		"isvprodid": func(q *dcaptest.Quote) { q.QEReport.ISVProdID = 1 },
		"debug QE":  func(q *dcaptest.Quote) { q.QEReport.Attributes[0] |= dcap.SGXAttrDebug },
	} {
		t.Run(name, func(t *testing.T) {
			q := k.TDQuote(4, false)
			mut(q)
			checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "qe-identity.match", cloudra.ClassPolicy)
		})
	}
	t.Run("isvsvn below every level", func(t *testing.T) {
		qe := k.DefaultQEIdentity(true)
		qe.Levels = []dcaptest.IdentityLevel{{ISVSVN: 9, Status: "UpToDate"}}
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(k.DefaultTCBInfo(true).Marshal(), qe.Marshal()), nil)
		dcaptest.WantStatusFail(t, res, "NotSupported")
	})
	t.Run("QE OutOfDate (A3: only the 2nd check fails)", func(t *testing.T) {
		q := k.TDQuote(4, false)
		q.QEReport.ISVSVN = 3
		res := run(t, v, k, q.Bytes(), k.Collateral(true), nil)
		dcaptest.WantStatusFail(t, res, "OutOfDate")
	})
}

// C2: the QE report must bind the attestation key.
func TestAttestationKeyBinding(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	// Re-sign with a fresh attestation key, keeping the QE report (and its
	// REPORT_DATA bound to the original key).
	q := k.TDQuote(4, false)
	rd := dcaptest.SwapAttestationKey(t, q)
	res := run(t, v, k, q.Bytes(), k.Collateral(true), nil)
	dcaptest.WantBindingOnly(t, res)
	// REPORT_DATA[32:64] must be zero.
	q = k.TDQuote(4, false)
	q.KeepQEReportData = true
	q.QEReport.ReportData = rd
	q.QEReport.ReportData[40] = 1
	checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "qe-report.binding", cloudra.ClassBinding)
}

// C3, C12: header and body-descriptor combinations are parse errors.
func TestHeaderCombinations(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	cases := map[string]func(q *dcaptest.Quote){
		"v3 with TDX TEE":    func(q *dcaptest.Quote) { q.Header.Version = 3 },
		"v4 with SGX TEE":    func(q *dcaptest.Quote) { q.Header.TEEType = dcap.TEETypeSGX },
		"unknown TEE":        func(q *dcaptest.Quote) { q.Header.TEEType = 0x82 },
		"key type 3":         func(q *dcaptest.Quote) { q.Header.AttestationKeyType = 3 },
		"vendor ID":          func(q *dcaptest.Quote) { q.Header.QEVendorID[15] ^= 1 },
		"version 6":          func(q *dcaptest.Quote) { q.Header.Version = 6 },
		"v5 type 2 size 648": func(q *dcaptest.Quote) { q.Header.Version = 5; q.Body = dcaptest.TDBody(true).Marshal() },
		"v5 type 3 size 584": func(q *dcaptest.Quote) { q.Header.Version = 5; q.BodyType = 3 },
		"v5 type 1":          func(q *dcaptest.Quote) { q.Header.Version = 5; q.BodyType = 1; q.Body = make([]byte, 384) },
		"v5 type 4":          func(q *dcaptest.Quote) { q.Header.Version = 5; q.BodyType = 4 },
		"qe auth beyond end": func(q *dcaptest.Quote) { q.AuthData = nil; q.CertData = nil },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			q := k.TDQuote(4, false)
			mut(q)
			b := q.Bytes()
			if name == "qe auth beyond end" {
				// Claim 64 KiB of auth data.
				i := bytes.LastIndex(b, []byte{0, 0, 5, 0, 0, 0, 0, 0})
				binary.LittleEndian.PutUint16(b[i:], 0xffff)
			}
			checktest.WantFail(t, run(t, v, k, b, k.Collateral(true), nil), "quote.parse", cloudra.ClassParse)
		})
	}
}

// C4: collateral for the wrong TEE.
func TestCollateralTypeConfusion(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(k.DefaultTCBInfo(false).Marshal(), k.DefaultQEIdentity(true).Marshal()), nil)
	checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassCollateral)
	res = run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(k.DefaultTCBInfo(true).Marshal(), k.DefaultQEIdentity(false).Marshal()), nil)
	checktest.WantFail(t, res, "qe-identity.verify", cloudra.ClassCollateral)
	// FMSPC of the TCB Info differs: it is not this platform's collateral.
	ti := k.DefaultTCBInfo(true)
	ti.FMSPC[5] = 1
	_, err := v.Verify(context.Background(), Evidence{Quote: k.TDQuote(4, false).Bytes()}, k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	var mc *cloudra.MissingCollateralError
	if !errors.As(err, &mc) {
		t.Errorf("wrong FMSPC: %v, want missing collateral", err)
	}
}

// C5: TCB status gating with the default policy.
func TestStatusGating(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	for status, pass := range map[string]bool{
		"UpToDate": true, "SWHardeningNeeded": true, "ConfigurationNeeded": true, "ConfigurationAndSWHardeningNeeded": true,
		"OutOfDate": false, "OutOfDateConfigurationNeeded": false, "Revoked": false,
	} {
		t.Run(status, func(t *testing.T) {
			ti := k.DefaultTCBInfo(true)
			ti.Levels[0].Status = status
			ti.Levels[0].Advisories = []string{"INTEL-SA-00615"}
			res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil)
			if res.TCB == nil || res.TCB.Status != status || !slices.Equal(res.TCB.Advisories, []string{"INTEL-SA-00615"}) {
				t.Fatalf("TCB %+v", res.TCB)
			}
			if pass {
				if res.Verdict != cloudra.Pass {
					t.Fatalf("want pass\n%s", dcaptest.Dump(res))
				}
				if status != "UpToDate" && (len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "INTEL-SA-00615")) {
					t.Errorf("no warning naming the advisory: %v", res.Warnings)
				}
				return
			}
			checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
			// Even when listed, Revoked never passes.
			res = run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()),
				&Policy{TCB: &dcap.TCBPolicy{AcceptStatus: []string{status}}})
			if (res.Verdict == cloudra.Pass) == (status == "Revoked") {
				t.Errorf("accept-status [%s]: %s", status, res.Verdict)
			}
		})
	}
	t.Run("unknown status", func(t *testing.T) {
		ti := k.DefaultTCBInfo(true)
		ti.Levels[0].Status = "Fine"
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil)
		checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassParse)
	})
	t.Run("forbidden advisory", func(t *testing.T) {
		ti := k.DefaultTCBInfo(true)
		ti.Levels[0].Status, ti.Levels[0].Advisories = "SWHardeningNeeded", []string{"INTEL-SA-00615"}
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()),
			&Policy{TCB: &dcap.TCBPolicy{ForbiddenAdvisories: []string{"INTEL-SA-00615"}}})
		checktest.WantFail(t, res, "tcb.forbidden-advisories", cloudra.ClassPolicy)
	})
}

// C6, C7, C14: level matching and the TDX module.
func TestLevelMatching(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	col := func(ti *dcaptest.TCBInfo) *cloudra.Collateral {
		return k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal())
	}
	t.Run("PCESVN one below every level", func(t *testing.T) {
		ti := k.DefaultTCBInfo(true)
		ti.Levels = ti.Levels[:1]
		ti.Levels[0].PCESVN = k.PCESVN + 1
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), col(ti), nil)
		checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
		if res.TCB.Status != "NotSupported" {
			t.Errorf("status %s, want NotSupported (not OutOfDate)", res.TCB.Status)
		}
	})
	t.Run("15 SGX components", func(t *testing.T) {
		inner := k.DefaultTCBInfo(true).Marshal()
		cut := bytes.Replace(inner, []byte(`"sgxtcbcomponents":[{"svn":3},`), []byte(`"sgxtcbcomponents":[`), 1)
		if bytes.Equal(cut, inner) {
			t.Fatal("fixture changed")
		}
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(cut, k.DefaultQEIdentity(true).Marshal()), nil)
		checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassParse)
	})
	t.Run("lower level matched", func(t *testing.T) {
		ti := k.DefaultTCBInfo(true)
		ti.Levels[0].PCESVN = k.PCESVN + 1
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), col(ti), nil)
		if res.TCB.Status != "OutOfDate" || !slices.Equal(res.TCB.Advisories, []string{"INTEL-SA-00001"}) {
			t.Errorf("TCB %+v", res.TCB)
		}
	})
	t.Run("MRSIGNERSEAM differs", func(t *testing.T) {
		checktest.WantFail(t, run(t, v, k, tdBodyQuote(k, func(r *dcap.TDReport) { r.MRSignerSEAM[0] = 1 }), k.Collateral(true), nil), "tdx-module.identity", cloudra.ClassPolicy)
	})
	t.Run("SEAM_ATTRIBUTES set", func(t *testing.T) {
		checktest.WantFail(t, run(t, v, k, tdBodyQuote(k, func(r *dcap.TDReport) { r.SEAMAttributes[0] = 1 }), k.Collateral(true), nil), "tdx-module.identity", cloudra.ClassPolicy)
	})
	t.Run("module ISVSVN below its levels", func(t *testing.T) {
		res := run(t, v, k, tdBodyQuote(k, func(r *dcap.TDReport) { r.TEETCBSVN[0] = 1 }), k.Collateral(true), nil)
		checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
	})
	t.Run("Intel skip rule for TEE_TCB_SVN[0..1]", func(t *testing.T) {
		// Level requires tdx[0] = 9 but the module major version is 1:
		// bytes 0..1 are judged by TDX_01 only, so the level still matches.
		ti := k.DefaultTCBInfo(true)
		ti.Levels[0].TDX[0] = 9
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), col(ti), nil)
		if res.Verdict != cloudra.Pass || res.TCB.Status != "UpToDate" {
			t.Fatalf("%s\n%s", res.Verdict, dcaptest.Dump(res))
		}
	})
	t.Run("platform OutOfDate, module UpToDate (C14)", func(t *testing.T) {
		ti := k.DefaultTCBInfo(true)
		ti.Levels[0].Status = "OutOfDate"
		res := run(t, v, k, k.TDQuote(4, false).Bytes(), col(ti), nil)
		if res.TCB.Status != "OutOfDate" {
			t.Fatalf("status %s", res.TCB.Status)
		}
		checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
	})
	t.Run("module OutOfDate, platform UpToDate", func(t *testing.T) {
		res := run(t, v, k, tdBodyQuote(k, func(r *dcap.TDReport) { r.TEETCBSVN[0] = 3 }), k.Collateral(true), nil)
		if res.TCB.Status != "OutOfDate" || !slices.Contains(res.TCB.Advisories, "INTEL-SA-00002") {
			t.Fatalf("TCB %+v", res.TCB)
		}
	})
}

// C8: stale or future collateral, evaluation data number floor.
func TestCollateralFreshness(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	ti := k.DefaultTCBInfo(true)
	ti.Next = k.Now.AddDate(0, 0, -1)
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil), "tcb-info.verify", cloudra.ClassFresh)
	ti = k.DefaultTCBInfo(true)
	ti.Issue = k.Now.AddDate(0, 0, 1)
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil), "tcb-info.verify", cloudra.ClassFresh)
	qe := k.DefaultQEIdentity(true)
	qe.Next = k.Now
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(k.DefaultTCBInfo(true).Marshal(), qe.Marshal()), nil), "qe-identity.verify", cloudra.ClassFresh)
	res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.Collateral(true), &Policy{TCB: &dcap.TCBPolicy{MinTCBEvaluationDataNumber: 18}})
	checktest.WantFail(t, res, "tcb.min-tcb-evaluation-data-number", cloudra.ClassFresh)
}

// C9: the collateral signature covers the exact bytes.
func TestCollateralExactBytes(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	col := k.Collateral(true)
	raw := col.Documents[0].Raw
	col.Documents[0].Raw = bytes.Replace(raw, []byte(`"version":3,`), []byte(`"version": 3,`), 1)
	checktest.WantFail(t, run(t, v, k, k.TDQuote(4, false).Bytes(), col, nil), "tcb-info.verify", cloudra.ClassSig)
}

// C10, C11: TD attributes.
func TestTDAttributes(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	quote := func(attrs uint64) []byte {
		return tdBodyQuote(k, func(r *dcap.TDReport) { binary.LittleEndian.PutUint64(r.TDAttributes[:], attrs) })
	}
	sept := uint64(dcap.TDAttrSEPTVEDisable)
	checktest.WantFail(t, run(t, v, k, quote(sept|dcap.TDAttrDebug), k.Collateral(true), nil), "td-attributes.debug", cloudra.ClassPolicy)
	if res := run(t, v, k, quote(sept|dcap.TDAttrDebug), k.Collateral(true), &Policy{AllowDebug: policy.Bool(true)}); res.Verdict != cloudra.Pass {
		t.Errorf("allow-debug: %s", dcaptest.Dump(res))
	}
	// Reserved TUD bit: rejected even when debug is allowed.
	checktest.WantFail(t, run(t, v, k, quote(sept|dcap.TDAttrDebug|2), k.Collateral(true), &Policy{AllowDebug: policy.Bool(true)}), "td-attributes.reserved", cloudra.ClassPolicy)
	checktest.WantFail(t, run(t, v, k, quote(sept|1<<8), k.Collateral(true), nil), "td-attributes.reserved", cloudra.ClassPolicy)
	checktest.WantFail(t, run(t, v, k, quote(0), k.Collateral(true), nil), "td-attributes.sept-ve-disable", cloudra.ClassPolicy)
	if res := run(t, v, k, quote(0), k.Collateral(true), &Policy{RequireSEPTVEDisable: policy.Bool(false)}); res.Verdict != cloudra.Pass {
		t.Errorf("Azure-style TD_ATTRIBUTES = 0 with the rule off: %s", dcaptest.Dump(res))
	}
	checktest.WantFail(t, run(t, v, k, quote(sept|dcap.TDAttrPKS), k.Collateral(true), &Policy{AllowPKS: policy.Bool(false)}), "td-attributes.pks", cloudra.ClassPolicy)
	// Every violation is reported, not only the first.
	res := run(t, v, k, quote(dcap.TDAttrDebug|2), k.Collateral(true), &Policy{MRTD: []cloudra.HexBytes{make([]byte, 48)}})
	if len(res.Violations) < 4 {
		t.Errorf("want debug, reserved, sept-ve-disable and mrtd violations: %v", res.Violations)
	}
}

func TestMeasurementPolicy(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	r := dcaptest.TDBody(true)
	r.ReportData[0] = 0xab
	r.MRServiceTD[0] = 1
	q := k.TDQuote(5, true)
	q.Body = r.Marshal()
	b := q.Bytes()
	res := run(t, v, k, b, k.Collateral(true), &Policy{
		MRTD:         []cloudra.HexBytes{r.MRTD[:]},
		RTMR0:        []cloudra.HexBytes{make([]byte, 48)},
		ReportData:   cloudra.HexBytes{0xab},
		MRServiceTD:  []cloudra.HexBytes{r.MRServiceTD[:]},
		XFAM:         []cloudra.HexBytes{r.XFAM[:]},
		MinTEETCBSVN: cloudra.HexBytes{6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	})
	if res.Verdict != cloudra.Pass {
		t.Fatalf("%s", dcaptest.Dump(res))
	}
	res = run(t, v, k, b, k.Collateral(true), nil)
	checktest.WantFail(t, res, "mrservicetd", cloudra.ClassPolicy)
	res = run(t, v, k, b, k.Collateral(true), &Policy{
		MRServiceTD:  []cloudra.HexBytes{r.MRServiceTD[:]},
		MRTD:         []cloudra.HexBytes{make([]byte, 48)},
		RTMR3:        []cloudra.HexBytes{{1}},
		ReportData:   cloudra.HexBytes{0xab, 0xcd},
		MinTEETCBSVN: cloudra.HexBytes{7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	})
	for _, rule := range []string{"mrtd", "rtmr3", "min-tee-tcb-svn"} {
		checktest.WantFail(t, res, rule, cloudra.ClassPolicy)
	}
	checktest.WantFail(t, res, "report-data", cloudra.ClassBinding)
}

// C13: without collateral there is no verdict, never plain success.
func TestNoCollateralNoSuccess(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	_, err := v.Verify(context.Background(), Evidence{Quote: k.TDQuote(4, false).Bytes()}, nil, nil, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	var mc *cloudra.MissingCollateralError
	if !errors.As(err, &mc) || len(mc.Items) != 4 {
		t.Fatalf("%v", err)
	}
	// But a forged quote fails without asking for collateral.
	b := k.TDQuote(4, false).Bytes()
	b[100] ^= 1
	res := run(t, v, k, b, nil, nil)
	checktest.WantFail(t, res, "quote.signature", cloudra.ClassSig)
}

// A6: only big-endian r‖s verifies.
func TestLittleEndianSignatureRejected(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	b := k.TDQuote(4, false).Bytes()
	dcaptest.LittleEndianSignature(t, b)
	checktest.WantFail(t, run(t, v, k, b, k.Collateral(true), nil), "quote.signature", cloudra.ClassSig)
}

// Every single-bit flip of a signed or bound byte is rejected, with the
// class of the region: header and body → sig (or parse where the header no
// longer parses), attestation signature → sig, attestation key → sig or
// binding, QE report → sig, QE auth data → binding.
func TestBitFlips(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	col := k.Collateral(true)
	for _, version := range []uint16{4, 5} {
		b := k.TDQuote(version, version == 5).Bytes()
		flipAll(t, b, func(m []byte) *cloudra.Result { return run(t, v, k, m, col, nil) })
	}
}

func flipAll(t *testing.T, b []byte, verify func([]byte) *cloudra.Result) {
	q, err := dcap.ParseQuote(b)
	if err != nil {
		t.Fatal(err)
	}
	n := len(q.SignedBytes())
	sd := n + 4
	qeOff := sd + 128
	if q.QuoteHeader().Version != 3 {
		qeOff += 6
	}
	regions := []struct {
		name     string
		lo, hi   int
		classes  []cloudra.Class
		stepBits int
	}{
		{"header+body", 0, n, []cloudra.Class{cloudra.ClassSig, cloudra.ClassParse}, 1},
		{"signature", sd, sd + 64, []cloudra.Class{cloudra.ClassSig}, 1},
		{"attestation key", sd + 64, sd + 128, []cloudra.Class{cloudra.ClassSig}, 1},
		{"QE report", qeOff, qeOff + 384, []cloudra.Class{cloudra.ClassSig}, 1},
		{"QE report signature", qeOff + 384, qeOff + 448, []cloudra.Class{cloudra.ClassSig}, 1},
		{"QE auth data", qeOff + 450, qeOff + 450 + len(q.Signature().QE.AuthData), []cloudra.Class{cloudra.ClassBinding}, 1},
	}
	step := 1
	if testing.Short() {
		step = 13
	} else if raceEnabled {
		step = 5
	}
	flips := 0
	for _, r := range regions {
		for bit := r.lo * 8; bit < r.hi*8; bit += step {
			m := bytes.Clone(b)
			m[bit/8] ^= 1 << (bit % 8)
			res := verify(m)
			flips++
			if res.Verdict != cloudra.Fail || res.Claims != nil && r.name != "QE auth data" {
				t.Fatalf("%s bit %d: %s, claims %v", r.name, bit, res.Verdict, res.Claims != nil)
			}
			ok := false
			for _, c := range r.classes {
				ok = ok || res.HasFailure(c)
			}
			if !ok {
				t.Fatalf("%s bit %d: classes %v, want one of %v", r.name, bit, res.FailureClasses(), r.classes)
			}
		}
	}
	t.Logf("%d single-bit flips rejected", flips)
}

// A test root named exactly like Intel's root: each trusted root with that
// name is tried, and the test one is trusted only with AllowTestRoots.
func TestTestRootWithIntelName(t *testing.T) {
	intel, err := intelroot.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	c := dcaptest.DefaultConfig()
	c.RootRawSubject = intel.RawSubject
	k := dcaptest.New(c)
	if !bytes.Equal(k.Root.RawSubject, intel.RawSubject) {
		t.Fatal("subject differs")
	}
	v := forgedVerifier(t, k)
	if res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.Collateral(true), nil); res.Verdict != cloudra.Pass {
		t.Fatalf("%s", dcaptest.Dump(res))
	}
	res, err := v.Verify(context.Background(), Evidence{Quote: k.TDQuote(4, false).Bytes()}, k.Collateral(true), nil, cloudra.Options{Time: k.Now})
	res = checktest.Result(t, res, err)
	checktest.WantFail(t, res, "pck.chain", cloudra.ClassChain)
}

// Certification data types 1–3 name the platform; the PCK certificate comes
// from the collateral and is selected by its signature over the QE report.
func TestPCKFromCollateral(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	q, info := ppidQuote(k)
	b := q.Bytes()

	// Without the PCK certificate: no decision, and the PCS URL to get it.
	_, err := v.Verify(context.Background(), Evidence{Quote: b}, k.Collateral(true), nil, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	var mc *cloudra.MissingCollateralError
	if !errors.As(err, &mc) || len(mc.Items) != 1 || !strings.Contains(mc.Items[0].URL, "/sgx/certification/v4/pckcert?encrypted_ppid=eeee") ||
		!strings.Contains(mc.Items[0].URL, "&pcesvn=0b00&pceid=0000") {
		t.Fatalf("%v", err)
	}
	// Another platform's PCK certificate does not sign this QE report.
	other := dcaptest.New(dcaptest.DefaultConfig())
	col := k.Collateral(true)
	col.AddCertificate(other.PCK)
	col.AddCertificate(other.CA)
	if res, err := forgedVerifier(t, other).Verify(context.Background(), Evidence{Quote: b}, col, nil, cloudra.Options{Time: k.Now, AllowTestRoots: true}); !errors.As(err, &mc) {
		t.Fatalf("other platform's PCK: %v\n%s", err, dcaptest.Dump(res))
	}
	// With it: verified as usual.
	col.AddCertificate(k.PCK)
	res := run(t, v, k, b, col, nil)
	if res.Verdict != cloudra.Pass {
		t.Fatalf("%s", dcaptest.Dump(res))
	}
	// The platform's PCK certificate without its CA: a chain failure.
	col = k.Collateral(true)
	col.Certificates = nil
	col.AddCertificate(k.PCK)
	checktest.WantFail(t, run(t, v, k, b, col, nil), "pck.chain", cloudra.ClassChain)
	// Cleartext PPID without a PCK certificate: a collateral failure.
	q.CertType, q.CertData = dcap.CertTypePPIDCleartext, append(make([]byte, 16), info[384:]...)
	checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassCollateral)
	// A wrong size is a parse error.
	q.CertData = q.CertData[1:]
	checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(true), nil), "pck.chain", cloudra.ClassParse)
}

// For certification data types 1–3, at most dcapverify.MaxPCKLeaves PCK
// certificates with the quote's PCE-ID are tried against the QE report
// signature: more are ignored with a warning, and when the platform's
// certificate is among those ignored, pck.chain fails with class
// collateral.
func TestPCKCandidatesCapped(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	q, _ := ppidQuote(k)
	b := q.Bytes()
	junk := &cloudra.Collateral{}
	for range dcapverify.MaxPCKLeaves + 3 {
		o := dcaptest.New(dcaptest.DefaultConfig()) // the same names and PCE-ID, other keys
		junk.AddCertificate(o.PCK)
	}
	after := k.Collateral(true)
	after.AddCertificate(k.PCK)
	after.Certificates = append(after.Certificates, junk.Certificates...)
	res := run(t, v, k, b, after, nil)
	if res.Verdict != cloudra.Pass || !strings.Contains(strings.Join(res.Warnings, "\n"), "4 more PCK certificates") {
		t.Fatalf("junk after the platform's PCK certificate: %q\n%s", res.Warnings, dcaptest.Dump(res))
	}
	before := k.Collateral(true)
	before.Certificates = append(append(before.Certificates, junk.Certificates...), k.PCK)
	res = run(t, v, k, b, before, nil)
	checktest.WantFail(t, res, "pck.chain", cloudra.ClassCollateral)
	if c, _ := res.Check("pck.chain"); !strings.Contains(c.Detail, dcapverify.ErrCandidateCap.Error()) {
		t.Errorf("pck.chain: %q does not name the cap", c.Detail)
	}
}

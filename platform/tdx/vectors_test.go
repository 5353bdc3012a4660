package tdx

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/policy"
)

// vectors: every real TDX quote with what its PROVENANCE.md states. The
// default policy is used unless pol is set.
var vectors = []struct {
	name, quote, col, at string
	trim                 int // verify only quote[:trim] (0: all)
	verdict              cloudra.Verdict
	status               string
	advisories           []string
	claims               map[string]string
	violations           []string // rules expected among the violations
	pol                  *Policy
}{
	{
		name: "dcapqvl-v4-uptodate", quote: "tdx/dcapqvl-v4-uptodate/quote.bin", col: "tdx/dcapqvl-v4-uptodate/collateral", at: "2025-07-01T00:00:00Z",
		verdict: cloudra.Pass, status: "UpToDate",
		claims: map[string]string{
			"mrtd":          "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
			"rtmr0":         "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
			"rtmr1":         "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378",
			"tee_tcb_svn":   "06010300000000000000000000000000",
			"td_attributes": "0000001000000000",
			"xfam":          "e702060000000000",
			"report_data":   "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
			"fmspc":         "b0c06f000000",
		},
	},
	{
		name: "dcapqvl-near-v4", quote: "tdx/dcapqvl-near-v4/quote.bin", col: "tdx/dcapqvl-near-v4/collateral", at: "2025-09-15T00:00:00Z",
		verdict: cloudra.Pass, status: "UpToDate",
		claims: map[string]string{"mrtd": "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"},
	},
	{
		name: "dcapqvl-v5-td15-tcb-not-supported", quote: "tdx/dcapqvl-v5-td15-tcb-not-supported/quote.bin", col: "tdx/dcapqvl-v5-td15-tcb-not-supported/collateral", at: "2026-03-01T00:00:00Z",
		verdict: cloudra.Fail, status: "NotSupported", violations: []string{"tcb.status"},
		claims: map[string]string{
			"mrtd":         "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd",
			"tee_tcb_svn2": "0d010300000000000000000000000000",
			"mrservicetd":  strings.Repeat("00", 48),
		},
	},
	{
		name: "gotdxguest-v5-td15", quote: "tdx/gotdxguest-v5-td15/quote.bin", col: "tdx/gotdxguest-v5-td15/collateral", at: "2026-02-25T00:00:00Z",
		verdict: cloudra.Pass, status: "UpToDate",
		claims: map[string]string{
			"mrtd":        "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
			"report_data": "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a",
		},
	},
	{
		name: "gotdxguest-v5-td15-alt", quote: "tdx/gotdxguest-v5-td15/quote.bin", col: "tdx/gotdxguest-v5-td15/collateral-alt-dcapqvl", at: "2026-02-25T00:00:00Z",
		verdict: cloudra.Pass, status: "UpToDate",
	},
	{
		// The file carries 39 appended ASCII bytes: rejected as trailing data.
		name: "gotdxguest-v4-spr-e4", quote: "tdx/gotdxguest-v4-spr-e4/quote.bin", col: "tdx/gotdxguest-v4-spr-e4/collateral", at: "2023-07-01T01:00:00Z",
		verdict: cloudra.Fail,
	},
	{
		// The quote Intel's QE produced (without the appended bytes):
		// crypto valid, TCB not supported; SEPT_VE_DISABLE clear.
		name: "gotdxguest-v4-spr-e4-trimmed", quote: "tdx/gotdxguest-v4-spr-e4/quote.bin", col: "tdx/gotdxguest-v4-spr-e4/collateral", at: "2023-07-01T01:00:00Z",
		trim: 4935, verdict: cloudra.Fail, status: "NotSupported", violations: []string{"tcb.status", "td-attributes.sept-ve-disable"},
		claims: map[string]string{
			"mrtd":          "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb",
			"td_attributes": "0000004000000000",
			"mrseam":        "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656",
		},
	},
	{
		name: "trustee-v4-spr-tdx_quote_4", quote: "tdx/trustee-v4-spr-tdx_quote_4/quote.bin", col: "tdx/trustee-v4-spr-tdx_quote_4/collateral", at: "2023-07-01T01:00:00Z",
		verdict: cloudra.Fail, status: "UpToDate", violations: []string{"td-attributes.debug"},
		claims: map[string]string{
			"mrtd":        "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031",
			"tee_tcb_svn": "03000500000000000000000000000000",
		},
	},
	{
		name: "trustee-v4-spr-tdx_quote_4-debug-allowed", quote: "tdx/trustee-v4-spr-tdx_quote_4/quote.bin", col: "tdx/trustee-v4-spr-tdx_quote_4/collateral", at: "2023-07-01T01:00:00Z",
		verdict: cloudra.Pass, status: "UpToDate", pol: &Policy{AllowDebug: policy.Bool(true)},
	},
	{
		name: "trustee-v5-alibaba", quote: "tdx/trustee-v5-alibaba-tdx_quote_5/quote.bin", col: "tdx/trustee-v5-alibaba-tdx_quote_5/collateral", at: "2025-06-25T00:00:00Z",
		verdict: cloudra.Fail, status: "NotSupported", violations: []string{"tcb.status"},
		claims: map[string]string{"mrtd": "dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a"},
	},
	{
		name: "automata-v4-gcp", quote: "tdx/automata-v4-gcp/quote.bin", col: "tdx/automata-v4-gcp/collateral", at: "2025-10-24T07:10:18Z",
		verdict: cloudra.Fail, status: "OutOfDate", advisories: []string{"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}, violations: []string{"tcb.status"},
		claims: map[string]string{
			"mrtd":        "935be7742dd89c6a4df6dba8353d89041ae0f052beef993b1e7f4524d3bc57650df20e5582158352e1240b3f1fed55d8",
			"tee_tcb_svn": "04010700000000000000000000000000",
		},
	},
	{
		// Azure TDX (cross-source collateral): OutOfDate, and TD_ATTRIBUTES
		// = 0, so the default SEPT_VE_DISABLE rule fails too.
		name: "azure-td-quote", quote: "azure-hcl/trustee-az-tdx-vtpm/td_quote.bin", col: "tdx/automata-v4-gcp/collateral", at: "2025-10-24T07:10:18Z",
		verdict: cloudra.Fail, status: "OutOfDate", advisories: []string{"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"},
		violations: []string{"tcb.status", "td-attributes.sept-ve-disable"},
		claims: map[string]string{
			"mrtd":          "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b",
			"rtmr0":         strings.Repeat("00", 48),
			"td_attributes": "0000000000000000",
			"report_data":   "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839" + strings.Repeat("00", 32),
		},
	},
}

func TestVectors(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range vectors {
		t.Run(tc.name, func(t *testing.T) {
			q := vectortest.Read(t, tc.quote)
			if tc.trim > 0 {
				q = q[:tc.trim]
			}
			col := dcaptest.LoadCollateral(t, tc.col)
			res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, tc.pol, cloudra.Options{Time: vectortest.Time(t, tc.at)})
			res = checktest.Result(t, res, err)
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s\n%s", res.Verdict, tc.verdict, dcaptest.Dump(res))
			}
			if tc.status != "" && (res.TCB == nil || res.TCB.Status != tc.status) {
				t.Errorf("TCB %+v, want %s\n%s", res.TCB, tc.status, dcaptest.Dump(res))
			}
			if tc.status != "" && !slices.Equal(res.TCB.Advisories, tc.advisories) {
				t.Errorf("advisories %v, want %v", res.TCB.Advisories, tc.advisories)
			}
			for k, want := range tc.claims {
				if got := res.Claim(k); got != want {
					t.Errorf("claim %s = %v, want %s", k, got, want)
				}
			}
			dcaptest.WantViolations(t, res, tc.violations)
			// Every vector's crypto is valid: no sig/chain/parse failures
			// except the file with appended bytes.
			if tc.trim == 0 && tc.name == "gotdxguest-v4-spr-e4" {
				if !res.HasFailure(cloudra.ClassParse) || res.Claims != nil {
					t.Errorf("want parse failure without claims\n%s", dcaptest.Dump(res))
				}
				return
			}
			dcaptest.WantAuthentic(t, res)
			// Fifty years later everything has expired.
			res, err = v.Verify(context.Background(), Evidence{Quote: q}, col, tc.pol, cloudra.Options{Time: vectortest.Time(t, tc.at).AddDate(50, 0, 0)})
			res = checktest.Result(t, res, err)
			if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassFresh) {
				t.Errorf("at +50y: want a fresh failure\n%s", dcaptest.Dump(res))
			}
		})
	}
}

func TestMissingCollateral(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/quote.bin")
	_, err = v.Verify(context.Background(), Evidence{Quote: q}, &cloudra.Collateral{}, nil, cloudra.Options{Time: vectortest.Time(t, "2025-07-01T00:00:00Z")})
	var mc *cloudra.MissingCollateralError
	if !errors.As(err, &mc) || len(mc.Items) != 4 {
		t.Fatalf("got %v, want 4 missing items", err)
	}
	var urls []string
	for _, it := range mc.Items {
		urls = append(urls, it.URL)
	}
	for _, want := range []string{
		"https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
		"https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
		"https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=b0c06f000000",
		"https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity",
	} {
		if !slices.Contains(urls, want) {
			t.Errorf("missing URL %s in %v", want, urls)
		}
	}
	if _, err := v.Verify(context.Background(), Evidence{Quote: q}, nil, nil, cloudra.Options{}); !errors.Is(err, cloudra.ErrNoTime) {
		t.Errorf("no time: %v", err)
	}
}

// Bit flips over a real quote (with its real collateral).
func TestVectorBitFlips(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	b := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/quote.bin")
	col := dcaptest.LoadCollateral(t, "tdx/dcapqvl-v4-uptodate/collateral")
	at := vectortest.Time(t, "2025-07-01T00:00:00Z")
	flipAll(t, b, func(m []byte) *cloudra.Result {
		res, err := v.Verify(context.Background(), Evidence{Quote: m}, col, nil, cloudra.Options{Time: at})
		res = checktest.Result(t, res, err)
		return res
	})
}

// V8: the 2018–2025 "Intel SGX TCB Signing" certificate has the same key and
// serial as the renewed one; its signature over 2026 collateral verifies but
// it has expired, so collateral offered only with the old chain is stale.
func TestExpiredTCBSigningCopy(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, "tdx/gotdxguest-v5-td15/quote.bin")
	col := dcaptest.LoadCollateral(t, "tdx/gotdxguest-v5-td15/collateral")
	old := vectortest.Read(t, "tdx/gotdxguest-v4-spr-e4/collateral/tcb_info_issuer_chain.pem")
	for i := range col.Documents {
		col.Documents[i].IssuerChain = old
	}
	res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, nil, cloudra.Options{Time: vectortest.Time(t, "2026-02-25T00:00:00Z")})
	res = checktest.Result(t, res, err)
	if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassFresh) {
		t.Fatalf("want REJECT/fresh\n%s", dcaptest.Dump(res))
	}
	if c, _ := res.Check("tcb-info.verify"); c.Outcome != cloudra.OutcomeFail {
		t.Fatalf("tcb-info.verify %s", c.Outcome)
	}
}

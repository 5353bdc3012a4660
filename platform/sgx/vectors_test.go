package sgx

import (
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

var vectors = []struct {
	name, dir, at string
	verdict       cloudra.Verdict
	status        string
	advisories    []string
	claims        map[string]any
	violations    []string
	pol           *Policy
}{
	{
		name: "dcapqvl-v3-configuration-swhardening", dir: "sgx/dcapqvl-v3-configuration-swhardening", at: "2025-07-01T00:00:00Z",
		verdict: cloudra.Pass, status: "ConfigurationAndSWHardeningNeeded", advisories: []string{"INTEL-SA-00289", "INTEL-SA-00615"},
		claims: map[string]any{
			"mrenclave":   "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
			"mrsigner":    "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6",
			"isvprodid":   uint16(0),
			"attributes":  "0500000000000000e700000000000000",
			"cpusvn":      "0b0b1a18ffff04000000000000000000",
			"report_data": "48656c6c6f2c20776f726c6421" + strings.Repeat("00", 51),
			"pck_ca":      "processor",
		},
	},
	{
		// With an advisory allow-list that omits one advisory: rejected.
		name: "dcapqvl-v3-allowlist", dir: "sgx/dcapqvl-v3-configuration-swhardening", at: "2025-07-01T00:00:00Z",
		verdict: cloudra.Fail, status: "ConfigurationAndSWHardeningNeeded", advisories: []string{"INTEL-SA-00289", "INTEL-SA-00615"},
		pol:        &Policy{TCB: &dcap.TCBPolicy{AllowedAdvisories: []string{"INTEL-SA-00615"}}},
		violations: []string{"tcb.allowed-advisories"},
	},
	{
		// UpToDate only: rejected.
		name: "dcapqvl-v3-uptodate-only", dir: "sgx/dcapqvl-v3-configuration-swhardening", at: "2025-07-01T00:00:00Z",
		verdict: cloudra.Fail, status: "ConfigurationAndSWHardeningNeeded", advisories: []string{"INTEL-SA-00289", "INTEL-SA-00615"},
		pol:        &Policy{TCB: &dcap.TCBPolicy{AcceptStatus: []string{"UpToDate"}}},
		violations: []string{"tcb.status"},
	},
	{
		name: "automata-v3-00606a-swhardening", dir: "sgx/automata-v3-00606a-swhardening", at: "2025-08-15T05:45:00Z",
		verdict: cloudra.Pass, status: "SWHardeningNeeded", advisories: []string{"INTEL-SA-00615"},
		claims: map[string]any{
			"mrenclave": "a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd",
			"mrsigner":  "8f2dbc0f9c5d3378d596974b2deed1f93223cc49242899f83809bcc92546132c",
			"cpusvn":    "0e0e100fffff01000000000000000000",
			"pck_ca":    "platform",
		},
	},
	{
		name: "trustee-occlum-v3-debug-outofdate", dir: "sgx/trustee-occlum-v3-debug-outofdate", at: "2025-08-15T05:45:00Z",
		verdict: cloudra.Fail, status: "OutOfDate",
		advisories: []string{"INTEL-SA-00586", "INTEL-SA-00614", "INTEL-SA-00615", "INTEL-SA-00657", "INTEL-SA-00730", "INTEL-SA-00738", "INTEL-SA-00767", "INTEL-SA-00828", "INTEL-SA-00837", "INTEL-SA-00960"},
		violations: []string{"tcb.status", "attributes.debug"},
		claims: map[string]any{
			"mrenclave":   "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68",
			"attributes":  "0700000000000000e700000000000000",
			"miscselect":  uint32(1),
			"report_data": "74657374" + strings.Repeat("00", 60),
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
			q := vectortest.Read(t, tc.dir+"/quote.bin")
			col := dcaptest.LoadCollateral(t, tc.dir+"/collateral")
			res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, tc.pol, cloudra.Options{Time: vectortest.Time(t, tc.at)})
			res = checktest.Result(t, res, err)
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s\n%v %v", res.Verdict, tc.verdict, res.Checks, res.Violations)
			}
			if res.TCB == nil || res.TCB.Status != tc.status || !slices.Equal(res.TCB.Advisories, tc.advisories) {
				t.Errorf("TCB %+v, want %s %v", res.TCB, tc.status, tc.advisories)
			}
			if res.TCB.Status != "UpToDate" && res.Verdict == cloudra.Pass && len(res.Warnings) == 0 {
				t.Error("accepted non-UpToDate status without a warning")
			}
			for k, want := range tc.claims {
				if got := res.Claim(k); got != want {
					t.Errorf("claim %s = %v (%T), want %v", k, got, got, want)
				}
			}
			dcaptest.WantViolations(t, res, tc.violations)
			dcaptest.WantAuthentic(t, res)
			res, err = v.Verify(context.Background(), Evidence{Quote: q}, col, tc.pol, cloudra.Options{Time: vectortest.Time(t, tc.at).AddDate(50, 0, 0)})
			if err = checktest.NoDecision(err); err != nil || !res.HasFailure(cloudra.ClassFresh) || res.Verdict != cloudra.Fail {
				t.Errorf("at +50y: %v %v", err, res.Checks)
			}
		})
	}
}

// A TDX quote is not an SGX quote.
func TestRejectsTDXQuote(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	q := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/quote.bin")
	res, err := v.Verify(context.Background(), Evidence{Quote: q}, nil, nil, cloudra.Options{Time: vectortest.Time(t, "2025-07-01T00:00:00Z")})
	if err = checktest.NoDecision(err); err != nil || !res.HasFailure(cloudra.ClassParse) {
		t.Fatalf("%v %v", err, res)
	}
}

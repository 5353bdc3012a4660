package sgx

import (
	"bytes"
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/policy"
)

func setup(t testing.TB) (*dcaptest.Kit, *Verifier) {
	c := dcaptest.DefaultConfig()
	c.Processor = true
	k := dcaptest.New(c)
	v, err := NewVerifier(WithTestRoot(k.Root))
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

func run(t testing.TB, v *Verifier, k *dcaptest.Kit, b []byte, col *cloudra.Collateral, pol *Policy) *cloudra.Result {
	t.Helper()
	res, err := v.Verify(context.Background(), Evidence{Quote: b}, col, pol, cloudra.Options{Time: k.Now, AllowTestRoots: true})
	res = checktest.Result(t, res, err)
	return res
}

func body(mut func(r *dcap.EnclaveReport)) []byte {
	r := dcaptest.EnclaveBody()
	mut(r)
	return r.Marshal()
}

func TestForgedSGX(t *testing.T) {
	k, v := setup(t)
	res := run(t, v, k, k.SGXQuote().Bytes(), k.Collateral(false), nil)
	if res.Verdict != cloudra.Pass || res.TCB.Status != "UpToDate" || res.Claim("pck_ca") != "processor" {
		t.Fatalf("%s %v %v", res.Verdict, res.Checks, res.Violations)
	}
	// C4: TDX collateral for an SGX quote.
	res = run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(k.DefaultTCBInfo(true).Marshal(), k.DefaultQEIdentity(false).Marshal()), nil)
	checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassCollateral)
	res = run(t, v, k, k.SGXQuote().Bytes(), k.CollateralWith(k.DefaultTCBInfo(false).Marshal(), k.DefaultQEIdentity(true).Marshal()), nil)
	checktest.WantFail(t, res, "qe-identity.verify", cloudra.ClassCollateral)
	// C1: the SGX QE has ISVPRODID 1; a TD_QE report (2) is rejected.
	q := k.SGXQuote()
	q.QEReport.ISVProdID = 2
	checktest.WantFail(t, run(t, v, k, q.Bytes(), k.Collateral(false), nil), "qe-identity.match", cloudra.ClassPolicy)
}

// C10 and the enclave policy rules; every violation is reported.
func TestEnclavePolicy(t *testing.T) {
	k, v := setup(t)
	debug := k.SGXQuote()
	debug.Body = body(func(r *dcap.EnclaveReport) { r.Attributes[0] |= dcap.SGXAttrDebug })
	checktest.WantFail(t, run(t, v, k, debug.Bytes(), k.Collateral(false), nil), "attributes.debug", cloudra.ClassPolicy)
	if res := run(t, v, k, debug.Bytes(), k.Collateral(false), &Policy{AllowDebug: policy.Bool(true)}); res.Verdict != cloudra.Pass {
		t.Errorf("allow-debug: %v", res.Violations)
	}

	q := k.SGXQuote()
	q.Body = body(func(r *dcap.EnclaveReport) {
		r.ISVProdID, r.ISVSVN, r.ConfigSVN = 7, 3, 2
		r.ISVFamilyID[0], r.ISVExtProdID[0], r.ConfigID[0] = 1, 2, 3
		r.ReportData[0] = 0x99
		r.MiscSelect = 1
	})
	b := q.Bytes()
	r := dcaptest.EnclaveBody()
	good := &Policy{
		MREnclave: []cloudra.HexBytes{r.MREnclave[:]}, MRSigner: []cloudra.HexBytes{r.MRSigner[:]},
		ISVProdID: ptr(uint16(7)), MinISVSVN: 3, ConfigSVN: ptr(uint16(2)),
		ISVFamilyID: append(cloudra.HexBytes{1}, make([]byte, 15)...), ISVExtProdID: append(cloudra.HexBytes{2}, make([]byte, 15)...),
		ConfigID: append(cloudra.HexBytes{3}, make([]byte, 63)...), ReportData: cloudra.HexBytes{0x99},
		Attributes: r.Attributes[:], MiscSelect: ptr(uint32(1)),
	}
	if res := run(t, v, k, b, k.Collateral(false), good); res.Verdict != cloudra.Pass {
		t.Fatalf("%v", res.Violations)
	}
	bad := &Policy{
		MREnclave: []cloudra.HexBytes{make([]byte, 32)}, MRSigner: []cloudra.HexBytes{make([]byte, 32)},
		ISVProdID: ptr(uint16(8)), MinISVSVN: 4, ConfigSVN: ptr(uint16(1)),
		ISVFamilyID: make([]byte, 16), ISVExtProdID: make([]byte, 16), ConfigID: make([]byte, 64),
		ReportData: cloudra.HexBytes{0x98}, Attributes: make([]byte, 16), MiscSelect: ptr(uint32(0)),
	}
	res := run(t, v, k, b, k.Collateral(false), bad)
	for _, rule := range []string{"mrenclave", "mrsigner", "isvprodid", "min-isvsvn", "configsvn", "isvfamilyid", "isvextprodid", "configid", "attributes", "miscselect"} {
		checktest.WantFail(t, res, rule, cloudra.ClassPolicy)
	}
	checktest.WantFail(t, res, "report-data", cloudra.ClassBinding)
}

func ptr[T any](v T) *T { return &v }

// Every single-bit flip of the signed and bound bytes of an SGX quote.
func TestBitFlipsSGX(t *testing.T) {
	k, v := setup(t)
	col := k.Collateral(false)
	b := k.SGXQuote().Bytes()
	q, err := dcap.ParseQuote(b)
	if err != nil {
		t.Fatal(err)
	}
	n := len(q.SignedBytes())
	sd := n + 4
	qe := sd + 128
	regions := []struct {
		lo, hi int
		class  []cloudra.Class
	}{
		{0, n, []cloudra.Class{cloudra.ClassSig, cloudra.ClassParse}},
		{sd, sd + 128, []cloudra.Class{cloudra.ClassSig}},
		{qe, qe + 448, []cloudra.Class{cloudra.ClassSig}},
		{qe + 450, qe + 450 + 32, []cloudra.Class{cloudra.ClassBinding}},
	}
	step := 1
	if testing.Short() {
		step = 11
	}
	for _, r := range regions {
		for bit := r.lo * 8; bit < r.hi*8; bit += step {
			m := bytes.Clone(b)
			m[bit/8] ^= 1 << (bit % 8)
			res := run(t, v, k, m, col, nil)
			ok := false
			for _, c := range r.class {
				ok = ok || res.HasFailure(c)
			}
			if res.Verdict != cloudra.Fail || !ok || res.Claims != nil {
				t.Fatalf("bit %d: %s %v", bit, res.Verdict, res.FailureClasses())
			}
		}
	}
}

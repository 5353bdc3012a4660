package dcaptest

import (
	"slices"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/dcap"
)

// LittleEndianSignature byte-reverses, in place, r and s of the ECDSA
// quote signature of the quote b (the first 64 bytes of the Quote
// Signature Data, after its 4-byte length, of the Intel ECDSA Quote
// Library API): the little-endian form that must not verify, since only
// big-endian r‖s is a signature.
func LittleEndianSignature(t testing.TB, b []byte) {
	t.Helper()
	q, err := dcap.ParseQuote(b)
	if err != nil {
		t.Fatal(err)
	}
	off := len(q.SignedBytes()) + 4
	slices.Reverse(b[off : off+32])
	slices.Reverse(b[off+32 : off+64])
}

// SwapAttestationKey re-signs q with a fresh attestation key while its QE
// report keeps the REPORT_DATA that binds the original key, and returns
// that REPORT_DATA.
func SwapAttestationKey(t testing.TB, q *Quote) [64]byte {
	t.Helper()
	parsed, err := dcap.ParseQuote(q.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rd := parsed.Signature().QE.Report.ReportData
	q.AttKey = New(DefaultConfig()).AttKey
	q.KeepQEReportData = true
	q.QEReport.ReportData = rd
	return rd
}

// WantBindingOnly reports a result of a quote SwapAttestationKey changed
// in which qe-report.binding did not fail in class binding, or
// quote.signature (valid under the swapped key) did not pass.
func WantBindingOnly(t testing.TB, res *cloudra.Result) {
	t.Helper()
	checktest.WantFail(t, res, "qe-report.binding", cloudra.ClassBinding)
	if c, _ := res.Check("quote.signature"); c.Outcome != cloudra.OutcomePass {
		t.Error("the swapped key's signature itself is valid; only the binding must fail")
	}
}

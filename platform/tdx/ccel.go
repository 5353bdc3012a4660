package tdx

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/eventlog"
)

// CheckCCEL replays the CC event log that travelled with a TD quote into
// RTMR0–3 (SHA-384, CC MR index 1–4) and compares every RTMR with the one the
// verified quote carries, adding the checks to r. RTMRs are only as
// meaningful as the log that explains them: without a log they attest bytes,
// not a boot chain. Nothing is compared when the quote did not verify.
func CheckCCEL(r *cloudra.Result, quote []byte, log []byte) {
	if r.HasFailure(cloudra.ClassSig) || r.HasFailure(cloudra.ClassChain) || r.HasFailure(cloudra.ClassParse) {
		r.Add("eventlog.replay", cloudra.OutcomeSkip, "", "the quote did not verify: its RTMRs are not compared with the CC event log")
		return
	}
	q, err := dcap.ParseQuote(quote)
	if err != nil {
		return
	}
	tq, ok := q.(dcap.TDQuote)
	if !ok {
		return
	}
	var rtmrs [eventlog.NumRTMRs][]byte
	rep := tq.TDReport()
	for i := range rtmrs {
		rtmrs[i] = rep.RTMR[i][:]
	}
	eventlog.CheckRTMRs(r, log, rtmrs)
	r.Finish()
}

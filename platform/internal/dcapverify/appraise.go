package dcapverify

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/reportdata"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// AppraiseTCB applies the TCB rules of p (nil: defaults) to the outcome and
// records the "tcb.status" check plus one violation per broken rule. A quote
// whose TCB could not be evaluated (a collateral step failed) gets a failed
// "tcb.status": TCB is never silently "not evaluated" (docs/pitfalls-dcap.md C13).
func AppraiseTCB(res *cloudra.Result, out *Outcome, p *dcap.TCBPolicy) {
	if p == nil {
		p = &dcap.TCBPolicy{}
	}
	if out == nil || out.Verdict == nil {
		res.Failf("tcb.status", cloudra.ClassCollateral, "TCB not evaluated: a collateral check above failed")
		return
	}
	v := out.Verdict
	accept := p.AcceptStatus
	if len(accept) == 0 {
		accept = dcap.DefaultAcceptStatus()
	}
	st := v.Status.String()
	adv := strings.Join(v.Advisories, ", ")
	if adv == "" {
		adv = "none"
	}
	detail := fmt.Sprintf("%s (platform %s, QE %s); advisories: %s", st, v.Platform, v.QE, adv)
	if v.RelaunchAdvised {
		detail += "; TD relaunch advised"
	}
	ok := slices.Contains(accept, st) && v.Status != pcs.Revoked && v.Status != pcs.NotSupported
	if !ok {
		want := strings.Join(accept, " | ")
		if v.Status == pcs.NotSupported {
			want = "a TCB level matching this platform"
			detail += " — no TCB level of Intel's TCB Info matches this platform"
		}
		res.Violate("tcb.status", cloudra.ClassPolicy, want, st)
		res.Failf("tcb.status", cloudra.ClassPolicy, "%s", detail)
	} else if v.Status != pcs.UpToDate {
		res.Add("tcb.status", cloudra.OutcomeWarn, "", detail)
		res.Warn("TCB status %s: advisories %s apply to this platform", st, adv)
	} else {
		res.Passf("tcb.status", "%s", detail)
	}
	qeAccept := p.AcceptQEStatus
	if len(qeAccept) == 0 {
		qeAccept = []string{"UpToDate"}
	}
	if !slices.Contains(qeAccept, v.QE.String()) {
		res.Violate("tcb.qe-status", cloudra.ClassPolicy, strings.Join(qeAccept, " | "), v.QE.String())
	}
	if len(p.AllowedAdvisories) > 0 {
		for _, a := range v.Advisories {
			if !slices.Contains(p.AllowedAdvisories, a) {
				res.Violate("tcb.allowed-advisories", cloudra.ClassPolicy, strings.Join(p.AllowedAdvisories, ", "), a)
			}
		}
	}
	for _, a := range v.Advisories {
		if slices.Contains(p.ForbiddenAdvisories, a) {
			res.Violate("tcb.forbidden-advisories", cloudra.ClassPolicy, "not "+a, a)
		}
	}
	if n := p.MinTCBEvaluationDataNumber; n > 0 {
		if out.TCBInfo != nil && out.TCBInfo.TCBEvaluationDataNumber < n {
			res.Violate("tcb.min-tcb-evaluation-data-number", cloudra.ClassFresh, fmt.Sprintf("≥ %d", n), fmt.Sprintf("TCB Info %d", out.TCBInfo.TCBEvaluationDataNumber))
		}
		if out.QEIdentity != nil && out.QEIdentity.TCBEvaluationDataNumber < n {
			res.Violate("tcb.min-tcb-evaluation-data-number", cloudra.ClassFresh, fmt.Sprintf("≥ %d", n), fmt.Sprintf("QE Identity %d", out.QEIdentity.TCBEvaluationDataNumber))
		}
	}
}

// CheckReportData applies an expected REPORT_DATA prefix: got must start
// with want and be zero after it. Empty want is not checked.
func CheckReportData(res *cloudra.Result, want []byte, got []byte) {
	if len(want) == 0 {
		return
	}
	switch o, full := reportdata.Compare(want, got); o {
	case reportdata.TooLong:
		res.Violate("report-data", cloudra.ClassBinding, hex.EncodeToString(want), fmt.Sprintf("expected value longer than %d bytes", len(got)))
	case reportdata.Differs:
		res.Violate("report-data", cloudra.ClassBinding, full, hex.EncodeToString(got))
	}
}

// AllowList records a violation when list is non-empty and got is not in it.
func AllowList(res *cloudra.Result, rule string, list []cloudra.HexBytes, got []byte) {
	if len(list) == 0 {
		return
	}
	var want []string
	for _, w := range list {
		if bytes.Equal(w, got) {
			return
		}
		want = append(want, hex.EncodeToString(w))
	}
	res.Violate(rule, cloudra.ClassPolicy, "one of "+strings.Join(want, ", "), hex.EncodeToString(got))
}

package tdx

import (
	"encoding/hex"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/internal/dcapverify"
	"github.com/cloudra/cloudra/policy"
)

// Appraise records one violation per broken rule of pol (nil: defaults) for
// an authentic TD report body.
func Appraise(res *cloudra.Result, r *dcap.TDReport, pol *Policy) {
	if pol == nil {
		pol = &Policy{}
	}
	attrs := r.Attributes()
	got := hex.EncodeToString(r.TDAttributes[:])
	// Reserved bits fail whatever the policy says (docs/pitfalls-dcap.md C10, C11).
	if reserved := attrs &^ dcap.TDAttrKnown; reserved != 0 {
		res.Violate("td-attributes.reserved", cloudra.ClassPolicy, "reserved bits clear", fmt.Sprintf("%s (reserved bits %#x)", got, reserved))
	}
	bit := func(rule string, mask uint64, allowed bool) {
		if attrs&mask != 0 && !allowed {
			res.Violate(rule, cloudra.ClassPolicy, "clear", got)
		}
	}
	bit("td-attributes.debug", dcap.TDAttrDebug, policy.Or(pol.AllowDebug, false))
	bit("td-attributes.pks", dcap.TDAttrPKS, policy.Or(pol.AllowPKS, true))
	bit("td-attributes.kl", dcap.TDAttrKL, policy.Or(pol.AllowKL, true))
	bit("td-attributes.perfmon", dcap.TDAttrPerfmon, policy.Or(pol.AllowPerfmon, true))
	if policy.Or(pol.RequireSEPTVEDisable, true) && attrs&dcap.TDAttrSEPTVEDisable == 0 {
		res.Violate("td-attributes.sept-ve-disable", cloudra.ClassPolicy, "SEPT_VE_DISABLE set (hint: set require-sept-ve-disable: false for Azure TDX)", got)
	}
	dcapverify.AllowList(res, "xfam", pol.XFAM, r.XFAM[:])
	dcapverify.AllowList(res, "mrtd", pol.MRTD, r.MRTD[:])
	for i, l := range [][]cloudra.HexBytes{pol.RTMR0, pol.RTMR1, pol.RTMR2, pol.RTMR3} {
		dcapverify.AllowList(res, fmt.Sprintf("rtmr%d", i), l, r.RTMR[i][:])
	}
	dcapverify.AllowList(res, "mrseam", pol.MRSEAM, r.MRSEAM[:])
	dcapverify.AllowList(res, "mrsignerseam", pol.MRSignerSEAM, r.MRSignerSEAM[:])
	dcapverify.AllowList(res, "mrconfigid", pol.MRConfigID, r.MRConfigID[:])
	dcapverify.AllowList(res, "mrowner", pol.MROwner, r.MROwner[:])
	dcapverify.AllowList(res, "mrownerconfig", pol.MROwnerConfig, r.MROwnerConfig[:])
	if r.V15 {
		if len(pol.MRServiceTD) > 0 {
			dcapverify.AllowList(res, "mrservicetd", pol.MRServiceTD, r.MRServiceTD[:])
		} else if r.MRServiceTD != ([48]byte{}) {
			res.Violate("mrservicetd", cloudra.ClassPolicy, "zero (no service TD bound; list allowed values in mrservicetd)", hex.EncodeToString(r.MRServiceTD[:]))
		}
	}
	if m := pol.MinTEETCBSVN; len(m) > 0 {
		if len(m) != len(r.TEETCBSVN) {
			res.Violate("min-tee-tcb-svn", cloudra.ClassPolicy, fmt.Sprintf("a 16-byte floor (policy has %d bytes)", len(m)), hex.EncodeToString(r.TEETCBSVN[:]))
		} else {
			for i := range m {
				if r.TEETCBSVN[i] < m[i] {
					res.Violate("min-tee-tcb-svn", cloudra.ClassPolicy, "≥ "+hex.EncodeToString(m)+" byte by byte", hex.EncodeToString(r.TEETCBSVN[:]))
					break
				}
			}
		}
	}
	dcapverify.CheckReportData(res, pol.ReportData, r.ReportData[:])
}

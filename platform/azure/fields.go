package azure

import (
	"encoding/hex"

	"github.com/cloudra/cloudra"
)

// Fields lists every field of the HCL report for display (`cloudra
// inspect`): the header, the runtime-data header, the runtime claims as
// stored, and the hardware report's fields prefixed "SNP." or "TDREPORT.".
// Nothing here is verified: display is not evidence.
func (h *HCLReport) Fields() []cloudra.Claim {
	x := hex.EncodeToString
	f := []cloudra.Claim{
		{Name: "SIGNATURE", Value: "HCLA"},
		{Name: "VERSION", Value: h.Version},
		{Name: "REPORT_SIZE", Value: h.ReportSize},
		{Name: "REQUEST_TYPE", Value: h.RequestType},
		{Name: "STATUS", Value: h.Status},
	}
	switch {
	case h.SNP != nil:
		for _, c := range h.SNP.Fields() {
			f = append(f, cloudra.Claim{Name: "SNP." + c.Name, Value: c.Value})
		}
	case h.TDReport != nil:
		t := h.TDReport
		f = append(f,
			cloudra.Claim{Name: "TDREPORT.REPORTTYPE", Value: x(t.ReportType[:])},
			cloudra.Claim{Name: "TDREPORT.CPUSVN", Value: x(t.CPUSVN[:])},
			cloudra.Claim{Name: "TDREPORT.TEE_TCB_INFO_HASH", Value: x(t.TEETCBInfoHash[:])},
			cloudra.Claim{Name: "TDREPORT.TEE_INFO_HASH", Value: x(t.TEEInfoHash[:])},
			cloudra.Claim{Name: "TDREPORT.REPORTDATA", Value: x(t.ReportData[:])},
			cloudra.Claim{Name: "TDREPORT.MAC", Value: x(t.MAC[:])},
			cloudra.Claim{Name: "TDREPORT.TEE_TCB_INFO.VALID", Value: x(t.TEETCBValid[:])},
			cloudra.Claim{Name: "TDREPORT.TEE_TCB_SVN", Value: x(t.TEETCBSVN[:])},
			cloudra.Claim{Name: "TDREPORT.MRSEAM", Value: x(t.MRSEAM[:])},
			cloudra.Claim{Name: "TDREPORT.MRSIGNERSEAM", Value: x(t.MRSignerSEAM[:])},
			cloudra.Claim{Name: "TDREPORT.SEAM_ATTRIBUTES", Value: x(t.SEAMAttributes[:])},
			cloudra.Claim{Name: "TDREPORT.TEE_TCB_SVN2", Value: x(t.TEETCBSVN2[:])},
			cloudra.Claim{Name: "TDREPORT.TD_ATTRIBUTES", Value: x(t.TDAttributes[:])},
			cloudra.Claim{Name: "TDREPORT.XFAM", Value: x(t.XFAM[:])},
			cloudra.Claim{Name: "TDREPORT.MRTD", Value: x(t.MRTD[:])},
			cloudra.Claim{Name: "TDREPORT.MRCONFIGID", Value: x(t.MRConfigID[:])},
			cloudra.Claim{Name: "TDREPORT.MROWNER", Value: x(t.MROwner[:])},
			cloudra.Claim{Name: "TDREPORT.MROWNERCONFIG", Value: x(t.MROwnerConfig[:])},
			cloudra.Claim{Name: "TDREPORT.RTMR0", Value: x(t.RTMR[0][:])},
			cloudra.Claim{Name: "TDREPORT.RTMR1", Value: x(t.RTMR[1][:])},
			cloudra.Claim{Name: "TDREPORT.RTMR2", Value: x(t.RTMR[2][:])},
			cloudra.Claim{Name: "TDREPORT.RTMR3", Value: x(t.RTMR[3][:])},
			cloudra.Claim{Name: "TDREPORT.SERVTD_HASH", Value: x(t.ServTDHash[:])},
		)
	}
	f = append(f,
		cloudra.Claim{Name: "RUNTIME_DATA.DATA_SIZE", Value: h.DataSize},
		cloudra.Claim{Name: "RUNTIME_DATA.VERSION", Value: h.RuntimeDataVersion},
		cloudra.Claim{Name: "RUNTIME_DATA.REPORT_TYPE", Value: h.ReportType.String()},
		cloudra.Claim{Name: "RUNTIME_DATA.REPORT_DATA_HASH_TYPE", Value: h.HashType.String()},
		cloudra.Claim{Name: "RUNTIME_DATA.VARIABLE_DATA_SIZE", Value: len(h.Claims)},
		cloudra.Claim{Name: "RUNTIME_CLAIMS", Value: string(h.Claims)},
		cloudra.Claim{Name: "RUNTIME_CLAIMS.HASH", Value: x(h.ClaimsDigest())},
		cloudra.Claim{Name: "NV_PADDING", Value: h.Padding},
	)
	return f
}

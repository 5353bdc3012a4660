package dcap

import "encoding/binary"

// Marshal encodes the report fields (not Raw) as the 384-byte
// sgx_report_body_t. ParseEnclaveReport(r.Marshal()) gives r back.
func (r *EnclaveReport) Marshal() []byte {
	b := make([]byte, 0, EnclaveReportSize)
	b = append(b, r.CPUSVN[:]...)
	b = binary.LittleEndian.AppendUint32(b, r.MiscSelect)
	b = append(b, r.Reserved1[:]...)
	b = append(b, r.ISVExtProdID[:]...)
	b = append(b, r.Attributes[:]...)
	b = append(b, r.MREnclave[:]...)
	b = append(b, r.Reserved2[:]...)
	b = append(b, r.MRSigner[:]...)
	b = append(b, r.Reserved3[:]...)
	b = append(b, r.ConfigID[:]...)
	b = binary.LittleEndian.AppendUint16(b, r.ISVProdID)
	b = binary.LittleEndian.AppendUint16(b, r.ISVSVN)
	b = binary.LittleEndian.AppendUint16(b, r.ConfigSVN)
	b = append(b, r.Reserved4[:]...)
	b = append(b, r.ISVFamilyID[:]...)
	return append(b, r.ReportData[:]...)
}

// Marshal encodes the TD report fields (not Raw): 584 bytes, or 648 when
// V15 is set. ParseTDReport(r.Marshal(), r.V15) gives r back.
func (r *TDReport) Marshal() []byte {
	b := make([]byte, 0, TDReport15Size)
	for _, f := range [][]byte{r.TEETCBSVN[:], r.MRSEAM[:], r.MRSignerSEAM[:], r.SEAMAttributes[:], r.TDAttributes[:],
		r.XFAM[:], r.MRTD[:], r.MRConfigID[:], r.MROwner[:], r.MROwnerConfig[:],
		r.RTMR[0][:], r.RTMR[1][:], r.RTMR[2][:], r.RTMR[3][:], r.ReportData[:]} {
		b = append(b, f...)
	}
	if r.V15 {
		b = append(b, r.TEETCBSVN2[:]...)
		b = append(b, r.MRServiceTD[:]...)
	}
	return b
}

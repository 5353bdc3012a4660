package dcap

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// Field is one named quote field for display (`cloudra inspect`). Names are
// Intel's (sgx_quote_*.h, "Intel TDX DCAP Quoting Library API" appendix A).
// Byte strings are lowercase hex in quote order — never reversed (see the
// package documentation); integers are decimal, decoded from little-endian.
type Field struct {
	Section string // "Quote Header", "TD Quote Body", "ISV Enclave Report Body", "QE Report", …
	Name    string
	Value   string
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func headerFields(h *Header) []Field {
	const sec = "Quote Header"
	f := []Field{
		{sec, "Version", u(uint64(h.Version))},
		{sec, "Attestation Key Type", u(uint64(h.AttestationKeyType))},
		{sec, "TEE Type", fmt.Sprintf("%#08x", h.TEEType)},
	}
	if h.Version == 3 {
		f = append(f, Field{sec, "QE SVN", u(uint64(h.QESVN))}, Field{sec, "PCE SVN", u(uint64(h.PCESVN))})
	} else {
		f = append(f, Field{sec, "Reserved", fmt.Sprintf("%04x%04x", h.QESVN, h.PCESVN)})
	}
	return append(f,
		Field{sec, "QE Vendor ID", hx(h.QEVendorID[:])},
		Field{sec, "User Data", hx(h.UserData[:])},
	)
}

func enclaveFields(sec string, r *EnclaveReport) []Field {
	return []Field{
		{sec, "CPUSVN", hx(r.CPUSVN[:])},
		{sec, "MISCSELECT", fmt.Sprintf("%#08x", r.MiscSelect)},
		{sec, "ISVEXTPRODID", hx(r.ISVExtProdID[:])},
		{sec, "ATTRIBUTES", hx(r.Attributes[:])},
		{sec, "MRENCLAVE", hx(r.MREnclave[:])},
		{sec, "MRSIGNER", hx(r.MRSigner[:])},
		{sec, "CONFIGID", hx(r.ConfigID[:])},
		{sec, "ISVPRODID", u(uint64(r.ISVProdID))},
		{sec, "ISVSVN", u(uint64(r.ISVSVN))},
		{sec, "CONFIGSVN", u(uint64(r.ConfigSVN))},
		{sec, "ISVFAMILYID", hx(r.ISVFamilyID[:])},
		{sec, "REPORTDATA", hx(r.ReportData[:])},
	}
}

// TDFields lists the TD report body fields in body order.
func TDFields(r *TDReport) []Field {
	const sec = "TD Quote Body"
	f := []Field{
		{sec, "TEE_TCB_SVN", hx(r.TEETCBSVN[:])},
		{sec, "MRSEAM", hx(r.MRSEAM[:])},
		{sec, "MRSIGNERSEAM", hx(r.MRSignerSEAM[:])},
		{sec, "SEAMATTRIBUTES", hx(r.SEAMAttributes[:])},
		{sec, "TDATTRIBUTES", hx(r.TDAttributes[:])},
		{sec, "XFAM", hx(r.XFAM[:])},
		{sec, "MRTD", hx(r.MRTD[:])},
		{sec, "MRCONFIGID", hx(r.MRConfigID[:])},
		{sec, "MROWNER", hx(r.MROwner[:])},
		{sec, "MROWNERCONFIG", hx(r.MROwnerConfig[:])},
	}
	for i := range r.RTMR {
		f = append(f, Field{sec, fmt.Sprintf("RTMR%d", i), hx(r.RTMR[i][:])})
	}
	f = append(f, Field{sec, "REPORTDATA", hx(r.ReportData[:])})
	if r.V15 {
		f = append(f, Field{sec, "TEE_TCB_SVN_2", hx(r.TEETCBSVN2[:])}, Field{sec, "MRSERVICETD", hx(r.MRServiceTD[:])})
	}
	return f
}

func sigFields(d *SignatureData, pad int) []Field {
	const sec = "Signature Data"
	f := []Field{
		{sec, "ECDSA Signature", hx(d.Signature[:])},
		{sec, "ECDSA Attestation Key", hx(d.AttestationKey[:])},
	}
	if d.OuterCertType != 0 {
		f = append(f, Field{sec, "Certification Data Type", u(uint64(d.OuterCertType))})
	}
	f = append(f, enclaveFields("QE Report", &d.QE.Report)...)
	const qs = "QE Report Certification Data"
	f = append(f,
		Field{qs, "QE Report Signature", hx(d.QE.ReportSignature[:])},
		Field{qs, "QE Authentication Data", hx(d.QE.AuthData)},
		Field{qs, "Certification Data Type", u(uint64(d.QE.Cert.Type))},
		Field{qs, "Certification Data Size", u(uint64(len(d.QE.Cert.Data)))},
	)
	if pad > 0 {
		f = append(f, Field{"Trailer", "Zero Padding", u(uint64(pad)) + " bytes (not signed)"})
	}
	return f
}

// Fields lists every field of the quote.
func (q *QuoteV3) Fields() []Field {
	f := headerFields(&q.Header)
	f = append(f, enclaveFields("ISV Enclave Report Body", &q.Body)...)
	return append(f, sigFields(&q.Sig, q.Pad)...)
}

// Fields lists every field of the quote.
func (q *QuoteV4) Fields() []Field {
	f := headerFields(&q.Header)
	f = append(f, TDFields(&q.Body)...)
	return append(f, sigFields(&q.Sig, q.Pad)...)
}

// Fields lists every field of the quote.
func (q *QuoteV5) Fields() []Field {
	f := headerFields(&q.Header)
	f = append(f, Field{"Quote Body Descriptor", "Type", u(uint64(q.BodyType))}, Field{"Quote Body Descriptor", "Size", u(uint64(q.BodySize))})
	f = append(f, TDFields(&q.Body)...)
	return append(f, sigFields(&q.Sig, q.Pad)...)
}

package dcapbuild

import (
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"

	"github.com/cloudra/cloudra/platform/dcap"
)

// QECertData encodes QE report certification data (Intel DCAP signature data): the
// 384-byte QE report, its r‖s signature by the PCK key, the QE
// authentication data (u16 length ‖ data) and the inner certification data
// (u16 type ‖ u32 size ‖ data; type 5 carries the PCK chain). It is the
// content of certification data type 6 in quotes v4/v5 and the tail of the
// signature data in quote v3. dcap.ParseQECertData reads it.
func QECertData(qeReport, qeReportSig, authData []byte, certType uint16, certData []byte) []byte {
	b := append([]byte{}, qeReport...)
	b = append(b, qeReportSig...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(authData)))
	b = append(b, authData...)
	b = binary.LittleEndian.AppendUint16(b, certType)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(certData)))
	return append(b, certData...)
}

// AppendSignatureData appends to signed (the quote's header ‖ body, the
// bytes the attestation key signs) the u32 signature-data length and the
// signature data (Intel DCAP signature data): quoteSig (r‖s over signed), the
// attestation key X‖Y, then qe (from [QECertData]) as it is for quote v3,
// or with wrap (v4/v5) inside certification data type 6.
func AppendSignatureData(signed, quoteSig, attKey []byte, wrap bool, qe []byte) []byte {
	sd := append(append([]byte{}, quoteSig...), attKey...)
	if wrap {
		sd = binary.LittleEndian.AppendUint16(sd, dcap.CertTypeQEReport)
		sd = binary.LittleEndian.AppendUint32(sd, uint32(len(qe)))
	}
	sd = append(sd, qe...)
	signed = binary.LittleEndian.AppendUint32(signed, uint32(len(sd)))
	return append(signed, sd...)
}

// PEMChain encodes certs as consecutive PEM CERTIFICATE blocks, in the
// order given: the form of certification data type 5 (leaf first; Intel's
// QE adds a trailing NUL) and of PCS issuer-chain headers.
func PEMChain(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

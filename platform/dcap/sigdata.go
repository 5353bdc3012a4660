package dcap

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// SignatureData is the quote signature data (Intel DCAP signature data):
// sgx_ql_ecdsa_sig_data_t for v3, and the v4/v5 form whose certification data
// of type 6 wraps the QE report.
type SignatureData struct {
	// Signature is r‖s, 32 bytes each, big-endian, by the attestation key
	// over the quote's signed bytes.
	Signature [64]byte
	// AttestationKey is the raw P-256 public key X‖Y (32 bytes each, BE).
	AttestationKey [64]byte
	// QE holds the QE report, its signature, the QE auth data and the
	// certification data carrying the PCK chain.
	QE QECertData
	// OuterCertType is 6 for v4/v5 (QE report certification data) and 0 for
	// v3, where the QE report follows the attestation key directly.
	OuterCertType uint16
}

// QECertData is QE report certification data (sgx_ql_certification_data_t
// type 6 content, or the tail of v3 signature data).
type QECertData struct {
	Report EnclaveReport
	// ReportSignature is r‖s by the PCK leaf key over Report.Raw.
	ReportSignature [64]byte
	AuthData        []byte
	// Cert is the inner certification data; type 5 carries the PCK chain.
	Cert CertificationData
}

// CertificationData is sgx_ql_certification_data_t: a type and its data.
type CertificationData struct {
	Type uint16
	Data []byte
}

// readSigData reads the u32 signature-data length and the signature data it
// spans, which must be consumed exactly.
func readSigData(s *lebytes.String, version int, d *SignatureData) error {
	var sd lebytes.String
	if !s.ReadU32LengthPrefixed(&sd) {
		return parseErrorf("signature-data length missing or beyond the end of the quote")
	}
	if !sd.CopyBytes(d.Signature[:]) || !sd.CopyBytes(d.AttestationKey[:]) {
		return parseErrorf("signature data shorter than signature and attestation key")
	}
	if version == 3 {
		if err := parseQECertData(&sd, &d.QE); err != nil {
			return err
		}
	} else {
		var cd CertificationData
		if err := readCertData(&sd, &cd); err != nil {
			return err
		}
		if cd.Type != CertTypeQEReport {
			return &ParseError{Err: fmt.Errorf("quote v%d certification data type %d: %w (want 6, QE report certification data)", version, cd.Type, ErrUnsupported)}
		}
		inner := lebytes.String(cd.Data)
		if err := parseQECertData(&inner, &d.QE); err != nil {
			return err
		}
		if !inner.Empty() {
			return parseErrorf("%d unexplained bytes after the QE certification data", inner.Len())
		}
		d.OuterCertType = CertTypeQEReport
	}
	if !sd.Empty() {
		return parseErrorf("%d unexplained bytes at the end of the signature data", sd.Len())
	}
	return nil
}

func readCertData(s *lebytes.String, cd *CertificationData) error {
	var body lebytes.String
	if !s.ReadU16(&cd.Type) || !s.ReadU32LengthPrefixed(&body) {
		return parseErrorf("certification data header missing or its size beyond the signature data")
	}
	cd.Data = body
	return nil
}

// ParseQECertData parses the content of certification data type 6: QE report
// (384) ‖ QE report signature (64) ‖ QE auth data (u16 length ‖ data) ‖
// certification data (u16 type ‖ u32 size ‖ data), consuming b exactly.
func ParseQECertData(b []byte) (*QECertData, error) {
	s := lebytes.String(b)
	qe := &QECertData{}
	if err := parseQECertData(&s, qe); err != nil {
		return nil, err
	}
	if !s.Empty() {
		return nil, parseErrorf("%d unexplained bytes after the QE certification data", s.Len())
	}
	return qe, nil
}

func parseQECertData(s *lebytes.String, qe *QECertData) error {
	var rep []byte
	var auth lebytes.String
	if !s.ReadBytes(&rep, EnclaveReportSize) || !s.CopyBytes(qe.ReportSignature[:]) {
		return parseErrorf("QE certification data shorter than QE report and its signature")
	}
	if err := qe.Report.parse(rep); err != nil {
		return err
	}
	if !s.ReadU16LengthPrefixed(&auth) {
		return parseErrorf("QE auth data length beyond the certification data")
	}
	qe.AuthData = auth
	return readCertData(s, &qe.Cert)
}

// MaxPCKChainCerts bounds the PEM chain in certification data type 5 (real
// chains hold leaf, intermediate and root).
const MaxPCKChainCerts = 4

// ParsePCKChain parses certification data type 5: concatenated PEM
// certificates, leaf first. Whitespace between blocks is allowed, and one
// NUL byte at the very end (Intel's QE writes a C string: 9 of the 11 real
// quotes end so, the others end at the newline; go-tdx-guest tolerates the
// NUL too). Anything else — more NULs, other block types, headers, text
// before or after — is an error.
func ParsePCKChain(data []byte) ([]*x509.Certificate, error) {
	rest := bytes.TrimSuffix(data, []byte{0})
	var certs []*x509.Certificate
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return nil, parseErrorf("PCK chain: unexpected bytes outside PEM blocks")
		}
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, parseErrorf("PCK chain: malformed PEM block")
		}
		if blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 {
			return nil, parseErrorf("PCK chain: unexpected PEM block %q", blk.Type)
		}
		if len(certs) == MaxPCKChainCerts {
			return nil, parseErrorf("PCK chain: more than %d certificates", MaxPCKChainCerts)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, &ParseError{Err: fmt.Errorf("PCK chain certificate %d: %w", len(certs), err)}
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		return nil, parseErrorf("PCK chain has %d certificates, want leaf and intermediate (and root)", len(certs))
	}
	return certs, nil
}

package dcapverify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// pckPlatformInfo is the tail of certification data types 1–3: the PPID
// (cleartext 16 bytes, or RSA-2048/3072-OAEP encrypted: 256/384 bytes),
// then CPUSVN (16), PCESVN (u16 LE) and PCE-ID (u16 LE)
// (sgx_ql_ppid_*_cert_info_t in sgx_quote_3.h).
type pckPlatformInfo struct {
	ppid   []byte
	cpusvn [16]byte
	pcesvn [2]byte
	pceid  [2]byte
}

func parsePlatformInfo(cd dcap.CertificationData) (*pckPlatformInfo, error) {
	var n int
	switch cd.Type {
	case dcap.CertTypePPIDCleartext:
		n = 16
	case dcap.CertTypePPIDRSA2048:
		n = 256
	case dcap.CertTypePPIDRSA3072:
		n = 384
	default:
		return nil, &dcap.ParseError{Err: fmt.Errorf("certification data type %d: %w (want 1, 2, 3 or 5)", cd.Type, dcap.ErrUnsupported)}
	}
	if len(cd.Data) != n+20 {
		return nil, &dcap.ParseError{Err: fmt.Errorf("certification data type %d is %d bytes, want %d", cd.Type, len(cd.Data), n+20)}
	}
	p := &pckPlatformInfo{ppid: cd.Data[:n]}
	copy(p.cpusvn[:], cd.Data[n:])
	copy(p.pcesvn[:], cd.Data[n+16:])
	copy(p.pceid[:], cd.Data[n+18:])
	return p, nil
}

// pckCertURL is PCS v4 GET /sgx/certification/v4/pckcert (encrypted PPID,
// RSA-3072), with PCESVN and PCE-ID hex-encoded little-endian as carried.
func pckCertURL(p *pckPlatformInfo) string {
	return fmt.Sprintf("%s/sgx/certification/v4/pckcert?encrypted_ppid=%s&cpusvn=%s&pcesvn=%s&pceid=%s",
		pcs.DefaultBase, hex.EncodeToString(p.ppid), hex.EncodeToString(p.cpusvn[:]), hex.EncodeToString(p.pcesvn[:]), hex.EncodeToString(p.pceid[:]))
}

// pckFromCollateral serves quotes whose certification data identifies the
// platform (types 1–3) instead of carrying the PCK chain: the PCK
// certificate comes from the collateral. Nothing in the collateral is
// trusted by being there: the leaf must chain to a trusted root through a
// PCK CA of the collateral, carry the quote's PCE-ID, and its key must
// verify the QE report signature — that is how the platform's certificate
// is told apart from others' (several may be present).
func pckFromCollateral(qe *dcap.QECertData, col *cloudra.Collateral, roots []*x509.Certificate, t time.Time) (*dcap.PCKChain, error) {
	info, err := parsePlatformInfo(qe.Cert)
	if err != nil {
		return nil, err
	}
	certs := pcs.Certificates(col)
	for _, leaf := range certs {
		ext, err := dcap.PCKExtensionOf(leaf)
		if err != nil || ext.PCEID != [2]byte{info.pceid[1], info.pceid[0]} && ext.PCEID != info.pceid {
			continue
		}
		// The platform's certificate is the one whose key signed the QE
		// report; only its chain's errors are worth reporting.
		k, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() || dcap.VerifyQEReportSignature(qe, k) != nil {
			continue
		}
		var errs []error
		for _, inter := range certs {
			if inter == leaf || string(leaf.RawIssuer) != string(inter.RawSubject) {
				continue
			}
			c, err := dcap.VerifyPCKChain([]*x509.Certificate{leaf, inter}, roots, t)
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return nil, fmt.Errorf("dcapverify: %w: the issuer %q of the platform's PCK certificate is not in the collateral", dcap.ErrChain, leaf.Issuer.CommonName)
		}
		return nil, errors.Join(errs...)
	}
	if qe.Cert.Type == dcap.CertTypePPIDRSA3072 {
		return nil, &cloudra.MissingCollateralError{Items: []cloudra.CollateralRef{{
			What: fmt.Sprintf("PCK certificate for CPUSVN %x, PCESVN %d", info.cpusvn, binary.LittleEndian.Uint16(info.pcesvn[:])),
			URL:  pckCertURL(info),
		}}}
	}
	return nil, fmt.Errorf("dcapverify: %w: certification data type %d names the platform but no PCK certificate of the collateral signs its QE report (hint: add the PCK certificate and its CA certificate to the collateral)", pcs.ErrNotFound, qe.Cert.Type)
}

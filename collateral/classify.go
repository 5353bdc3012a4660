package collateral

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudra/cloudra"
)

// Document kinds produced by [Classify].
const (
	KindTCBInfo    = "tcb-info"    // Intel PCS {"tcbInfo":…,"signature":…}
	KindQEIdentity = "qe-identity" // Intel PCS {"enclaveIdentity":…,"signature":…}
	KindJWKS       = "jwks"        // RFC 7517 {"keys":[…]}
)

// ErrUnrecognized is wrapped when bytes are none of the collateral forms
// [Classify] knows.
var ErrUnrecognized = errors.New("not recognised as collateral")

// ErrMalformed is wrapped when bytes are recognisably collateral but do not
// parse: a PEM CERTIFICATE or X509 CRL block (complete or cut short) whose
// contents fail, DER that starts as a signed X.509 structure does (a
// SEQUENCE with a long-form length around an inner SEQUENCE, RFC 5280 §4.1
// and §5.1) but is neither a certificate nor a CRL, or JSON with a PCS
// "tcbInfo" or "enclaveIdentity" member that is not a PCS document. A
// corrupt VCEK in a folder is such an item; callers report it rather than
// ignore it like a README.
var ErrMalformed = errors.New("malformed collateral")

// Classify sorts one blob by its content: PEM with any number of
// CERTIFICATE and X509 CRL blocks (text between blocks is ignored), a DER
// certificate or CRL (no trailing bytes) as binary or as hex text, or a
// JSON document (PCS TCB Info, PCS QE Identity, JWKS). source is recorded for every item in
// Collateral.Sources (keyed by the hex SHA-256 of the item's raw bytes) and
// Document.Source.
func Classify(data []byte, source string) (*cloudra.Collateral, error) {
	return classify(data, source)
}

// ClassifyResponse classifies a fetched body. The PCS issuer-chain headers
// (URL-encoded PEM, signer first, root last; Intel PCS API v4) become the
// document's IssuerChain, and their certificates join Certificates.
func ClassifyResponse(r *Response) (*cloudra.Collateral, error) {
	var chains [][]byte
	var names []string
	for _, k := range slices.Sorted(maps.Keys(r.Header)) { // sorted: a stable certificate order
		vs := r.Header[k]
		if !strings.HasSuffix(http.CanonicalHeaderKey(k), "-Issuer-Chain") || len(vs) == 0 {
			continue
		}
		pemText, err := decodeChainHeader(vs[0])
		if err != nil {
			return nil, fmt.Errorf("collateral: %s: header %s: %w", r.URL, k, err)
		}
		chains = append(chains, pemText)
		names = append(names, http.CanonicalHeaderKey(k))
	}
	col, err := classify(r.Body, r.URL)
	if err != nil {
		return nil, err
	}
	for i, ch := range chains {
		cc, err := classifyPEM(ch, r.URL+" ("+names[i]+")")
		if err != nil || len(cc.CRLs) > 0 {
			return nil, fmt.Errorf("collateral: %s: header %s is not a PEM certificate chain", r.URL, names[i])
		}
		col.Merge(cc)
	}
	for i := range col.Documents {
		d := &col.Documents[i]
		if ch := pickChain(d.Kind, names, chains); ch != nil {
			d.IssuerChain = ch
		}
	}
	return col, nil
}

// decodeChainHeader undoes the percent-encoding of an issuer-chain header.
// Path-style unescaping keeps a literal '+' (base64 uses it); encoders that
// write a space as '+' (form style) only put spaces in the PEM boundary
// lines ("-----BEGIN CERTIFICATE-----"), so those lines alone map '+' back.
func decodeChainHeader(v string) ([]byte, error) {
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "-----") {
			lines[i] = strings.ReplaceAll(l, "+", " ")
		}
	}
	return []byte(strings.Join(lines, "")), nil
}

// pickChain chooses the header that belongs to a document kind, or the only
// one present.
func pickChain(kind string, names []string, chains [][]byte) []byte {
	want := map[string][]string{
		KindTCBInfo:    {"Tcb-Info-Issuer-Chain", "Sgx-Tcb-Info-Issuer-Chain"},
		KindQEIdentity: {"Sgx-Enclave-Identity-Issuer-Chain", "Enclave-Identity-Issuer-Chain"},
	}[kind]
	for _, w := range want {
		for i, n := range names {
			if n == w {
				return chains[i]
			}
		}
	}
	if len(chains) == 1 {
		return chains[0]
	}
	return nil
}

func newCollateral() *cloudra.Collateral {
	return &cloudra.Collateral{Sources: map[string]string{}}
}

func classify(data []byte, source string) (*cloudra.Collateral, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, fmt.Errorf("collateral: %s: empty: %w", source, ErrUnrecognized)
	case trimmed[0] == '{':
		return classifyJSON(data, source)
	case bytes.Contains(data, []byte("-----BEGIN ")):
		return classifyPEM(data, source)
	case isHexText(trimmed):
		// Intel PCCS answers /sgx/certification/v4/rootcacrl with the DER
		// CRL in hex, and collateral dumps often keep CRLs that way.
		der := make([]byte, len(trimmed)/2)
		if _, err := hex.Decode(der, trimmed); err == nil && der[0] == 0x30 {
			return classifyDER(der, source)
		}
	case data[0] == 0x30: // ASN.1 SEQUENCE
		return classifyDER(data, source)
	}
	return nil, fmt.Errorf("collateral: %s: not PEM, DER or hex DER certificate/CRL, PCS JSON or JWKS: %w", source, ErrUnrecognized)
}

func isHexText(b []byte) bool {
	if len(b) < 4 || len(b)%2 != 0 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// classifyDER accepts one DER certificate or CRL with no trailing bytes
// (x509.ParseCertificate rejects them itself; docs/pitfalls-dcap.md C9 for CRLs).
func classifyDER(der []byte, source string) (*cloudra.Collateral, error) {
	col := newCollateral()
	if cert, err := x509.ParseCertificate(der); err == nil {
		addCert(col, cert, source)
		return col, nil
	}
	if crl, err := x509.ParseRevocationList(der); err == nil {
		if len(crl.Raw) != len(der) {
			return nil, fmt.Errorf("collateral: %s: trailing bytes after DER CRL: %w", source, ErrMalformed)
		}
		addCRL(col, crl, source)
		return col, nil
	}
	if looksSignedDER(der) {
		return nil, fmt.Errorf("collateral: %s: DER that is neither a valid certificate nor a valid CRL: %w", source, ErrMalformed)
	}
	return nil, fmt.Errorf("collateral: %s: starts like DER but is neither a certificate nor a CRL: %w", source, ErrUnrecognized)
}

// looksSignedDER reports whether der starts as a certificate or CRL of
// more than 255 bytes does: SEQUENCE (0x30) with a two- or three-byte
// length (0x82, 0x83), its first element a SEQUENCE (the TBSCertificate or
// TBSCertList). Keys (first element an INTEGER) and other DER do not.
func looksSignedDER(der []byte) bool {
	if len(der) < 8 || der[0] != 0x30 {
		return false
	}
	switch der[1] {
	case 0x82:
		return der[4] == 0x30
	case 0x83:
		return der[5] == 0x30
	}
	return false
}

func addCert(col *cloudra.Collateral, cert *x509.Certificate, source string) {
	col.AddCertificate(cert)
	col.Sources[hexSum(cert.Raw)] = source
}

func addCRL(col *cloudra.Collateral, crl *x509.RevocationList, source string) {
	col.AddCRL(crl)
	col.Sources[hexSum(crl.Raw)] = source
}

func classifyPEM(data []byte, source string) (*cloudra.Collateral, error) {
	col := newCollateral()
	rest := data
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		switch b.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("collateral: %s: PEM block %d: %w: %w", source, n, ErrMalformed, err)
			}
			addCert(col, cert, source)
		case "X509 CRL":
			crl, err := x509.ParseRevocationList(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("collateral: %s: PEM block %d: %w: %w", source, n, ErrMalformed, err)
			}
			if len(crl.Raw) != len(b.Bytes) {
				return nil, fmt.Errorf("collateral: %s: PEM block %d: trailing bytes after CRL: %w", source, n, ErrMalformed)
			}
			addCRL(col, crl, source)
		default:
			return nil, fmt.Errorf("collateral: %s: PEM block %d is %q, not a certificate or CRL: %w", source, n, b.Type, ErrUnrecognized)
		}
	}
	if n == 0 {
		if hasPEMStart(data, "CERTIFICATE") || hasPEMStart(data, "X509 CRL") {
			return nil, fmt.Errorf("collateral: %s: certificate or CRL PEM block cut short or with bad base64: %w", source, ErrMalformed)
		}
		return nil, fmt.Errorf("collateral: %s: no complete PEM block: %w", source, ErrUnrecognized)
	}
	return col, nil
}

// hasPEMStart reports whether a "-----BEGIN <typ>-----" line starts a line
// of data (RFC 7468 §2): PEM quoted inside other text (a log, a debug dump
// with escaped newlines) is not a cut-short PEM file.
func hasPEMStart(data []byte, typ string) bool {
	marker := []byte("-----BEGIN " + typ + "-----")
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], marker)
		if i < 0 {
			return false
		}
		at := off + i
		end := at + len(marker)
		lineStart := at == 0 || data[at-1] == '\n'
		lineEnd := end == len(data) || data[end] == '\n' || data[end] == '\r'
		if lineStart && lineEnd {
			return true
		}
		off = end
	}
	return false
}

// classifyJSON recognises a document by its top-level members only; its
// platform parses and verifies it (over the exact bytes kept in Raw).
func classifyJSON(data []byte, source string) (*cloudra.Collateral, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		if bytes.Contains(data, []byte(`"tcbInfo"`)) || bytes.Contains(data, []byte(`"enclaveIdentity"`)) {
			return nil, fmt.Errorf("collateral: %s: malformed PCS JSON: %v: %w", source, err, ErrMalformed)
		}
		return nil, fmt.Errorf("collateral: %s: malformed JSON: %v: %w", source, err, ErrUnrecognized)
	}
	isObj := func(k string) bool { v := bytes.TrimSpace(top[k]); return len(v) > 0 && v[0] == '{' }
	isArr := func(k string) bool { v := bytes.TrimSpace(top[k]); return len(v) > 0 && v[0] == '[' }
	isStr := func(k string) bool { v := bytes.TrimSpace(top[k]); return len(v) > 0 && v[0] == '"' }
	var kind string
	switch {
	case isObj("tcbInfo") && isStr("signature"):
		kind = KindTCBInfo
	case isObj("enclaveIdentity") && isStr("signature"):
		kind = KindQEIdentity
	case isArr("keys"):
		kind = KindJWKS
	case top["tcbInfo"] != nil || top["enclaveIdentity"] != nil:
		return nil, fmt.Errorf("collateral: %s: JSON with a tcbInfo or enclaveIdentity member that is not a signed PCS document: %w", source, ErrMalformed)
	default:
		return nil, fmt.Errorf("collateral: %s: JSON is not PCS TCB Info, QE Identity or JWKS: %w", source, ErrUnrecognized)
	}
	col := newCollateral()
	raw := append([]byte(nil), data...)
	col.Documents = append(col.Documents, cloudra.Document{Kind: kind, Raw: raw, Source: source})
	col.Sources[hexSum(raw)] = source
	return col, nil
}

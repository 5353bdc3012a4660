// Package roots holds AMD's SEV-SNP certificate authorities for the Milan,
// Genoa and Turin product lines, embedded and pinned by the SHA-256 of their
// DER encoding.
//
// Sources: AMD KDS https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain
// (ASK + ARK) and https://kdsintf.amd.com/vlek/v1/{Milan,Genoa,Turin}/cert_chain
// (ASVK + ARK), as committed in google/go-sev-guest verify/trust/ @af1c107 and
// cross-checked byte for byte with confidential-containers/trustee
// deps/verifier/src/snp/*_ask_ark_asvk.pem @78962cd.
//
// Only the ARK is a trust anchor. The ASK and ASVK are embedded so that a
// verification never depends on the host or on the network for them; they are
// still verified under the ARK like any intermediate.
package roots

import (
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

//go:embed *.pem
var files embed.FS

// Set is the certificate authorities of one product line.
type Set struct {
	Product string
	ARK     *x509.Certificate // self-signed root, "ARK-<Product>"
	ASK     *x509.Certificate // VCEK issuer, "SEV-<Product>"
	ASVK    *x509.Certificate // VLEK issuer, "SEV-VLEK-<Product>"
}

// Pinned fingerprints: SHA-256 of the DER certificate (vectors README,
// "Pinned trust-anchor fingerprints").
var pins = []struct{ file, sha256 string }{
	{"ark-milan.pem", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
	{"ask-milan.pem", "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b"},
	{"asvk-milan.pem", "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5"},
	{"ark-genoa.pem", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
	{"ask-genoa.pem", "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521"},
	{"asvk-genoa.pem", "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372"},
	{"ark-turin.pem", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
	{"ask-turin.pem", "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185"},
	{"asvk-turin.pem", "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c"},
}

// Products returns the product lines with embedded roots, a fresh slice on
// each call.
func Products() []string { return []string{"Milan", "Genoa", "Turin"} }

// Fingerprint returns the pinned SHA-256 (hex) of a file's DER certificate.
func Fingerprint(file string) (string, bool) {
	for _, p := range pins {
		if p.file == file {
			return p.sha256, true
		}
	}
	return "", false
}

// Load parses every embedded certificate and checks its fingerprint against
// the pinned value. It returns the sets keyed by product ("Milan", …).
//
// Signatures are not checked here: the bytes are pinned, so an ARK's
// self-signature proves nothing more, and the verifier checks the ASK or
// ASVK under its ARK on every chain it builds (AMD SEV-SNP Firmware ABI
// Specification #56860, §3.1 "VCEK certificate chain"). The embedded
// signatures are checked once, by this package's tests (CheckSignatures):
// a one-shot verification does not pay nine RSA-4096 verifications for
// product lines it never uses.
func Load() (map[string]*Set, error) {
	certs := map[string]*x509.Certificate{}
	for _, p := range pins {
		b, err := files.ReadFile(p.file)
		if err != nil {
			return nil, fmt.Errorf("sevsnp/roots: %s: %w", p.file, err)
		}
		blk, rest := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" || len(trimSpace(rest)) != 0 {
			return nil, fmt.Errorf("sevsnp/roots: %s: not exactly one PEM certificate", p.file)
		}
		sum := sha256.Sum256(blk.Bytes)
		if hex.EncodeToString(sum[:]) != p.sha256 {
			return nil, fmt.Errorf("sevsnp/roots: %s: fingerprint %x does not match the pinned %s", p.file, sum, p.sha256)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sevsnp/roots: %s: %w", p.file, err)
		}
		certs[p.file] = c
	}
	out := map[string]*Set{}
	for _, prod := range Products() {
		lp := lower(prod)
		out[prod] = &Set{Product: prod, ARK: certs["ark-"+lp+".pem"], ASK: certs["ask-"+lp+".pem"], ASVK: certs["asvk-"+lp+".pem"]}
	}
	return out, nil
}

// CheckSignatures checks that each ARK is self-signed and that each ASK and
// ASVK is signed by its ARK.
func CheckSignatures(sets map[string]*Set) error {
	for _, prod := range Products() {
		s := sets[prod]
		if s == nil {
			return fmt.Errorf("sevsnp/roots: no %s set", prod)
		}
		if err := s.ARK.CheckSignatureFrom(s.ARK); err != nil {
			return fmt.Errorf("sevsnp/roots: ARK-%s is not self-signed: %w", prod, err)
		}
		if err := s.ASK.CheckSignatureFrom(s.ARK); err != nil {
			return fmt.Errorf("sevsnp/roots: SEV-%s not signed by ARK-%s: %w", prod, prod, err)
		}
		if err := s.ASVK.CheckSignatureFrom(s.ARK); err != nil {
			return fmt.Errorf("sevsnp/roots: SEV-VLEK-%s not signed by ARK-%s: %w", prod, prod, err)
		}
	}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

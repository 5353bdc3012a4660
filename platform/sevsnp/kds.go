package sevsnp

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KDSBase is AMD's Key Distribution Service.
const KDSBase = "https://kdsintf.amd.com"

// AMD KDS certificate extension OIDs (arc 1.3.6.1.4.1.3704.1; AMD "Versioned
// Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification").
var (
	oidAMD           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1}
	oidStructVersion = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 1}
	oidProductName   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidSPLArc        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3}
	oidHWID          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	oidCSPID         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
)

// SPL sub-arc numbers under .3.
const (
	splBootloader = 1
	splTEE        = 2
	splSNP        = 3
	splMicrocode  = 8
	splFMC        = 9
)

// Extensions are the AMD extensions of a VCEK or VLEK certificate.
type Extensions struct {
	StructVersion    int64
	HasStructVersion bool
	ProductName      string // "Milan-B0", "Genoa", "Turin", "Milan" (VLEK)
	Bootloader       uint8
	TEE              uint8
	SNP              uint8
	Microcode        uint8
	FMC              uint8 // Turin (.3.9)
	HasFMC           bool
	HasSPL           [10]bool // which .3.n were present
	// HWID is the chip identifier of a VCEK: 64 bytes (Milan, Genoa) or 8
	// bytes (Turin). Nil for a VLEK.
	HWID []byte
	// CSPID names the cloud provider of a VLEK ("CN=cc-us-east-2.amazonaws.com").
	CSPID string
}

// TCB returns the SPLs in the layout of product.
func (e *Extensions) TCB(product string) TCBParts {
	p := TCBParts{Bootloader: e.Bootloader, TEE: e.TEE, SNP: e.SNP, Microcode: e.Microcode}
	if product == Turin {
		p.Turin, p.FMC = true, e.FMC
	}
	return p
}

// ParseExtensions reads the AMD extensions from a certificate's extension
// list. Encodings seen on real KDS certificates are accepted: INTEGER SPLs in
// minimal two's complement (ucode 0xd9 is 02 02 00 d9), the Turin FMC SPL
// (.3.9), a missing .3.4, and the HWID as raw bytes inside extnValue (no
// inner tag; an inner OCTET STRING, as some tools write it, is unwrapped).
// Unknown OIDs of the AMD arc are ignored; duplicates are errors.
func ParseExtensions(exts []pkix.Extension) (*Extensions, error) {
	e := &Extensions{}
	seen := map[string]bool{}
	for _, x := range exts {
		if !hasPrefix(x.Id, oidAMD) {
			continue
		}
		key := x.Id.String()
		if seen[key] {
			return nil, malformed("vcek extensions", "duplicate extension %s", key)
		}
		seen[key] = true
		switch {
		case x.Id.Equal(oidStructVersion):
			v, err := readInt(x.Value)
			if err != nil {
				return nil, malformed("vcek extensions", "struct version: %v", err)
			}
			e.StructVersion, e.HasStructVersion = v, true
		case x.Id.Equal(oidProductName):
			name, err := readIA5(x.Value, "product name")
			if err != nil {
				return nil, err
			}
			e.ProductName = name
		case len(x.Id) == len(oidSPLArc)+1 && hasPrefix(x.Id, oidSPLArc):
			if err := e.addSPL(x.Id[len(oidSPLArc)], x.Value); err != nil {
				return nil, err
			}
		case x.Id.Equal(oidHWID):
			h, err := readHWID(x.Value)
			if err != nil {
				return nil, err
			}
			e.HWID = h
		case x.Id.Equal(oidCSPID):
			id, err := readIA5(x.Value, "csp_id")
			if err != nil {
				return nil, err
			}
			e.CSPID = id
		}
	}
	for _, n := range []int{splBootloader, splTEE, splSNP, splMicrocode} {
		if !e.HasSPL[n] {
			return nil, malformed("vcek extensions", "SPL .3.%d missing", n)
		}
	}
	return e, nil
}

// readIA5 reads an extnValue that must be one printable IA5String.
func readIA5(v []byte, what string) (string, error) {
	s := cryptobyte.String(v)
	var str cryptobyte.String
	if !s.ReadASN1(&str, cbasn1.IA5String) || !s.Empty() {
		return "", malformed("vcek extensions", "%s is not one IA5String", what)
	}
	if !printable(str) {
		return "", malformed("vcek extensions", "%s has non-printable bytes", what)
	}
	return string(str), nil
}

// addSPL records the SPL extension .3.n.
func (e *Extensions) addSPL(n int, value []byte) error {
	v, err := readInt(value)
	if err != nil {
		return malformed("vcek extensions", "SPL .3.%d: %v", n, err)
	}
	if v < 0 || v > 255 {
		return malformed("vcek extensions", "SPL .3.%d out of range: %d", n, v)
	}
	if n >= 0 && n < len(e.HasSPL) {
		e.HasSPL[n] = true
	}
	switch n {
	case splBootloader:
		e.Bootloader = uint8(v)
	case splTEE:
		e.TEE = uint8(v)
	case splSNP:
		e.SNP = uint8(v)
	case splMicrocode:
		e.Microcode = uint8(v)
	case splFMC:
		e.FMC, e.HasFMC = uint8(v), true
	}
	return nil
}

// readHWID reads the hwID: 64 bytes (8 on Turin) as raw extnValue bytes,
// or inside an OCTET STRING wrapper, which is tolerated.
func readHWID(v []byte) ([]byte, error) {
	h := v
	if len(h) != 64 && len(h) != 8 {
		s := cryptobyte.String(v)
		var in cryptobyte.String
		if !s.ReadASN1(&in, cbasn1.OCTET_STRING) || !s.Empty() {
			return nil, malformed("vcek extensions", "hwID is %d bytes, want 64 or 8", len(h))
		}
		h = in
	}
	if len(h) != 64 && len(h) != 8 {
		return nil, malformed("vcek extensions", "hwID is %d bytes, want 64 or 8", len(h))
	}
	return append([]byte(nil), h...), nil
}

func readInt(b []byte) (int64, error) {
	s := cryptobyte.String(b)
	var v int64
	if !s.ReadASN1Integer(&v) || !s.Empty() {
		return 0, fmt.Errorf("not one DER INTEGER: %x", b)
	}
	return v, nil
}

func hasPrefix(id, prefix asn1.ObjectIdentifier) bool {
	if len(id) < len(prefix) {
		return false
	}
	for i := range prefix {
		if id[i] != prefix[i] {
			return false
		}
	}
	return true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// VCEKURL is the KDS URL of the VCEK for a chip at a TCB (AMD KDS spec #57230).
// The SPLs must come from REPORTED_TCB. Turin uses the first 8 bytes of
// CHIP_ID and adds fmcSPL.
func VCEKURL(product string, chipID [64]byte, tcb TCBParts) string {
	if product == Turin {
		return KDSBase + "/vcek/v1/Turin/" + hex.EncodeToString(chipID[:8]) +
			"?fmcSPL=" + strconv.Itoa(int(tcb.FMC)) + splQuery(tcb)
	}
	return KDSBase + "/vcek/v1/" + product + "/" + hex.EncodeToString(chipID[:]) + "?" + splQuery(tcb)[1:]
}

func splQuery(t TCBParts) string {
	return "&blSPL=" + strconv.Itoa(int(t.Bootloader)) + "&teeSPL=" + strconv.Itoa(int(t.TEE)) +
		"&snpSPL=" + strconv.Itoa(int(t.SNP)) + "&ucodeSPL=" + strconv.Itoa(int(t.Microcode))
}

// VLEKURL is the KDS URL of a VLEK. KDS answers it only to the cloud provider
// (a secret header): verifiers get VLEKs from the guest's certificate table.
func VLEKURL(product string, tcb TCBParts) string {
	q := splQuery(tcb)[1:]
	if product == Turin {
		q = "fmcSPL=" + strconv.Itoa(int(tcb.FMC)) + "&" + q
	}
	return KDSBase + "/vlek/v1/" + product + "/cert?" + q
}

// CertChainURL is the KDS URL of the PEM chain ASK+ARK (vlek: ASVK+ARK).
func CertChainURL(product string, vlek bool) string {
	return KDSBase + "/" + keyPath(vlek) + "/v1/" + product + "/cert_chain"
}

// CRLURL is the KDS URL of the ARK-signed CRL (DER) for the ASK or ASVK side.
func CRLURL(product string, vlek bool) string {
	return KDSBase + "/" + keyPath(vlek) + "/v1/" + product + "/crl"
}

func keyPath(vlek bool) string {
	if vlek {
		return "vlek"
	}
	return "vcek"
}

// KDSURLs are the collateral URLs a report needs, built from its fields.
type KDSURLs struct {
	Leaf, CertChain, CRL string
}

// URLsFor returns the KDS URLs for r on product.
func URLsFor(r *Report, product string) KDSURLs {
	vlek := r.SigningKey() == SigningKeyVLEK
	tcb := r.ReportedTCB.Parts(product)
	u := KDSURLs{CertChain: CertChainURL(product, vlek), CRL: CRLURL(product, vlek)}
	if vlek {
		u.Leaf = VLEKURL(product, tcb)
	} else {
		u.Leaf = VCEKURL(product, r.ChipID, tcb)
	}
	return u
}

package dcap

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDSGXExtension returns the OID of the PCK certificate's SGX extension
// (Intel "SGX PCK Certificate and CRL Profile", section 1.5). It is a
// function so that no caller can change the OID the parser looks for: each
// call returns a fresh slice.
func OIDSGXExtension() asn1.ObjectIdentifier { return slices.Clone(oidSGXExtension) }

// oidSGXExtension is the value behind OIDSGXExtension, for the parser's own
// comparisons (no copy per extension looked at); never handed out.
var oidSGXExtension = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}

// SGX types (PCK extension .5).
const (
	SGXTypeStandard          = 0
	SGXTypeScalable          = 1
	SGXTypeScalableIntegrity = 2
)

const (
	maxPCKExtensionSize = 4096 // real extensions are about 550 bytes
	pckComponentCount   = 16
	pckTCBEntries       = pckComponentCount + 2 // .2.1–.2.16, .2.17 PCESVN, .2.18 CPUSVN
)

// PCKExtension holds the fields of the SGX extension of a PCK certificate.
type PCKExtension struct {
	PPID [16]byte
	// TCB: the SGX TCB component SVNs (.2.1–.2.16), PCESVN (.2.17) and
	// CPUSVN (.2.18).
	CompSVN [16]uint8
	PCESVN  uint16
	CPUSVN  [16]byte
	PCEID   [2]byte
	FMSPC   [6]byte
	SGXType int
	// PlatformInstanceID and Configuration appear in Scalable platforms' PCK
	// certificates (Platform CA) only.
	PlatformInstanceID *[16]byte
	Configuration      *PCKConfiguration
}

// PCKConfiguration is the .7 configuration sequence.
type PCKConfiguration struct {
	DynamicPlatform, CachedKeys, SMTEnabled *bool
}

// PCKExtensionOf finds and parses the SGX extension of a PCK certificate.
func PCKExtensionOf(c *x509.Certificate) (*PCKExtension, error) {
	var found *PCKExtension
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSGXExtension) {
			continue
		}
		if found != nil {
			return nil, parseErrorf("PCK certificate has two SGX extensions")
		}
		x, err := ParsePCKExtension(e.Value)
		if err != nil {
			return nil, err
		}
		found = x
	}
	if found == nil {
		return nil, parseErrorf("certificate %q has no SGX extension (%s): not a PCK certificate", c.Subject.CommonName, oidSGXExtension)
	}
	return found, nil
}

func sgxArc(arcs ...int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, oidSGXExtension...), arcs...)
}

// ParsePCKExtension parses the DER value of the SGX extension: a SEQUENCE of
// SEQUENCE { OID, value }. The structure is read level by level with
// explicit, known nesting (at most three levels: extension → TCB or
// configuration → entry), so no input can drive the parser deeper. Each OID
// may appear once; required entries are PPID, TCB, PCE-ID, FMSPC, SGX type;
// unknown top-level OIDs under the SGX arc are skipped once well-formed.
func ParsePCKExtension(der []byte) (*PCKExtension, error) {
	if len(der) > maxPCKExtensionSize {
		return nil, parseErrorf("SGX extension of %d bytes exceeds %d", len(der), maxPCKExtensionSize)
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, parseErrorf("SGX extension: not one DER SEQUENCE")
	}
	x := &PCKExtension{}
	seen := map[string]bool{}
	for !seq.Empty() {
		var entry cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1ObjectIdentifier(&oid) {
			return nil, parseErrorf("SGX extension: malformed entry")
		}
		key := oid.String()
		if seen[key] {
			return nil, parseErrorf("SGX extension: duplicate entry %s", key)
		}
		seen[key] = true
		var err error
		switch {
		case oid.Equal(sgxArc(1)):
			err = readOctets(&entry, x.PPID[:], "PPID")
		case oid.Equal(sgxArc(2)):
			err = parseTCB(&entry, x)
		case oid.Equal(sgxArc(3)):
			err = readOctets(&entry, x.PCEID[:], "PCE-ID")
		case oid.Equal(sgxArc(4)):
			err = readOctets(&entry, x.FMSPC[:], "FMSPC")
		case oid.Equal(sgxArc(5)):
			var v int
			if !entry.ReadASN1Enum(&v) || v < 0 || v > SGXTypeScalableIntegrity {
				err = parseErrorf("SGX extension: SGX type not an ENUMERATED 0..2")
			}
			x.SGXType = v
		case oid.Equal(sgxArc(6)):
			var id [16]byte
			err = readOctets(&entry, id[:], "platform instance ID")
			x.PlatformInstanceID = &id
		case oid.Equal(sgxArc(7)):
			err = parseConfiguration(&entry, x)
		default:
			// A future entry: skip its value, which must be one element.
			var skip cryptobyte.String
			var tag cbasn1.Tag
			if !entry.ReadAnyASN1Element(&skip, &tag) {
				err = parseErrorf("SGX extension: malformed value of %s", key)
			}
		}
		if err != nil {
			return nil, err
		}
		if !entry.Empty() {
			return nil, parseErrorf("SGX extension: trailing data in entry %s", key)
		}
	}
	for i, name := range []string{"PPID", "TCB", "PCE-ID", "FMSPC", "SGX type"} {
		if !seen[sgxArc(i+1).String()] {
			return nil, parseErrorf("SGX extension: %s missing", name)
		}
	}
	return x, nil
}

func readOctets(s *cryptobyte.String, out []byte, name string) error {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.OCTET_STRING) || len(v) != len(out) {
		return parseErrorf("SGX extension: %s not an OCTET STRING of %d bytes", name, len(out))
	}
	copy(out, v)
	return nil
}

func parseTCB(s *cryptobyte.String, x *PCKExtension) error {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return parseErrorf("SGX extension: TCB not a SEQUENCE")
	}
	seen := map[int]bool{}
	for !seq.Empty() {
		var entry cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1ObjectIdentifier(&oid) {
			return parseErrorf("SGX extension: malformed TCB entry")
		}
		if len(oid) != len(oidSGXExtension)+2 || !oid[:len(oidSGXExtension)+1].Equal(sgxArc(2)) {
			return parseErrorf("SGX extension: unexpected TCB entry %s", oid)
		}
		n := oid[len(oid)-1]
		if n < 1 || n > pckTCBEntries {
			return parseErrorf("SGX extension: unexpected TCB entry %s", oid)
		}
		if seen[n] {
			return parseErrorf("SGX extension: duplicate TCB entry %s", oid)
		}
		seen[n] = true
		switch {
		case n <= pckComponentCount:
			var v int64
			if !entry.ReadASN1Integer(&v) || v < 0 || v > 255 {
				return parseErrorf("SGX extension: TCB component %d not an INTEGER 0..255", n)
			}
			x.CompSVN[n-1] = uint8(v)
		case n == pckComponentCount+1:
			var v int64
			if !entry.ReadASN1Integer(&v) || v < 0 || v > 0xffff {
				return parseErrorf("SGX extension: PCESVN not an INTEGER 0..65535")
			}
			x.PCESVN = uint16(v)
		default:
			if err := readOctets(&entry, x.CPUSVN[:], "CPUSVN"); err != nil {
				return err
			}
		}
		if !entry.Empty() {
			return parseErrorf("SGX extension: trailing data in TCB entry %s", oid)
		}
	}
	if len(seen) != pckTCBEntries {
		return parseErrorf("SGX extension: TCB has %d of %d entries", len(seen), pckTCBEntries)
	}
	return nil
}

func parseConfiguration(s *cryptobyte.String, x *PCKExtension) error {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return parseErrorf("SGX extension: configuration not a SEQUENCE")
	}
	c := &PCKConfiguration{}
	for !seq.Empty() {
		var entry cryptobyte.String
		var oid asn1.ObjectIdentifier
		var b bool
		if !seq.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1ObjectIdentifier(&oid) ||
			!entry.ReadASN1Boolean(&b) || !entry.Empty() {
			return parseErrorf("SGX extension: malformed configuration entry")
		}
		var dst **bool
		switch {
		case oid.Equal(sgxArc(7, 1)):
			dst = &c.DynamicPlatform
		case oid.Equal(sgxArc(7, 2)):
			dst = &c.CachedKeys
		case oid.Equal(sgxArc(7, 3)):
			dst = &c.SMTEnabled
		default:
			return parseErrorf("SGX extension: unexpected configuration entry %s", oid)
		}
		if *dst != nil {
			return parseErrorf("SGX extension: duplicate configuration entry %s", oid)
		}
		*dst = &b
	}
	x.Configuration = c
	return nil
}

// String renders the FMSPC as PCS expects it in URLs (lowercase hex).
func (x *PCKExtension) String() string {
	return fmt.Sprintf("FMSPC=%x PCEID=%x PCESVN=%d CPUSVN=%x SGXType=%d", x.FMSPC, x.PCEID, x.PCESVN, x.CPUSVN, x.SGXType)
}

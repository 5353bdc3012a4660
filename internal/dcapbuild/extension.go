package dcapbuild

import (
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cloudra/cloudra/platform/dcap"
)

// Entry appends SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, value }, the
// shape of every entry of the SGX extension.
func Entry(b *cryptobyte.Builder, arcs []int, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(append(append(asn1.ObjectIdentifier{}, dcap.OIDSGXExtension()...), arcs...))
		value(b)
	})
}

// TopEntry adds one top-level entry of the SGX extension: arc is .1–.7 and
// body writes the entry's value. [ExtensionDERFunc] calls it once per entry,
// in order.
type TopEntry func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder))

// ExtensionDER encodes the PCK certificate's SGX extension
// (1.2.840.113741.1.13.1; Intel PCK certificate profile) exactly as Intel's PCK
// certificates carry it: a SEQUENCE of SEQUENCE { OID, value } with PPID
// (OCTET STRING 16), TCB (SEQUENCE of .2.1–.2.16 INTEGER component SVNs,
// .2.17 INTEGER PCESVN, .2.18 OCTET STRING CPUSVN), PCE-ID (OCTET STRING 2),
// FMSPC (OCTET STRING 6), SGX type (ENUMERATED), and, for Platform-CA
// certificates, platform instance ID (OCTET STRING 16) and configuration
// (SEQUENCE of BOOLEANs .7.1–.7.3). Nil optional fields are left out.
// dcap.ParsePCKExtension of the result gives x back.
func ExtensionDER(x *dcap.PCKExtension) ([]byte, error) {
	return ExtensionDERFunc(x, func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		Entry(b, []int{arc}, body)
	})
}

// ExtensionDERFunc is [ExtensionDER] with each top-level entry added by top,
// so that an encoder can drop, repeat or alter entries (malformed
// certificates for negative tests).
func ExtensionDERFunc(x *dcap.PCKExtension, top TopEntry) ([]byte, error) {
	octets := func(v []byte) func(*cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) }
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		top(b, 1, octets(x.PPID[:]))
		top(b, 2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for i, svn := range x.CompSVN {
					Entry(b, []int{2, i + 1}, func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(svn)) })
				}
				Entry(b, []int{2, 17}, func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(x.PCESVN)) })
				Entry(b, []int{2, 18}, octets(x.CPUSVN[:]))
			})
		})
		top(b, 3, octets(x.PCEID[:]))
		top(b, 4, octets(x.FMSPC[:]))
		top(b, 5, func(b *cryptobyte.Builder) { b.AddASN1Enum(int64(x.SGXType)) })
		if x.PlatformInstanceID != nil {
			top(b, 6, octets(x.PlatformInstanceID[:]))
		}
		if c := x.Configuration; c != nil {
			top(b, 7, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for i, v := range []*bool{c.DynamicPlatform, c.CachedKeys, c.SMTEnabled} {
						if v != nil {
							Entry(b, []int{7, i + 1}, func(b *cryptobyte.Builder) { b.AddASN1Boolean(*v) })
						}
					}
				})
			})
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("dcapbuild: SGX extension: %w", err)
	}
	return der, nil
}

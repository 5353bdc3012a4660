package nitro

import "encoding/binary"

// looksLikeCOSESign1 recognises a COSE_Sign1 structure (RFC 9052 §4.2), untagged
// or with tag 18 (0xd2), by its head: a CBOR array of four items (0x84)
// whose first item, the protected header, is a byte string that fits in the
// input and holds a serialized map, and whose second, the
// unprotected header, is a map (RFC 8949 §3: major types 2 and 5). That is
// the AWS Nitro Enclaves attestation document. Checking the first two items
// keeps other binary files (a raw RSA signature starts with 0x84 one time
// in 256) from being taken for one.
func looksLikeCOSESign1(b []byte) bool {
	if len(b) > 1 && b[0] == 0xd2 {
		b = b[1:]
	}
	if len(b) < 3 || b[0] != 0x84 || b[1]>>5 != 2 {
		return false
	}
	n, hdr, ok := cborLength(b[1:])
	if !ok || uint64(len(b)-1-hdr) <= n {
		return false
	}
	// The protected header carries the algorithm (RFC 9052 §3.1), so it is
	// not empty: a serialized map of labels to values, filling the string.
	start := 1 + hdr
	if n == 0 || !isHeaderMap(b[start:start+int(n)]) {
		return false
	}
	next := b[start+int(n)]
	return next>>5 == 5
}

// isHeaderMap reports whether b is exactly one CBOR map whose labels are
// integers or text and whose values are integers, byte or text strings, or
// simple values: the shape of a COSE header map (RFC 9052 §3.1, without the
// rarely used crit array), enough to tell a document from random bytes.
func isHeaderMap(b []byte) bool {
	if len(b) == 0 || b[0]>>5 != 5 {
		return false
	}
	entries, head, ok := cborLength(b)
	if !ok || entries > uint64(len(b)) {
		return false
	}
	b = b[head:]
	for range 2 * entries {
		if len(b) == 0 {
			return false
		}
		major := b[0] >> 5
		n, h, ok := cborLength(b)
		if !ok {
			return false
		}
		switch major {
		case 0, 1, 7: // integers, simple values
			b = b[h:]
		case 2, 3: // byte and text strings
			if uint64(len(b)-h) < n {
				return false
			}
			b = b[h+int(n):]
		default:
			return false
		}
	}
	return len(b) == 0
}

// cborLength reads the argument of a CBOR head (RFC 8949 §3.1): the length
// of a byte string, and the size of the head itself. Indefinite lengths and
// the reserved values 28–31 are refused.
func cborLength(b []byte) (n uint64, head int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch ai := b[0] & 0x1f; {
	case ai < 24:
		return uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, false
}

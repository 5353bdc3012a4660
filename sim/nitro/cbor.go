package nitrosim

import "encoding/binary"

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint  = 0
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6
)

// Simple values and the break code (RFC 8949 §3.3, §3.2.1).
const (
	cborFalse = 0xf4
	cborTrue  = 0xf5
	cborNull  = 0xf6
	cborBreak = 0xff
)

// enc is a minimal CBOR encoder that writes exactly what it is told, in
// the order it is told: the simulator must reproduce NSM's field order and,
// for forged documents, encodings a general-purpose encoder would refuse.
// Every head uses the shortest argument (RFC 8949 §4.2.1), as NSM's
// serializer does.
type enc struct{ b []byte }

func (e *enc) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		e.b = append(e.b, m|byte(n))
	case n <= 0xff:
		e.b = append(e.b, m|24, byte(n))
	case n <= 0xffff:
		e.b = binary.BigEndian.AppendUint16(append(e.b, m|25), uint16(n))
	case n <= 0xffffffff:
		e.b = binary.BigEndian.AppendUint32(append(e.b, m|26), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, m|27), n)
	}
}

func (e *enc) uint(n uint64) { e.head(majorUint, n) }

func (e *enc) bytes(b []byte) { e.head(majorBytes, uint64(len(b))); e.b = append(e.b, b...) }
func (e *enc) text(s string)  { e.head(majorText, uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) null()          { e.b = append(e.b, cborNull) }
func (e *enc) raw(b []byte)   { e.b = append(e.b, b...) }

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, cborTrue)
	} else {
		e.b = append(e.b, cborFalse)
	}
}

// optBytes writes b, or null for nil: serde's encoding of Option<ByteBuf>.
func (e *enc) optBytes(b []byte) {
	if b == nil {
		e.null()
		return
	}
	e.bytes(b)
}

// mapHead opens a map of n pairs, or an indefinite-length map (0xBF, RFC
// 8949 §3.2.2) that end closes.
func (e *enc) mapHead(n int, indefinite bool) {
	if indefinite {
		e.b = append(e.b, majorMap<<5|31)
		return
	}
	e.head(majorMap, uint64(n))
}

// end closes an indefinite-length item with the break code.
func (e *enc) end(indefinite bool) {
	if indefinite {
		e.b = append(e.b, cborBreak)
	}
}

package eventlog

import "encoding/binary"

// Marshal encodes the log in its format. For any log Parse accepts, the
// result equals the input (a property the fuzz test checks), which also
// makes Marshal the tool for building test logs.
func (l *Log) Marshal() []byte {
	le := binary.LittleEndian
	var out []byte
	put32 := func(v uint32) { out = le.AppendUint32(out, v) }
	event1 := func(idx uint32, typ EventType, dig, data []byte) {
		put32(idx)
		put32(uint32(typ))
		d := make([]byte, 20)
		copy(d, dig)
		out = append(out, d...)
		put32(uint32(len(data)))
		out = append(out, data...)
	}
	if l.Format == FormatCryptoAgile && l.SpecID != nil {
		s := l.SpecID
		var d []byte
		d = append(d, specIDSignature...)
		d = le.AppendUint32(d, s.PlatformClass)
		d = append(d, s.VersionMinor, s.VersionMajor, s.Errata, s.UintnSize)
		d = le.AppendUint32(d, uint32(len(s.Algs)))
		for _, a := range s.Algs {
			d = le.AppendUint16(d, a.Alg)
			d = le.AppendUint16(d, uint16(a.Size))
		}
		d = append(d, byte(len(s.VendorInfo)))
		d = append(d, s.VendorInfo...)
		event1(0, EvNoAction, nil, d)
		for _, e := range l.Events {
			put32(e.Index)
			put32(uint32(e.Type))
			put32(uint32(len(e.Digests)))
			for _, dg := range e.Digests {
				out = le.AppendUint16(out, dg.Alg)
				out = append(out, dg.Value...)
			}
			put32(uint32(len(e.Data)))
			out = append(out, e.Data...)
		}
		return out
	}
	for _, e := range l.Events {
		event1(e.Index, e.Type, e.Digest(AlgSHA1), e.Data)
	}
	return out
}

package snpsim

import "encoding/binary"

// Certificate-table GUIDs in the byte order of their canonical strings
// (RFC 4122; GHCB spec, certificate table), as the GHCB table stores them.
var (
	guidVCEK = [16]byte{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}
	guidASK  = [16]byte{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}
	guidARK  = [16]byte{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}
)

// buildCertTable lays out GUID ‖ u32 offset ‖ u32 length entries, an
// all-zero terminator, then the certificates; offsets count from the start
// of the table (GHCB spec, SNP extended guest request).
func buildCertTable(vcek, ask, ark []byte) []byte {
	type ent struct {
		guid [16]byte
		der  []byte
	}
	ents := []ent{{guidVCEK, vcek}, {guidASK, ask}, {guidARK, ark}}
	const entSize = 24
	off := (len(ents) + 1) * entSize
	size := off
	for _, e := range ents {
		size += len(e.der)
	}
	t := make([]byte, size)
	for i, e := range ents {
		h := t[i*entSize:]
		copy(h, e.guid[:])
		binary.LittleEndian.PutUint32(h[16:], uint32(off))
		binary.LittleEndian.PutUint32(h[20:], uint32(len(e.der)))
		copy(t[off:], e.der)
		off += len(e.der)
	}
	return t
}

package device

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzHostBytes feeds host-controlled bytes (the certificate buffer and the
// MSG_REPORT_RSP the kernel copies back) through the collection-time code:
// it must never panic, never extend a buffer, and only return a report of
// the size the header claims.
func FuzzHostBytes(f *testing.F) {
	f.Add(fakeCertTable(), uint32(0), uint32(ReportSize))
	f.Add(make([]byte, 24), uint32(0x16), uint32(0))
	f.Add(bytes.Repeat([]byte{0xFF}, 100), uint32(0), uint32(0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, buf []byte, status, size uint32) {
		out := TrimCertTable(buf)
		if len(out) > len(buf) || !bytes.Equal(out, buf[:len(out)]) {
			t.Fatalf("TrimCertTable changed or extended the buffer")
		}
		var resp ReportResp
		binary.LittleEndian.PutUint32(resp.Data[0:], status)
		binary.LittleEndian.PutUint32(resp.Data[4:], size)
		copy(resp.Data[32:], buf)
		rep, err := decodeResp(&resp, 0)
		if err == nil && uint32(len(rep)) != size {
			t.Fatalf("report %d bytes, header says %d", len(rep), size)
		}
	})
}

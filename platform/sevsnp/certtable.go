package sevsnp

import (
	"encoding/hex"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// GUID is a certificate-table GUID as its 16 bytes are stored: in the order of
// the canonical string (RFC 4122; AMD's sev-guest tool and go-sev-guest keep
// the bytes as-is). Decoding them as a mixed-endian EFI GUID would turn the
// VLEK GUID into c24b07a8-5aa2-3e48-… and miss it (formats.md §4).
type GUID [16]byte

// String renders the canonical 8-4-4-4-12 form.
func (g GUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func mustGUID(s string) GUID {
	var g GUID
	clean := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			clean = append(clean, s[i])
		}
	}
	if n, err := hex.Decode(g[:], clean); err != nil || n != 16 {
		panic("sevsnp: bad GUID constant " + s)
	}
	return g
}

// Certificate-table GUIDs (GHCB specification, SNP_GET_EXT_REPORT; virtee/sev
// CertType).
var (
	GUIDVCEK = mustGUID("63da758d-e664-4564-adc5-f4b93be8accd")
	GUIDVLEK = mustGUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1")
	GUIDASK  = mustGUID("4ab7b379-bbac-4fe4-a02f-05aef327c782") // ASK or ASVK
	GUIDARK  = mustGUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")
	GUIDCRL  = mustGUID("92f81bc3-5811-4d3d-97ff-d19f88dc67ea")
)

// CertEntry is one certificate-table entry. Data aliases the table bytes.
type CertEntry struct {
	GUID   GUID
	Offset uint32
	Length uint32
	Data   []byte
}

// CertTable is a parsed extended-report certificate table. Everything in it
// comes from the host and is untrusted: an ARK found here is never a root.
type CertTable struct {
	Entries []CertEntry
}

// Get returns the data of the entry with GUID g.
func (t *CertTable) Get(g GUID) ([]byte, bool) {
	if t == nil {
		return nil, false
	}
	for _, e := range t.Entries {
		if e.GUID == g {
			return e.Data, true
		}
	}
	return nil, false
}

const certEntrySize = 24

// ParseCertTable parses a GHCB certificate table: entries of GUID (16) ‖
// offset (u32 LE) ‖ length (u32 LE), terminated by an all-zero entry, offsets
// from the start of the table. Every offset must point past the entries and
// terminator, and offset+length (computed in 64 bits, so a hostile length
// cannot wrap; go-sev-guest v0.15.0 wraps in uint32 and panics) must lie inside
// b. Duplicate GUIDs and a missing terminator are errors. Bytes after the last
// certificate are allowed: the kernel hands over a page-sized, zero-padded
// buffer. Entry data aliases b.
func ParseCertTable(b []byte) (*CertTable, error) {
	s := lebytes.String(b)
	t := &CertTable{}
	terminated := false
	for !s.Empty() {
		var e CertEntry
		if !s.CopyBytes(e.GUID[:]) || !s.ReadU32(&e.Offset) || !s.ReadU32(&e.Length) {
			return nil, malformed("cert table", "truncated entry %d", len(t.Entries))
		}
		if e.GUID == (GUID{}) && e.Offset == 0 && e.Length == 0 {
			terminated = true
			break
		}
		if e.GUID == (GUID{}) {
			return nil, malformed("cert table", "entry %d has a zero GUID but a non-zero offset/length", len(t.Entries))
		}
		for _, o := range t.Entries {
			if o.GUID == e.GUID {
				return nil, malformed("cert table", "duplicate GUID %s", e.GUID)
			}
		}
		t.Entries = append(t.Entries, e)
	}
	if !terminated {
		return nil, malformed("cert table", "no terminating all-zero entry")
	}
	header := uint64(len(t.Entries)+1) * certEntrySize
	for i := range t.Entries {
		e := &t.Entries[i]
		end := uint64(e.Offset) + uint64(e.Length)
		if uint64(e.Offset) < header {
			return nil, malformed("cert table", "entry %s offset %#x points into the table header (%d bytes)", e.GUID, e.Offset, header)
		}
		if end > uint64(len(b)) {
			return nil, malformed("cert table", "entry %s [%#x, +%#x) beyond the %d-byte buffer", e.GUID, e.Offset, e.Length, len(b))
		}
		e.Data = b[e.Offset:end:end]
	}
	return t, nil
}

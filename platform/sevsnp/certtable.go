package sevsnp

import (
	"encoding/hex"

	"github.com/cloudra/cloudra/internal/lebytes"
)

// GUID is a certificate-table GUID as its 16 bytes are stored: in the order of
// the canonical string (RFC 4122; AMD's sev-guest tool and go-sev-guest keep
// the bytes as-is). Decoding them as a mixed-endian EFI GUID would turn the
// VLEK GUID into c24b07a8-5aa2-3e48-… and miss it (GHCB spec, certificate table).
type GUID [16]byte

// String renders the canonical 8-4-4-4-12 form.
func (g GUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Certificate-table GUIDs (GHCB specification, SNP_GET_EXT_REPORT; virtee/sev
// CertType), bytes in the order of the canonical strings in the comments.
// Functions returning the array by value, so that no caller can change the
// GUIDs the table is read by.

// GUIDVCEK returns the GUID of the VCEK entry
// (63da758d-e664-4564-adc5-f4b93be8accd).
func GUIDVCEK() GUID {
	return GUID{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}
}

// GUIDVLEK returns the GUID of the VLEK entry
// (a8074bc2-a25a-483e-aae6-39c045a0b8a1).
func GUIDVLEK() GUID {
	return GUID{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1}
}

// GUIDASK returns the GUID of the ASK or ASVK entry
// (4ab7b379-bbac-4fe4-a02f-05aef327c782).
func GUIDASK() GUID {
	return GUID{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}
}

// GUIDARK returns the GUID of the ARK entry
// (c0b406a4-a803-4952-9743-3fb6014cd0ae).
func GUIDARK() GUID {
	return GUID{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}
}

// GUIDCRL returns the GUID of the CRL entry
// (92f81bc3-5811-4d3d-97ff-d19f88dc67ea).
func GUIDCRL() GUID {
	return GUID{0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea}
}

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

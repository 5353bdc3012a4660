// Package lebytes is a bounds-checked little-endian cursor for the fixed
// layouts of AMD SEV-SNP reports and Intel DCAP quotes.
//
// It has the shape of golang.org/x/crypto/cryptobyte (which is big-endian
// only): every read reports success instead of indexing, so a parser chains
// reads with || and returns one field-specific error, and never panics on
// short input. It is the only place in cloudra with offset arithmetic for
// little-endian formats.
package lebytes

import "encoding/binary"

// String is a read cursor over a byte slice. Reads consume from the front.
type String []byte

// read returns the next n bytes and advances, or nil if fewer remain.
func (s *String) read(n int) []byte {
	if n < 0 || len(*s) < n {
		return nil
	}
	v := (*s)[:n:n]
	*s = (*s)[n:]
	return v
}

// Skip advances n bytes.
func (s *String) Skip(n int) bool { return s.read(n) != nil }

// ReadU8 reads one byte.
func (s *String) ReadU8(out *uint8) bool {
	v := s.read(1)
	if v == nil {
		return false
	}
	*out = v[0]
	return true
}

// ReadU16 reads a little-endian uint16.
func (s *String) ReadU16(out *uint16) bool {
	v := s.read(2)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint16(v)
	return true
}

// ReadU32 reads a little-endian uint32.
func (s *String) ReadU32(out *uint32) bool {
	v := s.read(4)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint32(v)
	return true
}

// ReadU64 reads a little-endian uint64.
func (s *String) ReadU64(out *uint64) bool {
	v := s.read(8)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint64(v)
	return true
}

// ReadBytes sets out to the next n bytes, aliasing the input (no copy).
func (s *String) ReadBytes(out *[]byte, n int) bool {
	v := s.read(n)
	if v == nil {
		return false
	}
	*out = v
	return true
}

// CopyBytes copies len(out) bytes into out.
func (s *String) CopyBytes(out []byte) bool {
	v := s.read(len(out))
	if v == nil {
		return false
	}
	copy(out, v)
	return true
}

// ReadZero consumes n bytes that must all be zero (a must-be-zero range).
func (s *String) ReadZero(n int) bool {
	v := s.read(n)
	if v == nil {
		return false
	}
	for _, b := range v {
		if b != 0 {
			return false
		}
	}
	return true
}

// ReadU32LengthPrefixed reads a little-endian uint32 length and then that many
// bytes into out, as a child cursor. The length is bounds-checked before use,
// so a hostile length never allocates or slices out of range.
func (s *String) ReadU32LengthPrefixed(out *String) bool {
	var n uint32
	save := *s
	if !s.ReadU32(&n) || uint64(n) > uint64(len(*s)) {
		*s = save
		return false
	}
	*out = s.read(int(n))
	return true
}

// ReadU16LengthPrefixed reads a little-endian uint16 length and that many bytes.
func (s *String) ReadU16LengthPrefixed(out *String) bool {
	var n uint16
	save := *s
	if !s.ReadU16(&n) || int(n) > len(*s) {
		*s = save
		return false
	}
	*out = s.read(int(n))
	return true
}

// Empty reports whether the cursor has been drained.
func (s String) Empty() bool { return len(s) == 0 }

// Len is the number of unread bytes.
func (s String) Len() int { return len(s) }

// IsZero reports whether every byte of b is zero.
func IsZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

package eventlog

import "github.com/cloudra/cloudra/internal/lebytes"

// cursor adapts lebytes.String to value-returning reads and remembers the
// offset for error messages.
type cursor struct {
	s     lebytes.String
	total int
}

func newCursor(b []byte) *cursor { return &cursor{s: lebytes.String(b), total: len(b)} }

func (c *cursor) Offset() int  { return c.total - len(c.s) }
func (c *cursor) Len() int     { return c.s.Len() }
func (c *cursor) Rest() []byte { return c.s }

func (c *cursor) U8() (uint8, bool) {
	var v uint8
	return v, c.s.ReadU8(&v)
}

func (c *cursor) U16() (uint16, bool) {
	var v uint16
	return v, c.s.ReadU16(&v)
}

func (c *cursor) U32() (uint32, bool) {
	var v uint32
	return v, c.s.ReadU32(&v)
}

func (c *cursor) U64() (uint64, bool) {
	var v uint64
	return v, c.s.ReadU64(&v)
}

func (c *cursor) Bytes(n int) ([]byte, bool) {
	var v []byte
	if !c.s.ReadBytes(&v, n) {
		return nil, false
	}
	return v, true
}

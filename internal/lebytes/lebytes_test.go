package lebytes

import "testing"

func TestCursor(t *testing.T) {
	s := String([]byte{1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xaa, 0xbb})
	var a uint16
	var b uint32
	var c uint64
	var child String
	if !s.ReadU16(&a) || !s.ReadU32(&b) || !s.ReadU64(&c) || !s.ReadZero(2) || !s.ReadU32LengthPrefixed(&child) || !s.Empty() {
		t.Fatal("reads failed")
	}
	if a != 1 || b != 2 || c != 3 || len(child) != 2 || child[0] != 0xaa {
		t.Fatalf("got %d %d %d %x", a, b, c, child)
	}
	if s.ReadU8(new(uint8)) {
		t.Fatal("read past end")
	}
}

func TestHostileLength(t *testing.T) {
	s := String([]byte{0xff, 0xff, 0xff, 0xff, 1})
	var child String
	if s.ReadU32LengthPrefixed(&child) {
		t.Fatal("accepted length beyond buffer")
	}
	if s.Len() != 5 {
		t.Fatal("failed read consumed input")
	}
	if s.ReadZero(1) && s.Len() == 4 {
		t.Fatal("non-zero byte accepted as zero")
	}
}

func FuzzCursor(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := String(b)
		for !s.Empty() {
			var child String
			if !s.ReadU32LengthPrefixed(&child) && !s.Skip(1) {
				t.Fatal("stuck")
			}
		}
	})
}

package reportdata

import "testing"

func TestCompare(t *testing.T) {
	got := make([]byte, 8)
	copy(got, []byte{1, 2})
	for _, c := range []struct {
		want []byte
		o    Outcome
		full string
	}{
		{[]byte{1, 2}, Match, ""},
		{[]byte{1}, Differs, "0100000000000000"}, // the rest is not zero
		{[]byte{1, 3}, Differs, "0103000000000000"},
		{make([]byte, 9), TooLong, ""},
		{got, Match, ""},
	} {
		o, full := Compare(c.want, got)
		if o != c.o || full != c.full {
			t.Errorf("Compare(%x) = %v %q, want %v %q", c.want, o, full, c.o, c.full)
		}
	}
}

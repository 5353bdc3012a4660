package pcs

import (
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

func BenchmarkParseTCBInfo(b *testing.B) {
	raw := vectortest.Read(b, tdxDir+"/tcb_info.json")
	for b.Loop() {
		if _, err := ParseTCBInfo(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyTCBInfo(b *testing.B) {
	raw := vectortest.Read(b, tdxDir+"/tcb_info.json")
	col := signerCol(b, tdxDir)
	at := vectortest.Time(b, tdxAt)
	info, err := ParseTCBInfo(raw)
	if err != nil {
		b.Fatal(err)
	}
	r := root(b)
	for b.Loop() {
		if err := info.Verify(col, r, at); err != nil {
			b.Fatal(err)
		}
	}
}

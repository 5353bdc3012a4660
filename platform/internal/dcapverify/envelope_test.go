package dcapverify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// The span and signature envelope finds are those of the strict parser, for
// every real document of the shared vectors and for plain forms with
// braces and escapes inside strings; what is not plainly a PCS envelope is
// refused (the strict parser refuses it too).
func TestEnvelopeMatchesStrictParser(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(vectortest.Dir(t), "*", "*", "collateral*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(vectortest.Dir(t), "*", "*", "collateral*", "*", "*.json"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no vector documents")
	}
	sig := bytes.Repeat([]byte("ab"), 64)
	k := newFixture(t).k
	docs := map[string][]byte{
		"kit tcb": k.SignTCBInfo(k.DefaultTCBInfo(true).Marshal()),
		"kit qe":  k.SignQEIdentity(k.DefaultQEIdentity(true).Marshal()),
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	n := 0
	for name, raw := range docs {
		key, signed, sg := "tcbInfo", []byte(nil), [64]byte{}
		if ti, err := pcs.ParseTCBInfo(raw); err == nil {
			signed, sg = ti.RawSigned, ti.Signature
		} else if qi, err := pcs.ParseQEIdentity(raw); err == nil {
			key, signed, sg = "enclaveIdentity", qi.RawSigned, qi.Signature
		} else {
			continue
		}
		n++
		span, s, ok := envelope(raw, key)
		if !ok || !bytes.Equal(span, signed) || s != sg {
			t.Errorf("%s: envelope differs from the strict parser (ok %v)", name, ok)
		}
	}
	if n == 0 {
		t.Fatal("no document parsed")
	}
	for _, tc := range []struct {
		raw  string
		ok   bool
		span string
	}{
		{`{"tcbInfo":{"a":"}\"{"},"signature":"` + string(sig) + `"}`, true, `{"a":"}\"{"}`},
		{" \n{ \"signature\" : \"" + string(sig) + "\" ,\t\"tcbInfo\" : {\"a\":[1,{\"b\":\"]\"}]} }\n", true, `{"a":[1,{"b":"]"}]}`},
		{`{"tcbInfo":{},"tcbInfo":{},"signature":"` + string(sig) + `"}`, false, ""},
		{`{"tcbInfo":{},"x":1,"signature":"` + string(sig) + `"}`, false, ""},
		{`{"tcbInfo":{},"signature":"` + string(sig) + `"} {}`, false, ""},
		{`{"tcbInfo":{},"signature":"abcd"}`, false, ""},
		{`{"tcbInfo":[],"signature":"` + string(sig) + `"}`, false, ""},
		{`{"tcb\u0049nfo":{},"signature":"` + string(sig) + `"}`, false, ""},
		{`{"tcbInfo":{"a":"}`, false, ""},
		{``, false, ""},
	} {
		span, _, ok := envelope([]byte(tc.raw), "tcbInfo")
		if ok != tc.ok || string(span) != tc.span {
			t.Errorf("%q: ok %v span %q", tc.raw, ok, span)
		}
	}
}

// Whatever the strict parser accepts, envelope finds with the same span and
// signature (a document refused by envelope is one the strict parser would
// refuse), and envelope never panics.
func FuzzEnvelope(f *testing.F) {
	k := newFixture(f).k
	f.Add(k.SignTCBInfo(k.DefaultTCBInfo(true).Marshal()))
	f.Add(k.SignQEIdentity(k.DefaultQEIdentity(false).Marshal()))
	f.Add([]byte(`{"tcbInfo":{"a":"}\"{"},"signature":"00"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tspan, tsig, tok := envelope(raw, "tcbInfo")
		qspan, qsig, qok := envelope(raw, "enclaveIdentity")
		if ti, err := pcs.ParseTCBInfo(raw); err == nil && (!tok || !bytes.Equal(tspan, ti.RawSigned) || tsig != ti.Signature) {
			t.Fatalf("tcb info: envelope ok %v differs from the strict parser", tok)
		}
		if qi, err := pcs.ParseQEIdentity(raw); err == nil && (!qok || !bytes.Equal(qspan, qi.RawSigned) || qsig != qi.Signature) {
			t.Fatalf("qe identity: envelope ok %v differs from the strict parser", qok)
		}
	})
}

package nitro

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// wantParseError fails unless err is a *ParseError whose Part is part.
func wantParseError(t *testing.T, err error, part string) {
	t.Helper()
	var pe *ParseError
	switch {
	case err == nil:
		t.Fatalf("accepted, want a *ParseError at %q", part)
	case !errors.As(err, &pe):
		t.Fatalf("%T %v, want a *ParseError", err, err)
	case pe.Part != part:
		t.Fatalf("part %q (%v), want %q", pe.Part, err, part)
	}
}

// TestPayloadFieldsMatchTheSimulator: the test's own CBOR writer gives,
// for the unchanged fields, the bytes the simulator writes (NSM's order,
// shortest heads; attestation_process.md §3.2), so each row of
// TestPayloadStrictness differs from a real payload only where it says.
func TestPayloadFieldsMatchTheSimulator(t *testing.T) {
	f := sim(t)
	p := f.payload(nil)
	if !bytes.Equal(payloadFields(p).bytes(), p.Marshal()) {
		t.Fatal("the test's payload encoding differs from the simulator's")
	}
	if _, err := ParsePayload(p.Marshal()); err != nil {
		t.Fatal(err)
	}
}

// TestPayloadStrictness: ParsePayload holds a payload to the CDDL of
// attestation_process.md §3.1 (and the NitroTPM document's, AWS EC2 User
// Guide, "Validate a NitroTPM Attestation Document"): each required field
// present, not null, of its type and size; PCR indexes 0–31 and values of
// 48 bytes (digest SHA384); optional fields of at most 1024 bytes; no other
// key; and as valid CBOR (RFC 8949 §5.6: no duplicate key, however its head
// is written; §3.4: no tags, which the CDDL has none of; no trailing
// bytes). Each refusal is a *ParseError naming the field.
func TestPayloadStrictness(t *testing.T) {
	f := sim(t)
	base := payloadFields(f.payload(nil))
	pcr := func(i uint64, n int) kv { return kv{cUint(i), cBytes(make([]byte, n))} }
	pcrs := func(entries ...kv) []byte { return cMap(entries) }
	many := func(n int) []byte {
		var e []kv
		for i := range n {
			e = append(e, pcr(uint64(i), 48))
		}
		return cMap(e)
	}
	cert := f.chain.Leaf().Raw
	bundle := func(extra ...[]byte) []byte {
		items := [][]byte{cBytes(f.chain.Root().Raw)}
		for _, x := range extra {
			items = append(items, cBytes(x))
		}
		return cArray(items...)
	}
	type row struct {
		name    string
		payload []byte
		part    string // "" accepted
	}
	rows := []row{
		{"Unchanged", base.bytes(), ""},
		{"NotAMap", cArray(cText("module_id")), "payload"},
		{"Empty", nil, "payload"},
	}
	for _, k := range []string{"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle"} {
		rows = append(rows,
			row{"Missing_" + k, base.del(k).bytes(), k},
			row{"Null_" + k, base.set(k, cNull()).bytes(), k})
	}
	rows = append(rows, []row{
		{"ModuleIDEmpty", base.set("module_id", cText("")).bytes(), "module_id"},
		{"ModuleIDBytes", base.set("module_id", cBytes([]byte("i-0"))).bytes(), "module_id"},
		{"DigestSHA256", base.set("digest", cText("SHA256")).bytes(), "digest"},
		{"DigestLowercase", base.set("digest", cText("sha384")).bytes(), "digest"},
		{"Timestamp0", base.set("timestamp", cUint(0)).bytes(), "timestamp"},
		{"TimestampNegative", base.set("timestamp", cNeg(0)).bytes(), "timestamp"},
		{"TimestampText", base.set("timestamp", cText("1700000000000")).bytes(), "timestamp"},
		{"TimestampFloat", base.set("timestamp", []byte{0xfb, 0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x00, 0x00}).bytes(), "timestamp"},
		{"PCRsEmpty", base.set("pcrs", pcrs()).bytes(), "pcrs"},
		{"PCRs32", base.set("pcrs", many(32)).bytes(), ""},
		{"PCRs33", base.set("pcrs", many(33)).bytes(), "pcrs"},
		{"PCRIndex31", base.set("pcrs", pcrs(pcr(31, 48))).bytes(), ""},
		{"PCRIndex32", base.set("pcrs", pcrs(pcr(0, 48), pcr(32, 48))).bytes(), "pcrs[32]"},
		{"PCRIndexHuge", base.set("pcrs", pcrs(pcr(1<<40, 48))).bytes(), "pcrs[1099511627776]"},
		{"PCRIndexNegative", base.set("pcrs", pcrs(kv{cNeg(0), cBytes(make([]byte, 48))})).bytes(), "pcrs"},
		{"PCRIndexText", base.set("pcrs", pcrs(kv{cText("0"), cBytes(make([]byte, 48))})).bytes(), "pcrs"},
		{"PCRLength20", base.set("pcrs", pcrs(pcr(0, 20))).bytes(), "pcrs[0]"},
		{"PCRLength32", base.set("pcrs", pcrs(pcr(0, 48), pcr(1, 32))).bytes(), "pcrs[1]"},
		{"PCRLength64", base.set("pcrs", pcrs(pcr(0, 64))).bytes(), "pcrs[0]"},
		{"PCRLength0", base.set("pcrs", pcrs(pcr(0, 0))).bytes(), "pcrs[0]"},
		{"PCRValueNull", base.set("pcrs", pcrs(kv{cUint(0), cNull()})).bytes(), "pcrs[0]"},
		{"PCRValueText", base.set("pcrs", pcrs(kv{cUint(0), cText(strings.Repeat("0", 48))})).bytes(), "pcrs[0]"},
		{"PCRsArray", base.set("pcrs", cArray(cBytes(make([]byte, 48)))).bytes(), "pcrs"},
		{"DuplicateKey", base.add(cText("digest"), cText("SHA384")).bytes(), "payload"},
		// "digest" written with a one-byte length argument (0x78 0x06), not
		// in the head (0x66): the same key (RFC 8949 §4.2.1 only asks
		// encoders for the shortest form).
		{"DuplicateKeyNonMinimal", base.add(append([]byte{0x78, 0x06}, "digest"...), cText("SHA384")).bytes(), "payload"},
		{"DuplicatePCR", base.set("pcrs", pcrs(pcr(1, 48), pcr(1, 48))).bytes(), "pcrs"},
		{"DuplicatePCRNonMinimal", base.set("pcrs", pcrs(pcr(1, 48), kv{[]byte{0x18, 0x01}, cBytes(make([]byte, 48))})).bytes(), "pcrs"},
		{"PCRIndexNonMinimal", base.set("pcrs", pcrs(kv{[]byte{0x19, 0x00, 0x01}, cBytes(make([]byte, 48))})).bytes(), ""},
		{"PCRsAndNitroTPMPCRs", base.add(cText("nitrotpm_pcrs"), many(24)).bytes(), "payload"},
		{"NitroTPMPCRsNull", base.del("pcrs").add(cText("nitrotpm_pcrs"), cNull()).bytes(), "nitrotpm_pcrs"},
		{"NitroTPMPCRs33", base.del("pcrs").add(cText("nitrotpm_pcrs"), many(33)).bytes(), "nitrotpm_pcrs"},
		{"UnknownKey", base.add(cText("nonce2"), cNull()).bytes(), "payload"},
		{"UnknownKeyCase", base.add(cText("Nonce"), cNull()).bytes(), "payload"},
		{"IntegerKey", base.add(cUint(1), cNull()).bytes(), "payload"},
		{"Certificate0", base.set("certificate", cBytes(nil)).bytes(), "certificate"},
		{"Certificate1024", base.set("certificate", cBytes(make([]byte, 1024))).bytes(), ""},
		{"Certificate1025", base.set("certificate", cBytes(make([]byte, 1025))).bytes(), "certificate"},
		{"CertificateText", base.set("certificate", cText("MII")).bytes(), "certificate"},
		{"CABundleEmpty", base.set("cabundle", cArray()).bytes(), "cabundle"},
		{"CABundleEntry0", base.set("cabundle", bundle(nil)).bytes(), "cabundle[1]"},
		{"CABundleEntry1024", base.set("cabundle", bundle(make([]byte, 1024))).bytes(), ""},
		{"CABundleEntry1025", base.set("cabundle", bundle(make([]byte, 1025))).bytes(), "cabundle[1]"},
		{"CABundleEntryNull", base.set("cabundle", cArray(cBytes(cert), cNull())).bytes(), "cabundle[1]"},
		{"CABundleNotArray", base.set("cabundle", cBytes(cert)).bytes(), "cabundle"},
		{"TrailingByte", append(base.bytes(), 0x00), "payload"},
		{"TrailingMap", append(base.bytes(), 0xa0), "payload"},
		{"TagOnTimestamp", base.set("timestamp", append([]byte{0xc1}, cUint(1700000000)...)).bytes(), "payload"},
		{"TagOnNonce", base.set("nonce", append([]byte{0xd8, 0x18}, cBytes([]byte{1})...)).bytes(), "payload"},
		{"TagOnPCR", base.set("pcrs", pcrs(kv{cUint(0), append([]byte{0xd8, 0x40}, cBytes(make([]byte, 48))...)})).bytes(), "payload"},
		{"TaggedPayload", append([]byte{0xd9, 0xd9, 0xf7}, base.bytes()...), "payload"},
		{"InvalidUTF8ModuleID", base.set("module_id", append(cborHead(3, 2), 0xc3, 0x28)).bytes(), "module_id"},
		{"Truncated", base.bytes()[:len(base.bytes())-1], "payload"},
	}...)
	for _, k := range []string{"nonce", "user_data", "public_key"} {
		for _, n := range []int{0, 512, 513, 1024} {
			rows = append(rows, row{"Size" + strconv.Itoa(n) + "_" + k, base.set(k, cBytes(make([]byte, n))).bytes(), ""})
		}
		rows = append(rows,
			row{"Size1025_" + k, base.set(k, cBytes(make([]byte, 1025))).bytes(), k},
			row{"Absent_" + k, base.del(k).bytes(), ""},
			row{"Text_" + k, base.set(k, cText("x")).bytes(), k},
			row{"Uint_" + k, base.set(k, cUint(0)).bytes(), k})
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			a, err := ParsePayload(r.payload)
			if r.part == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a == nil {
					t.Fatal("nil attestation")
				}
				return
			}
			if a != nil {
				t.Error("an attestation returned with an error")
			}
			wantParseError(t, err, r.part)
			// Through the envelope, the same refusal.
			_, err = ParseDocument(f.sign(t, nil, r.payload, nil))
			if len(r.payload) == 0 {
				return
			}
			wantParseError(t, err, r.part)
		})
	}
	t.Logf("%d rows", len(rows))
}

// TestOptionalFields: public_key, user_data and nonce decode as absent
// (no key), null (NSM's serde writes an absent input as null, though
// attestation_process.md §3.2.2.1 says no field is null), an empty byte
// string, or a value.
func TestOptionalFields(t *testing.T) {
	f := sim(t)
	base := payloadFields(f.payload(nil))
	for _, c := range []struct {
		name string
		v    []byte
		want Optional
	}{
		{"absent", nil, Optional{}},
		{"null", cNull(), Optional{Present: true, Null: true}},
		{"empty", cBytes(nil), Optional{Present: true, Value: []byte{}}},
		{"value", cBytes([]byte{1, 2}), Optional{Present: true, Value: []byte{1, 2}}},
	} {
		fs := base.del("nonce")
		if c.v != nil {
			fs = fs.set("nonce", c.v)
		}
		a, err := ParsePayload(fs.bytes())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(a.Nonce, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, a.Nonce, c.want)
		}
	}
}

// TestEnvelopeStrictness: ParseDocument takes a COSE_Sign1 (RFC 9052 §4.2)
// untagged, as NSM writes it, or with tag 18, and refuses, as a
// *ParseError at the envelope, every other tag (98 is COSE_Sign, 55799
// the self-described CBOR tag of RFC 8949 §3.4.6), a JWT, bytes that are
// not CBOR, an array that is not the four-element COSE_Sign1, an
// indefinite-length envelope or payload bstr (go-cose decodes the envelope
// with definite lengths only), an empty signature (go-cose refuses one),
// trailing bytes after the envelope, and a document larger than
// MaxDocumentSize; at the header it names, a protected header other than
// {1: -35} and an unprotected header that is not empty
// (attestation_process.md §3.1; RFC 9053 §2.1); and at the signature one
// that is not 96 bytes.
func TestEnvelopeStrictness(t *testing.T) {
	f := sim(t)
	doc := f.doc(t, f.payload(nil))
	tagged := f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Tagged: true})
	for _, b := range [][]byte{doc, tagged} {
		d, err := ParseDocument(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.Tagged != (b[0] == 0xd2) || !bytes.Equal(d.Raw, b) || len(d.Signature) != 96 || !bytes.Equal(d.Protected, nitrosim.ProtectedES384) {
			t.Errorf("tagged %v, protected %x, %d-byte signature", d.Tagged, d.Protected, len(d.Signature))
		}
	}
	// An indefinite-length array of the same four items: 0x9F … 0xFF (RFC
	// 8949 §3.2.2).
	indefinite := append(append([]byte{0x9f}, doc[1:]...), 0xff)
	// The payload bstr as indefinite-length chunks (RFC 8949 §3.2.3).
	d, err := ParseDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := signedSpans(t, doc)
	chunked := append([]byte{}, doc[:payload[0]-3]...) // 0x59 hh ll
	chunked = append(chunked, 0x5f)
	chunked = append(chunked, cBytes(d.Payload[:10])...)
	chunked = append(chunked, cBytes(d.Payload[10:])...)
	chunked = append(chunked, 0xff)
	chunked = append(chunked, doc[payload[0]+payload[1]:]...)
	for _, c := range []struct {
		name string
		b    []byte
		part string
	}{
		{"Empty", nil, "envelope"},
		{"Tag98", append([]byte{0xd8, 0x62}, doc...), "envelope"},
		{"Tag55799", append([]byte{0xd9, 0xd9, 0xf7}, doc...), "envelope"},
		{"Tag55799Tag18", append([]byte{0xd9, 0xd9, 0xf7}, tagged...), "envelope"},
		{"Tag18Twice", append([]byte{0xd2}, tagged...), "envelope"},
		{"Tag17", append([]byte{0xd1}, doc...), "envelope"},
		{"JWT", []byte("eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln"), "envelope"},
		{"Garbage", []byte{0xff, 0x00, 0x13, 0x37}, "envelope"},
		{"JSON", []byte(`{"module_id":"i-0"}`), "envelope"},
		{"ThreeElementArray", cArray(cBytes(nitrosim.ProtectedES384), []byte{0xa0}, cBytes(nil)), "envelope"},
		{"FiveElementArray", append(append([]byte{0x85}, doc[1:]...), 0xf6), "envelope"},
		{"IndefiniteEnvelope", indefinite, "envelope"},
		{"IndefiniteEnvelopeTagged", append([]byte{0xd2}, indefinite...), "envelope"},
		{"IndefinitePayloadBstr", chunked, "envelope"},
		{"TrailingByte", append(append([]byte{}, doc...), 0x00), "envelope"},
		{"TrailingDocument", append(append([]byte{}, doc...), doc...), "envelope"},
		{"TrailingByteTagged", append(append([]byte{}, tagged...), 0xf6), "envelope"},
		{"Oversized", append(append([]byte{}, doc...), make([]byte, MaxDocumentSize)...), "envelope"},
		{"OversizedByOne", append([]byte{0x84}, make([]byte, MaxDocumentSize)...), "envelope"},
		{"PayloadNil", f.sign(t, nil, nil, nil), "payload"},
		{"PayloadNotMap", f.sign(t, nil, cArray(), nil), "payload"},
		{"UnprotectedNotEmpty", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Unprotected: []byte{0xa1, 0x04, 0x41, 0x01}}), "unprotected"},
		{"ProtectedES512", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Protected: []byte{0xa1, 0x01, 0x38, 0x23}}), "protected"},
		{"ProtectedNoAlg", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Protected: []byte{0xa1, 0x04, 0x41, 0x01}}), "protected"},
		{"ProtectedAlgText", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Protected: []byte{0xa1, 0x01, 0x65, 'E', 'S', '3', '8', '4'}}), "protected"},
		{"Signature0", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{Signature: []byte{}}), "envelope"},
		{"Signature95", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{SigLen: 95}), "signature"},
		{"Signature97", f.sign(t, nil, f.payload(nil).Marshal(), &nitrosim.SignOptions{SigLen: 97}), "signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDocument(c.b)
			if d != nil {
				t.Error("a document returned with an error")
			}
			wantParseError(t, err, c.part)
		})
	}
}

// TestTruncatedDocument: every proper prefix of a real document is refused
// with a *ParseError, without a panic (RFC 8949 §3: an incomplete item is
// not well-formed).
func TestTruncatedDocument(t *testing.T) {
	raw := readVector(t, realVectors[3], "attestation_doc.cbor")
	for n := range len(raw) {
		d, err := ParseDocument(raw[:n])
		var pe *ParseError
		if d != nil || !errors.As(err, &pe) {
			t.Fatalf("prefix of %d bytes: %v, %v", n, d, err)
		}
	}
	// And every proper prefix of its payload.
	d, err := ParseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(d.Payload) {
		a, err := ParsePayload(d.Payload[:n])
		var pe *ParseError
		if a != nil || !errors.As(err, &pe) {
			t.Fatalf("payload prefix of %d bytes: %v", n, err)
		}
	}
}

// TestIndefiniteLengthPayload: RFC 8949 §3.2.2 allows indefinite-length
// maps and the payload's CDDL does not exclude them, so a payload map, a
// pcrs map, or both written with indefinite length decode, and to the same
// Attestation as NSM's definite-length payload; the signature covers the
// bytes as received, so such a document still verifies.
func TestIndefiniteLengthPayload(t *testing.T) {
	f := sim(t)
	want, err := ParsePayload(f.payload(nil).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ payload, pcrs bool }{{true, false}, {false, true}, {true, true}} {
		p := f.payload(nil)
		p.Indefinite, p.IndefinitePCRs = c.payload, c.pcrs
		b := p.Marshal()
		if c.payload && b[0] != 0xbf || !c.payload && b[0] == 0xbf {
			t.Fatalf("payload head %#x", b[0])
		}
		got, err := ParsePayload(b)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: decodes to another attestation", c)
		}
		res := f.verify(t, f.doc(t, p), nil)
		if res.Verdict != "pass" {
			t.Errorf("%+v: verdict %s", c, res.Verdict)
		}
	}
	// A duplicate key is refused in an indefinite-length map too.
	b := f.payload(nil)
	b.Indefinite = true
	raw := b.Marshal()
	raw = append(raw[:len(raw)-1], append(append(cText("digest"), cText("SHA384")...), 0xff)...)
	_, err = ParsePayload(raw)
	wantParseError(t, err, "payload")
}

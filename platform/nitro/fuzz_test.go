package nitro

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/policy"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// realDocuments returns the real documents of the collection in the order
// of realVectors (none when it is absent: fuzzing still runs on the
// simulated seeds).
func realDocuments() [][]byte {
	dir, ok := vectortest.Find()
	if !ok {
		return nil
	}
	var out [][]byte
	for _, v := range realVectors {
		if b, err := os.ReadFile(filepath.Join(dir, "nitro", v.dir, "attestation_doc.cbor")); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// simDocuments are simulated documents: as NSM writes them, tagged,
// with indefinite-length maps, a NitroTPM document, and a few malformed
// ones.
func simDocuments(t testing.TB) [][]byte {
	f := sim(t)
	p := f.payload(nil)
	indef := f.payload(nil)
	indef.Indefinite, indef.IndefinitePCRs = true, true
	withFields := f.payload(nil)
	withFields.Nonce, withFields.UserData, withFields.PublicKey = []byte("nonce"), []byte{}, []byte("key")
	tpm, err := f.pki.TPMDocument(simTime, nil, []byte("n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.doc(t, p)
	return [][]byte{
		doc,
		f.sign(t, nil, p.Marshal(), &nitrosim.SignOptions{Tagged: true}),
		f.doc(t, indef),
		f.doc(t, withFields),
		tpm,
		f.sign(t, nil, p.Marshal(), &nitrosim.SignOptions{SigLen: 95}),
		f.sign(t, nil, p.Marshal(), &nitrosim.SignOptions{Protected: []byte{0xa1, 0x01, 0x26}}),
		f.sign(t, nil, payloadFields(p).add(cText("digest"), cText("SHA384")).bytes(), nil),
		doc[:len(doc)/2],
		{},
		{0x84},
		{0xd2, 0x84, 0x41, 0xa0, 0xa0, 0xf6, 0x40},
	}
}

// checkAttestation reports what an accepted payload breaks of the CDDL
// (attestation_process.md §3.1) as ParsePayload documents it.
func checkAttestation(t *testing.T, a *Attestation) {
	t.Helper()
	if a.ModuleID == "" || a.Digest != "SHA384" || a.Timestamp == 0 {
		t.Fatalf("module_id %q digest %q timestamp %d", a.ModuleID, a.Digest, a.Timestamp)
	}
	if len(a.PCRs) == 0 || len(a.PCRs) > MaxPCRIndex+1 {
		t.Fatalf("%d PCRs", len(a.PCRs))
	}
	for i, p := range a.PCRs {
		if p.Index > MaxPCRIndex || len(p.Value) != 48 || i > 0 && a.PCRs[i-1].Index >= p.Index {
			t.Fatalf("PCR %d (%d bytes) at %d: not sorted, unique, 0–31 and 48 bytes", p.Index, len(p.Value), i)
		}
		if !bytes.Equal(a.PCR(p.Index), p.Value) {
			t.Fatalf("PCR(%d) does not find it", p.Index)
		}
	}
	if len(a.Certificate) == 0 || len(a.Certificate) > MaxCertificateSize || len(a.CABundle) == 0 {
		t.Fatalf("certificate %d bytes, %d in cabundle", len(a.Certificate), len(a.CABundle))
	}
	for _, c := range a.CABundle {
		if len(c) == 0 || len(c) > MaxCertificateSize {
			t.Fatalf("cabundle entry of %d bytes", len(c))
		}
	}
	for _, o := range []Optional{a.PublicKey, a.UserData, a.Nonce} {
		if len(o.Value) > MaxUserFieldSize || o.Null && (!o.Present || o.Value != nil) || !o.Present && o.Value != nil {
			t.Fatalf("optional field %+v", o)
		}
	}
}

func wantOnlyParseErrors(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%T %v, want a *ParseError", err, err)
	}
}

// FuzzParseDocument: no input panics ParseDocument; a refusal is a
// *ParseError; an accepted document has a 96-byte signature (RFC 9053
// §2.1), a payload the CDDL allows (checkAttestation), Payload, Protected
// and Signature bytes found in the input as received, and the Attestation
// ParsePayload gives for its Payload; Inspect lists it.
func FuzzParseDocument(f *testing.F) {
	for _, b := range realDocuments() {
		f.Add(b)
		f.Add(append([]byte{0xd2}, b...))
	}
	for _, b := range simDocuments(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDocument(b)
		if err != nil {
			if d != nil {
				t.Fatal("a document returned with an error")
			}
			wantOnlyParseErrors(t, err)
			return
		}
		if !bytes.Equal(d.Raw, b) || d.Tagged != (b[0] == 0xd2) {
			t.Fatal("Raw or Tagged is not the input's")
		}
		if len(d.Signature) != 96 || !bytes.HasSuffix(b, d.Signature) {
			t.Fatalf("%d-byte signature, not the end of the input", len(d.Signature))
		}
		if !bytes.Contains(b, d.Payload) || !bytes.Contains(b, d.Protected) {
			t.Fatal("payload or protected header not as received")
		}
		checkAttestation(t, d.Attestation)
		a, err := ParsePayload(d.Payload)
		if err != nil || !reflect.DeepEqual(a, d.Attestation) {
			t.Fatalf("ParsePayload of the document's payload: %v", err)
		}
		if _, err := Inspect(b); err != nil {
			t.Fatalf("Inspect: %v", err)
		}
	})
}

// FuzzParsePayload: no input panics ParsePayload; a refusal is a
// *ParseError; an accepted payload holds to the CDDL (checkAttestation)
// and decodes the same twice.
func FuzzParsePayload(f *testing.F) {
	for _, b := range append(realDocuments(), simDocuments(f)...) {
		if d, err := ParseDocument(b); err == nil {
			f.Add(d.Payload)
		}
	}
	s := sim(f)
	base := payloadFields(s.payload(nil))
	indef := s.payload(nil)
	indef.Indefinite, indef.IndefinitePCRs = true, true
	tpm := s.pki.TPMPayload(s.chain, simTime)
	for _, b := range [][]byte{
		indef.Marshal(),
		tpm.Marshal(),
		base.add(cText("nitrotpm_pcrs"), pcrMap(s.pcrs)).bytes(),
		base.set("pcrs", cMap([]kv{{cUint(1), cBytes(make([]byte, 48))}, {[]byte{0x18, 0x01}, cBytes(make([]byte, 48))}})).bytes(),
		base.set("timestamp", cNeg(0)).bytes(),
		base.set("nonce", cBytes(make([]byte, 1025))).bytes(),
		{}, {0xa0}, {0xbf, 0xff},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParsePayload(b)
		if err != nil {
			if a != nil {
				t.Fatal("an attestation returned with an error")
			}
			wantOnlyParseErrors(t, err)
			return
		}
		checkAttestation(t, a)
		again, err := ParsePayload(b)
		if err != nil || !reflect.DeepEqual(a, again) {
			t.Fatalf("a second decode differs: %v", err)
		}
	})
}

// FuzzVerify: whatever the bytes, a document verifies under the pinned AWS
// root (with debug mode allowed, at the time of the real document the
// first argument picks) only if what its signature covers, the protected
// header and the payload (RFC 9052 §4.4), is byte for byte that of a real
// document: a change inside the signed span never verifies. Two of the
// real documents were made two hours apart, inside each other's leaf
// window, so a document may verify at another's time; it is still a real
// one.
func FuzzVerify(f *testing.F) {
	docs := realDocuments()
	if len(docs) == 0 {
		f.Skip("no real documents")
	}
	type signed struct{ protected, payload []byte }
	var genuine []signed
	for i, b := range docs {
		d, err := ParseDocument(b)
		if err != nil {
			f.Fatal(err)
		}
		genuine = append(genuine, signed{d.Protected, d.Payload})
		f.Add(uint8(i), b)
		f.Add(uint8(i), append([]byte{0xd2}, b...))
	}
	v := mustVerifier(f)
	pol := &Policy{AllowDebug: policy.Bool(true)}
	f.Fuzz(func(t *testing.T, i uint8, b []byte) {
		vec := realVectors[int(i)%len(docs)]
		res, err := v.Verify(context.Background(), Evidence{Document: b}, pol, cloudra.Options{Time: at(vec.timestamp)})
		if res == nil {
			t.Fatalf("no decision: %v", err)
		}
		if res.Verdict != cloudra.Pass {
			if err == nil {
				t.Fatal("a rejection without an error")
			}
			return
		}
		d, err := ParseDocument(b)
		if err != nil {
			t.Fatalf("verified but does not parse: %v", err)
		}
		for _, g := range genuine {
			if bytes.Equal(g.protected, d.Protected) && bytes.Equal(g.payload, d.Payload) {
				return
			}
		}
		t.Fatalf("verified with a signed span no real document has (%d-byte payload)", len(d.Payload))
	})
}

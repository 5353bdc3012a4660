package tpm

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/google/go-tpm/tpm2"
)

// TestPublicFormats: the GCE AK as TPMT_PUBLIC, TPM2B_PUBLIC, PEM and DER
// is the same key; its Name agrees with go-tpm's.
func TestPublicFormats(t *testing.T) {
	tpmt := vectortest.Read(t, gceDir+"/ak_pub.tpmt_public.bin")
	p, err := ParsePublic(tpmt)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasTPMArea() || p.Type != AlgRSA || p.Attributes&AKAttributes != AKAttributes || p.Scheme != AlgRSASSA || p.SchemeHash != AlgSHA256 {
		t.Errorf("GCE AK %+v", p)
	}
	gp, err := tpm2.Unmarshal[tpm2.TPMTPublic](tpmt)
	if err != nil {
		t.Fatal(err)
	}
	name, err := tpm2.ObjectName(gp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(name.Buffer, p.Name) {
		t.Errorf("Name %x, go-tpm %x", p.Name, name.Buffer)
	}
	tpm2b := binary.BigEndian.AppendUint16(nil, uint16(len(tpmt)))
	tpm2b = append(tpm2b, tpmt...)
	der, _ := p.SPKI()
	pemb := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(p.Key.(*rsa.PublicKey))})
	for name, b := range map[string][]byte{"tpm2b": tpm2b, "der": der, "pem": pemb, "pkcs1": pkcs1} {
		q, err := ParsePublic(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !SameKey(q.Key, p.Key) {
			t.Errorf("%s: different key", name)
		}
		if name == "tpm2b" && !bytes.Equal(q.Name, p.Name) {
			t.Errorf("tpm2b name differs")
		}
	}
	for name, b := range map[string][]byte{
		"trailing":  append(append([]byte(nil), tpmt...), 0),
		"truncated": tpmt[:len(tpmt)-1],
		"empty":     nil,
		"pem junk":  append(append([]byte(nil), pemb...), []byte("junk")...),
		"bad type":  append([]byte{0, 8}, tpmt[2:]...),
	} {
		if _, err := ParsePublic(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestSignatureParse: TPMT_SIGNATURE round trip, trailing bytes, schemes.
func TestSignatureParse(t *testing.T) {
	b := vectortest.Read(t, gceDir+"/gce-cos-85-nonce9009/quote_SHA256.tpmt_signature.bin")
	s, err := ParseSignature(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Alg != AlgRSASSA || s.Hash != AlgSHA256 || len(s.RSA) != 256 {
		t.Errorf("%v %v %d", s.Alg, s.Hash, len(s.RSA))
	}
	m, _ := s.Marshal()
	if !bytes.Equal(m, b) {
		t.Error("round trip")
	}
	for name, x := range map[string][]byte{
		"trailing":    append(append([]byte(nil), b...), 0),
		"truncated":   b[:100],
		"hmac":        append([]byte{0, 5}, b[2:]...),
		"null":        {0, 0x10},
		"hash sm3":    append([]byte{0, 0x14, 0, 0x12}, b[4:]...),
		"zero length": {0, 0x14, 0, 0x0b, 0, 0},
	} {
		if _, err := ParseSignature(x); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestAttestRoundTrip: every real quote re-marshals to its bytes.
func TestAttestRoundTrip(t *testing.T) {
	for _, rel := range []string{
		gceDir + "/gce-cos-85-nonce9009/quote_SHA1.tpms_attest.bin",
		gceDir + "/gce-cos-85-no-nonce/quote_SHA384.tpms_attest.bin",
		kinvolk + "/2023/quote_msg",
		kinvolk + "/2024/quote.tpms_attest.bin",
	} {
		b := vectortest.Read(t, rel)
		a, err := ParseAttest(b)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		m, _ := a.Marshal()
		if !bytes.Equal(m, b) {
			t.Errorf("%s: round trip differs", rel)
		}
	}
}

// TestPCRSerialized: the tpm2-tools pcr_fwrite_serialized layout (host
// order C structs) round-trips, including more than 8 digests (two
// TPML_DIGEST) and two banks; malformed files are rejected.
func TestPCRSerialized(t *testing.T) {
	sel := []PCRSelection{
		{Hash: AlgSHA256, SizeOfSelect: 3, PCRs: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 23}},
		{Hash: AlgSHA1, SizeOfSelect: 3, PCRs: []int{0, 7}},
	}
	p := PCRs{}
	for _, s := range sel {
		for _, i := range s.PCRs {
			p.Set(s.Hash, i, bytes.Repeat([]byte{byte(i) + 1}, s.Hash.DigestSize()))
		}
	}
	b, err := MarshalPCRsSerialized(sel, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 132+4+2*532 {
		t.Fatalf("file of %d bytes", len(b))
	}
	// The selection count is little endian, as the C struct is written.
	if binary.LittleEndian.Uint32(b) != 2 || binary.LittleEndian.Uint16(b[4:]) != uint16(AlgSHA256) {
		t.Fatalf("header % x", b[:12])
	}
	got, err := ParsePCRValues(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sel {
		for _, i := range s.PCRs {
			if !bytes.Equal(got[s.Hash][i], p[s.Hash][i]) {
				t.Errorf("%v PCR %d", s.Hash, i)
			}
		}
	}
	bad := func(f func([]byte)) []byte { c := append([]byte(nil), b...); f(c); return c }
	for name, x := range map[string][]byte{
		"truncated":      b[:len(b)-1],
		"count 0":        bad(func(c []byte) { binary.LittleEndian.PutUint32(c, 0) }),
		"big endian":     bad(func(c []byte) { binary.BigEndian.PutUint32(c, 2) }),
		"digest size":    bad(func(c []byte) { binary.LittleEndian.PutUint16(c[136+4:], 20) }),
		"select size 9":  bad(func(c []byte) { c[6] = 9 }),
		"fewer digests":  bad(func(c []byte) { binary.LittleEndian.PutUint32(c[136+532:], 1) }),
		"digest count 9": bad(func(c []byte) { binary.LittleEndian.PutUint32(c[136:], 9) }),
	} {
		if _, err := ParsePCRValues(x); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestPCRJSON: by-bank and flat JSON.
func TestPCRJSON(t *testing.T) {
	p, err := ParsePCRValues([]byte(`{"sha256":{"0":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"},"sha1":{"7":"` + string(bytes.Repeat([]byte("cd"), 20)) + `"}}`))
	if err != nil || len(p[AlgSHA256]) != 1 || len(p[AlgSHA1]) != 1 {
		t.Fatalf("%v %v", p, err)
	}
	for name, s := range map[string]string{
		"short":      `{"sha256":{"0":"abcd"}}`,
		"index":      `{"sha256":{"x":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}}`,
		"index 01":   `{"sha256":{"01":"` + string(bytes.Repeat([]byte("ab"), 32)) + `"}}`,
		"bank":       `{"md5":{"0":"ab"}}`,
		"mixed flat": `{"0":"` + string(bytes.Repeat([]byte("ab"), 32)) + `","1":"` + string(bytes.Repeat([]byte("ab"), 20)) + `"}`,
	} {
		if _, err := ParsePCRValues([]byte(s)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

package nitrosim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/cloudra/cloudra/internal/vectortest"
)

var (
	testSeed = []byte("cloudra nitrosim test seed")
	testTime = time.Date(2026, 6, 1, 12, 30, 15, 123e6, time.UTC)
)

func fixedClock() time.Time { return testTime }

func newPKI(t testing.TB) *PKI {
	t.Helper()
	p, err := NewPKI(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newNSM(t testing.TB, o Options) *NSM {
	t.Helper()
	n, err := New(testSeed, fixedClock, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustChain(t testing.TB, p *PKI, at time.Time, o ChainOptions) *Chain {
	t.Helper()
	c, err := p.ForgeChain(at, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// doc is the decoded payload, through a general-purpose decoder.
type doc struct {
	ModuleID    string          `cbor:"module_id"`
	Digest      string          `cbor:"digest"`
	Timestamp   uint64          `cbor:"timestamp"`
	PCRs        map[uint][]byte `cbor:"pcrs"`
	TPMPCRs     map[uint][]byte `cbor:"nitrotpm_pcrs"`
	Certificate []byte          `cbor:"certificate"`
	CABundle    [][]byte        `cbor:"cabundle"`
	PublicKey   []byte          `cbor:"public_key"`
	UserData    []byte          `cbor:"user_data"`
	Nonce       []byte          `cbor:"nonce"`
}

// verifyCOSE checks a document's signature with go-cose, independently of
// the encoder, and returns its decoded payload.
func verifyCOSE(t *testing.T, b []byte, pub any, alg cose.Algorithm, tagged bool) doc {
	t.Helper()
	v, err := cose.NewVerifier(alg, pub)
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	if tagged {
		var m cose.Sign1Message
		if err := m.UnmarshalCBOR(b); err != nil {
			t.Fatalf("go-cose decode (tagged): %v", err)
		}
		if err := m.Verify(nil, v); err != nil {
			t.Fatalf("go-cose verify (tagged): %v", err)
		}
		payload = m.Payload
	} else {
		var m cose.UntaggedSign1Message
		if err := m.UnmarshalCBOR(b); err != nil {
			t.Fatalf("go-cose decode: %v", err)
		}
		if err := m.Verify(nil, v); err != nil {
			t.Fatalf("go-cose verify: %v", err)
		}
		payload = m.Payload
	}
	var d doc
	if err := cbor.Unmarshal(payload, &d); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return d
}

func attest(t *testing.T, n *NSM, userData, nonce, publicKey []byte) []byte {
	t.Helper()
	b, err := n.Attest(userData, nonce, publicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeterministic(t *testing.T) {
	a, b := newPKI(t), newPKI(t)
	if !bytes.Equal(a.Root().Raw, b.Root().Raw) {
		t.Fatal("root differs between two PKIs of one seed")
	}
	ca, cb := mustChain(t, a, testTime, ChainOptions{}), mustChain(t, b, testTime, ChainOptions{})
	for l := range Levels {
		if !bytes.Equal(ca.Certs[l].Raw, cb.Certs[l].Raw) {
			t.Fatalf("%s certificate differs", levelNames[l])
		}
	}
	da, db := attest(t, newNSM(t, Options{}), nil, []byte("n"), nil), attest(t, newNSM(t, Options{}), nil, []byte("n"), nil)
	if !bytes.Equal(da, db) {
		t.Fatal("documents of one seed and instant differ")
	}
	other, err := NewPKI([]byte("another seed"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.Root().RawSubjectPublicKeyInfo, a.Root().RawSubjectPublicKeyInfo) || other.ModuleID() == a.ModuleID() {
		t.Fatal("another seed gives the same root key or module ID")
	}
	if _, err := NewPKI(nil); err == nil {
		t.Fatal("empty seed accepted")
	}
}

func verifyChain(c *Chain, at time.Time) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.Root())
	for _, cert := range c.Certs[1:LevelLeaf] {
		inter.AddCert(cert)
	}
	_, err := c.Leaf().Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func TestChainVerifies(t *testing.T) {
	p := newPKI(t)
	c := mustChain(t, p, testTime, ChainOptions{})
	if c.Root() != p.Root() {
		t.Fatal("chain does not reuse the PKI's root")
	}
	if err := verifyChain(c, testTime); err != nil {
		t.Fatalf("chain at the document time: %v", err)
	}
	if err := verifyChain(c, testTime.Add(3*time.Hour-time.Second)); err != nil {
		t.Fatalf("chain just before the leaf's end: %v", err)
	}
	var inv x509.CertificateInvalidError
	if err := verifyChain(c, testTime.Add(3*time.Hour+time.Second)); !errors.As(err, &inv) || inv.Reason != x509.Expired || inv.Cert != c.Leaf() {
		t.Fatalf("chain after 3 h: %v, want the leaf expired", err)
	}
	if got := c.Leaf().NotAfter.Sub(c.Leaf().NotBefore); got < 3*time.Hour || got > 3*time.Hour+time.Minute {
		t.Fatalf("leaf lasts %v", got)
	}
	if c.Root().Subject.CommonName != RootCN || c.Root().Subject.CommonName == "aws.nitro-enclaves" {
		t.Fatalf("root CN %q", c.Root().Subject.CommonName)
	}
	if !strings.HasPrefix(c.Leaf().Subject.CommonName, p.ModuleID()+".") {
		t.Fatalf("leaf CN %q does not name the module %q", c.Leaf().Subject.CommonName, p.ModuleID())
	}
}

var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
)

func critical(c *x509.Certificate, oid asn1.ObjectIdentifier) (present, crit bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true, e.Critical
		}
	}
	return false, false
}

// TestProfile checks the simulated certificates against the profile of
// AWS's: CA flags, path lengths, key usages and their criticality, P-384
// and ecdsa-with-SHA384 throughout.
func TestProfile(t *testing.T) {
	c := mustChain(t, newPKI(t), testTime, ChainOptions{})
	caKU := x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	want := [Levels]struct {
		ca      bool
		pathLen int
		ku      x509.KeyUsage
		kuCrit  bool
	}{
		{true, -1, caKU, true},
		{true, 2, caKU, true},
		{true, 1, caKU, true},
		{true, 0, x509.KeyUsageCertSign, true},
		{false, -1, x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, false},
	}
	for l, w := range want {
		cert := c.Certs[l]
		name := levelNames[l]
		if cert.IsCA != w.ca || cert.KeyUsage != w.ku {
			t.Errorf("%s: CA %v KU %v", name, cert.IsCA, cert.KeyUsage)
		}
		if w.ca && (cert.MaxPathLen != w.pathLen || (w.pathLen == 0) != cert.MaxPathLenZero) {
			t.Errorf("%s: path length %d (zero %v), want %d", name, cert.MaxPathLen, cert.MaxPathLenZero, w.pathLen)
		}
		if ok, crit := critical(cert, oidBasicConstraints); !ok || !crit {
			t.Errorf("%s: basic constraints present %v critical %v", name, ok, crit)
		}
		if ok, crit := critical(cert, oidKeyUsage); !ok || crit != w.kuCrit {
			t.Errorf("%s: key usage present %v critical %v", name, ok, crit)
		}
		k, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P384() || cert.SignatureAlgorithm != x509.ECDSAWithSHA384 {
			t.Errorf("%s: key %T, signature %v", name, cert.PublicKey, cert.SignatureAlgorithm)
		}
		if got := cert.Subject.Organization; len(got) != 1 || got[0] != Organization {
			t.Errorf("%s: organisation %q", name, got)
		}
		if l > 0 && !bytes.Equal(cert.RawIssuer, c.Certs[l-1].RawSubject) {
			t.Errorf("%s: issuer is not the %s's subject", name, levelNames[l-1])
		}
		if !cert.NotBefore.Before(testTime) || !cert.NotAfter.After(testTime) {
			t.Errorf("%s: window %v–%v misses the document time", name, cert.NotBefore, cert.NotAfter)
		}
	}
	// The zonal CA's subject starts with its CN, as AWS's does.
	if n := c.Certs[LevelZonal].Subject.Names; len(n) == 0 || !n[0].Type.Equal(attrCN) {
		t.Errorf("zonal subject order %v", n)
	}
}

func TestDocumentVerifiesWithGoCOSE(t *testing.T) {
	n := newNSM(t, Options{})
	nonce, ud, pk := bytes.Repeat([]byte{1}, 32), []byte("user data"), []byte("public key")
	b := attest(t, n, ud, nonce, pk)
	if b[0] != 0x84 {
		t.Fatalf("document starts %#x, want an untagged 4-array", b[0])
	}
	c := mustChain(t, n.PKI(), testTime, ChainOptions{})
	d := verifyCOSE(t, b, c.Leaf().PublicKey, cose.AlgorithmES384, false)
	if d.ModuleID != n.ModuleID() || d.Digest != "SHA384" || d.Timestamp != uint64(testTime.UnixMilli()) {
		t.Fatalf("payload %q %q %d", d.ModuleID, d.Digest, d.Timestamp)
	}
	if !bytes.Equal(d.Nonce, nonce) || !bytes.Equal(d.UserData, ud) || !bytes.Equal(d.PublicKey, pk) {
		t.Fatal("inputs not carried")
	}
	if !bytes.Equal(d.Certificate, c.Leaf().Raw) || len(d.CABundle) != 4 || !bytes.Equal(d.CABundle[0], n.Root().Raw) {
		t.Fatal("certificate or CA bundle")
	}
	if len(d.PCRs) != 16 {
		t.Fatalf("%d PCRs", len(d.PCRs))
	}
	for i, v := range d.PCRs {
		if len(v) != PCRSize {
			t.Fatalf("PCR%d is %d bytes", i, len(v))
		}
	}
	// The signature is r‖s, 96 bytes.
	var arr []cbor.RawMessage
	if err := cbor.Unmarshal(b, &arr); err != nil || len(arr) != 4 {
		t.Fatal(err)
	}
	var sig []byte
	if err := cbor.Unmarshal(arr[3], &sig); err != nil || len(sig) != 96 {
		t.Fatalf("signature %d bytes (%v)", len(sig), err)
	}
	if !bytes.Equal(arr[0], []byte{0x44, 0xa1, 0x01, 0x38, 0x22}) || !bytes.Equal(arr[1], []byte{0xa0}) {
		t.Fatalf("headers %x %x", arr[0], arr[1])
	}
}

func TestTaggedAndUntagged(t *testing.T) {
	p := newPKI(t)
	c := mustChain(t, p, testTime, ChainOptions{})
	pl := NewPayload(c, p.ModuleID(), testTime, map[uint][]byte{0: make([]byte, 48)})
	untagged, err := Sign1(pl.Marshal(), c.LeafKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := Sign1(pl.Marshal(), c.LeafKey(), &SignOptions{Tagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if tagged[0] != 0xd2 || !bytes.Equal(tagged[1:], untagged) {
		t.Fatalf("tagged document is not tag 18 and the untagged one")
	}
	verifyCOSE(t, untagged, c.Leaf().PublicKey, cose.AlgorithmES384, false)
	verifyCOSE(t, tagged, c.Leaf().PublicKey, cose.AlgorithmES384, true)
}

// TestRealPayloadOrder re-encodes the decoded fields of AWS's documents
// and gets their payloads back byte for byte: the encoder writes NSM's
// order and encoding.
func TestRealPayloadOrder(t *testing.T) {
	dir := filepath.Join(vectortest.Dir(t), "nitro")
	docs, err := filepath.Glob(filepath.Join(dir, "*", "attestation_doc.cbor"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no documents in %s (%v)", dir, err)
	}
	for _, f := range docs {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var arr []cbor.RawMessage
			if err := cbor.Unmarshal(b, &arr); err != nil || len(arr) != 4 {
				t.Fatalf("COSE_Sign1: %v", err)
			}
			var payload []byte
			if err := cbor.Unmarshal(arr[2], &payload); err != nil {
				t.Fatal(err)
			}
			var raw map[string]cbor.RawMessage
			if err := cbor.Unmarshal(payload, &raw); err != nil {
				t.Fatal(err)
			}
			var d doc
			if err := cbor.Unmarshal(payload, &d); err != nil {
				t.Fatal(err)
			}
			opt := func(k string, v []byte) []byte {
				if bytes.Equal(raw[k], []byte{cborNull}) {
					return nil
				}
				if v == nil {
					return []byte{}
				}
				return v
			}
			pl := &Payload{ModuleID: d.ModuleID, Digest: d.Digest, Timestamp: d.Timestamp, PCRs: d.PCRs,
				Certificate: d.Certificate, CABundle: d.CABundle,
				PublicKey: opt("public_key", d.PublicKey), UserData: opt("user_data", d.UserData), Nonce: opt("nonce", d.Nonce)}
			if got := pl.Marshal(); !bytes.Equal(got, payload) {
				t.Fatalf("re-encoded payload differs (%d bytes, want %d)", len(got), len(payload))
			}
			// The envelope's headers are NSM's too.
			if !bytes.Equal(arr[0], []byte{0x44, 0xa1, 0x01, 0x38, 0x22}) || !bytes.Equal(arr[1], []byte{0xa0}) {
				t.Fatalf("headers %x %x", arr[0], arr[1])
			}
		})
	}
}

func TestDebugZeroesImagePCRs(t *testing.T) {
	zero := make([]byte, PCRSize)
	for _, debug := range []bool{false, true} {
		n := newNSM(t, Options{Debug: debug})
		c := mustChain(t, n.PKI(), testTime, ChainOptions{})
		d := verifyCOSE(t, attest(t, n, nil, nil, nil), c.Leaf().PublicKey, cose.AlgorithmES384, false)
		for i := range uint(16) {
			isZero := bytes.Equal(d.PCRs[i], zero)
			var want bool
			switch i {
			case 0, 1, 2, 8:
				want = debug
			case 3, 4:
				want = false
			default:
				want = true
			}
			if isZero != want {
				t.Errorf("debug %v: PCR%d zero %v", debug, i, isZero)
			}
		}
	}
	a, _ := EnclavePCRs(testSeed, false)
	b, _ := EnclavePCRs(testSeed, true)
	if !bytes.Equal(a[3], b[3]) || !bytes.Equal(a[4], b[4]) {
		t.Error("debug mode changes PCR3 or PCR4")
	}
}

// nsmRequest encodes an NSM request as the NSM library does (serde
// externally tagged), through a general-purpose encoder.
func nsmRequest(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exchange(t *testing.T, n *NSM, req []byte) map[string]any {
	t.Helper()
	resp, err := n.Exchange(req)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if cbor.Unmarshal(resp, &s) == nil {
		return map[string]any{s: nil}
	}
	var m map[string]any
	if err := cbor.Unmarshal(resp, &m); err != nil || len(m) != 1 {
		t.Fatalf("response %x: %v", resp, err)
	}
	return m
}

func wantError(t *testing.T, got map[string]any, code string) {
	t.Helper()
	if got["Error"] != code {
		t.Fatalf("response %v, want Error %s", got, code)
	}
}

type attReq struct {
	UserData  []byte `cbor:"user_data"`
	Nonce     []byte `cbor:"nonce"`
	PublicKey []byte `cbor:"public_key"`
}

func TestNSMLimits(t *testing.T) {
	n := newNSM(t, Options{})
	cases := []struct {
		name string
		req  attReq
		ok   bool
	}{
		{"user_data 512", attReq{UserData: make([]byte, 512)}, true},
		{"user_data 513", attReq{UserData: make([]byte, 513)}, false},
		{"nonce 512", attReq{Nonce: make([]byte, 512)}, true},
		{"nonce 513", attReq{Nonce: make([]byte, 513)}, false},
		{"public_key 1024", attReq{PublicKey: make([]byte, 1024)}, true},
		{"public_key 1025", attReq{PublicKey: make([]byte, 1025)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := exchange(t, n, nsmRequest(t, map[string]attReq{"Attestation": c.req}))
			if !c.ok {
				wantError(t, got, ErrorInputTooLarge)
				return
			}
			if _, ok := got["Attestation"]; !ok {
				t.Fatalf("response %v", got)
			}
		})
	}
	if _, err := n.Attest(make([]byte, 513), nil, nil); err == nil {
		t.Error("Attest accepts 513 bytes of user data")
	}
	wantError(t, exchange(t, n, make([]byte, MaxRequest+1)), ErrorInputTooLarge)
}

func TestNSMAttestation(t *testing.T) {
	n := newNSM(t, Options{})
	req := nsmRequest(t, map[string]attReq{"Attestation": {UserData: []byte("ud"), Nonce: []byte("nonce")}})
	resp, err := n.Exchange(req)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Attestation struct {
			Document []byte `cbor:"document"`
		}
	}
	if err := cbor.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	c := mustChain(t, n.PKI(), testTime, ChainOptions{})
	d := verifyCOSE(t, r.Attestation.Document, c.Leaf().PublicKey, cose.AlgorithmES384, false)
	if string(d.UserData) != "ud" || string(d.Nonce) != "nonce" || d.PublicKey != nil {
		t.Fatalf("inputs %q %q %x", d.UserData, d.Nonce, d.PublicKey)
	}
	if !bytes.Equal(r.Attestation.Document, attest(t, n, []byte("ud"), []byte("nonce"), nil)) {
		t.Fatal("Exchange and Attest disagree")
	}
	// Absent and null inputs are written null.
	var raw map[string]cbor.RawMessage
	var m cose.UntaggedSign1Message
	if err := m.UnmarshalCBOR(attest(t, n, nil, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(m.Payload, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user_data", "nonce", "public_key"} {
		if !bytes.Equal(raw[k], []byte{cborNull}) {
			t.Errorf("%s is %x, want null", k, raw[k])
		}
	}
}

func TestNSMProtocol(t *testing.T) {
	n := newNSM(t, Options{})
	type idx struct {
		Index uint64 `cbor:"index"`
	}
	type ext struct {
		Index uint64 `cbor:"index"`
		Data  []byte `cbor:"data"`
	}

	got := exchange(t, n, nsmRequest(t, "DescribeNSM"))
	var desc struct {
		DescribeNSM struct {
			VersionMajor uint16   `cbor:"version_major"`
			ModuleID     string   `cbor:"module_id"`
			MaxPCRs      uint16   `cbor:"max_pcrs"`
			LockedPCRs   []uint16 `cbor:"locked_pcrs"`
			Digest       string   `cbor:"digest"`
		}
	}
	resp, _ := n.Exchange(nsmRequest(t, "DescribeNSM"))
	if err := cbor.Unmarshal(resp, &desc); err != nil {
		t.Fatalf("DescribeNSM %v: %v", got, err)
	}
	if d := desc.DescribeNSM; d.VersionMajor != 1 || d.ModuleID != n.ModuleID() || d.MaxPCRs != 32 || len(d.LockedPCRs) != 16 || d.Digest != "SHA384" {
		t.Fatalf("DescribeNSM %+v", d)
	}

	pcrs, _ := EnclavePCRs(testSeed, false)
	var dp struct {
		DescribePCR struct {
			Lock bool   `cbor:"lock"`
			Data []byte `cbor:"data"`
		}
	}
	resp, _ = n.Exchange(nsmRequest(t, map[string]idx{"DescribePCR": {0}}))
	if err := cbor.Unmarshal(resp, &dp); err != nil || !dp.DescribePCR.Lock || !bytes.Equal(dp.DescribePCR.Data, pcrs[0]) {
		t.Fatalf("DescribePCR 0: %+v %v", dp, err)
	}
	wantError(t, exchange(t, n, nsmRequest(t, map[string]idx{"DescribePCR": {32}})), ErrorInvalidIndex)
	wantError(t, exchange(t, n, nsmRequest(t, map[string]ext{"ExtendPCR": {0, []byte("x")}})), ErrorReadOnlyIndex)
	if _, ok := exchange(t, n, nsmRequest(t, map[string]ext{"ExtendPCR": {16, []byte("x")}}))["ExtendPCR"]; !ok {
		t.Fatal("ExtendPCR 16 refused")
	}
	if _, ok := exchange(t, n, nsmRequest(t, map[string]idx{"LockPCR": {16}}))["LockPCR"]; !ok {
		t.Fatal("LockPCR 16 refused")
	}
	wantError(t, exchange(t, n, nsmRequest(t, map[string]ext{"ExtendPCR": {16, []byte("x")}})), ErrorReadOnlyIndex)
	c := mustChain(t, n.PKI(), testTime, ChainOptions{})
	if d := verifyCOSE(t, attest(t, n, nil, nil, nil), c.Leaf().PublicKey, cose.AlgorithmES384, false); len(d.PCRs) != 17 {
		t.Fatalf("document after locking PCR16 carries %d PCRs", len(d.PCRs))
	}
	var rnd struct {
		GetRandom struct {
			Random []byte `cbor:"random"`
		}
	}
	resp, _ = n.Exchange(nsmRequest(t, "GetRandom"))
	if err := cbor.Unmarshal(resp, &rnd); err != nil || len(rnd.GetRandom.Random) != RandomSize {
		t.Fatalf("GetRandom: %v", err)
	}
	wantError(t, exchange(t, n, []byte{0xff, 0x00}), ErrorInvalidArgument)
	wantError(t, exchange(t, n, nsmRequest(t, map[string]any{"DescribePCR": "zero"})), ErrorInvalidArgument)
	wantError(t, exchange(t, n, nsmRequest(t, "Reboot")), ErrorInvalidOperation)
}

func TestIndefiniteLength(t *testing.T) {
	p := newPKI(t)
	c := mustChain(t, p, testTime, ChainOptions{})
	pcrs, _ := EnclavePCRs(testSeed, false)
	pl := NewPayload(c, p.ModuleID(), testTime, pcrs)
	pl.Nonce = []byte("nonce")
	definite := pl.Marshal()
	pl.Indefinite, pl.IndefinitePCRs = true, true
	indefinite := pl.Marshal()
	if indefinite[0] != 0xbf || indefinite[len(indefinite)-1] != 0xff || definite[0] != 0xa9 {
		t.Fatalf("heads %#x … %#x, definite %#x", indefinite[0], indefinite[len(indefinite)-1], definite[0])
	}
	if !bytes.Contains(indefinite, []byte("\x64pcrs\xbf\x00\x58\x30")) {
		t.Fatal("PCR map is not indefinite-length")
	}
	var a, b doc
	if err := cbor.Unmarshal(definite, &a); err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(indefinite, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("indefinite-length payload decodes to other values")
	}
	doc, err := Sign1(indefinite, c.LeafKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyCOSE(t, doc, c.Leaf().PublicKey, cose.AlgorithmES384, false)
}

func TestOmitAndEmpty(t *testing.T) {
	p := newPKI(t)
	c := mustChain(t, p, testTime, ChainOptions{})
	pl := NewPayload(c, p.ModuleID(), testTime, nil)
	pl.Nonce = []byte{}
	pl.Omit = FieldModuleID | FieldPublicKey
	var raw map[string]cbor.RawMessage
	if err := cbor.Unmarshal(pl.Marshal(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["module_id"]; ok {
		t.Error("module_id not omitted")
	}
	if _, ok := raw["public_key"]; ok {
		t.Error("public_key not omitted")
	}
	if !bytes.Equal(raw["nonce"], []byte{0x40}) || !bytes.Equal(raw["user_data"], []byte{cborNull}) {
		t.Errorf("nonce %x user_data %x", raw["nonce"], raw["user_data"])
	}
	if len(raw) != 7 {
		t.Errorf("%d fields", len(raw))
	}
}

func TestTPMDocument(t *testing.T) {
	p := newPKI(t)
	b, err := p.TPMDocument(testTime, nil, []byte("nonce"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := mustChain(t, p, testTime, ChainOptions{})
	d := verifyCOSE(t, b, c.Leaf().PublicKey, cose.AlgorithmES384, false)
	if d.PCRs != nil || len(d.TPMPCRs) != TPMPCRs {
		t.Fatalf("pcrs %d, nitrotpm_pcrs %d", len(d.PCRs), len(d.TPMPCRs))
	}
	for i := range uint(TPMPCRs) {
		if len(d.TPMPCRs[i]) != PCRSize {
			t.Fatalf("PCR%d is %d bytes", i, len(d.TPMPCRs[i]))
		}
	}
	if d.ModuleID != p.TPMModuleID() || string(d.Nonce) != "nonce" {
		t.Fatalf("module %q nonce %q", d.ModuleID, d.Nonce)
	}
	var raw map[string]cbor.RawMessage
	var m cose.UntaggedSign1Message
	_ = m.UnmarshalCBOR(b)
	if err := cbor.Unmarshal(m.Payload, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["pcrs"]; ok {
		t.Fatal("NitroTPM document carries pcrs")
	}
}

// TestForgeChains makes the chains a verifier must reject, and checks
// crypto/x509 rejects them for the reason forged.
func TestForgeChains(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name   string
		o      ChainOptions
		check  func(*Chain) bool
		reject bool
	}{
		{"expired zonal", ChainOptions{Template: func(l int, tmpl *x509.Certificate) {
			if l == LevelZonal {
				tmpl.NotAfter = testTime.Add(-time.Hour)
			}
		}}, func(c *Chain) bool { return c.Certs[LevelZonal].NotAfter.Before(testTime) }, true},
		{"leaf CA", ChainOptions{Template: func(l int, tmpl *x509.Certificate) {
			if l == LevelLeaf {
				tmpl.IsCA = true
			}
		}}, func(c *Chain) bool { return c.Leaf().IsCA }, false},
		{"no key usage on the instance CA", ChainOptions{Template: func(l int, tmpl *x509.Certificate) {
			if l == LevelInstance {
				tmpl.KeyUsage = 0
			}
		}}, func(c *Chain) bool { return c.Certs[LevelInstance].KeyUsage == 0 }, false},
		{"path length", ChainOptions{Template: func(l int, tmpl *x509.Certificate) {
			if l == LevelRegional {
				tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
			}
		}}, func(c *Chain) bool { return c.Certs[LevelRegional].MaxPathLenZero }, true},
		{"P-256 leaf", ChainOptions{Keys: [Levels]KeyType{LevelLeaf: KeyP256}}, func(c *Chain) bool {
			k, ok := c.Leaf().PublicKey.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P256()
		}, false},
		{"P-521 instance", ChainOptions{Keys: [Levels]KeyType{LevelInstance: KeyP521}}, func(c *Chain) bool {
			k, ok := c.Certs[LevelInstance].PublicKey.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P521() && c.Leaf().SignatureAlgorithm == x509.ECDSAWithSHA512
		}, false},
		{"RSA leaf", ChainOptions{Keys: [Levels]KeyType{LevelLeaf: KeyRSA2048}}, func(c *Chain) bool {
			_, ok := c.Leaf().PublicKey.(*rsa.PublicKey)
			return ok
		}, false},
		{"other root", ChainOptions{Keys: [Levels]KeyType{LevelRoot: KeyP256}}, func(c *Chain) bool {
			return !bytes.Equal(c.Root().Raw, p.Root().Raw)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustChain(t, p, testTime, tc.o)
			if !tc.check(c) {
				t.Fatal("forged property missing")
			}
			err := verifyChain(c, testTime)
			if tc.reject && err == nil {
				t.Fatal("crypto/x509 accepts the forged chain")
			}
			if !tc.reject && err != nil {
				t.Fatalf("chain does not otherwise verify: %v", err)
			}
		})
	}
	// An unchanged hook re-mints the root byte for byte.
	c := mustChain(t, p, testTime, ChainOptions{Template: func(int, *x509.Certificate) {}})
	if !bytes.Equal(c.Root().Raw, p.Root().Raw) {
		t.Fatal("a no-op hook changes the root")
	}
}

func TestForgeEnvelope(t *testing.T) {
	p := newPKI(t)
	c := mustChain(t, p, testTime, ChainOptions{Keys: [Levels]KeyType{LevelLeaf: KeyP256}})
	payload := NewPayload(c, p.ModuleID(), testTime, nil).Marshal()

	es256, err := Sign1(payload, c.LeafKey(), &SignOptions{Protected: []byte{0xa1, 0x01, 0x26}})
	if err != nil {
		t.Fatal(err)
	}
	verifyCOSE(t, es256, c.Leaf().PublicKey, cose.AlgorithmES256, false)

	std := mustChain(t, p, testTime, ChainOptions{})
	empty, err := Sign1(payload, std.LeafKey(), &SignOptions{Protected: []byte{}, Unprotected: []byte{0xa1, 0x01, 0x38, 0x22}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(empty, []byte{0x84, 0x40, 0xa1, 0x01, 0x38, 0x22, 0x59}) {
		t.Fatalf("empty protected header: %x", empty[:8])
	}

	short, err := Sign1(payload, std.LeafKey(), &SignOptions{SigLen: 95})
	if err != nil {
		t.Fatal(err)
	}
	var arr []cbor.RawMessage
	var sig []byte
	if err := cbor.Unmarshal(short, &arr); err != nil || cbor.Unmarshal(arr[3], &sig) != nil || len(sig) != 95 {
		t.Fatalf("signature length %d", len(sig))
	}
	verbatim, err := Sign1(payload, nil, &SignOptions{Signature: []byte{1, 2, 3}})
	if err != nil || !bytes.HasSuffix(verbatim, []byte{0x43, 1, 2, 3}) {
		t.Fatalf("verbatim signature: %v", err)
	}
	if _, err := Sign1(payload, nil, nil); err == nil {
		t.Fatal("no key accepted")
	}
	// An RSA signer signs PS384.
	rc := mustChain(t, p, testTime, ChainOptions{Keys: [Levels]KeyType{LevelLeaf: KeyRSA2048}})
	ps, err := Sign1(payload, rc.LeafKey(), &SignOptions{Protected: []byte{0xa1, 0x01, 0x38, 0x25}})
	if err != nil {
		t.Fatal(err)
	}
	verifyCOSE(t, ps, rc.Leaf().PublicKey, cose.AlgorithmPS384, false)
}

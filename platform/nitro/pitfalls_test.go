package nitro

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/policy"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// Pitfalls of verifying an attestation document (aws-nitro-enclaves-nsm-api
// docs/attestation_process.md §3.2.2, §3.2.3), each shown on a simulated
// document that differs from a valid one in that one respect: the
// valid twin passes (TestSimulatedDocumentPasses), the forgery fails with
// the check and class its row names.

func newP384(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func forgeChain(t testing.TB, f *simFixture, o nitrosim.ChainOptions) *nitrosim.Chain {
	t.Helper()
	c, err := f.pki.ForgeChain(simTime, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chainDoc is a valid document signed by c, with p's fields changed by mod.
func chainDoc(t testing.TB, f *simFixture, c *nitrosim.Chain, mod func(p *nitrosim.Payload)) []byte {
	t.Helper()
	p := f.payload(c)
	if mod != nil {
		mod(p)
	}
	return f.sign(t, c, p.Marshal(), nil)
}

// templated is a document whose chain's certificate at level is changed
// by mod.
func templated(level int, mod func(tmpl *x509.Certificate)) func(t *testing.T, f *simFixture) []byte {
	return func(t *testing.T, f *simFixture) []byte {
		c := forgeChain(t, f, nitrosim.ChainOptions{Template: func(l int, tmpl *x509.Certificate) {
			if l == level {
				mod(tmpl)
			}
		}})
		return chainDoc(t, f, c, nil)
	}
}

// bundled is a document of the fixture's chain whose cabundle is
// rearranged by mod.
func bundled(mod func(t *testing.T, f *simFixture, b [][]byte) [][]byte) func(t *testing.T, f *simFixture) []byte {
	return func(t *testing.T, f *simFixture) []byte {
		return chainDoc(t, f, nil, func(p *nitrosim.Payload) { p.CABundle = mod(t, f, slices.Clone(p.CABundle)) })
	}
}

// withPayload is a document of the fixture's chain with p's fields changed.
func withPayload(mod func(p *nitrosim.Payload)) func(t *testing.T, f *simFixture) []byte {
	return func(t *testing.T, f *simFixture) []byte { return chainDoc(t, f, nil, mod) }
}

// withEnvelope is the fixture's document in an envelope forged by o.
func withEnvelope(o nitrosim.SignOptions) func(t *testing.T, f *simFixture) []byte {
	return func(t *testing.T, f *simFixture) []byte { return f.sign(t, nil, f.payload(nil).Marshal(), &o) }
}

// foreignLeafDoc is a document whose chain has the key types k, signed by
// its leaf and cut or padded to the 96 bytes of an ES384 signature, so that
// it parses and the chain decides.
func foreignLeafDoc(t testing.TB, f *simFixture, k [nitrosim.Levels]nitrosim.KeyType) []byte {
	t.Helper()
	c := forgeChain(t, f, nitrosim.ChainOptions{Keys: k})
	return f.sign(t, c, f.payload(c).Marshal(), &nitrosim.SignOptions{SigLen: es384SignatureSize})
}

// nonCriticalBasicConstraints writes the CA's basicConstraints {cA TRUE,
// pathLen} itself, not critical; Go's x509 then leaves it as given.
func nonCriticalBasicConstraints(t testing.TB, pathLen int) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(struct {
		IsCA    bool
		PathLen int
	}{true, pathLen})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: false, Value: v}
}

// TestSimulatedDocumentPasses: the unforged twin of every pitfall, a
// document as NSM writes it under the simulated root, passes when test roots
// are allowed, with chain.root-pinned a warning (it is not AWS's root) and
// no cloud claimed; without AllowTestRoots the same document fails at
// chain.root-pinned as chain (attestation_process.md §3.2.3.1: only the
// AWS root is trusted).
func TestSimulatedDocumentPasses(t *testing.T) {
	f := sim(t)
	doc := f.doc(t, f.payload(nil))
	res := f.verify(t, doc, nil)
	checktest.WantPass(t, res)
	checktest.WantCheck(t, res, checkRoot, cloudra.OutcomeWarn, "")
	for _, c := range []string{checkParse, checkCABundle, checkLeaf, checkSignature, checkValidity, checkTimestamp} {
		checktest.WantCheck(t, res, c, cloudra.OutcomePass, "")
	}
	if res.Cloud != "" || res.Claim("document") != DocumentEnclave || res.Claim("debug") != false {
		t.Errorf("cloud %q document %v debug %v", res.Cloud, res.Claim("document"), res.Claim("debug"))
	}
	res = f.verifyOpts(t, doc, nil, cloudra.Options{Time: simVerify})
	checktest.WantOnly(t, res, checkRoot, cloudra.ClassChain)
	checktest.WantFail(t, res, checkRoot, cloudra.ClassChain)
}

// TestPitfalls: each forgery fails where its row says. Chain rows follow
// attestation_process.md §3.2.3 and RFC 5280 (§4.2.1.9 basic constraints,
// §4.2.1.3 key usage, §4.1.2.5 validity); envelope rows RFC 9052 §3, §4.2
// and RFC 9053 §2.1 (ES384: alg -35, a 96-byte r ‖ s); freshness rows
// attestation_process.md §3.2.2.1 (timestamp) and the policy's max-age;
// binding and policy rows the policy's nitro section (docs/policy.md).
func TestPitfalls(t *testing.T) {
	f := sim(t)
	leafOf := func(t *testing.T) *x509.Certificate { return f.chain.Leaf() }
	other, err := nitrosim.NewPKI([]byte("an unrelated simulated PKI"))
	if err != nil {
		t.Fatal(err)
	}
	otherChain, err := other.Chain(simTime)
	if err != nil {
		t.Fatal(err)
	}
	pub := []byte("a DER SubjectPublicKeyInfo, in spirit")
	pubSum := sha256.Sum256(pub)
	wrongPCR := make([]byte, 48)
	wrongPCR[0] = 1
	zeroDebug := func(p *nitrosim.Payload) {
		for _, i := range []uint{0, 1, 2} {
			p.PCRs[i] = make([]byte, 48)
		}
	}
	ms := func(t time.Time) uint64 { return uint64(t.UnixMilli()) }
	for _, c := range []struct {
		name  string
		doc   func(t *testing.T, f *simFixture) []byte
		pol   *Policy
		check string
		class cloudra.Class
		more  bool // other checks fail too
	}{
		// The root.
		{name: "RootNotPinnedLookAlike", check: checkRoot, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				// The simulated root's names and profile, self-signed by
				// another key: a look-alike, not the root.
				var s [nitrosim.Levels]crypto.Signer
				s[nitrosim.LevelRoot] = newP384(t)
				c := forgeChain(t, f, nitrosim.ChainOptions{Signers: s})
				if c.Root().Subject.String() != f.pki.Root().Subject.String() {
					t.Fatal("the look-alike does not carry the root's names")
				}
				return chainDoc(t, f, c, nil)
			}},
		{name: "RootAtTheWrongEnd", check: checkRoot, class: cloudra.ClassChain,
			doc: bundled(func(_ *testing.T, _ *simFixture, b [][]byte) [][]byte { slices.Reverse(b); return b })},
		{name: "IntermediatesOutOfOrder", check: checkCABundle, class: cloudra.ClassChain,
			doc: bundled(func(_ *testing.T, _ *simFixture, b [][]byte) [][]byte { b[1], b[2] = b[2], b[1]; return b })},
		{name: "UnrelatedCertificateInBundle", check: checkCABundle, class: cloudra.ClassChain,
			doc: bundled(func(_ *testing.T, _ *simFixture, b [][]byte) [][]byte {
				return slices.Insert(b, 2, otherChain.Certs[nitrosim.LevelZonal].Raw)
			})},
		{name: "UnrelatedCertificateAfterBundle", check: checkCABundle, class: cloudra.ClassChain,
			doc: bundled(func(_ *testing.T, _ *simFixture, b [][]byte) [][]byte {
				return append(b, otherChain.Certs[nitrosim.LevelInstance].Raw)
			})},
		{name: "TwentyEntryBundle", check: checkCABundle, class: cloudra.ClassChain,
			doc: bundled(func(_ *testing.T, _ *simFixture, b [][]byte) [][]byte {
				for len(b) < 20 {
					b = append(b, b[len(b)-1])
				}
				return b
			})},
		// The envelope.
		{name: "ES256InProtectedHeader", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Protected: []byte{0xa1, 0x01, 0x26}})},
		{name: "AlgOnlyInUnprotectedHeader", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Protected: []byte{}, Unprotected: []byte{0xa1, 0x01, 0x38, 0x22}})},
		{name: "AlgInBothHeaders", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Unprotected: []byte{0xa1, 0x01, 0x38, 0x22}})},
		{name: "EmptyProtectedHeader", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Protected: []byte{}})},
		{name: "EmptyProtectedHeaderMap", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Protected: []byte{0xa0}})},
		{name: "ProtectedHeaderExtraParameter", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Protected: []byte{0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00}})},
		{name: "Signature95Bytes", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{SigLen: 95})},
		{name: "Signature97Bytes", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{SigLen: 97})},
		{name: "SignatureDER", check: checkParse, class: cloudra.ClassParse,
			doc: withEnvelope(nitrosim.SignOptions{Signature: make([]byte, 104)})},
		// Keys.
		{name: "LeafKeyP521", check: checkLeaf, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				var k [nitrosim.Levels]nitrosim.KeyType
				k[nitrosim.LevelLeaf] = nitrosim.KeyP521
				return foreignLeafDoc(t, f, k)
			}},
		{name: "LeafKeyP256", check: checkLeaf, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				var k [nitrosim.Levels]nitrosim.KeyType
				k[nitrosim.LevelLeaf] = nitrosim.KeyP256
				return foreignLeafDoc(t, f, k)
			}},
		{name: "RSAIntermediate", check: checkCABundle, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				var k [nitrosim.Levels]nitrosim.KeyType
				k[nitrosim.LevelZonal] = nitrosim.KeyRSA2048
				return chainDoc(t, f, forgeChain(t, f, nitrosim.ChainOptions{Keys: k}), nil)
			}},
		{name: "RSALeaf", check: checkLeaf, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				var k [nitrosim.Levels]nitrosim.KeyType
				k[nitrosim.LevelLeaf] = nitrosim.KeyRSA2048
				return foreignLeafDoc(t, f, k)
			}},
		{name: "IntermediateSignedSHA256", check: checkCABundle, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelZonal, func(c *x509.Certificate) { c.SignatureAlgorithm = x509.ECDSAWithSHA256 })},
		// Validity.
		{name: "ExpiredIntermediate", check: checkValidity, class: cloudra.ClassFresh,
			doc: templated(nitrosim.LevelZonal, func(c *x509.Certificate) { c.NotAfter = simTime.Add(30 * time.Second) })},
		{name: "NotYetValidIntermediate", check: checkValidity, class: cloudra.ClassFresh,
			doc: templated(nitrosim.LevelInstance, func(c *x509.Certificate) { c.NotBefore = simVerify.Add(time.Hour) })},
		{name: "NotYetValidLeaf", check: checkValidity, class: cloudra.ClassFresh, more: true,
			doc: templated(nitrosim.LevelLeaf, func(c *x509.Certificate) { c.NotBefore = simVerify.Add(time.Second) })},
		// CA profile.
		{name: "IntermediateNotCA", check: checkCABundle, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelZonal, func(c *x509.Certificate) { c.IsCA, c.MaxPathLen = false, -1 })},
		{name: "IntermediatePathLenViolated", check: checkCABundle, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelRegional, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true })},
		{name: "IntermediateBasicConstraintsNotCritical", check: checkCABundle, class: cloudra.ClassChain,
			doc: func(t *testing.T, f *simFixture) []byte {
				return templated(nitrosim.LevelZonal, func(c *x509.Certificate) {
					c.ExtraExtensions = append(c.ExtraExtensions, nonCriticalBasicConstraints(t, 1))
				})(t, f)
			}},
		{name: "IntermediateWithoutKeyCertSign", check: checkCABundle, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelInstance, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature })},
		{name: "LeafIsCA", check: checkLeaf, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelLeaf, func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true })},
		{name: "LeafWithoutDigitalSignature", check: checkLeaf, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelLeaf, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyAgreement })},
		{name: "LeafWithoutKeyUsage", check: checkLeaf, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelLeaf, func(c *x509.Certificate) { c.KeyUsage = 0 })},
		{name: "LeafWithKeyCertSign", check: checkLeaf, class: cloudra.ClassChain,
			doc: templated(nitrosim.LevelLeaf, func(c *x509.Certificate) {
				c.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
			})},
		{name: "LeafOfAnotherPKI", check: checkLeaf, class: cloudra.ClassChain,
			doc: withPayload(func(p *nitrosim.Payload) { p.Certificate = otherChain.Leaf().Raw })},
		// The signature.
		{name: "SignedByAKeyNotTheLeafs", check: checkSignature, class: cloudra.ClassSig,
			doc: func(t *testing.T, f *simFixture) []byte {
				b, err := nitrosim.Sign1(f.payload(nil).Marshal(), newP384(t), nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}},
		{name: "SignedByTheInstanceCA", check: checkSignature, class: cloudra.ClassSig,
			doc: func(t *testing.T, f *simFixture) []byte {
				b, err := nitrosim.Sign1(f.payload(nil).Marshal(), f.chain.Keys[nitrosim.LevelInstance], nil)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}},
		// Time.
		{name: "TimestampInTheFuture", check: checkTimestamp, class: cloudra.ClassFresh,
			doc: withPayload(func(p *nitrosim.Payload) { p.Timestamp = ms(simVerify) + 1 })},
		{name: "TimestampBeforeTheLeaf", check: checkTimestamp, class: cloudra.ClassFresh,
			doc: func(t *testing.T, f *simFixture) []byte {
				return withPayload(func(p *nitrosim.Payload) { p.Timestamp = ms(leafOf(t).NotBefore) - 1 })(t, f)
			}},
		{name: "TimestampPastInt64", check: checkTimestamp, class: cloudra.ClassFresh,
			doc: withPayload(func(p *nitrosim.Payload) { p.Timestamp = 1 << 63 })},
		{name: "MaxAgeExceeded", check: "max-age", class: cloudra.ClassFresh, pol: &Policy{MaxAge: "30s"},
			doc: withPayload(nil)},
		// Policy.
		{name: "DebugModeRefusedByDefault", check: "policy.allow-debug", class: cloudra.ClassPolicy,
			doc: withPayload(zeroDebug)},
		{name: "DebugModeRefusedExplicitly", check: "policy.allow-debug", class: cloudra.ClassPolicy, pol: &Policy{AllowDebug: policy.Bool(false)},
			doc: withPayload(zeroDebug)},
		{name: "EmptyAllowList", check: "pcrs.0", class: cloudra.ClassPolicy, pol: &Policy{PCRs: map[string][]cloudra.HexBytes{"0": {}}},
			doc: withPayload(nil)},
		{name: "AllowListMismatch", check: "pcrs.0", class: cloudra.ClassPolicy, pol: &Policy{PCRs: map[string][]cloudra.HexBytes{"0": {wrongPCR}}},
			doc: withPayload(nil)},
		{name: "PCRListedButAbsent", check: "pcrs.20", class: cloudra.ClassPolicy, pol: &Policy{PCRs: map[string][]cloudra.HexBytes{"20": {wrongPCR}}},
			doc: withPayload(nil)},
		{name: "EnclaveDocumentUnderNitroTPMPolicy", check: "document", class: cloudra.ClassPolicy, pol: &Policy{Document: DocumentNitroTPM},
			doc: withPayload(nil)},
		// Binding.
		{name: "NonceAbsentWhenExpected", check: checkNonce, class: cloudra.ClassBinding, pol: &Policy{Nonce: []byte("challenge")},
			doc: withPayload(func(p *nitrosim.Payload) { p.Omit |= nitrosim.FieldNonce })},
		{name: "NonceNullWhenExpected", check: checkNonce, class: cloudra.ClassBinding, pol: &Policy{Nonce: []byte("challenge")},
			doc: withPayload(nil)},
		{name: "NonceEmptyWhenExpected", check: checkNonce, class: cloudra.ClassBinding, pol: &Policy{Nonce: []byte("challenge")},
			doc: withPayload(func(p *nitrosim.Payload) { p.Nonce = []byte{} })},
		{name: "NonceOther", check: checkNonce, class: cloudra.ClassBinding, pol: &Policy{Nonce: []byte("challenge")},
			doc: withPayload(func(p *nitrosim.Payload) { p.Nonce = []byte("challengf") })},
		{name: "UserDataMismatch", check: "user-data", class: cloudra.ClassBinding, pol: &Policy{UserData: []byte("expected")},
			doc: withPayload(func(p *nitrosim.Payload) { p.UserData = []byte("something else") })},
		{name: "UserDataNull", check: "user-data", class: cloudra.ClassBinding, pol: &Policy{UserData: []byte("expected")},
			doc: withPayload(nil)},
		{name: "PublicKeyMismatch", check: "public-key", class: cloudra.ClassBinding, pol: &Policy{PublicKey: pubSum[:31]},
			doc: withPayload(func(p *nitrosim.Payload) { p.PublicKey = pub })},
		{name: "PublicKeyAbsent", check: "public-key", class: cloudra.ClassBinding, pol: &Policy{PublicKey: pubSum[:]},
			doc: withPayload(func(p *nitrosim.Payload) { p.Omit |= nitrosim.FieldPublicKey })},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.verify(t, c.doc(t, f), c.pol)
			checktest.WantFail(t, res, c.check, c.class)
			if !c.more {
				name := c.check
				if res.HasViolation(c.check) {
					name = "policy." + c.check
				}
				checktest.WantOnly(t, res, name, c.class)
			}
		})
	}
}

// TestPitfallTwinsPass: the accepting side of the policy and binding
// rows of TestPitfalls: a debug-mode document (PCR0–2 zero, AWS Nitro
// Enclaves User Guide, "Nitro Enclaves concepts: debug mode") passes with
// allow-debug and says debug; user-data equal to the document's; public-key
// equal to the document's public_key or its SHA-256; the expected nonce;
// the PCR allow-list holding the document's value among others; a max-age
// the document is within.
func TestPitfallTwinsPass(t *testing.T) {
	f := sim(t)
	pub := []byte("a DER SubjectPublicKeyInfo, in spirit")
	pubSum := sha256.Sum256(pub)
	other := make([]byte, 48)
	for _, c := range []struct {
		name string
		mod  func(p *nitrosim.Payload)
		pol  *Policy
	}{
		{"DebugModeAllowed", func(p *nitrosim.Payload) {
			for _, i := range []uint{0, 1, 2} {
				p.PCRs[i] = make([]byte, 48)
			}
		}, &Policy{AllowDebug: policy.Bool(true)}},
		{"UserDataEqual", func(p *nitrosim.Payload) { p.UserData = []byte("expected") }, &Policy{UserData: []byte("expected")}},
		{"PublicKeyEqual", func(p *nitrosim.Payload) { p.PublicKey = pub }, &Policy{PublicKey: pub}},
		{"PublicKeySHA256", func(p *nitrosim.Payload) { p.PublicKey = pub }, &Policy{PublicKey: pubSum[:]}},
		{"Nonce", func(p *nitrosim.Payload) { p.Nonce = []byte("challenge") }, &Policy{Nonce: []byte("challenge")}},
		{"AllowList", nil, &Policy{PCRs: map[string][]cloudra.HexBytes{"0": {other, f.pcrs[0]}, "2": {f.pcrs[2]}}}},
		{"MaxAge", nil, &Policy{MaxAge: "90s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.verify(t, chainDoc(t, f, nil, c.mod), c.pol)
			checktest.WantPass(t, res)
			if want := c.name == "DebugModeAllowed"; res.Claim("debug") != want {
				t.Errorf("debug claim %v, want %v", res.Claim("debug"), want)
			}
		})
	}
}

package tpm

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/policy"
)

// The tests in this file close the gaps found when every TPM entry of
// the pitfall catalogue (A, D, V) and every tpm/ vector expectation was
// mapped to a test that asserts its failure class (docs/pitfalls-tpm.md).

// gceQuote loads one GCE quote without its event log.
func gceQuote(t *testing.T, dir, bank string) Quote {
	t.Helper()
	base := fmt.Sprintf("%s/%s/quote_%s", gceDir, dir, bank)
	return Quote{
		Attest:    vectortest.Read(t, base+".tpms_attest.bin"),
		Signature: vectortest.Read(t, base+".tpmt_signature.bin"),
		PCRs:      mustPCRs(t, base+".pcrs.json"),
	}
}

// onlyFailure asserts that check is the one failed check and has class.
func onlyFailure(t *testing.T, r *cloudra.Result, check string, class cloudra.Class) {
	t.Helper()
	checktest.WantFail(t, r, check, class)
	for _, c := range r.Checks {
		if c.Outcome == cloudra.OutcomeFail && c.Name != check {
			t.Errorf("also failed: %s/%s (%s)", c.Name, c.Class, c.Detail)
		}
	}
}

// A1 on real evidence: one byte of the signed region changed (the quote
// still parses) and one byte of the signature changed are both REJECT/sig,
// and no claims are returned (A7).
func TestAuditA1RealQuoteByteFlips(t *testing.T) {
	for _, bank := range []string{"SHA1", "SHA256", "SHA384"} {
		q := gceQuote(t, "gce-cos-85-nonce9009", bank)
		nonce := []byte{0x90, 0x09}
		pol := gcePolicy(t, true)
		r, _ := VerifyQuote(context.Background(), q, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		checktest.WantPass(t, r)

		a, err := ParseAttest(q.Attest)
		if err != nil {
			t.Fatal(err)
		}
		// firmwareVersion: after magic, type, qualifiedSigner, extraData
		// and the 17-byte TPMS_CLOCK_INFO.
		fw := 4 + 2 + 2 + len(a.QualifiedSigner) + 2 + len(a.ExtraData) + 17
		flip := q
		flip.Attest = append([]byte(nil), q.Attest...)
		flip.Attest[fw+7] ^= 1
		if _, err := ParseAttest(flip.Attest); err != nil {
			t.Fatalf("flipped quote no longer parses: %v", err)
		}
		r, _ = VerifyQuote(context.Background(), flip, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		onlyFailure(t, r, "quote.signature", cloudra.ClassSig)
		if r.Claims != nil {
			t.Errorf("%s: claims returned with a bad signature", bank)
		}

		sig := q
		sig.Signature = append([]byte(nil), q.Signature...)
		sig.Signature[len(sig.Signature)-1] ^= 1
		r, _ = VerifyQuote(context.Background(), sig, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		onlyFailure(t, r, "quote.signature", cloudra.ClassSig)
		if r.Claims != nil {
			t.Errorf("%s: claims returned with a bad signature", bank)
		}
	}
}

// A1 on forged evidence: the existing flip test accepts sig or parse; the
// byte flipped (inside qualifiedSigner) keeps the quote parseable, so the
// class must be sig, and nothing else may fail.
func TestAuditA1ForgedFlipIsSig(t *testing.T) {
	good := forgeQuote(t, goodAttest(testNonce))
	flip := good
	flip.Attest = append([]byte(nil), good.Attest...)
	flip.Attest[20] ^= 1
	if _, err := ParseAttest(flip.Attest); err != nil {
		t.Fatalf("flip broke parsing: %v", err)
	}
	onlyFailure(t, verifyForged(t, flip, testNonce, nil), "quote.signature", cloudra.ClassSig)
}

// A2/V10: the AK certificate path. One byte inside the TBS of the AK
// certificate or of the intermediate (both still parse, the AK key is
// unchanged), a missing intermediate, and verification before the
// certificate's notBefore are all REJECT/chain on ak.trust, with no claims.
func TestAuditA2AKCertChain(t *testing.T) {
	q := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	nonce := []byte{0x90, 0x09}
	pol := gcePolicy(t, false)

	// corrupt changes one byte of the serial number inside the TBS.
	corrupt := func(c *x509.Certificate) *x509.Certificate {
		raw := append([]byte(nil), c.Raw...)
		// TBS starts after the outer SEQUENCE header; the serial is the
		// INTEGER after the [0] version: find the serial bytes by value.
		ser := c.SerialNumber.Bytes()
		off := -1
		for i := 0; i+len(ser) <= len(raw); i++ {
			if string(raw[i:i+len(ser)]) == string(ser) {
				off = i
				break
			}
		}
		if off < 0 || len(ser) == 0 {
			t.Fatal("serial not found")
		}
		raw[off+len(ser)-1] ^= 1
		out, err := x509.ParseCertificate(raw)
		if err != nil {
			t.Fatalf("corrupted certificate does not parse: %v", err)
		}
		return out
	}
	ak := gceAK(t)
	r, _ := VerifyQuote(context.Background(), q, ak, nonce, pol, cloudra.Options{Time: gceTime})
	checktest.WantPass(t, r)

	leafBad := gceAK(t)
	leafBad.Cert = corrupt(leafBad.Cert)
	r, _ = VerifyQuote(context.Background(), q, leafBad, nonce, pol, cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "ak.trust", cloudra.ClassChain)
	if r.Claims != nil {
		t.Error("claims returned with a broken chain")
	}

	interBad := gceAK(t)
	interBad.Chain = []*x509.Certificate{corrupt(interBad.Chain[0]), interBad.Chain[1]}
	r, _ = VerifyQuote(context.Background(), q, interBad, nonce, pol, cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "ak.trust", cloudra.ClassChain)

	noInter := gceAK(t)
	noInter.Chain = noInter.Chain[1:]
	r, _ = VerifyQuote(context.Background(), q, noInter, nonce, pol, cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "ak.trust", cloudra.ClassChain)

	// Chain order does not matter (the pool is built from fingerprints).
	rev := gceAK(t)
	rev.Chain = []*x509.Certificate{rev.Chain[1], rev.Chain[0]}
	r, _ = VerifyQuote(context.Background(), q, rev, nonce, pol, cloudra.Options{Time: gceTime})
	checktest.WantPass(t, r)

	// The AK certificate is valid from 2021-08-31: a day before, it fails
	// as not yet valid (class fresh, as a not-yet-valid VCEK does).
	r, _ = VerifyQuote(context.Background(), q, gceAK(t), nonce, pol, cloudra.Options{Time: time.Date(2021, 8, 30, 0, 0, 0, 0, time.UTC)})
	onlyFailure(t, r, "ak.trust", cloudra.ClassFresh)
}

// D4/V7: a genuine AK certificate next to a quote signed by another key.
// The quote's own signature verifies under the key supplied, but the
// certificate is not for it: REJECT/chain.
func TestAuditD4AKCertForAnotherKey(t *testing.T) {
	keys(t)
	good := forgeQuote(t, goodAttest(testNonce))
	ak := gceAK(t)
	ak.Public = rsaAK(t)
	r, err := VerifyQuote(context.Background(), good, ak, testNonce, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	r = checktest.Result(t, r, err)
	onlyFailure(t, r, "ak.trust", cloudra.ClassChain)
}

// D4 on real evidence: each real quote verified with another real AK is
// REJECT/sig (the keys are all RSA-2048, RSASSA-SHA256).
func TestAuditD4RealQuoteOtherAK(t *testing.T) {
	gce := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	az24 := mustPublic(t, kinvolk+"/2024/akpub.pem")
	az23 := mustPublic(t, kinvolk+"/2023/akpub.pem")
	r, _ := VerifyQuote(context.Background(), gce, AK{Public: az24, BoundBy: "test"}, []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{})
	onlyFailure(t, r, "quote.signature", cloudra.ClassSig)

	q23 := Quote{Attest: vectortest.Read(t, kinvolk+"/2023/quote_msg"), Signature: vectortest.Read(t, kinvolk+"/2023/quote_sig"), PlainSignature: true}
	r, _ = VerifyQuote(context.Background(), q23, AK{Public: az24, BoundBy: "test"}, []byte{1, 2, 3}, nil, cloudra.Options{})
	onlyFailure(t, r, "quote.signature", cloudra.ClassSig)
	r, _ = VerifyQuote(context.Background(), q23, AK{Public: az23, BoundBy: "test"}, []byte{1, 2, 3}, nil, cloudra.Options{})
	checktest.WantPass(t, r)
	// 2023 wrong nonce: REJECT/fresh.
	r, _ = VerifyQuote(context.Background(), q23, AK{Public: az23, BoundBy: "test"}, []byte{1, 2, 3, 4}, nil, cloudra.Options{})
	onlyFailure(t, r, "quote.nonce", cloudra.ClassFresh)
}

// D3 on the GCE vectors: the no-nonce quote fails the default policy
// (require-nonce, REJECT/fresh) and fails when a nonce was sent; the
// nonce quote fails when none was expected.
func TestAuditD3GCENonce(t *testing.T) {
	noNonce := gceQuote(t, "gce-cos-85-no-nonce", "SHA256")
	pol := gcePolicy(t, false)
	pol.RequireNonce = nil // default: required
	r, _ := VerifyQuote(context.Background(), noNonce, gceAK(t), nil, pol, cloudra.Options{Time: gceTime})
	if r.Verdict != cloudra.Fail || len(r.Violations) != 1 || r.Violations[0].Rule != "require-nonce" || r.Violations[0].Class != cloudra.ClassFresh {
		t.Errorf("no nonce under the default policy: %s %+v", r.Verdict, r.Violations)
	}
	if fc := r.FailureClasses(); len(fc) != 1 || fc[0] != cloudra.ClassFresh {
		t.Errorf("classes %v", fc)
	}
	r, _ = VerifyQuote(context.Background(), noNonce, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "quote.nonce", cloudra.ClassFresh)

	withNonce := gceQuote(t, "gce-cos-85-nonce9009", "SHA384")
	r, _ = VerifyQuote(context.Background(), withNonce, gceAK(t), nil, gcePolicy(t, true), cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "quote.nonce", cloudra.ClassFresh)
}

// A5: every prefix of the real TPMS_ATTEST and TPMT_SIGNATURE is
// REJECT/parse through VerifyQuote (never a panic, never another class);
// every prefix of the AK public area is an error.
func TestAuditA5TruncateEveryOffset(t *testing.T) {
	q := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	nonce := []byte{0x90, 0x09}
	pol := gcePolicy(t, false)
	for cut := 0; cut < len(q.Attest); cut++ {
		m := q
		m.Attest = q.Attest[:cut]
		r, err := VerifyQuote(context.Background(), m, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		r = checktest.Result(t, r, err)
		if fc := r.FailureClasses(); r.Verdict != cloudra.Fail || len(fc) != 1 || fc[0] != cloudra.ClassParse || r.Claims != nil {
			t.Fatalf("attest cut at %d: %s %v", cut, r.Verdict, fc)
		}
	}
	for cut := 0; cut < len(q.Signature); cut++ {
		m := q
		m.Signature = q.Signature[:cut]
		r, _ := VerifyQuote(context.Background(), m, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		if fc := r.FailureClasses(); r.Verdict != cloudra.Fail || len(fc) != 1 || fc[0] != cloudra.ClassParse {
			t.Fatalf("signature cut at %d: %s %v", cut, r.Verdict, fc)
		}
	}
	pub := vectortest.Read(t, gceDir+"/ak_pub.tpmt_public.bin")
	for cut := 0; cut < len(pub); cut++ {
		if _, err := ParsePublic(pub[:cut]); err == nil {
			t.Fatalf("AK public cut at %d accepted", cut)
		}
	}
	// Unknown enum values: signature scheme, signature hash, attest type.
	for name, mut := range map[string]func(q *Quote){
		"sig alg":   func(q *Quote) { binary.BigEndian.PutUint16(q.Signature[0:], 0x7777) },
		"sig hash":  func(q *Quote) { binary.BigEndian.PutUint16(q.Signature[2:], 0x7777) },
		"attest st": func(q *Quote) { binary.BigEndian.PutUint16(q.Attest[4:], 0x7777) },
	} {
		m := q
		m.Attest = append([]byte(nil), q.Attest...)
		m.Signature = append([]byte(nil), q.Signature...)
		mut(&m)
		r, _ := VerifyQuote(context.Background(), m, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
		if fc := r.FailureClasses(); r.Verdict != cloudra.Fail || len(fc) != 1 || fc[0] != cloudra.ClassParse {
			t.Errorf("%s: %s %v", name, r.Verdict, fc)
		}
	}
}

// V4: trailing bytes after the signature and the AK public area are
// rejected as they are after TPMS_ATTEST.
func TestAuditV4Trailing(t *testing.T) {
	q := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	m := q
	m.Signature = append(append([]byte(nil), q.Signature...), 0)
	r, _ := VerifyQuote(context.Background(), m, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "quote.parse", cloudra.ClassParse)
	m = q
	m.Attest = append(append([]byte(nil), q.Attest...), 0)
	r, _ = VerifyQuote(context.Background(), m, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	onlyFailure(t, r, "quote.parse", cloudra.ClassParse)
	pub := vectortest.Read(t, gceDir+"/ak_pub.tpmt_public.bin")
	if _, err := ParsePublic(append(append([]byte(nil), pub...), 0)); err == nil {
		t.Error("AK public area with a trailing byte accepted")
	}
}

// A6: a signature valid only under another interpretation than the one it
// declares is REJECT/sig — the verifier tries nothing else.
func TestAuditA6NoSecondInterpretation(t *testing.T) {
	keys(t)
	raw, _ := goodAttest(testNonce).Marshal()
	bare, _ := ParseTPMTPublic(tpmtRSA(&forgeRSA.PublicKey, AKAttributes, AlgNull, 0))
	ak := AK{Public: bare, BoundBy: "test"}
	sign := func(alg Alg, h crypto.Hash) []byte {
		hh := h.New()
		hh.Write(raw)
		var s []byte
		var err error
		if alg == AlgRSAPSS {
			s, err = rsa.SignPSS(rand.Reader, forgeRSA, h, hh.Sum(nil), nil)
		} else {
			s, err = rsa.SignPKCS1v15(rand.Reader, forgeRSA, h, hh.Sum(nil))
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	label := func(alg, hash Alg, s []byte) []byte {
		b, err := (&Signature{Alg: alg, Hash: hash, RSA: s}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, sig := range map[string][]byte{
		"pss labelled rsassa":     label(AlgRSASSA, AlgSHA256, sign(AlgRSAPSS, crypto.SHA256)),
		"rsassa labelled pss":     label(AlgRSAPSS, AlgSHA256, sign(AlgRSASSA, crypto.SHA256)),
		"sha384 labelled sha256":  label(AlgRSASSA, AlgSHA256, sign(AlgRSASSA, crypto.SHA384)),
		"sha256 labelled sha384":  label(AlgRSASSA, AlgSHA384, sign(AlgRSASSA, crypto.SHA256)),
		"sha1 labelled sha256":    label(AlgRSASSA, AlgSHA256, sign(AlgRSASSA, crypto.SHA1)),
		"pss-sha384 labelled 256": label(AlgRSAPSS, AlgSHA256, sign(AlgRSAPSS, crypto.SHA384)),
	} {
		q := Quote{Attest: raw, Signature: sig, PCRs: testPCRs()}
		r, _ := VerifyQuote(context.Background(), q, ak, testNonce, &Policy{Banks: []string{"sha1", "sha256", "sha384"}}, cloudra.Options{})
		if c, _ := r.Check("quote.signature"); c.Outcome != cloudra.OutcomeFail || c.Class != cloudra.ClassSig {
			t.Errorf("%s: quote.signature %+v", name, c)
		}
	}
	// A raw signature takes the AK's scheme (RSASSA-SHA256 for a bare key):
	// a raw PSS or SHA-384 signature is not tried as such.
	for name, s := range map[string][]byte{"raw pss": sign(AlgRSAPSS, crypto.SHA256), "raw sha384": sign(AlgRSASSA, crypto.SHA384)} {
		q := Quote{Attest: raw, Signature: s, PlainSignature: true, PCRs: testPCRs()}
		r, _ := VerifyQuote(context.Background(), q, ak, testNonce, nil, cloudra.Options{})
		onlyFailure(t, r, "quote.signature", cloudra.ClassSig)
		_ = name
	}
	q := Quote{Attest: raw, Signature: sign(AlgRSASSA, crypto.SHA256), PlainSignature: true, PCRs: testPCRs()}
	r, _ := VerifyQuote(context.Background(), q, ak, testNonce, nil, cloudra.Options{})
	checktest.WantPass(t, r)
}

// D6 through VerifyQuote: the GCE quote's own event log cut mid-event is
// REJECT/parse on eventlog.parse, not a partial replay.
func TestAuditD6TruncatedLogInQuote(t *testing.T) {
	q := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	full := vectortest.Read(t, gceDir+"/eventlog.bin")
	q.EventLog = full
	r, _ := VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	checktest.WantPass(t, r)
	for _, cut := range []int{7, 40, len(full) / 2, len(full) - 1} {
		q.EventLog = full[:cut]
		r, _ = VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
		onlyFailure(t, r, "eventlog.parse", cloudra.ClassParse)
		for _, c := range r.Checks {
			if c.Name == "eventlog.replay" {
				t.Errorf("cut %d: replayed a truncated log: %+v", cut, c)
			}
		}
	}
}

// A3: a failure confined to one late check (one PCR of the event-log
// replay, after everything else passed) still fails the verdict.
func TestAuditA3LateSingleFailure(t *testing.T) {
	q := gceQuote(t, "gce-cos-85-nonce9009", "SHA256")
	q.EventLog = vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/cos-93-amd-sev.bin")
	r, _ := VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: gceTime})
	if r.Verdict != cloudra.Fail {
		t.Fatalf("verdict %s", r.Verdict)
	}
	for _, c := range r.Checks {
		if c.Outcome == cloudra.OutcomeFail && (c.Name != "eventlog.replay" || c.Class != cloudra.ClassBinding) {
			t.Errorf("unexpected failure %s/%s", c.Name, c.Class)
		}
	}
	if fc := r.FailureClasses(); len(fc) != 1 || fc[0] != cloudra.ClassBinding {
		t.Errorf("classes %v", fc)
	}
}

// quoteOverLog forges a quote over all 24 SHA-256 PCRs as raw replays to,
// carrying raw as its event log.
func quoteOverLog(t *testing.T, raw []byte) Quote {
	t.Helper()
	lg, err := eventlog.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := eventlog.Replay(lg, eventlog.AlgSHA256)
	p := PCRs{}
	sel := PCRSelection{Hash: AlgSHA256, SizeOfSelect: 3}
	for i := 0; i < 24; i++ {
		v, ok := rep[i]
		if !ok {
			v = eventlog.ResetValue(i, 32)
		}
		p.Set(AlgSHA256, i, v)
		sel.PCRs = append(sel.PCRs, i)
	}
	a := goodAttest(testNonce)
	a.PCRSelect = []PCRSelection{sel}
	a.PCRDigest = digestOf(crypto.SHA256, a.PCRSelect, p)
	q := forgeQuote(t, a)
	q.PCRs, q.EventLog = p, raw
	return q
}

// D5: a boot application hidden by retyping its PCR4 event to another
// type PCR4 may carry. The replay still matches the quote, so only the
// event rules stand between the disallowed kernel and an efi-app-digests
// policy that does not list it: every such log must fail.
func TestAuditD5HiddenBootApplication(t *testing.T) {
	b := vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/cos-85-amd-sev.bin")
	l, err := eventlog.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	st, err := eventlog.Analyze(l, eventlog.AlgSHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The apps (needs PCR4 verified): from a genuine VerifyQuote.
	r := verifyForged(t, quoteOverLog(t, b), testNonce, nil)
	checktest.WantPass(t, r)
	boot := r.Claims.(*Claims).Boot
	if boot == nil || len(boot.EFIApps) < 2 {
		t.Fatalf("genuine log: apps %+v (%v)", boot, st.Notes)
	}
	apps := boot.EFIApps
	allowed := apps[:len(apps)-1] // the last one (the kernel) is not allowed
	checktest.WantPass(t, verifyForged(t, quoteOverLog(t, b), testNonce, &Policy{EFIAppDigests: apps}))
	r = verifyForged(t, quoteOverLog(t, b), testNonce, &Policy{EFIAppDigests: allowed})
	if r.Verdict != cloudra.Fail || len(r.Violations) != 1 || r.Violations[0].Rule != "efi-app-digests" {
		t.Fatalf("disallowed kernel: %s %+v", r.Verdict, r.Violations)
	}

	last := -1
	for i, e := range l.Events {
		if e.Index == 4 && e.Type == eventlog.EvEFIBootServicesApp {
			last = i
		}
	}
	for _, typ := range []eventlog.EventType{eventlog.EvEFIAction, eventlog.EvEventTag, eventlog.EvCompactHash,
		eventlog.EvEFIBootServicesDriver, eventlog.EvIPL} {
		m, _ := eventlog.Parse(b)
		m.Events[last].Type = typ
		r := verifyForged(t, quoteOverLog(t, m.Marshal()), testNonce, &Policy{EFIAppDigests: allowed})
		if r.Verdict != cloudra.Fail || !r.HasFailure(cloudra.ClassPolicy) {
			t.Errorf("kernel retyped to %v: %s %v (apps %v)", typ, r.Verdict, r.FailureClasses(), r.Claims)
		}
	}
}

// D4: a bare public key (PEM, JWK) says nothing about restricted/fixedTPM;
// require-ak-attributes makes that a violation, and a TPMT_PUBLIC with the
// AK attributes satisfies it. require-event-log likewise.
func TestAuditD4RequireAKAttributes(t *testing.T) {
	keys(t)
	good := forgeQuote(t, goodAttest(testNonce))
	pol := &Policy{RequireAKAttributes: policy.Bool(true)}
	bare := AKFromKey(&forgeRSA.PublicKey)
	bare.BoundBy = "test"
	r, _ := VerifyQuote(context.Background(), good, bare, testNonce, nil, cloudra.Options{})
	checktest.WantPass(t, r)
	r, _ = VerifyQuote(context.Background(), good, bare, testNonce, pol, cloudra.Options{})
	if r.Verdict != cloudra.Fail || len(r.Violations) != 1 || r.Violations[0].Rule != "require-ak-attributes" || r.Violations[0].Class != cloudra.ClassPolicy {
		t.Errorf("bare key under require-ak-attributes: %s %+v", r.Verdict, r.Violations)
	}
	r, _ = VerifyQuote(context.Background(), good, AK{Public: rsaAK(t), BoundBy: "test"}, testNonce, pol, cloudra.Options{})
	checktest.WantPass(t, r)

	r, _ = VerifyQuote(context.Background(), good, AK{Public: rsaAK(t), BoundBy: "test"}, testNonce, &Policy{RequireEventLog: policy.Bool(true)}, cloudra.Options{})
	if r.Verdict != cloudra.Fail || len(r.Violations) != 1 || r.Violations[0].Rule != "require-event-log" {
		t.Errorf("no log under require-event-log: %s %+v", r.Verdict, r.Violations)
	}
}

package tpm

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/policy"
	"github.com/google/go-tpm/tpm2"
)

var testNonce = []byte("0123456789abcdef")

func verifyForged(t *testing.T, q Quote, nonce []byte, pol *Policy) *cloudra.Result {
	t.Helper()
	r, err := VerifyQuote(context.Background(), q, AK{Public: rsaAK(t), BoundBy: "test"}, nonce, pol, cloudra.Options{})
	r = checktest.Result(t, r, err)
	return r
}

// The positive twin of every case below.
func TestForgedPositive(t *testing.T) {
	r := verifyForged(t, forgeQuote(t, goodAttest(testNonce)), testNonce, nil)
	checktest.WantPass(t, r)
	for _, name := range []string{"quote.parse", "quote.magic", "quote.type", "quote.signature", "quote.nonce",
		"quote.pcr-selection", "quote.pcr-digest", "ak.attributes", "ak.trust"} {
		if c, ok := r.Check(name); !ok || c.Outcome != cloudra.OutcomePass {
			t.Errorf("%s: %+v", name, c)
		}
	}
}

// D1: a blob signed by the AK that does not start with TPM_GENERATED_VALUE
// (what a non-restricted key would sign) is REJECT/parse — even though the
// signature is valid.
func TestD1Magic(t *testing.T) {
	for _, m := range []uint32{0, 0xff544346, 0xdeadbeef} {
		a := goodAttest(testNonce)
		a.Magic = m
		r := verifyForged(t, forgeQuote(t, a), testNonce, nil)
		checktest.WantFail(t, r, "quote.magic", cloudra.ClassParse)
		if r.Claims != nil {
			t.Error("claims on a parse failure")
		}
		raw, _ := a.Marshal()
		if _, err := ParseAttest(raw); !errors.Is(err, ErrMagic) {
			t.Errorf("magic %08x: %v", m, err)
		}
		// go-tpm's reflection unmarshaller accepts it (go-tpm PR #435):
		// the reason cloudra checks the magic itself.
		if _, err := tpm2.Unmarshal[tpm2.TPMSAttest](raw); err != nil && m == 0xdeadbeef {
			t.Logf("go-tpm now rejects bad magic: %v", err)
		}
	}
}

func TestWrongType(t *testing.T) {
	a := goodAttest(testNonce)
	a.Type = STAttestCertify
	r := verifyForged(t, forgeQuote(t, a), testNonce, nil)
	checktest.WantFail(t, r, "quote.type", cloudra.ClassParse)
}

func TestTrailingBytes(t *testing.T) {
	raw, _ := goodAttest(testNonce).Marshal()
	raw = append(raw, 1, 2, 3)
	r := verifyForged(t, forgeRaw(t, raw), testNonce, nil)
	checktest.WantFail(t, r, "quote.parse", cloudra.ClassParse)
	var pe *ParseError
	if _, err := ParseAttest(raw); !errors.As(err, &pe) {
		t.Errorf("trailing bytes: %v", err)
	}
	// go-tpm accepts them.
	if _, err := tpm2.Unmarshal[tpm2.TPMSAttest](raw); err != nil {
		t.Logf("go-tpm now rejects trailing bytes: %v", err)
	}
}

// PCR selection bitmap sizes, counts, duplicate banks, unknown hashes.
func TestPCRSelectionBounds(t *testing.T) {
	raw, _ := goodAttest(testNonce).Marshal()
	// Locate TPML_PCR_SELECTION: after the fixed fields.
	a, _ := ParseAttest(raw)
	selOff := 4 + 2 + 2 + len(a.QualifiedSigner) + 2 + len(a.ExtraData) + 17 + 8
	mut := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), raw...)
		return f(b)
	}
	cases := map[string][]byte{
		"sizeofSelect 5": mut(func(b []byte) []byte {
			b[selOff+6] = 5
			return append(b[:selOff+7+3], append([]byte{0, 0}, b[selOff+7+3:]...)...)
		}),
		"sizeofSelect 255": mut(func(b []byte) []byte { b[selOff+6] = 255; return b }),
		"count 17":         mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[selOff:], 17); return b }),
		"count 2^32-1":     mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[selOff:], 0xffffffff); return b }),
		"hash rsa":         mut(func(b []byte) []byte { binary.BigEndian.PutUint16(b[selOff+4:], uint16(AlgRSA)); return b }),
		"duplicate bank": mut(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[selOff:], 2)
			one := append([]byte(nil), b[selOff+4:selOff+10]...)
			return append(b[:selOff+10], append(one, b[selOff+10:]...)...)
		}),
		"truncated":    raw[:len(raw)-5],
		"safe = 2":     mut(func(b []byte) []byte { b[selOff-9] = 2; return b }),
		"extra length": mut(func(b []byte) []byte { b[4+2+2+len(a.QualifiedSigner)] = 0xff; return b }),
	}
	for name, b := range cases {
		if _, err := ParseAttest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		r := verifyForged(t, forgeRaw(t, b), testNonce, nil)
		if r.Verdict != cloudra.Fail || !r.HasFailure(cloudra.ClassParse) {
			t.Errorf("%s: %s %v", name, r.Verdict, r.FailureClasses())
		}
	}
}

// D2: PCR values and labels come from the signed selection.
func TestD2PCRMapping(t *testing.T) {
	q := forgeQuote(t, goodAttest(testNonce))
	// Values for more PCRs than quoted.
	more := testPCRs()
	more.Set(AlgSHA256, 8, make([]byte, 32))
	q1 := q
	q1.PCRs = more
	checktest.WantFail(t, verifyForged(t, q1, testNonce, nil), "quote.pcr-selection", cloudra.ClassBinding)
	// Values missing for a quoted PCR.
	less := testPCRs()
	delete(less[AlgSHA256], 3)
	q1.PCRs = less
	checktest.WantFail(t, verifyForged(t, q1, testNonce, nil), "quote.pcr-selection", cloudra.ClassBinding)
	// SHA-1 values for a SHA-256 selection.
	sha1 := PCRs{}
	for i := 0; i < 8; i++ {
		sha1.Set(AlgSHA1, i, make([]byte, 20))
	}
	q1.PCRs = sha1
	checktest.WantFail(t, verifyForged(t, q1, testNonce, nil), "quote.pcr-selection", cloudra.ClassBinding)
	// Values relabelled (0..7 shifted to 9..): values must match the digest.
	swapped := testPCRs()
	swapped[AlgSHA256][0], swapped[AlgSHA256][1] = swapped[AlgSHA256][1], swapped[AlgSHA256][0]
	q1.PCRs = swapped
	checktest.WantFail(t, verifyForged(t, q1, testNonce, nil), "quote.pcr-digest", cloudra.ClassBinding)
	// A quote over {0..7, 9} labels PCR 9 correctly; a PCR policy on 8 fails.
	a := goodAttest(testNonce)
	a.PCRSelect = []PCRSelection{{Hash: AlgSHA256, SizeOfSelect: 3, PCRs: []int{0, 1, 2, 3, 4, 5, 6, 7, 9}}}
	p := testPCRs()
	p.Set(AlgSHA256, 9, bytes.Repeat([]byte{9}, 32))
	a.PCRDigest = digestOf(crypto.SHA256, a.PCRSelect, p)
	q2 := forgeQuote(t, a)
	q2.PCRs = p
	pol := &Policy{PCRs: map[string]map[string][]string{"sha256": {"9": {hex.EncodeToString(p[AlgSHA256][9])}, "8": {"00"}}}}
	r := verifyForged(t, q2, testNonce, pol)
	if len(r.Violations) != 1 || r.Violations[0].Rule != "pcrs.sha256.8" {
		t.Errorf("violations %+v", r.Violations)
	}
	if c, _ := r.Check("quote.pcr-digest"); c.Outcome != cloudra.OutcomePass {
		t.Errorf("pcr-digest %+v", c)
	}
}

// The pcrDigest hash is the signature's, not the bank's (TPM 2.0 Part 2).
func TestPCRDigestUsesSigningHash(t *testing.T) {
	keys(t)
	a := goodAttest(testNonce)
	p := PCRs{}
	a.PCRSelect = []PCRSelection{{Hash: AlgSHA384, SizeOfSelect: 3, PCRs: []int{0, 1}}}
	p.Set(AlgSHA384, 0, make([]byte, 48))
	p.Set(AlgSHA384, 1, bytes.Repeat([]byte{1}, 48))
	a.PCRDigest = digestOf(crypto.SHA256, a.PCRSelect, p)
	q := forgeQuote(t, a)
	q.PCRs = p
	checktest.WantPass(t, verifyForged(t, q, testNonce, nil))
}

// D3: stale, empty or prefix nonces are REJECT/fresh.
func TestD3Nonce(t *testing.T) {
	q := forgeQuote(t, goodAttest(testNonce))
	for name, n := range map[string][]byte{"other": []byte("fedcba9876543210"), "prefix": testNonce[:4], "longer": append(append([]byte(nil), testNonce...), 0), "empty": nil} {
		r := verifyForged(t, q, n, nil)
		checktest.WantFail(t, r, "quote.nonce", cloudra.ClassFresh)
		_ = name
	}
	// A quote without extraData, no nonce expected: violates require-nonce
	// by default, passes when the policy waives it.
	q0 := forgeQuote(t, goodAttest(nil))
	r := verifyForged(t, q0, nil, nil)
	if len(r.Violations) != 1 || r.Violations[0].Rule != "require-nonce" || r.Violations[0].Class != cloudra.ClassFresh {
		t.Errorf("violations %+v", r.Violations)
	}
	checktest.WantPass(t, verifyForged(t, q0, nil, &Policy{RequireNonce: policy.Bool(false)}))
}

// D4: signature by an unrelated key; AK without restricted/fixedTPM; AK
// not anchored.
func TestD4AK(t *testing.T) {
	keys(t)
	raw, _ := goodAttest(testNonce).Marshal()
	q := Quote{Attest: raw, Signature: signRSA(t, otherRSA, AlgRSASSA, AlgSHA256, raw), PCRs: testPCRs()}
	checktest.WantFail(t, verifyForged(t, q, testNonce, nil), "quote.signature", cloudra.ClassSig)

	// One flipped byte of the signed region, signature unchanged.
	good := forgeQuote(t, goodAttest(testNonce))
	flip := good
	flip.Attest = append([]byte(nil), good.Attest...)
	flip.Attest[20] ^= 1
	r := verifyForged(t, flip, testNonce, nil)
	if !r.HasFailure(cloudra.ClassSig) && !r.HasFailure(cloudra.ClassParse) {
		t.Errorf("flipped attest: %v", r.FailureClasses())
	}

	for _, attrs := range []uint32{AKAttributes &^ AttrRestricted, AKAttributes &^ AttrFixedTPM, AttrSign | AttrDecrypt} {
		pub, err := ParseTPMTPublic(tpmtRSA(&forgeRSA.PublicKey, attrs, AlgNull, 0))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := VerifyQuote(context.Background(), good, AK{Public: pub, BoundBy: "test"}, testNonce, nil, cloudra.Options{})
		checktest.WantFail(t, r, "ak.attributes", cloudra.ClassChain)
	}
	r, _ = VerifyQuote(context.Background(), good, AK{Public: rsaAK(t)}, testNonce, nil, cloudra.Options{})
	checktest.WantFail(t, r, "ak.trust", cloudra.ClassChain)
	// Pinned by TPM Name or by SPKI digest.
	ak := rsaAK(t)
	for _, pin := range []string{hex.EncodeToString(ak.Name), pinOf(t, ak)} {
		r, _ = VerifyQuote(context.Background(), good, AK{Public: ak}, testNonce, &Policy{AKPins: []string{pin}}, cloudra.Options{})
		checktest.WantPass(t, r)
	}
	// Signature scheme that the AK's fixed scheme forbids.
	pss := Quote{Attest: good.Attest, Signature: signRSA(t, forgeRSA, AlgRSAPSS, AlgSHA256, good.Attest), PCRs: testPCRs()}
	checktest.WantFail(t, verifyForged(t, pss, testNonce, nil), "quote.signature", cloudra.ClassSig)
}

// RSA-PSS and ECDSA AKs, and the policy on SHA-1 signatures.
func TestSchemes(t *testing.T) {
	keys(t)
	raw, _ := goodAttest(testNonce).Marshal()
	pss, _ := ParseTPMTPublic(tpmtRSA(&forgeRSA.PublicKey, AKAttributes, AlgNull, 0))
	q := Quote{Attest: raw, Signature: signRSA(t, forgeRSA, AlgRSAPSS, AlgSHA256, raw), PCRs: testPCRs()}
	r, _ := VerifyQuote(context.Background(), q, AK{Public: pss, BoundBy: "t"}, testNonce, nil, cloudra.Options{})
	checktest.WantPass(t, r)

	ec, err := ParseTPMTPublic(tpmtECC(&forgeEC.PublicKey, AKAttributes))
	if err != nil {
		t.Fatal(err)
	}
	q = Quote{Attest: raw, Signature: signEC(t, forgeEC, raw), PCRs: testPCRs()}
	r, _ = VerifyQuote(context.Background(), q, AK{Public: ec, BoundBy: "t"}, testNonce, nil, cloudra.Options{})
	checktest.WantPass(t, r)
	// A signature with an ECDSA scheme under an RSA key: REJECT/sig.
	r, _ = VerifyQuote(context.Background(), q, AK{Public: pss, BoundBy: "t"}, testNonce, nil, cloudra.Options{})
	checktest.WantFail(t, r, "quote.signature", cloudra.ClassSig)

	// SHA-1 signature: cryptographically fine, refused by default policy.
	a := goodAttest(testNonce)
	a.PCRDigest = digestOf(crypto.SHA1, a.PCRSelect, testPCRs())
	raw1, _ := a.Marshal()
	q1 := Quote{Attest: raw1, Signature: signRSA(t, forgeRSA, AlgRSASSA, AlgSHA1, raw1), PCRs: testPCRs()}
	r, _ = VerifyQuote(context.Background(), q1, AK{Public: pss, BoundBy: "t"}, testNonce, nil, cloudra.Options{})
	if r.Verdict != cloudra.Fail || len(r.Violations) != 1 || r.Violations[0].Rule != "banks.signature_hash" {
		t.Errorf("SHA-1 signature: %v %+v", r.FailureClasses(), r.Violations)
	}
	r, _ = VerifyQuote(context.Background(), q1, AK{Public: pss, BoundBy: "t"}, testNonce, &Policy{Banks: []string{"sha1", "sha256"}}, cloudra.Options{})
	checktest.WantPass(t, r)
}

// Event-log rules through VerifyQuote: a retyped PCR7 log whose replay
// matches a genuine quote still fails (D5); a log that does not replay to
// the quote fails per PCR, every mismatch reported.
func TestQuoteWithEventLog(t *testing.T) {
	b := vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/cos-85-amd-sev.bin")
	l, err := eventlog.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	quoteFor := func(raw []byte) Quote { return quoteOverLog(t, raw) }
	pol := &Policy{SecureBoot: policy.Bool(true), KernelCmdlines: []string{"nope"}}
	r := verifyForged(t, quoteFor(b), testNonce, pol)
	if c, _ := r.Check("eventlog.events"); c.Outcome != cloudra.OutcomePass {
		t.Errorf("genuine log: %+v", c)
	}
	if len(r.Violations) != 1 || r.Violations[0].Rule != "kernel-cmdlines" {
		t.Errorf("violations %+v", r.Violations)
	}

	for i := range l.Events {
		if l.Events[i].Index == 7 && l.Events[i].Type != eventlog.EvNoAction {
			l.Events[i].Type = eventlog.EvUnused
		}
	}
	r = verifyForged(t, quoteFor(l.Marshal()), testNonce, &Policy{SecureBoot: policy.Bool(true)})
	checktest.WantFail(t, r, "eventlog.events", cloudra.ClassPolicy)
	if len(r.Violations) != 1 || r.Violations[0].Rule != "secure-boot" {
		t.Errorf("violations %+v", r.Violations)
	}

	// The genuine log against a quote of another log: mismatches per PCR.
	q := quoteFor(b)
	q.EventLog = vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/cos-93-amd-sev.bin")
	r = verifyForged(t, q, testNonce, nil)
	if bad := checktest.Count(r, "eventlog.replay", cloudra.OutcomeFail); bad < 2 {
		t.Errorf("%d replay mismatches reported", bad)
	}
}

// D6: a quoted firmware PCR the log never extends, holding a non-reset
// value, fails the replay; the same for PCR 10 is only a warning (IMA).
func TestLogNeverExtendsQuotedPCR(t *testing.T) {
	full, err := eventlog.Parse(vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/cos-85-amd-sev.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// Keep only PCR 0 events.
	l := *full
	l.Events = nil
	for _, e := range full.Events {
		if e.Index == 0 {
			l.Events = append(l.Events, e)
		}
	}
	raw := l.Marshal()
	rep, _ := eventlog.Replay(&l, eventlog.AlgSHA256)
	p := PCRs{}
	p.Set(AlgSHA256, 0, rep[0])
	p.Set(AlgSHA256, 1, bytes.Repeat([]byte{1}, 32))
	p.Set(AlgSHA256, 10, bytes.Repeat([]byte{2}, 32))
	a := goodAttest(testNonce)
	a.PCRSelect = []PCRSelection{{Hash: AlgSHA256, SizeOfSelect: 3, PCRs: []int{0, 1, 10}}}
	a.PCRDigest = digestOf(crypto.SHA256, a.PCRSelect, p)
	q := forgeQuote(t, a)
	q.PCRs, q.EventLog = p, raw
	r := verifyForged(t, q, testNonce, nil)
	var outcomes []string
	for _, c := range r.Checks {
		if c.Name == "eventlog.replay" {
			outcomes = append(outcomes, string(c.Outcome))
		}
	}
	if fmt.Sprint(outcomes) != "[pass fail warn]" {
		t.Errorf("replay outcomes %v", outcomes)
	}
	checktest.WantFail(t, r, "eventlog.replay", cloudra.ClassBinding)
}

package nitro

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/policy"
)

// realVector is one real attestation document and what its provenance
// says of it.
type realVector struct {
	dir       string
	timestamp uint64 // the document's own time, in ms: its pinned time
	debug     bool
	badSig    bool
	cage      bool // user_data is the SPKI of cage_cert.der
}

var realVectors = []realVector{
	{dir: "eternis-2024-07-23-bad-signature", timestamp: 1721770180771, debug: true, badSig: true},
	{dir: "eternis-2024-09-09-debug", timestamp: 1725911352400, debug: true},
	{dir: "evervault-2022-10-12-debug", timestamp: 1665582606081, debug: true},
	{dir: "evervault-2022-10-13-nondebug", timestamp: 1665651482136},
	{dir: "evervault-2023-01-18-cage-debug", timestamp: 1674054632312, debug: true, cage: true},
	{dir: "evervault-2023-01-18-cage-nondebug", timestamp: 1674047239280, cage: true},
}

func readVector(t testing.TB, v realVector, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectortest.Dir(t), "nitro", v.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// independent reads the fields the independent checker printed for the
// vector (CHECK-OUTPUT.txt): "PCRn=hex", "nonce=hex", "user_data=hex",
// "public_key=hex" (empty for CBOR null).
func independent(t *testing.T, v realVector) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(vectortest.Dir(t), "nitro", v.dir, "CHECK-OUTPUT.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		for _, p := range []string{"PCR", "nonce=", "user_data=", "public_key="} {
			if k, val, ok := strings.Cut(line, "="); ok && strings.HasPrefix(line, p) && !strings.Contains(k, " ") {
				out[strings.ToLower(k)] = val
			}
		}
	}
	return out
}

func at(ms uint64) time.Time { return time.UnixMilli(int64(ms)).UTC() }

func mustVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRealDocuments: every real document gives, at its own time, the
// verdict of its provenance (the altered one REJECT/sig while its chain
// validates; debug-mode ones REJECT/policy by default and ACCEPT with
// allow-debug), the PCRs, nonce, user data and public key the independent
// checker printed, and the debug flag; tagged with CBOR tag 18, the same.
func TestRealDocuments(t *testing.T) {
	v := mustVerifier(t)
	allowDebug := &Policy{AllowDebug: policy.Bool(true)}
	for _, vec := range realVectors {
		t.Run(vec.dir, func(t *testing.T) {
			doc := readVector(t, vec, "attestation_doc.cbor")
			want := independent(t, vec)
			for _, tagged := range []bool{false, true} {
				b := doc
				if tagged {
					b = append([]byte{0xd2}, doc...)
				}
				opts := cloudra.Options{Time: at(vec.timestamp)}
				res, err := v.Verify(context.Background(), Evidence{Document: b}, nil, opts)
				res = checktest.Result(t, res, err)
				for _, c := range []string{checkParse, checkRoot, checkCABundle, checkLeaf} {
					checktest.WantCheck(t, res, c, cloudra.OutcomePass, "")
				}
				if vec.badSig {
					checktest.WantOnly(t, res, checkSignature, cloudra.ClassSig)
					continue
				}
				checktest.WantCheck(t, res, checkSignature, cloudra.OutcomePass, "")
				checktest.WantCheck(t, res, checkValidity, cloudra.OutcomePass, "")
				checktest.WantCheck(t, res, checkTimestamp, cloudra.OutcomePass, "")
				if vec.debug {
					checktest.WantOnly(t, res, "policy.allow-debug", cloudra.ClassPolicy)
					if res.Claim("debug") != true {
						t.Errorf("debug claim %v", res.Claim("debug"))
					}
					res, err = v.Verify(context.Background(), Evidence{Document: b}, allowDebug, opts)
					res = checktest.Result(t, res, err)
				}
				checktest.WantPass(t, res)
				if res.Claim("debug") != vec.debug || res.Cloud != "aws" {
					t.Errorf("debug %v cloud %q", res.Claim("debug"), res.Cloud)
				}
				for k, val := range want {
					claim := k
					if strings.HasPrefix(k, "pcr") {
						claim = k
					}
					got := res.Claim(claim)
					if val == "" {
						if got != nil {
							t.Errorf("%s = %v, want null", claim, got)
						}
						continue
					}
					if got != val {
						t.Errorf("%s = %v, want %s", claim, got, val)
					}
				}
			}
		})
	}
}

// TestRealDocumentsExpireWithTheirLeaf: at the verification time of today
// every real document is stale (its chain expired; the leaf lives three
// hours), and so is one checked a second after its leaf's notAfter; the
// leaf's notAfter itself is inside (RFC 5280 §4.1.2.5).
func TestRealDocumentsExpireWithTheirLeaf(t *testing.T) {
	v := mustVerifier(t)
	pol := &Policy{AllowDebug: policy.Bool(true)}
	for _, vec := range realVectors {
		if vec.badSig {
			continue
		}
		doc := readVector(t, vec, "attestation_doc.cbor")
		d, err := ParseDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		l, err := x509.ParseCertificate(d.Attestation.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			t    time.Time
			pass bool
		}{{time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), false}, {l.NotAfter.Add(time.Second), false}, {l.NotAfter, true}, {l.NotBefore.Add(-time.Second), false}} {
			res, err := v.Verify(context.Background(), Evidence{Document: doc}, pol, cloudra.Options{Time: c.t})
			res = checktest.Result(t, res, err)
			if c.pass {
				checktest.WantPass(t, res)
				continue
			}
			checktest.WantFail(t, res, "", cloudra.ClassFresh)
		}
	}
}

// TestRealDocumentsNonce: the relying party's nonce must be the document's
// nonce field exactly: the right one passes, a prefix, a longer one and a
// different one fail as binding, and a document with a null nonce answers
// no challenge.
func TestRealDocumentsNonce(t *testing.T) {
	v := mustVerifier(t)
	for _, vec := range realVectors {
		if vec.badSig {
			continue
		}
		doc := readVector(t, vec, "attestation_doc.cbor")
		nonce, _ := hex.DecodeString(independent(t, vec)["nonce"])
		opts := cloudra.Options{Time: at(vec.timestamp)}
		verify := func(n []byte) *cloudra.Result {
			res, err := v.Verify(context.Background(), Evidence{Document: doc}, &Policy{AllowDebug: policy.Bool(true), Nonce: n}, opts)
			return checktest.Result(t, res, err)
		}
		if len(nonce) == 0 {
			checktest.WantOnly(t, verify([]byte{1, 2, 3}), checkNonce, cloudra.ClassBinding)
			continue
		}
		checktest.WantPass(t, verify(nonce))
		checktest.WantCheck(t, verify(nonce), checkNonce, cloudra.OutcomePass, "")
		for _, bad := range [][]byte{nonce[:len(nonce)-1], append(append([]byte{}, nonce...), 0), append([]byte{nonce[0] ^ 1}, nonce[1:]...)} {
			checktest.WantOnly(t, verify(bad), checkNonce, cloudra.ClassBinding)
		}
	}
}

// TestCageTLSBinding: the Evervault documents put the DER
// SubjectPublicKeyInfo of the TLS certificate they serve in user_data; the
// binding check passes with that certificate's key and fails with another's.
func TestCageTLSBinding(t *testing.T) {
	v := mustVerifier(t)
	var keys [][]byte
	for _, vec := range realVectors {
		if vec.cage {
			c, err := x509.ParseCertificate(readVector(t, vec, "cage_cert.der"))
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, c.RawSubjectPublicKeyInfo)
		}
	}
	i := 0
	for _, vec := range realVectors {
		if !vec.cage {
			continue
		}
		doc := readVector(t, vec, "attestation_doc.cbor")
		opts := cloudra.Options{Time: at(vec.timestamp)}
		res, err := v.Verify(context.Background(), Evidence{Document: doc}, &Policy{AllowDebug: policy.Bool(true), UserDataSPKI: keys[i]}, opts)
		res = checktest.Result(t, res, err)
		checktest.WantPass(t, res)
		checktest.WantCheck(t, res, checkTLSBinding, cloudra.OutcomePass, "")
		res, err = v.Verify(context.Background(), Evidence{Document: doc}, &Policy{AllowDebug: policy.Bool(true), UserDataSPKI: keys[1-i]}, opts)
		res = checktest.Result(t, res, err)
		checktest.WantOnly(t, res, checkTLSBinding, cloudra.ClassBinding)
		i++
	}
}

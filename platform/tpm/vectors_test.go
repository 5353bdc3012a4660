package tpm

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/policy"
)

const gceDir = "tpm/gce-cos85-amd-sev-attestation-akcert"

var gceTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func mustPublic(t *testing.T, rel string) *Public {
	t.Helper()
	p, err := ParsePublic(vectortest.Read(t, rel))
	if err != nil {
		t.Fatalf("ParsePublic(%s): %v", rel, err)
	}
	return p
}

func mustPCRs(t *testing.T, rel string) PCRs {
	t.Helper()
	p, err := ParsePCRValues(vectortest.Read(t, rel))
	if err != nil {
		t.Fatalf("ParsePCRValues(%s): %v", rel, err)
	}
	return p
}

func mustCert(t *testing.T, rel string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(vectortest.Read(t, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return c
}

func pinOf(t *testing.T, p *Public) string {
	fp, err := p.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(fp[:])
}

func gcePolicy(t *testing.T, withSHA1 bool) *Policy {
	root := mustCert(t, gceDir+"/ca/tpm_ek_root_1.cer")
	fp := sha256Hex(root.Raw)
	p := &Policy{AKRoots: []string{fp}, RequireNonce: policy.Bool(false)}
	if withSHA1 {
		p.Banks = []string{"sha1", "sha256", "sha384"}
	}
	return p
}

func gceAK(t *testing.T) AK {
	return AK{
		Public: mustPublic(t, gceDir+"/ak_pub.tpmt_public.bin"),
		Cert:   mustCert(t, gceDir+"/ak_cert.der"),
		Chain: []*x509.Certificate{mustCert(t, gceDir+"/ca/tpm_ek_intermediate_2.crt"),
			mustCert(t, gceDir+"/ca/tpm_ek_root_1.cer")},
	}
}

// TestGCEQuotes: all six GCE quotes (SHA-1/256/384 banks, with and without
// nonce) verify with the AK certificate chain and replay the event log.
func TestGCEQuotes(t *testing.T) {
	eventLog := vectortest.Read(t, gceDir+"/eventlog.bin")
	for _, dir := range []string{"gce-cos-85-no-nonce", "gce-cos-85-nonce9009"} {
		nonce := []byte(nil)
		if dir == "gce-cos-85-nonce9009" {
			nonce = []byte{0x90, 0x09}
		}
		for _, bank := range []string{"SHA1", "SHA256", "SHA384"} {
			t.Run(dir+"/"+bank, func(t *testing.T) {
				base := fmt.Sprintf("%s/%s/quote_%s", gceDir, dir, bank)
				q := Quote{
					Attest:    vectortest.Read(t, base+".tpms_attest.bin"),
					Signature: vectortest.Read(t, base+".tpmt_signature.bin"),
					PCRs:      mustPCRs(t, base+".pcrs.json"),
					EventLog:  eventLog,
				}
				pol := gcePolicy(t, true)
				pol.SecureBoot = policy.Bool(true)
				r, err := VerifyQuote(context.Background(), q, gceAK(t), nonce, pol, cloudra.Options{Time: gceTime})
				r = checktest.Result(t, r, err)
				checktest.WantPass(t, r)
				if c, _ := r.Check("ak.trust"); c.Outcome != cloudra.OutcomePass {
					t.Errorf("ak.trust: %+v", c)
				}
				if got := r.Claim("extra_data"); got != hex.EncodeToString(nonce) {
					t.Errorf("extra_data claim %v", got)
				}
				if replays := checktest.Count(r, "eventlog.replay", cloudra.OutcomePass); replays < 10 {
					t.Errorf("%d PCRs replayed, want ≥10 (PCRs 0–9)", replays)
				}
				// Default banks: the SHA-1 bank is refused by policy only.
				pol2 := gcePolicy(t, false)
				r2, _ := VerifyQuote(context.Background(), q, gceAK(t), nonce, pol2, cloudra.Options{Time: gceTime})
				if bank == "SHA1" {
					if r2.Verdict != cloudra.Fail || len(r2.FailureClasses()) != 1 || r2.FailureClasses()[0] != cloudra.ClassPolicy {
						t.Errorf("SHA-1 bank under default banks: %s %v", r2.Verdict, r2.FailureClasses())
					}
				} else {
					checktest.WantPass(t, r2)
				}
				// Wrong nonce → REJECT/fresh.
				r3, _ := VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x08}, pol, cloudra.Options{Time: gceTime})
				checktest.WantFail(t, r3, "quote.nonce", cloudra.ClassFresh)
			})
		}
	}
}

// TestGCEAKCertNeedsPinnedRoot: without the root pinned, or at a time
// outside the AK certificate's validity, ak.trust fails (REJECT/chain).
func TestGCEAKCertNeedsPinnedRoot(t *testing.T) {
	base := gceDir + "/gce-cos-85-nonce9009/quote_SHA256"
	q := Quote{Attest: vectortest.Read(t, base+".tpms_attest.bin"), Signature: vectortest.Read(t, base+".tpmt_signature.bin")}
	pol := gcePolicy(t, false)
	pol.AKRoots = []string{sha256Hex(mustCert(t, gceDir+"/ca/gcp_ek_ak_ca_root.crt").Raw)}
	r, _ := VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x09}, pol, cloudra.Options{Time: gceTime})
	checktest.WantFail(t, r, "ak.trust", cloudra.ClassChain)
	// After the AK certificate expired (2051-08-24): stale, as an expired
	// VCEK or VLEK is.
	r, _ = VerifyQuote(context.Background(), q, gceAK(t), []byte{0x90, 0x09}, gcePolicy(t, false), cloudra.Options{Time: time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)})
	checktest.WantFail(t, r, "ak.trust", cloudra.ClassFresh)
	if _, err := VerifyQuote(context.Background(), q, gceAK(t), nil, nil, cloudra.Options{}); err == nil {
		t.Error("AK certificate without a time: want ErrNoTime")
	}
}

const kinvolk = "tpm/kinvolk-azure-vtpm-quotes"

// TestAzureKinvolk2024: ACCEPT with "challenge"; reversed signature →
// REJECT/sig; nonce 01020304 → REJECT/fresh.
func TestAzureKinvolk2024(t *testing.T) {
	ak := mustPublic(t, kinvolk+"/2024/akpub.pem")
	q := Quote{
		Attest:         vectortest.Read(t, kinvolk+"/2024/quote.tpms_attest.bin"),
		Signature:      vectortest.Read(t, kinvolk+"/2024/quote.signature_rsassa_sha256.bin"),
		PlainSignature: true,
		PCRs:           mustPCRs(t, kinvolk+"/2024/quote.pcrs_sha256.json"),
	}
	pol := &Policy{AKPins: []string{pinOf(t, ak)}}
	r, err := VerifyQuote(context.Background(), q, AK{Public: ak}, []byte("challenge"), pol, cloudra.Options{})
	r = checktest.Result(t, r, err)
	checktest.WantPass(t, r)

	rev := append([]byte(nil), q.Signature...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	bad := q
	bad.Signature = rev
	r, _ = VerifyQuote(context.Background(), bad, AK{Public: ak}, []byte("challenge"), pol, cloudra.Options{})
	checktest.WantFail(t, r, "quote.signature", cloudra.ClassSig)
	if r.Claims != nil {
		t.Error("claims returned for a bad signature")
	}

	r, _ = VerifyQuote(context.Background(), q, AK{Public: ak}, []byte{1, 2, 3, 4}, pol, cloudra.Options{})
	checktest.WantFail(t, r, "quote.nonce", cloudra.ClassFresh)

	// Unpinned AK → REJECT/chain; bound by hardware evidence → ACCEPT.
	r, _ = VerifyQuote(context.Background(), q, AK{Public: ak}, []byte("challenge"), nil, cloudra.Options{})
	checktest.WantFail(t, r, "ak.trust", cloudra.ClassChain)
	r, _ = VerifyQuote(context.Background(), q, AK{Public: ak, BoundBy: "test hardware report"}, []byte("challenge"), nil, cloudra.Options{})
	checktest.WantPass(t, r)
}

// TestAzureKinvolk2023: quote over SHA-256 PCRs 15, 16, 22 with nonce 010203.
func TestAzureKinvolk2023(t *testing.T) {
	ak := mustPublic(t, kinvolk+"/2023/akpub.pem")
	q := Quote{
		Attest:         vectortest.Read(t, kinvolk+"/2023/quote_msg"),
		Signature:      vectortest.Read(t, kinvolk+"/2023/quote_sig"),
		PlainSignature: true,
	}
	r, err := VerifyQuote(context.Background(), q, AK{Public: ak, BoundBy: "test"}, []byte{1, 2, 3}, nil, cloudra.Options{})
	r = checktest.Result(t, r, err)
	checktest.WantPass(t, r)
	a, _ := ParseAttest(q.Attest)
	if len(a.PCRSelect) != 1 || a.PCRSelect[0].Hash != AlgSHA256 || fmt.Sprint(a.PCRSelect[0].PCRs) != "[15 16 22]" {
		t.Errorf("selection %+v", a.PCRSelect)
	}
	if hex.EncodeToString(a.PCRDigest) != "51cdfd15463a712da38c49e9390d861030e28cf1f19ebe9f5a8b6901a9df64fc" {
		t.Errorf("pcrDigest %x", a.PCRDigest)
	}
}

// TestAzureHCLQuotes: the vTPM quotes inside Azure evidence verify against
// the HCLAkPub with nonce "challenge" and their PCR values.
func TestAzureHCLQuotes(t *testing.T) {
	cases := []struct{ dir, prefix string }{
		{"azure-hcl/trustee-az-snp-vtpm-milan-2023", "quote_v1"},
		{"azure-hcl/trustee-az-snp-vtpm-milan-2023", "quote_bin"},
		{"azure-hcl/trustee-az-tdx-vtpm", "quote_v1"},
		{"azure-hcl/trustee-az-tdx-vtpm", "quote_bin"},
		{"azure-hcl/trustee-az-snp-vtpm-evidence-v0", "quote"},
		{"azure-hcl/trustee-az-snp-vtpm-evidence-v1", "quote"},
		{"azure-hcl/trustee-az-snp-vtpm-evidence-v2", "quote"},
		{"azure-hcl/trustee-old-2048-snp-milan-2023", "quote"},
	}
	for _, c := range cases {
		t.Run(c.dir+"/"+c.prefix, func(t *testing.T) {
			ak := mustPublic(t, c.dir+"/hcl_akpub.pem")
			q := Quote{
				Attest:         vectortest.Read(t, c.dir+"/"+c.prefix+".tpms_attest.bin"),
				Signature:      vectortest.Read(t, c.dir+"/"+c.prefix+".signature_rsassa_sha256.bin"),
				PlainSignature: true,
			}
			if c.dir != "azure-hcl/trustee-old-2048-snp-milan-2023" {
				q.PCRs = mustPCRs(t, c.dir+"/"+c.prefix+".pcrs_sha256.json")
			}
			a, err := ParseAttest(q.Attest)
			if err != nil {
				t.Fatal(err)
			}
			nonce := []byte("challenge")
			if c.dir == "azure-hcl/trustee-az-snp-vtpm-evidence-v2" {
				nonce = a.ExtraData // v2 binds a 48-byte nonce; checked below
				if hex.EncodeToString(nonce) != "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef" {
					t.Errorf("v2 extraData %x", nonce)
				}
			}
			r, err := VerifyQuote(context.Background(), q, AK{Public: ak, BoundBy: "azure-hcl: HCLAkPub (test)"}, nonce, nil, cloudra.Options{})
			r = checktest.Result(t, r, err)
			checktest.WantPass(t, r)
			if q.PCRs != nil {
				pcrs := r.Claim("pcrs").(map[string]map[string]string)
				if len(pcrs["sha256"]) != 24 {
					t.Errorf("%d sha256 PCR claims", len(pcrs["sha256"]))
				}
				if c.dir == "azure-hcl/trustee-az-snp-vtpm-evidence-v0" && pcrs["sha256"]["0"] != "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced" {
					t.Errorf("PCR0 %s", pcrs["sha256"]["0"])
				}
			}
			// A tampered PCR value no longer matches pcrDigest.
			if q.PCRs != nil {
				bad := PCRs{}
				for i, v := range q.PCRs[AlgSHA256] {
					bad.Set(AlgSHA256, i, v)
				}
				bad[AlgSHA256][7] = make([]byte, 32)
				q2 := q
				q2.PCRs = bad
				r, _ := VerifyQuote(context.Background(), q2, AK{Public: ak, BoundBy: "x"}, nonce, nil, cloudra.Options{})
				checktest.WantFail(t, r, "quote.pcr-digest", cloudra.ClassBinding)
			}
		})
	}
}

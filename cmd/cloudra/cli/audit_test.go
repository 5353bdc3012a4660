package cli_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/tpm"
)

// docs/pitfalls-tpm.md A4 for TPM quotes: the same real quotes and the same mutations
// give the same failed checks, with the same classes, through the library
// (tpm.VerifyQuote), `cloudra tpm check-quote` and `cloudra verify` of an
// evidence bundle (docs/pitfalls-tpm.md).

type auditQuote struct {
	attest, sig, pcrs []byte
	plain             bool
	akFile            string // relative to the vector folder
	akCert            string // optional, relative to the vector folder
	dir               string
	nonce             []byte
}

// failures lists "check/class" of failed checks and "rule/class" of
// violations, sorted.
func failures(r *cloudra.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Outcome == cloudra.OutcomeFail {
			out = append(out, c.Name+"/"+string(c.Class))
		}
	}
	for _, v := range r.Violations {
		out = append(out, v.Rule+"/"+string(v.Class))
	}
	slices.Sort(out)
	return out
}

// jsonFailures is failures of a `--format json` report.
func jsonFailures(t *testing.T, out string) (string, []string) {
	t.Helper()
	var rep struct {
		Verdict    string `json:"verdict"`
		Checks     []cloudra.Check
		Violations []cloudra.Violation
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	r := &cloudra.Result{Checks: rep.Checks, Violations: rep.Violations}
	return rep.Verdict, failures(r)
}

func TestAuditTPMEntryPointParity(t *testing.T) {
	vec := vectortest.Dir(t)
	const gce = "tpm/gce-cos85-amd-sev-attestation-akcert"
	const kin = "tpm/kinvolk-azure-vtpm-quotes"
	gceBase := gce + "/gce-cos-85-nonce9009/quote_SHA256"
	base := map[string]auditQuote{
		"azure-2024": {attest: vectortest.Read(t, kin+"/2024/quote.tpms_attest.bin"), sig: vectortest.Read(t, kin+"/2024/quote.signature_rsassa_sha256.bin"),
			pcrs: vectortest.Read(t, kin+"/2024/quote.pcrs_sha256.json"), plain: true, dir: kin, akFile: "2024/akpub.pem", nonce: []byte("challenge")},
		"gce-sha256": {attest: vectortest.Read(t, gceBase+".tpms_attest.bin"), sig: vectortest.Read(t, gceBase+".tpmt_signature.bin"),
			pcrs: vectortest.Read(t, gceBase+".pcrs.json"), dir: gce, akFile: "ak_pub.tpmt_public.bin", akCert: "ak_cert.der", nonce: []byte{0x90, 0x09}},
	}
	type mutation struct {
		name string
		f    func(q *auditQuote)
		want []string // failed checks/classes (sorted); nil: pass
	}
	muts := []mutation{
		{"genuine", func(*auditQuote) {}, nil},
		{"reversed signature", func(q *auditQuote) {
			if q.plain {
				slices.Reverse(q.sig)
			} else {
				slices.Reverse(q.sig[6:]) // keep the TPMT_SIGNATURE header
			}
		}, []string{"quote.signature/sig"}},
		// The last byte of pcrDigest: the quote parses, its signature and
		// the PCR values no longer match it.
		{"signed byte flipped", func(q *auditQuote) { q.attest[len(q.attest)-1] ^= 1 }, []string{"quote.pcr-digest/binding", "quote.signature/sig"}},
		{"wrong nonce", func(q *auditQuote) { q.nonce = []byte{1, 2, 3, 4} }, []string{"quote.nonce/fresh"}},
	}
	for name, b := range base {
		for _, m := range muts {
			t.Run(name+"/"+m.name, func(t *testing.T) {
				q := b
				q.attest, q.sig = slices.Clone(b.attest), slices.Clone(b.sig)
				m.f(&q)
				dir := t.TempDir()
				write := func(n string, data []byte) string {
					p := filepath.Join(dir, n)
					if err := os.WriteFile(p, data, 0o644); err != nil {
						t.Fatal(err)
					}
					return p
				}
				akPath := filepath.Join(vec, q.dir, q.akFile)
				pub, err := tpm.ParsePublic(vectortest.Read(t, q.dir+"/"+q.akFile))
				if err != nil {
					t.Fatal(err)
				}
				fp, _ := pub.Fingerprint()
				pin := hex.EncodeToString(fp[:])
				pcrs, err := tpm.ParsePCRValues(q.pcrs)
				if err != nil {
					t.Fatal(err)
				}

				// 1. Library, AK pinned.
				lib, err := tpm.VerifyQuote(context.Background(), tpm.Quote{Attest: q.attest, Signature: q.sig, PlainSignature: q.plain, PCRs: pcrs},
					tpm.AK{Public: pub}, q.nonce, &tpm.Policy{AKPins: []string{pin}}, cloudra.Options{})
				lib = checktest.Result(t, lib, err)
				if got := failures(lib); !slices.Equal(got, m.want) {
					t.Fatalf("library: %v, want %v", got, m.want)
				}

				// 2. tpm check-quote (pins -u itself).
				args := []string{"tpm", "check-quote", "-u", akPath, "-m", write("msg", q.attest), "-s", write("sig", q.sig),
					"-f", write("pcrs.json", q.pcrs), "-q", hex.EncodeToString(q.nonce), "--format", "json"}
				if q.plain {
					args = append(args, "--plain")
				}
				code, out, errs := run(t, args...)
				verdict, got := jsonFailures(t, out)
				wantCode := 0
				if m.want != nil {
					wantCode = 1
				}
				if code != wantCode || !slices.Equal(got, m.want) {
					t.Fatalf("check-quote: exit %d verdict %s %v, want exit %d %v\n%s", code, verdict, got, wantCode, m.want, errs)
				}

				// 3. verify of a bundle: AK pinned by policy, or (GCE) its
				// certificate chained to the pinned Google EK/AK root.
				bun := cloudra.Bundle{Schema: cloudra.EvidenceSchema, Nonce: q.nonce, Artifacts: []cloudra.Artifact{
					{Kind: cloudra.KindTPMAttest, Data: q.attest},
					{Kind: cloudra.KindTPMSig, Data: q.sig},
					{Kind: cloudra.KindTPMPCRs, Data: q.pcrs},
					{Kind: cloudra.KindTPMAKPub, Data: vectortest.Read(t, q.dir+"/"+q.akFile)},
				}}
				if q.plain {
					bun.Artifacts[1].Meta = map[string]string{"format": "plain"}
				}
				pol := fmt.Sprintf("version: 1\ntpm:\n  ak-pins: [%q]\n", pin)
				// The expected nonce is the relying party's (--nonce), as
				// check-quote's -q; the bundle's nonce field is never one.
				vargs := []string{"verify", "--offline", "--format", "json", "--at", "2025-01-01T00:00:00Z", "--cache-dir", t.TempDir()}
				if len(q.nonce) > 0 {
					vargs = append(vargs, "--nonce", hex.EncodeToString(q.nonce))
				}
				if q.akCert != "" {
					bun.Artifacts = append(bun.Artifacts, cloudra.Artifact{Kind: cloudra.KindTPMAKCert, Data: vectortest.Read(t, q.dir+"/"+q.akCert)})
					root, err := x509.ParseCertificate(vectortest.Read(t, q.dir+"/ca/tpm_ek_root_1.cer"))
					if err != nil {
						t.Fatal(err)
					}
					sum := sha256.Sum256(root.Raw)
					pol = fmt.Sprintf("version: 1\ntpm:\n  ak-roots: [%q]\n", hex.EncodeToString(sum[:]))
					vargs = append(vargs, "--collateral", filepath.Join(vec, q.dir, "ca"))
				}
				raw, err := bun.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				vargs = append(vargs, "--policy", write("policy.yaml", []byte(pol)), write("bundle.json", raw))
				code, out, errs = run(t, vargs...)
				verdict, got = jsonFailures(t, out)
				if code != wantCode || !slices.Equal(got, m.want) {
					t.Fatalf("verify: exit %d verdict %s %v, want exit %d %v\n%s%s", code, verdict, got, wantCode, m.want, out, errs)
				}
				if strings.Contains(errs, "panic") {
					t.Fatal(errs)
				}
			})
		}
	}
}

package sevsnp

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
)

var (
	defaultRootsOnce sync.Once
	defaultRoots     *Roots
	defaultRootsErr  error
)

func testRoots(t testing.TB) *Roots {
	t.Helper()
	defaultRootsOnce.Do(func() { defaultRoots, defaultRootsErr = DefaultRoots() })
	if defaultRootsErr != nil {
		t.Fatal(defaultRootsErr)
	}
	return defaultRoots
}

// readCerts reads a DER certificate or a PEM bundle from the vectors.
func readCerts(t testing.TB, rel string) []*x509.Certificate {
	t.Helper()
	b := vectortest.Read(t, rel)
	if !strings.Contains(string(b), "-----BEGIN") {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return []*x509.Certificate{c}
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		out = append(out, c)
	}
	return out
}

func collateral(t testing.TB, dir string, files ...string) *cloudra.Collateral {
	col := &cloudra.Collateral{}
	for _, f := range files {
		for _, c := range readCerts(t, path.Join(dir, f)) {
			col.AddCertificate(c)
		}
	}
	return col
}

type verifyVector struct {
	name, dir, report string
	certs             []string
	at                string
	// want: "" = ACCEPT, else the failure class expected.
	want        cloudra.Class
	wantCheck   string // the check or rule that fails
	measurement string
	signer      string // "VCEK" / "VLEK"
	product     string
}

var verifyVectors = []verifyVector{
	{"gosevguest debug", "snp/gosevguest-milan-v2-vcek", "attestation.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2022-09-25T00:55:28Z", cloudra.ClassPolicy, "allow-debug", "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01", "VCEK", Milan},
	{"virtee milan", "snp/virtee-sev-milan-v2-vcek", "report.bin", []string{"vcek.der", "cert_chain_milan.pem"}, "2023-04-04T19:23:43Z", "", "", "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f", "VCEK", Milan},
	{"trustee milan", "snp/trustee-milan-v2-vcek", "test-report.bin", []string{"test-vcek.der", "ask_ark_milan.pem"}, "2023-01-25T17:58:26Z", "", "", "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c", "VCEK", Milan},
	{"trustee invalid legacy vcek", "snp/trustee-milan-v2-vcek", "test-report.bin", []string{"test-vcek-invalid-legacy.der", "ask_ark_milan.pem"}, "2023-01-25T17:58:26Z", cloudra.ClassSig, checkSignature, "", "", ""},
	{"trustee invalid new vcek", "snp/trustee-milan-v2-vcek", "test-report.bin", []string{"test-vcek-invalid-new.der", "ask_ark_milan.pem"}, "2023-01-25T17:58:26Z", cloudra.ClassSig, checkSignature, "", "", ""},
	{"aws vlek vmpl1", "snp/trustee-milan-v3-vlek-aws", "test-vlek-report.bin", []string{"test-vlek.der", "ask_ark_milan_vlek.pem"}, "2024-12-11T22:14:21Z", cloudra.ClassPolicy, "vmpl", "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0", "VLEK", Milan},
	{"aws vlek expired", "snp/trustee-milan-v3-vlek-aws", "test-vlek-report.bin", []string{"test-vlek.der", "ask_ark_milan_vlek.pem"}, "2025-12-11T22:14:21Z", cloudra.ClassFresh, checkLeaf, "", "", ""},
	{"siena", "snp/trustee-e2e-siena-v3-vcek", "report.bin", []string{"vcek.der", "ask_ark_genoa.pem"}, "2025-05-28T17:57:03Z", "", "", "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e", "VCEK", Genoa},
	{"automata", "snp/automata-milan-v2-vcek", "report.bin", []string{"vek_cert.der", "vcek_issuer.pem"}, "2024-11-20T03:09:16Z", "", "", "845f8680d7f810d6ee410706d1c845aeb83d18e9a30f59d1b519a7b2e2f2670aab3982a20fec61a85b6771922f44945b", "VCEK", Milan},
	{"automata unrelated vcek", "snp/automata-milan-v2-vcek", "report.bin", []string{"unrelated_vcek.pem", "vcek_issuer.pem"}, "2024-11-20T03:09:16Z", cloudra.ClassSig, checkSignature, "", "", ""},
	{"automata both vceks", "snp/automata-milan-v2-vcek", "report.bin", []string{"unrelated_vcek.pem", "vek_cert.der", "vcek_issuer.pem"}, "2024-11-20T03:09:16Z", "", "", "845f8680d7f810d6ee410706d1c845aeb83d18e9a30f59d1b519a7b2e2f2670aab3982a20fec61a85b6771922f44945b", "VCEK", Milan},
	{"oak oc release", "snp/oak-milan-oc-release", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-16T21:21:54Z", "", "", "195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3", "VCEK", Milan},
	{"oak oc release later window", "snp/oak-milan-oc-release", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-07-29T00:00:00Z", "", "", "", "VCEK", Milan},
	{"oak oc staging", "snp/oak-milan-oc-staging", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-16T21:21:54Z", "", "", "0a3c0fa3f1558a883660cb3f37491e6da05e3445dc0f517ab5f9b8f7be6dc2ae2fa46a23b501d66d1d7e24796d1c2e20", "VCEK", Milan},
	{"oak rk release", "snp/oak-milan-rk-release", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-16T23:04:19Z", "", "", "195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3", "VCEK", Milan},
	{"oak rk staging", "snp/oak-milan-rk-staging", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-16T23:04:19Z", "", "", "0a3c0fa3f1558a883660cb3f37491e6da05e3445dc0f517ab5f9b8f7be6dc2ae2fa46a23b501d66d1d7e24796d1c2e20", "VCEK", Milan},
	{"oak cb", "snp/oak-cb", "report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-02-04T18:21:46Z", "", "", "7f758c86166e386367f6e0804dd9d024023d732a03ac03678365c4fe6a2b0dcbbc6ff0eb020f0c7ea790e75759e09200", "VCEK", Milan},
	{"oak genoa v5", "snp/oak-genoa-oc", "report.bin", []string{"vcek.der", "ask_ark_genoa.pem"}, "2025-08-08T17:21:41Z", "", "", "c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc", "VCEK", Genoa},
	{"oak genoa not yet valid", "snp/oak-genoa-oc", "report.bin", []string{"vcek.der", "ask_ark_genoa.pem"}, "2025-08-01T00:00:00Z", cloudra.ClassFresh, checkLeaf, "", "", ""},
	{"azure evidence v0", "azure-hcl/trustee-az-snp-vtpm-evidence-v0", "snp_report.bin", []string{"vcek.pem", "ask_ark_milan.pem"}, "2025-01-29T16:26:55Z", "", "", "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e", "VCEK", Milan},
	{"azure evidence v1", "azure-hcl/trustee-az-snp-vtpm-evidence-v1", "snp_report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-29T16:26:55Z", "", "", "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e", "VCEK", Milan},
	{"azure evidence v2", "azure-hcl/trustee-az-snp-vtpm-evidence-v2", "snp_report.bin", []string{"vcek.der", "ask_ark_milan.pem"}, "2025-01-29T16:33:43Z", "", "", "", "VCEK", Milan},
	{"azure milan 2023", "azure-hcl/trustee-az-snp-vtpm-milan-2023", "snp_report.bin", []string{"vcek_chain.pem"}, "2023-05-03T21:22:19Z", "", "", "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315", "VCEK", Milan},
	{"azure old 2048", "azure-hcl/trustee-old-2048-snp-milan-2023", "snp_report.bin", []string{"vcek.pem", "ask_ark_milan.pem"}, "2023-01-25T17:58:26Z", "", "", "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c", "VCEK", Milan},
	{"kinvolk other chip", "azure-hcl/kinvolk-azure-cvm-tooling-snp", "snp_report.bin", []string{"certs.pem"}, "2023-06-01T00:00:00Z", cloudra.ClassSig, checkSignature, "", "", ""},
}

func TestVerifyVectors(t *testing.T) {
	vectortest.Dir(t)
	v := NewVerifier(testRoots(t))
	passed := 0
	for _, tc := range verifyVectors {
		ok := t.Run(tc.name, func(t *testing.T) {
			rep := vectortest.Read(t, path.Join(tc.dir, tc.report))
			col := collateral(t, tc.dir, tc.certs...)
			res, err := v.Verify(context.Background(), Evidence{Report: rep}, col, nil, cloudra.Options{Time: vectortest.Time(t, tc.at)})
			res = checktest.Result(t, res, err)
			assertResult(t, res, tc)
		})
		if ok {
			passed++
		}
	}
	t.Logf("SNP vectors: %d/%d verify cases passed", passed, len(verifyVectors))
}

func assertResult(t *testing.T, res *cloudra.Result, tc verifyVector) {
	t.Helper()
	if tc.want == "" {
		if res.Verdict != cloudra.Pass {
			t.Fatalf("verdict %s: checks %+v violations %+v", res.Verdict, res.Checks, res.Violations)
		}
	} else {
		if res.Verdict != cloudra.Fail || !res.HasFailure(tc.want) {
			t.Fatalf("want REJECT/%s, got %s %v: checks %+v violations %+v", tc.want, res.Verdict, res.FailureClasses(), res.Checks, res.Violations)
		}
		if fc := res.FailureClasses(); len(fc) != 1 {
			t.Errorf("failure classes %v, want only %s", fc, tc.want)
		}
		found := false
		for _, c := range res.Checks {
			if c.Outcome == cloudra.OutcomeFail && (c.Name == tc.wantCheck || c.Name == "policy."+tc.wantCheck) {
				found = true
			}
		}
		for _, x := range res.Violations {
			if x.Rule == tc.wantCheck {
				found = true
			}
		}
		if !found {
			t.Errorf("no failed check/rule %q: %+v %+v", tc.wantCheck, res.Checks, res.Violations)
		}
	}
	if tc.measurement != "" && res.Claim("measurement") != tc.measurement {
		t.Errorf("measurement claim %v", res.Claim("measurement"))
	}
	if tc.product != "" && res.Claim("product") != tc.product {
		t.Errorf("product claim %v, want %s", res.Claim("product"), tc.product)
	}
	if tc.signer != "" && !strings.HasPrefix(res.Signer, tc.signer) {
		t.Errorf("signer %q", res.Signer)
	}
	if tc.signer == "VLEK" && res.Cloud != "aws" {
		t.Errorf("cloud %q, want aws (VLEK csp_id)", res.Cloud)
	}
	if (tc.want == cloudra.ClassSig || tc.want == cloudra.ClassChain) && res.Claims != nil {
		t.Error("claims present on a signature or chain failure")
	}
}

func TestVerifyMissingVCEK(t *testing.T) {
	rep := vectortest.Read(t, "snp/lit-protocol-milan-v2-report-only/guest_report.bin")
	v := NewVerifier(testRoots(t))
	_, err := v.Verify(context.Background(), Evidence{Report: rep, Product: "Milan"}, nil, nil, cloudra.Options{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	var me *cloudra.MissingCollateralError
	if !errors.As(err, &me) || len(me.Items) != 1 {
		t.Fatalf("err %v", err)
	}
	want := "https://kdsintf.amd.com/vcek/v1/Milan/9e1235cce6f3e507b66a9d3f2199a325cd0be17c6c50fd55c284ceff993dbf6c7e32fa16a76521bf6b78cc9ca482e572bde70e8c9f1bdfcb8267dea8e11ff77e?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=115"
	if me.Items[0].URL != want {
		t.Errorf("url %s", me.Items[0].URL)
	}
	// Without a hint, a v2 report gets one URL per product line.
	_, err = v.Verify(context.Background(), Evidence{Report: rep}, nil, nil, cloudra.Options{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.As(err, &me) || len(me.Items) != 3 {
		t.Fatalf("err %v", err)
	}
	if _, err := v.Verify(context.Background(), Evidence{Report: rep}, nil, nil, cloudra.Options{}); !errors.Is(err, cloudra.ErrNoTime) {
		t.Errorf("zero time: %v", err)
	}
}

func TestVerifyVectorClaims(t *testing.T) {
	v := NewVerifier(testRoots(t))
	dir := "snp/virtee-sev-milan-v2-vcek"
	res, err := v.Verify(context.Background(), Evidence{Report: vectortest.Read(t, dir+"/report.bin")}, collateral(t, dir, "vcek.der", "cert_chain_milan.pem"),
		&Policy{MinTCB: &TCBFloor{Bootloader: 3, SNP: 8, Microcode: 0x73}}, cloudra.Options{Time: vectortest.Time(t, "2023-04-04T19:23:43Z")})
	if err != nil || res.Verdict != cloudra.Pass {
		t.Fatalf("%v %+v", err, res)
	}
	for name, want := range map[string]any{
		"report_data":             "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
		"chip_id":                 "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6",
		"reported_tcb.microcode":  uint8(0x73),
		"reported_tcb.snp":        uint8(8),
		"reported_tcb.bootloader": uint8(3),
		"vmpl":                    uint32(0),
		"policy":                  uint64(0x30000),
		"version":                 uint32(2),
	} {
		if got := res.Claim(name); got != want {
			t.Errorf("claim %s = %v (%T), want %v", name, got, got, want)
		}
	}
	if res.TCB == nil || res.TCB.Components["microcode"] != 0x73 {
		t.Errorf("tcb %+v", res.TCB)
	}
	// A floor one above in one component only.
	res, _ = v.Verify(context.Background(), Evidence{Report: vectortest.Read(t, dir+"/report.bin")}, collateral(t, dir, "vcek.der", "cert_chain_milan.pem"),
		&Policy{MinTCB: &TCBFloor{Bootloader: 3, SNP: 9}}, cloudra.Options{Time: vectortest.Time(t, "2023-04-04T19:23:43Z")})
	if !res.HasFailure(cloudra.ClassPolicy) {
		t.Errorf("min-tcb snp 9 not rejected")
	}
}

package sevsnp

import (
	"bytes"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/policy"
)

// Every violated rule is reported with its name (docs/pitfalls-snp.md A3), and each rule
// has a passing twin.
func TestEveryRuleReported(t *testing.T) {
	f := newFixture(t, Milan, false)
	r, err := ParseReport(f.report)
	if err != nil {
		t.Fatal(err)
	}
	z48 := bytes.Repeat([]byte{0xee}, 48)
	vmpl := uint32(3)
	bad := &Policy{
		ReportData:          []byte{1},
		Measurements:        []cloudra.HexBytes{z48},
		HostData:            bytes.Repeat([]byte{1}, 32),
		IDKeyDigests:        []cloudra.HexBytes{z48},
		AuthorKeyDigests:    []cloudra.HexBytes{z48},
		FamilyID:            bytes.Repeat([]byte{1}, 16),
		ImageID:             bytes.Repeat([]byte{1}, 16),
		MinGuestSVN:         1,
		VMPL:                &vmpl,
		AllowSMT:            policy.Bool(false),
		MinGuestABI:         "9.0",
		MinFirmware:         "2.0",
		MinBuild:            200,
		MinTCB:              &TCBFloor{Microcode: 0xff},
		Signer:              "vlek",
		MinReportVersion:    5,
		RequirePlatformInfo: []string{"tsme-en"},
		ForbidPlatformInfo:  []string{"smt-en"},
	}
	res := f.verify(Evidence{Report: f.report}, bad)
	checktest.WantClass(t, res, cloudra.ClassPolicy)
	checktest.WantClass(t, res, cloudra.ClassBinding)
	rules := []string{"report-data", "measurements", "host-data", "id-key-digests", "author-key-digests", "family-id", "image-id",
		"min-guest-svn", "vmpl", "allow-smt", "min-guest-abi", "min-firmware", "min-build", "min-tcb", "signer",
		"min-report-version", "require-platform-info", "forbid-platform-info"}
	for _, rule := range rules {
		if !hasRule(res, rule) {
			t.Errorf("rule %s not reported", rule)
		}
	}
	if res.Claims == nil {
		t.Error("policy failures must keep the claims of genuine evidence")
	}
	vmpl0 := uint32(0)
	good := &Policy{
		ReportData:          r.ReportData[:],
		Measurements:        []cloudra.HexBytes{z48, r.Measurement[:]},
		HostData:            r.HostData[:],
		IDKeyDigests:        []cloudra.HexBytes{r.IDKeyDigest[:]},
		AuthorKeyDigests:    []cloudra.HexBytes{r.AuthorKeyDigest[:]},
		FamilyID:            r.FamilyID[:],
		ImageID:             r.ImageID[:],
		VMPL:                &vmpl0,
		MinGuestABI:         "0.0",
		MinFirmware:         "1.55",
		MinBuild:            29,
		MinTCB:              &TCBFloor{Bootloader: 4, SNP: 0x18, Microcode: 0xdb},
		Signer:              "vcek",
		MinReportVersion:    3,
		RequirePlatformInfo: []string{"smt-en"},
		ForbidPlatformInfo:  []string{"tsme-en"},
		RequireCRL:          false,
		Product:             "Milan",
	}
	checktest.WantPass(t, f.verify(Evidence{Report: f.report}, good))
	if _, ok := res.Check("policy.vmpl"); !ok {
		t.Error("no policy.vmpl check")
	}
}

func TestResultJSON(t *testing.T) {
	f := newFixture(t, Turin, false)
	res := f.verify(Evidence{Report: f.report}, nil)
	b, err := cloudra.Report{Result: res}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"platform":"sev-snp"`, `"reported_tcb.fmc":0`, `"product":"Turin"`, `"chain.ark-pinned"`, `"policy.vmpl"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/tdx"
)

// TestBundle: a bundle as the dispatcher sees it verifies like the direct
// call, raw signatures detected.
func TestBundle(t *testing.T) {
	av := newVerifier(t)
	for _, v := range []vector{vectors[0], vectors[5]} {
		t.Run(v.dir, func(t *testing.T) {
			p := v.quotes[0]
			b := &cloudra.Bundle{Cloud: "azure", Nonce: v.nonce, Artifacts: []cloudra.Artifact{
				{Kind: cloudra.KindAzureHCL, Data: vectortest.Read(t, v.dir+"/hcl_report.bin")},
				{Kind: cloudra.KindTPMAttest, Data: vectortest.Read(t, v.dir+"/"+p+".tpms_attest.bin")},
				{Kind: cloudra.KindTPMSig, Data: vectortest.Read(t, v.dir+"/"+p+".signature_rsassa_sha256.bin")},
				{Kind: cloudra.KindTPMPCRs, Data: vectortest.Read(t, v.dir+"/"+p+".pcrs_sha256.json")},
				{Kind: cloudra.KindTPMAKPub, Data: vectortest.Read(t, v.dir+"/hcl_akpub.pem")},
			}}
			if v.tdx {
				b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindTDXQuote, Data: vectortest.Read(t, v.dir+"/td_quote.bin")})
			}
			ev, err := EvidenceFromBundle(b)
			if err != nil {
				t.Fatal(err)
			}
			if !ev.Quote.PlainSignature || ev.AKPublic == nil || (v.tdx && ev.TDQuote == nil) {
				t.Fatalf("evidence %+v", ev)
			}
			_, col, opts := evidence(t, v)
			pol := Sections{TDX: &tdx.Policy{TCB: &dcap.TCBPolicy{AcceptStatus: []string{"OutOfDate"}}}}
			r, err := av.Verify(context.Background(), ev, col, pol, opts)
			r = checktest.Result(t, r, err)
			checktest.WantPass(t, r)
			j, err := json.Marshal(cloudra.Report{Result: r})
			if err != nil || !bytes.Contains(j, []byte(`"paravisor_vm_configuration"`)) {
				t.Errorf("json %s %v", j, err)
			}
		})
	}
	if _, err := EvidenceFromBundle(&cloudra.Bundle{}); err == nil {
		t.Error("bundle without HCL report accepted")
	}
}

// TestPolicySection: the azure section decodes with kebab-case keys and
// rejects unknown ones.
func TestPolicySection(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"user-data":"0a0b","require-freshness":false,"require-vtpm-quote":true,
		"require-secure-boot":true,"require-tpm-enabled":true,"allow-console":false,"vm-unique-ids":["x"]}`)))
	dec.DisallowUnknownFields()
	var a Policy
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.UserData, []byte{0x0a, 0x0b}) || *a.RequireFreshness || !*a.RequireVTPMQuote || len(a.VMUniqueIDs) != 1 {
		t.Errorf("%+v", a)
	}
}

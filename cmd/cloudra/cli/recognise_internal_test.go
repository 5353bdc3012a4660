package cli

import (
	"bytes"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestRawSignatureStartingLikeNitro: a raw quote signature whose first
// bytes read as a COSE_Sign1 head (an array of four, a protected header
// map, an unprotected map: a Nitro guess) next to a TPMS_ATTEST is still
// taken as the signature; without a TPMS_ATTEST it stays what Detect said.
func TestRawSignatureStartingLikeNitro(t *testing.T) {
	attest := vectortest.Read(t, "azure-hcl/trustee-az-snp-vtpm-evidence-v1/quote.tpms_attest.bin")
	sig := append([]byte{0x84, 0x41, 0xa0, 0xa0}, bytes.Repeat([]byte{0x5a}, 252)...)
	rec, err := recogniseRaw("quote.sig", sig)
	if err != nil || !rec.weak || rec.evidence[0].Kind != cloudra.KindNitroDoc {
		t.Fatalf("recognised %+v %v", rec, err)
	}
	b := &cloudra.Bundle{Artifacts: []cloudra.Artifact{{Kind: cloudra.KindTPMAttest, Data: attest}, rec.evidence[0]}}
	if left := resolvePlainSignature(b, nil, []int{1}); len(left) != 0 || b.Artifacts[1].Kind != cloudra.KindTPMSig || b.Artifacts[1].Meta["format"] != "plain" {
		t.Errorf("not taken as the raw signature: %+v", b.Artifacts[1])
	}
	alone := &cloudra.Bundle{Artifacts: []cloudra.Artifact{rec.evidence[0]}}
	resolvePlainSignature(alone, nil, []int{0})
	if alone.Artifacts[0].Kind != cloudra.KindNitroDoc {
		t.Errorf("without a quote: %s", alone.Artifacts[0].Kind)
	}
}

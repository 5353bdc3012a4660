package nitro

import (
	"context"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

func verifyRequest(t *testing.T, f *simFixture, req *seam.Request) *cloudra.Result {
	t.Helper()
	req.Options = cloudra.Options{Time: simVerify, AllowTestRoots: true}
	res, err := f.v.VerifyRequest(context.Background(), req)
	return checktest.Result(t, res, err)
}

// TestVerifyRequestBindsTheChallenge: through the seam, the relying party's
// nonce (the --nonce of the command line), or else its challenge (a
// server's), is the nonce the document must carry exactly
// (docs/pitfalls-nitro.md F6): the freshness check passes when it does,
// the document.nonce check fails as binding when it does not, and without
// either freshness is skipped with a warning. The policy's own nonce is
// replaced, never combined.
func TestVerifyRequestBindsTheChallenge(t *testing.T) {
	f := sim(t)
	p := f.payload(nil)
	p.Nonce = []byte("the server's challenge")
	doc := f.doc(t, p)
	art := cloudra.Artifact{Kind: KindDocument, Data: doc}
	for _, c := range []struct {
		name             string
		nonce, challenge []byte
		pol              *Policy
		pass             bool
	}{
		{"challenge", nil, []byte("the server's challenge"), nil, true},
		{"nonce", []byte("the server's challenge"), []byte("ignored when a nonce is given"), nil, true},
		{"other challenge", nil, []byte("another challenge"), nil, false},
		{"prefix", nil, []byte("the server's"), nil, false},
		{"challenge replaces the policy's", nil, []byte("the server's challenge"), &Policy{Nonce: []byte("stale")}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var pol *policy.Policy
			if c.pol != nil {
				pol = policy.Default().With(Platform, c.pol)
			}
			res := verifyRequest(t, f, &seam.Request{Primary: art, Nonce: c.nonce, Challenge: c.challenge, Policy: pol})
			if c.pass {
				checktest.WantPass(t, res)
				checktest.WantCheck(t, res, seam.CheckFreshness, cloudra.OutcomePass, "")
				return
			}
			checktest.WantOnly(t, res, checkNonce, cloudra.ClassBinding)
		})
	}
	res := verifyRequest(t, f, &seam.Request{Primary: art})
	checktest.WantPass(t, res)
	checktest.WantCheck(t, res, seam.CheckFreshness, cloudra.OutcomeSkip, "")
	if len(res.Warnings) == 0 {
		t.Error("no warning for a verification without a challenge")
	}
}

// TestKindLabelMustMatchTheDocument: an artifact labelled as an enclave's
// document must be one, and one labelled as a NitroTPM document must be
// that (docs/pitfalls-nitro.md F8): a label that disagrees with the payload
// fails document.parse, with no claims, whatever the policy accepts.
func TestKindLabelMustMatchTheDocument(t *testing.T) {
	f := sim(t)
	enclave := f.doc(t, f.payload(nil))
	tpm := tpmDoc(t, f, nil)
	tpmPolicy := policy.Default().With(Platform, &Policy{Document: DocumentNitroTPM})
	for _, c := range []struct {
		name string
		art  cloudra.Artifact
		pol  *policy.Policy
	}{
		{"enclave document labelled nitrotpm", cloudra.Artifact{Kind: KindTPMDocument, Data: enclave}, nil},
		{"nitrotpm document labelled enclave", cloudra.Artifact{Kind: KindDocument, Data: tpm}, tpmPolicy},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := verifyRequest(t, f, &seam.Request{Primary: c.art, Policy: c.pol})
			checktest.WantFail(t, res, checkParse, cloudra.ClassParse)
		})
	}
	checktest.WantPass(t, verifyRequest(t, f, &seam.Request{Primary: cloudra.Artifact{Kind: KindTPMDocument, Data: tpm}, Policy: tpmPolicy}))
	if k := Seam().Detect(tpm); k != KindTPMDocument {
		t.Errorf("a NitroTPM document is detected as %s", k)
	}
	if k := Seam().Detect(enclave); k != KindDocument {
		t.Errorf("an enclave document is detected as %s", k)
	}
}

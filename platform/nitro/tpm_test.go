package nitro

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
)

// NitroTPM attestation documents (AWS EC2 User Guide, "Validate a NitroTPM
// Attestation Document") are the enclave document's COSE_Sign1 under the
// same PKI, with the SHA-384 PCRs 0–23 of the instance's NitroTPM under
// nitrotpm_pcrs. Their PCRs mean the boot of an EC2 instance, not an
// enclave image, so the policy's document rule keeps the two apart.

func tpmDoc(t *testing.T, f *simFixture, nonce []byte) []byte {
	t.Helper()
	b, err := f.pki.TPMDocument(simTime, []byte("user data"), nonce, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNitroTPMDocumentRefusedByDefault: a NitroTPM document verifies (its
// chain, signature and time) but the default policy accepts enclave
// documents only: it fails the document rule as policy, and nothing else.
func TestNitroTPMDocumentRefusedByDefault(t *testing.T) {
	f := sim(t)
	res := f.verify(t, tpmDoc(t, f, nil), nil)
	checktest.WantFail(t, res, "document", cloudra.ClassPolicy)
	checktest.WantOnly(t, res, "policy.document", cloudra.ClassPolicy)
	checktest.WantCheck(t, res, checkSignature, cloudra.OutcomePass, "")
	res = f.verify(t, tpmDoc(t, f, nil), &Policy{Document: DocumentEnclave})
	checktest.WantOnly(t, res, "policy.document", cloudra.ClassPolicy)
}

// TestNitroTPMDocumentAccepted: under Policy{Document: "nitrotpm"} a
// NitroTPM document passes; its claims say document nitrotpm, carry PCRs
// 0–23 (as the simulated instance measured them) and no debug claim (debug
// mode is an enclave's, AWS Nitro Enclaves User Guide, "Nitro Enclaves
// concepts: debug mode"), and its nonce binds like an enclave's.
func TestNitroTPMDocumentAccepted(t *testing.T) {
	f := sim(t)
	nonce := []byte("tpm challenge")
	pol := &Policy{Document: DocumentNitroTPM, Nonce: nonce}
	res := f.verify(t, tpmDoc(t, f, nonce), pol)
	checktest.WantPass(t, res)
	checktest.WantCheck(t, res, checkNonce, cloudra.OutcomePass, "")
	if got := res.Claim("document"); got != DocumentNitroTPM {
		t.Errorf("document claim %v", got)
	}
	if res.Claim("debug") != nil {
		t.Errorf("debug claim %v on a NitroTPM document", res.Claim("debug"))
	}
	if _, ok := res.Claims.(*Claims); !ok {
		t.Fatalf("claims %T", res.Claims)
	}
	for _, c := range res.Claims.Claims() {
		if c.Name == "debug" {
			t.Error("a debug claim is listed")
		}
	}
	want := f.pki.TPMPCRValues()
	for i := range uint(32) {
		got := res.Claim(fmt.Sprintf("pcr%d", i))
		switch {
		case i < 24 && got != hex.EncodeToString(want[i]):
			t.Errorf("pcr%d = %v, want %x", i, got, want[i])
		case i >= 24 && got != nil:
			t.Errorf("pcr%d = %v, want none", i, got)
		}
	}
	d, err := ParseDocument(tpmDoc(t, f, nonce))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Attestation.TPM || len(d.Attestation.PCRs) != 24 || Debug(d.Attestation) {
		t.Errorf("TPM %v, %d PCRs, debug %v", d.Attestation.TPM, len(d.Attestation.PCRs), Debug(d.Attestation))
	}
	// A wrong nonce still fails as binding under the nitrotpm policy.
	res = f.verify(t, tpmDoc(t, f, []byte("another")), pol)
	checktest.WantOnly(t, res, checkNonce, cloudra.ClassBinding)
}

// TestNitroTPMPCRAllowList: the pcrs allow-lists of a nitrotpm policy apply
// to nitrotpm_pcrs, PCR 23 included; a value not listed fails as policy.
func TestNitroTPMPCRAllowList(t *testing.T) {
	f := sim(t)
	pcrs := f.pki.TPMPCRValues()
	doc := tpmDoc(t, f, nil)
	ok := &Policy{Document: DocumentNitroTPM, PCRs: map[string][]cloudra.HexBytes{"0": {pcrs[0]}, "23": {pcrs[23]}}}
	checktest.WantPass(t, f.verify(t, doc, ok))
	bad := &Policy{Document: DocumentNitroTPM, PCRs: map[string][]cloudra.HexBytes{"23": {pcrs[22]}}}
	checktest.WantOnly(t, f.verify(t, doc, bad), "policy.pcrs.23", cloudra.ClassPolicy)
}

// TestEnclaveDocumentUnderNitroTPMPolicy: an enclave document is not
// accepted where a NitroTPM document is expected: it fails the document
// rule as policy.
func TestEnclaveDocumentUnderNitroTPMPolicy(t *testing.T) {
	f := sim(t)
	res := f.verify(t, f.doc(t, f.payload(nil)), &Policy{Document: DocumentNitroTPM})
	checktest.WantFail(t, res, "document", cloudra.ClassPolicy)
	checktest.WantOnly(t, res, "policy.document", cloudra.ClassPolicy)
}

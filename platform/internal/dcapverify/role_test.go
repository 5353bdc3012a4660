package dcapverify

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

// verifySGX runs the pipeline on an SGX quote of k with the kit's root as
// the only trusted root.
func verifySGX(t *testing.T, k *dcaptest.Kit, quote []byte, col *cloudra.Collateral) *cloudra.Result {
	t.Helper()
	q, err := dcap.ParseQuote(quote)
	if err != nil {
		t.Fatal(err)
	}
	res := &cloudra.Result{}
	_, err = New().Verify(context.Background(), res, Request{Quote: q, TEE: pcs.SGX, Collateral: col, Roots: []*x509.Certificate{k.Root}, Time: k.Now,
		Platform: func(info *pcs.TCBInfo, ext *dcap.PCKExtension) (*pcs.TCBEvaluation, error) {
			return pcs.EvaluateSGX(info, ext.CompSVN, ext.PCESVN)
		}})
	if err := checktest.NoDecision(err); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPCKLeafMustBeEndEntity: the PCK certificate signs QE reports and
// nothing else. A CA:TRUE PCK certificate, or one asserting keyCertSign or
// cRLSign, or without the digitalSignature key usage Intel sets, fails
// pck.chain (class chain) whether it comes in the quote (certification data
// type 5) or from the collateral (types 1–3); Intel's profile passes.
func TestPCKLeafMustBeEndEntity(t *testing.T) {
	ds, cc := x509.KeyUsageDigitalSignature, x509.KeyUsageContentCommitment
	k := dcaptest.New(dcaptest.DefaultConfig())
	orig := k.PCK
	for _, c := range []struct {
		name string
		bc   bool
		ca   bool
		ku   x509.KeyUsage
		ok   bool
	}{
		{"Intel profile: CA:FALSE, digitalSignature, nonRepudiation", true, false, ds | cc, true},
		{"CA:TRUE", true, true, ds | cc, false},
		{"CA:TRUE with keyCertSign", true, true, ds | x509.KeyUsageCertSign, false},
		{"CA:FALSE with keyCertSign", true, false, ds | x509.KeyUsageCertSign, false},
		{"CA:FALSE with cRLSign", true, false, ds | x509.KeyUsageCRLSign, false},
		{"no key usage", true, false, 0, false},
		{"key usage without digitalSignature", true, false, cc, false},
	} {
		k.PCK = k.Issue(&x509.Certificate{Subject: orig.Subject, BasicConstraintsValid: c.bc, IsCA: c.ca, KeyUsage: c.ku,
			NotBefore: orig.NotBefore, NotAfter: orig.NotAfter, ExtraExtensions: []pkix.Extension{{Id: dcap.OIDSGXExtension(), Value: k.ExtensionDER()}}},
			k.CA, k.CAKey, k.PCKKey)
		// Type 5: the chain is in the quote.
		inQuote := verifySGX(t, k, k.SGXQuote().Bytes(), k.Collateral(false))
		// Type 3: the quote names the platform, the collateral holds the
		// PCK certificate.
		q := k.SGXQuote()
		info := append(make([]byte, 384), k.CompSVN[:]...)
		info = binary.LittleEndian.AppendUint16(info, k.PCESVN)
		q.CertType, q.CertData = dcap.CertTypePPIDRSA3072, append(info, k.PCEID[:]...)
		col := k.Collateral(false)
		col.AddCertificate(k.PCK)
		fromCol := verifySGX(t, k, q.Bytes(), col)
		for what, res := range map[string]*cloudra.Result{"in the quote": inQuote, "from the collateral": fromCol} {
			ch, found := res.Check("pck.chain")
			switch {
			case !found:
				t.Errorf("%s, %s: no pck.chain check", c.name, what)
			case c.ok && ch.Outcome != cloudra.OutcomePass:
				t.Errorf("%s, %s: %+v", c.name, what, ch)
			case !c.ok && (ch.Outcome != cloudra.OutcomeFail || ch.Class != cloudra.ClassChain):
				t.Errorf("%s, %s: %+v, want fail/chain", c.name, what, ch)
			}
		}
	}
}

// TestEngineTCBSignerMustBeEndEntity: the verification pipeline (not only
// pcs.FindTCBInfo) refuses a TCB Signing certificate that is a CA, asserts
// keyCertSign or lacks digitalSignature: TCB Info and QE Identity then
// fail as chain; Intel's profile passes.
func TestEngineTCBSignerMustBeEndEntity(t *testing.T) {
	ds, cc := x509.KeyUsageDigitalSignature, x509.KeyUsageContentCommitment
	for _, c := range []struct {
		name string
		tmpl x509.Certificate
		ok   bool
	}{
		{"Intel profile", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | cc}, true},
		{"CA:TRUE", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: ds | x509.KeyUsageCertSign}, false},
		{"CA:FALSE with keyCertSign", x509.Certificate{BasicConstraintsValid: true, KeyUsage: ds | x509.KeyUsageCertSign}, false},
		{"no key usage", x509.Certificate{BasicConstraintsValid: true}, false},
	} {
		k := dcaptest.New(dcaptest.DefaultConfig())
		tmpl := c.tmpl
		tmpl.Subject = pkix.Name{CommonName: pcs.TCBSigningCN}
		tmpl.NotBefore, tmpl.NotAfter = k.Now.AddDate(-1, 0, 0), k.Now.AddDate(1, 0, 0)
		k.TCBSigner = k.Issue(&tmpl, k.Root, k.RootKey, k.TCBKey)
		res := verifySGX(t, k, k.SGXQuote().Bytes(), k.Collateral(false))
		ch, found := res.Check("tcb-info.verify")
		switch {
		case !found:
			t.Errorf("%s: no tcb-info.verify check: %+v", c.name, res.Checks)
		case c.ok && ch.Outcome != cloudra.OutcomePass:
			t.Errorf("%s: %+v", c.name, ch)
		case !c.ok && (ch.Outcome != cloudra.OutcomeFail || ch.Class != cloudra.ClassChain):
			t.Errorf("%s: %+v, want fail/chain", c.name, ch)
		}
	}
}

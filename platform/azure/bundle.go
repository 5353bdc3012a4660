package azure

import (
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tpm"
)

// EvidenceFromBundle assembles Azure evidence from a bundle: the HCL report
// (cloudra.KindAzureHCL, required), the TD quote (KindTDXQuote, for TDX),
// the vTPM quote (KindTPMAttest with KindTPMSig, optional KindTPMPCRs and
// KindEventLog), the AK public key the collector read (KindTPMAKPub,
// optional: the quote is verified with HCLAkPub, and a supplied AK must
// equal it) and the bundle's nonce. An SNP product hint may be given as
// the HCL artifact's meta "product".
//
// The signature may be a TPMT_SIGNATURE (tpm2_quote -s) or a raw RSASSA
// signature (tpm2_quote -f plain, trustee's evidence); meta "format":
// "plain" says so, otherwise a signature that does not parse as
// TPMT_SIGNATURE is taken as raw.
func EvidenceFromBundle(b *cloudra.Bundle) (Evidence, error) {
	hcl, ok := b.First(cloudra.KindAzureHCL)
	if !ok {
		return Evidence{}, &cloudra.IncompleteEvidenceError{Missing: cloudra.KindAzureHCL, Msg: "azure: no HCL report in the evidence"}
	}
	ev := Evidence{HCLReport: hcl.Data, Nonce: b.Nonce, Product: hcl.Meta["product"]}
	if q, ok := b.First(cloudra.KindTDXQuote); ok {
		ev.TDQuote = q.Data
	}
	if att, ok := b.First(cloudra.KindTPMAttest); ok {
		sig, ok := b.First(cloudra.KindTPMSig)
		if !ok {
			return Evidence{}, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMSig, Msg: "azure: vTPM quote without its signature"}
		}
		q := &tpm.Quote{Attest: att.Data, Signature: sig.Data, PlainSignature: tpm.IsPlainSignature(sig.Data, sig.Meta["format"])}
		if p, ok := b.First(cloudra.KindTPMPCRs); ok {
			pcrs, err := tpm.ParsePCRValues(p.Data)
			if err != nil {
				return Evidence{}, fmt.Errorf("azure: vTPM PCR values: %w", err)
			}
			q.PCRs = pcrs
		}
		if l, ok := b.First(cloudra.KindEventLog); ok {
			q.EventLog = l.Data
		}
		ev.Quote = q
	}
	if a, ok := b.First(cloudra.KindTPMAKPub); ok {
		pub, err := tpm.ParsePublic(a.Data)
		if err != nil {
			return Evidence{}, fmt.Errorf("azure: vTPM attestation key: %w", err)
		}
		ev.AKPublic = pub
	}
	return ev, nil
}

package platform

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/platform/tpm"
)

// verifyTPM verifies one TPM quote: TPMS_ATTEST, its TPMT_SIGNATURE, the
// PCR values, the AK public key (and AK certificate when present) and the
// event log of its group, against the relying party's nonce (never the
// bundle's own "nonce" field).
func verifyTPM(ctx context.Context, in Input, g *group, nonce []byte) (*cloudra.Result, error) {
	att := g.primary
	q := tpm.Quote{Attest: att.Data}
	sig, ok := g.companion(cloudra.KindTPMSig)
	if !ok {
		return nil, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMSig, Msg: "tpm quote without its signature"}
	}
	q.Signature = sig.Data
	// tpm2_quote -f plain (and the Azure/trustee evidence) carries a raw
	// signature rather than a TPMT_SIGNATURE.
	if sig.Meta["format"] == "plain" {
		q.PlainSignature = true
	} else if _, err := tpm.ParseSignature(sig.Data); err != nil {
		q.PlainSignature = true
	}
	if p, ok := g.companion(cloudra.KindTPMPCRs); ok {
		pcrs, err := tpm.ParsePCRValues(p.Data)
		if err != nil {
			return nil, fmt.Errorf("tpm pcr values: %w", err)
		}
		q.PCRs = pcrs
	}
	if l, ok := g.companion(cloudra.KindEventLog); ok {
		q.EventLog = l.Data
	}
	akArt, ok := g.companion(cloudra.KindTPMAKPub)
	if !ok {
		return nil, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMAKPub, Msg: "tpm quote without its attestation key"}
	}
	pub, err := tpm.ParsePublic(akArt.Data)
	if err != nil {
		return nil, fmt.Errorf("tpm attestation key: %w", err)
	}
	ak := tpm.AK{Public: pub}
	if c, ok := g.companion(cloudra.KindTPMAKCert); ok {
		cert, err := parseCert(c.Data)
		if err != nil {
			return nil, fmt.Errorf("tpm ak certificate: %w", err)
		}
		ak.Cert = cert
		ak.Chain = in.Collateral.Certificates
	}
	return asResult(tpm.VerifyQuote(ctx, q, ak, nonce, in.Policy.TPM, in.Options))
}

func parseCert(b []byte) (*x509.Certificate, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	return x509.ParseCertificate(b)
}

// attestFields names the TPMS_ATTEST fields as TPM 2.0 Part 2 §10.12.12 does.
func attestFields(a *tpm.Attest) []cloudra.Claim {
	sel := make([]string, 0, len(a.PCRSelect))
	for _, s := range a.PCRSelect {
		sel = append(sel, fmt.Sprintf("%s:%v", s.Hash, s.PCRs))
	}
	return []cloudra.Claim{
		{Name: "magic", Value: fmt.Sprintf("0x%08x", a.Magic)},
		{Name: "type", Value: fmt.Sprintf("0x%04x", a.Type)},
		{Name: "qualifiedSigner", Value: hex.EncodeToString(a.QualifiedSigner)},
		{Name: "extraData", Value: hex.EncodeToString(a.ExtraData)},
		{Name: "clockInfo.clock", Value: a.ClockInfo.Clock},
		{Name: "clockInfo.resetCount", Value: a.ClockInfo.ResetCount},
		{Name: "clockInfo.restartCount", Value: a.ClockInfo.RestartCount},
		{Name: "clockInfo.safe", Value: a.ClockInfo.Safe},
		{Name: "firmwareVersion", Value: fmt.Sprintf("%016x", a.FirmwareVersion)},
		{Name: "attested.quote.pcrSelect", Value: sel},
		{Name: "attested.quote.pcrDigest", Value: hex.EncodeToString(a.PCRDigest)},
	}
}

// eventLogFields lists every event of a TCG PC Client (or CC) event log:
// index, type, digests per bank, and the event data size.
func eventLogFields(data []byte, cc bool) ([]cloudra.Claim, error) {
	parse := eventlog.Parse
	if cc {
		parse = eventlog.ParseCCEL
	}
	l, err := parse(data)
	if err != nil {
		return nil, err
	}
	format := "TCG crypto-agile"
	if l.Format == eventlog.FormatSHA1 {
		format = "TCG SHA-1 (TPM 1.2)"
	}
	out := []cloudra.Claim{{Name: "format", Value: format}, {Name: "events", Value: len(l.Events)}}
	for _, e := range l.Events {
		digests := make([]string, 0, len(e.Digests))
		for _, d := range e.Digests {
			digests = append(digests, fmt.Sprintf("%s:%s", tpm.Alg(d.Alg), hex.EncodeToString(d.Value)))
		}
		out = append(out, cloudra.Claim{
			Name:  fmt.Sprintf("event[%d]", e.Seq),
			Value: fmt.Sprintf("index=%d type=%s data=%dB %s", e.Index, e.Type, len(e.Data), strings.Join(digests, " ")),
		})
	}
	return out, nil
}

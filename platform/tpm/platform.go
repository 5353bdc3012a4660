package tpm

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/eventlog"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// Seam returns the TPM's entry in cloudra's list of platforms
// (platform/platforms.go): TPM 2.0 quotes with their signature, PCR values,
// attestation key (and certificate) and event log, as tpm2-tools writes
// them.
func Seam() seam.Platform { return tpmPlatform{} }

type tpmPlatform struct{}

func (tpmPlatform) Name() string { return Platform }

func (tpmPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{
		{Kind: cloudra.KindTPMAttest, Role: seam.Primary},
		{Kind: cloudra.KindTPMSig, Role: seam.Companion, Of: cloudra.KindTPMAttest},
		{Kind: cloudra.KindTPMPCRs, Role: seam.Companion, Of: cloudra.KindTPMAttest},
		{Kind: cloudra.KindTPMAKPub, Role: seam.Companion, Of: cloudra.KindTPMAttest},
		{Kind: cloudra.KindTPMAKCert, Role: seam.Companion, Of: cloudra.KindTPMAttest},
		{Kind: cloudra.KindEventLog, Role: seam.Companion, Of: cloudra.KindTPMAttest},
	}
}

// Detect recognises a TPMS_ATTEST by its magic TPM_GENERATED_VALUE
// (0xff544347, TPM 2.0 Part 2, §6.2) and a TCG PC Client event log by its
// Spec ID event.
func (tpmPlatform) Detect(b []byte) cloudra.Kind {
	switch {
	case len(b) >= 6 && binary.BigEndian.Uint32(b) == 0xff544347:
		return cloudra.KindTPMAttest
	case eventlog.IsLog(b):
		return cloudra.KindEventLog
	}
	return ""
}

func (tpmPlatform) Inspect(kind cloudra.Kind, data []byte) ([]cloudra.Claim, error) {
	switch kind {
	case cloudra.KindTPMAttest:
		a, err := ParseAttest(data)
		if err != nil {
			return nil, err
		}
		return attestFields(a), nil
	case cloudra.KindEventLog:
		return eventlog.Fields(data, false)
	}
	return nil, fmt.Errorf("tpm: no inspector for %s", kind)
}

func (tpmPlatform) Policy() policy.Section { return PolicySection() }

// Build needs nothing: AK roots come from the policy, by fingerprint.
func (tpmPlatform) Build(seam.Env) (seam.Verifier, error) { return quoteVerifier{}, nil }

type quoteVerifier struct{}

// VerifyRequest verifies a TPM quote against the relying party's nonce, or
// its challenge when no nonce was given (never the bundle's own "nonce").
func (quoteVerifier) VerifyRequest(ctx context.Context, req *seam.Request) (*cloudra.Result, error) {
	nonce := req.Nonce
	if len(nonce) == 0 {
		nonce = req.Challenge
	}
	r, err := seam.Decided(verifyQuoteRequest(ctx, req, nonce))
	if err != nil {
		return nil, err
	}
	seam.NoteFreshness(r, len(nonce) > 0, !seam.FailedCheck(r, "quote.nonce"), "nonce")
	return r, r.Err()
}

// verifyQuoteRequest verifies one TPM quote: TPMS_ATTEST, its TPMT_SIGNATURE, the
// PCR values, the AK public key (and AK certificate when present) and the
// event log of its group, against the relying party's nonce (never the
// bundle's own "nonce" field).
func verifyQuoteRequest(ctx context.Context, req *seam.Request, nonce []byte) (*cloudra.Result, error) {
	att := req.Primary
	q := Quote{Attest: att.Data}
	sig, ok := req.Companion(cloudra.KindTPMSig)
	if !ok {
		return nil, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMSig, Msg: "tpm quote without its signature"}
	}
	q.Signature = sig.Data
	// tpm2_quote -f plain (and the Azure/trustee evidence) carries a raw
	// signature rather than a TPMT_SIGNATURE.
	q.PlainSignature = IsPlainSignature(sig.Data, sig.Meta["format"])
	if p, ok := req.Companion(cloudra.KindTPMPCRs); ok {
		pcrs, err := ParsePCRValues(p.Data)
		if err != nil {
			return nil, fmt.Errorf("tpm pcr values: %w", err)
		}
		q.PCRs = pcrs
	}
	if l, ok := req.Companion(cloudra.KindEventLog); ok {
		q.EventLog = l.Data
	}
	akArt, ok := req.Companion(cloudra.KindTPMAKPub)
	if !ok {
		return nil, &cloudra.IncompleteEvidenceError{Of: cloudra.KindTPMAttest, Missing: cloudra.KindTPMAKPub, Msg: "tpm quote without its attestation key"}
	}
	pub, err := ParsePublic(akArt.Data)
	if err != nil {
		return nil, fmt.Errorf("tpm attestation key: %w", err)
	}
	ak := AK{Public: pub}
	if c, ok := req.Companion(cloudra.KindTPMAKCert); ok {
		cert, err := parseCert(c.Data)
		if err != nil {
			return nil, fmt.Errorf("tpm ak certificate: %w", err)
		}
		ak.Cert = cert
		ak.Chain = req.Collateral.Certificates
	}
	return VerifyQuote(ctx, q, ak, nonce, PolicyOf(req.Policy), req.Options)
}

func parseCert(b []byte) (*x509.Certificate, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	return x509.ParseCertificate(b)
}

// attestFields names the TPMS_ATTEST fields as TPM 2.0 Part 2 §10.12.12 does.
func attestFields(a *Attest) []cloudra.Claim {
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

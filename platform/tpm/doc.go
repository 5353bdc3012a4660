// Package tpm verifies TPM 2.0 quotes: it parses TPMS_ATTEST,
// TPMT_SIGNATURE, AK public areas and PCR value files, checks the AK
// signature over the exact attested bytes, the nonce, the PCR values against
// pcrDigest, how the AK is anchored (pinned, certified to a pinned root, or
// bound by verified hardware evidence such as Azure's HCL report), replays a
// TCG event log against the quoted PCRs, and appraises the result against
// the tpm section of a policy.
//
// All TPM structures are big-endian and parsed with
// golang.org/x/crypto/cryptobyte; nothing relies on go-tpm's reflection
// unmarshaller, which checks neither the TPM_GENERATED magic nor trailing
// bytes (go-tpm PR #435). The package is pure: device access lives in
// platform/tpm/device.
//
// Typical use (tpm2-tools files):
//
//	ak, _ := tpm.ParsePublic(akPEM)           // tpm2_readpublic -f pem / -o
//	pcrs, _ := tpm.ParsePCRValues(pcrFile)    // tpm2_quote -o
//	res, err := tpm.VerifyQuote(ctx, tpm.Quote{Attest: msg, Signature: sig, PCRs: pcrs},
//		tpm.AK{Public: ak}, nonce, pol.TPM, cloudra.Options{Time: t})
//	// err is a *cloudra.RejectedError (with res) unless the verdict is pass
//
// References: TPM 2.0 Library Part 1 (§36 Attestation), Part 2 (structures,
// cited per type), Part 3 (§18.4 TPM2_Quote); TCG PC Client Platform
// Firmware Profile for event logs (package eventlog).
package tpm

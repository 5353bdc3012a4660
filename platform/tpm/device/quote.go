package device

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"golang.org/x/crypto/cryptobyte"
)

// QuoteResult is a quote as the TPM produced it, with the PCR values it
// covers and the key that signed it.
type QuoteResult struct {
	Attest    []byte         // TPMS_ATTEST (tpm2_quote -m), exactly as signed
	Signature []byte         // TPMT_SIGNATURE (tpm2_quote -s, -f tss)
	Selection []PCRSelection // the quoted selection, as the TPM reports it
	PCRs      []PCRValue     // values read for Selection, in its order
	AK        *Key           // the signing key; AK.Public is TPM2B_PUBLIC
	// Attempts is how many quotes it took to get PCR values that match the
	// quoted digest (more than one when a PCR was extended in between).
	Attempts int
}

// TPM2ToolsPCRs returns the PCR values in tpm2_quote -o format.
func (q *QuoteResult) TPM2ToolsPCRs() ([]byte, error) { return TPM2ToolsPCRs(q.Selection, q.PCRs) }

// NoKeyError reports that no key is persisted at the attestation key's
// handle: one must be created there first.
type NoKeyError struct{ Handle uint32 }

func (e *NoKeyError) Error() string { return fmt.Sprintf("device: no key at 0x%08x", e.Handle) }

// ErrPCRsChanging is returned when PCR values never match the quoted digest.
var ErrPCRsChanging = errors.New("device: PCRs changed between every quote and read")

// quoteAttempts bounds retries when PCRs move between quote and read.
const quoteAttempts = 5

// Quote signs the selected PCRs and nonce (qualifying data, at most 64
// bytes) with the persistent AK at ak, using the AK's own scheme. It reads
// the PCR values after each quote and retries until their digest equals the
// quoted pcrDigest, so the values returned are the ones the quote covers.
// The check here only guards collection; verifiers re-check everything.
func Quote(t transport.TPM, ak uint32, nonce []byte, sel []PCRSelection) (*QuoteResult, error) {
	if len(sel) == 0 {
		return nil, errors.New("device: empty PCR selection")
	}
	key, pub, err := readKey(t, ak)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, &NoKeyError{Handle: ak}
	}
	if !pub.ObjectAttributes.SignEncrypt || pub.ObjectAttributes.Decrypt {
		return nil, fmt.Errorf("device: key at 0x%08x is a %s, not a signing key", ak, key.Summary())
	}
	for attempt := 1; attempt <= quoteAttempts; attempt++ {
		rec := &recorder{t: t}
		rsp, err := tpm2.Quote{
			SignHandle:     tpm2.AuthHandle{Handle: tpm2.TPMHandle(ak), Name: tpm2.TPM2BName{Buffer: key.Name}, Auth: tpm2.PasswordAuth(nil)},
			QualifyingData: tpm2.TPM2BData{Buffer: nonce},
			InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
			PCRSelect:      toTPML(sel),
		}.Execute(rec)
		if err != nil {
			return nil, fmt.Errorf("device: quote with 0x%08x: %w", ak, err)
		}
		attest, sig, err := splitQuoteResponse(rec.last)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(attest, rsp.Quoted.Bytes()) {
			return nil, errors.New("device: quote response framing disagrees with go-tpm")
		}
		a, err := tpm2.Unmarshal[tpm2.TPMSAttest](attest)
		if err != nil {
			return nil, fmt.Errorf("device: quote: %w", err)
		}
		if a.Magic != tpm2.TPMGeneratedValue || a.Type != tpm2.TPMSTAttestQuote {
			return nil, fmt.Errorf("device: quote has magic 0x%08x type 0x%04x", uint32(a.Magic), uint16(a.Type))
		}
		qi, err := a.Attested.Quote()
		if err != nil {
			return nil, fmt.Errorf("device: quote: %w", err)
		}
		quoted := fromTPML(qi.PCRSelect)
		vals, err := ReadPCRs(t, quoted)
		if err != nil {
			return nil, err
		}
		hashAlg, err := sigHash(&rsp.Signature)
		if err != nil {
			return nil, err
		}
		hh, err := hashAlg.Hash()
		if err != nil {
			return nil, fmt.Errorf("device: quote signature hash: %w", err)
		}
		// pcrDigest = H(PCR values in selection order) with the signing
		// scheme's hash (TPM 2.0 Part 3 §18.4.1).
		d := hh.New()
		for _, v := range vals {
			d.Write(v.Digest)
		}
		if subtle.ConstantTimeCompare(d.Sum(nil), qi.PCRDigest.Buffer) == 1 {
			return &QuoteResult{Attest: attest, Signature: sig, Selection: quoted, PCRs: vals, AK: key, Attempts: attempt}, nil
		}
	}
	return nil, ErrPCRsChanging
}

func sigHash(s *tpm2.TPMTSignature) (tpm2.TPMIAlgHash, error) {
	switch s.SigAlg {
	case tpm2.TPMAlgRSASSA:
		x, err := s.Signature.RSASSA()
		if err != nil {
			return 0, err
		}
		return x.Hash, nil
	case tpm2.TPMAlgRSAPSS:
		x, err := s.Signature.RSAPSS()
		if err != nil {
			return 0, err
		}
		return x.Hash, nil
	case tpm2.TPMAlgECDSA:
		x, err := s.Signature.ECDSA()
		if err != nil {
			return 0, err
		}
		return x.Hash, nil
	}
	return 0, fmt.Errorf("device: quote signed with unsupported scheme %s", algName(s.SigAlg))
}

// recorder keeps the last raw response so the signed bytes and the
// signature are returned exactly as the TPM sent them, not re-marshalled.
type recorder struct {
	t    transport.TPM
	last []byte
}

func (r *recorder) Send(cmd []byte) ([]byte, error) {
	rsp, err := r.t.Send(cmd)
	r.last = rsp
	return rsp, err
}

// splitQuoteResponse cuts a TPM2_Quote response (Part 3 §18.4.3, tag
// TPM_ST_SESSIONS): header(10) ‖ parameterSize u32 ‖ TPM2B_ATTEST ‖
// TPMT_SIGNATURE ‖ session area.
func splitQuoteResponse(rsp []byte) (attest, sig []byte, err error) {
	s := cryptobyte.String(rsp)
	var params, a cryptobyte.String
	var n uint32
	if !s.Skip(10) || !s.ReadUint32(&n) || !s.ReadBytes((*[]byte)(&params), int(n)) ||
		!params.ReadUint16LengthPrefixed(&a) || len(params) == 0 {
		return nil, nil, errors.New("device: malformed quote response")
	}
	return bytes.Clone(a), bytes.Clone(params), nil
}

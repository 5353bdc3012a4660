package tpm

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Structure tags and constants (TPM 2.0 Part 2, §6.2 TPM_GENERATED and
// §6.9 TPM_ST).
const (
	// GeneratedValue is TPM_GENERATED_VALUE ("\xffTCG"): a TPM puts it only
	// in structures it creates itself, so a restricted signing key never
	// signs external data that starts with it (Part 1, §36.2 "Attestation").
	GeneratedValue uint32 = 0xff544347

	STAttestCertify      uint16 = 0x8017
	STAttestQuote        uint16 = 0x8018
	STAttestSessionAudit uint16 = 0x8016
	STAttestCommandAudit uint16 = 0x8015
	STAttestTime         uint16 = 0x8019
	STAttestCreation     uint16 = 0x801A
	STAttestNV           uint16 = 0x8014
)

// MaxPCRSelectBytes bounds sizeofSelect: PCR_SELECT_MAX for 32 PCRs. PC
// Client TPMs implement 24 PCRs (sizeofSelect 3).
const MaxPCRSelectBytes = 4

// maxBanks bounds TPML_PCR_SELECTION.count (HASH_COUNT in the reference
// implementation is at most a handful; 16 is tpm2-tss TPM2_NUM_PCR_BANKS).
const maxBanks = 16

// Sentinel parse errors that callers (and VerifyQuote) branch on.
var (
	// ErrMagic: the TPMS_ATTEST does not start with TPM_GENERATED_VALUE,
	// so a TPM did not produce it (CVE-2024-29040 class).
	ErrMagic = errors.New("tpm: TPMS_ATTEST magic is not TPM_GENERATED_VALUE")
	// ErrNotQuote: a well-formed attestation structure of another type.
	ErrNotQuote = errors.New("tpm: TPMS_ATTEST type is not TPM_ST_ATTEST_QUOTE")
)

// ParseError is a malformed TPM structure.
type ParseError struct {
	What string
	Err  error
}

func (e *ParseError) Error() string { return "tpm: malformed " + e.What + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func perr(what, format string, args ...any) error {
	return &ParseError{What: what, Err: fmt.Errorf(format, args...)}
}

// ClockInfo is TPMS_CLOCK_INFO (Part 2, §10.11.1).
type ClockInfo struct {
	Clock        uint64 `json:"clock"`
	ResetCount   uint32 `json:"reset_count"`
	RestartCount uint32 `json:"restart_count"`
	Safe         bool   `json:"safe"`
}

// PCRSelection is one TPMS_PCR_SELECTION: a bank and the PCRs selected in
// it, in ascending order (bit i mod 8 of byte i/8 selects PCR i).
type PCRSelection struct {
	Hash Alg
	// SizeOfSelect is the bitmap size as carried (kept for re-marshalling).
	SizeOfSelect int
	PCRs         []int
}

// Attest is a parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE
// (Part 2, §10.12.12). Raw holds the exact bytes the AK signed.
type Attest struct {
	Raw             []byte
	Magic           uint32
	Type            uint16
	QualifiedSigner []byte
	ExtraData       []byte
	ClockInfo       ClockInfo
	FirmwareVersion uint64
	// PCRSelect is TPMS_QUOTE_INFO.pcrSelect, in the signed order.
	PCRSelect []PCRSelection
	// PCRDigest is TPMS_QUOTE_INFO.pcrDigest: H(selected PCR values in
	// selection order), H being the signing scheme's hash.
	PCRDigest []byte
}

// ParseAttest parses a TPMS_ATTEST quote (the `tpm2_quote -m` file, the
// attestationData of TPM2B_ATTEST). It checks the magic and the type itself
// (go-tpm's reflection unmarshaller checks neither, go-tpm PR #435), bounds
// every length, and rejects trailing bytes.
func ParseAttest(b []byte) (*Attest, error) {
	a := new(Attest)
	if err := parseAttest(a, bytes.Clone(b)); err != nil {
		return nil, err
	}
	return a, nil
}

// parseAttest parses b into a; a's byte fields alias b, which becomes
// a.Raw. On error a is unusable.
func parseAttest(a *Attest, b []byte) error {
	a.Raw = b
	s := cryptobyte.String(b)
	if !s.ReadUint32(&a.Magic) || !s.ReadUint16(&a.Type) {
		return perr("TPMS_ATTEST", "truncated header (%d bytes)", len(b))
	}
	if a.Magic != GeneratedValue {
		return fmt.Errorf("%w (got 0x%08x)", ErrMagic, a.Magic)
	}
	if a.Type != STAttestQuote {
		return fmt.Errorf("%w (got 0x%04x)", ErrNotQuote, a.Type)
	}
	var signer, extra cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&signer) || !s.ReadUint16LengthPrefixed(&extra) {
		return perr("TPMS_ATTEST", "truncated qualifiedSigner or extraData")
	}
	// TPM2B_DATA holds at most sizeof(TPMT_HA) = 66 bytes (Part 2, §10.4.3).
	if len(extra) > 66 {
		return perr("TPMS_ATTEST", "extraData of %d bytes exceeds sizeof(TPMT_HA)", len(extra))
	}
	a.QualifiedSigner, a.ExtraData = []byte(signer), []byte(extra)
	var safe uint8
	if !s.ReadUint64(&a.ClockInfo.Clock) || !s.ReadUint32(&a.ClockInfo.ResetCount) ||
		!s.ReadUint32(&a.ClockInfo.RestartCount) || !s.ReadUint8(&safe) ||
		!s.ReadUint64(&a.FirmwareVersion) {
		return perr("TPMS_ATTEST", "truncated clockInfo or firmwareVersion")
	}
	if safe > 1 {
		return perr("TPMS_ATTEST", "clockInfo.safe is %d, not TPMI_YES_NO", safe)
	}
	a.ClockInfo.Safe = safe == 1
	sel, err := readPCRSelection(&s)
	if err != nil {
		return err
	}
	a.PCRSelect = sel
	var dig cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&dig) {
		return perr("TPMS_QUOTE_INFO", "truncated pcrDigest")
	}
	if len(dig) > 64 {
		return perr("TPMS_QUOTE_INFO", "pcrDigest of %d bytes exceeds any hash size", len(dig))
	}
	a.PCRDigest = []byte(dig)
	if !s.Empty() {
		return perr("TPMS_ATTEST", "%d trailing bytes", len(s))
	}
	return nil
}

// readPCRSelection reads TPML_PCR_SELECTION (Part 2, §10.9.7).
func readPCRSelection(s *cryptobyte.String) ([]PCRSelection, error) {
	var count uint32
	if !s.ReadUint32(&count) {
		return nil, perr("TPML_PCR_SELECTION", "truncated count")
	}
	if count > maxBanks {
		return nil, perr("TPML_PCR_SELECTION", "count %d exceeds %d banks", count, maxBanks)
	}
	out := make([]PCRSelection, 0, count)
	for i := uint32(0); i < count; i++ {
		var h uint16
		var bitmap cryptobyte.String
		if !s.ReadUint16(&h) || !s.ReadUint8LengthPrefixed(&bitmap) {
			return nil, perr("TPMS_PCR_SELECTION", "truncated selection %d", i)
		}
		alg := Alg(h)
		if alg.DigestSize() == 0 {
			return nil, perr("TPMS_PCR_SELECTION", "selection %d: %v is not a hash algorithm", i, alg)
		}
		if len(bitmap) > MaxPCRSelectBytes {
			return nil, perr("TPMS_PCR_SELECTION", "selection %d: sizeofSelect %d exceeds %d", i, len(bitmap), MaxPCRSelectBytes)
		}
		// A bank listed twice would make the value labels ambiguous.
		if slices.ContainsFunc(out, func(o PCRSelection) bool { return o.Hash == alg }) {
			return nil, perr("TPMS_PCR_SELECTION", "bank %v selected twice", alg)
		}
		n := 0
		for _, c := range bitmap {
			n += bits.OnesCount8(c)
		}
		ps := PCRSelection{Hash: alg, SizeOfSelect: len(bitmap)}
		if n > 0 {
			ps.PCRs = make([]int, 0, n)
		}
		for pcr := 0; pcr < 8*len(bitmap); pcr++ {
			if bitmap[pcr/8]&(1<<(pcr%8)) != 0 {
				ps.PCRs = append(ps.PCRs, pcr)
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// appendPCRSelection marshals a TPML_PCR_SELECTION.
func appendPCRSelection(b *cryptobyte.Builder, sel []PCRSelection) {
	b.AddUint32(uint32(len(sel)))
	for _, s := range sel {
		b.AddUint16(uint16(s.Hash))
		n := s.SizeOfSelect
		bm := make([]byte, n)
		for _, p := range s.PCRs {
			if p/8 < n {
				bm[p/8] |= 1 << (p % 8)
			}
		}
		b.AddUint8(uint8(n))
		b.AddBytes(bm)
	}
}

// Marshal re-encodes the quote. For any input accepted by ParseAttest the
// result equals Raw (checked by the fuzz test); verification always uses Raw.
func (a *Attest) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint32(a.Magic)
	b.AddUint16(a.Type)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.QualifiedSigner) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.ExtraData) })
	b.AddUint64(a.ClockInfo.Clock)
	b.AddUint32(a.ClockInfo.ResetCount)
	b.AddUint32(a.ClockInfo.RestartCount)
	if a.ClockInfo.Safe {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
	b.AddUint64(a.FirmwareVersion)
	appendPCRSelection(&b, a.PCRSelect)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.PCRDigest) })
	return b.Bytes()
}

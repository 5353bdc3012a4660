package tpm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PCRs holds PCR values per bank: PCRs[AlgSHA256][7] is SHA-256 PCR 7.
// Values are unauthenticated until a quote's pcrDigest covers them.
type PCRs map[Alg]map[int][]byte

// NumPCRs is the number of PCRs of a PC Client TPM.
const NumPCRs = 24

// Set stores a value, creating the bank.
func (p PCRs) Set(bank Alg, pcr int, v []byte) {
	if p[bank] == nil {
		p[bank] = map[int][]byte{}
	}
	p[bank][pcr] = v
}

// Hex renders the values as {"sha256": {"0": "hex", …}} (the JSON form
// ParsePCRValues reads).
func (p PCRs) Hex() map[string]map[string]string {
	out := map[string]map[string]string{}
	for alg, bank := range p {
		m := map[string]string{}
		for i, v := range bank {
			m[strconv.Itoa(i)] = hex.EncodeToString(v)
		}
		out[alg.String()] = m
	}
	return out
}

// Indices returns the PCR indices of a bank in ascending order.
func (p PCRs) Indices(bank Alg) []int {
	var out []int
	for i := range p[bank] {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// Sizes of the tpm2-tools serialised structures (tss2_tpm2_types.h):
// TPMS_PCR_SELECTION {u16 hash; u8 sizeofSelect; u8 pcrSelect[4]} padded to 8,
// TPML_PCR_SELECTION {u32 count; TPMS_PCR_SELECTION[16]} = 132,
// TPM2B_DIGEST {u16 size; u8 buffer[64]} = 66, TPML_DIGEST {u32 count;
// TPM2B_DIGEST[8]} = 532.
const (
	serialSelSize    = 8
	serialSelListLen = 4 + 16*serialSelSize
	serialDigestSize = 2 + 64
	serialDigestList = 4 + 8*serialDigestSize
	serialMaxLists   = 32 // tpm2_pcrs.pcr_values[TPM2_MAX_PCRS]
)

// ParsePCRValues reads PCR values in one of these forms:
//
//   - JSON by bank: {"sha256": {"0": "hex", …}, "sha1": {…}};
//   - JSON flat: {"0": "hex", …}, the bank inferred from the digest size
//     (20 sha1, 32 sha256, 48 sha384, 64 sha512), the same for all entries;
//   - the `tpm2_quote -o` / `tpm2_pcrread -o` file (tpm2-tools
//     pcr_fwrite_serialized, lib/pcr.c): the C structs TPML_PCR_SELECTION,
//     u32 count, count × TPML_DIGEST, written in host byte order (little
//     endian on every platform tpm2-tools supports), not TPM-marshalled.
//
// The selection inside a serialised file only labels the values here; the
// verifier labels them again from the signed selection (CVE-2024-29039).
func ParsePCRValues(b []byte) (PCRs, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return parsePCRJSON(t)
	}
	return parsePCRSerialized(b)
}

func parsePCRJSON(b []byte) (PCRs, error) {
	if len(b) > 1<<20 {
		return nil, perr("PCR JSON", "%d bytes is too large", len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &ParseError{What: "PCR JSON", Err: err}
	}
	out := PCRs{}
	flat := map[string]string{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			flat[k] = s
			continue
		}
		alg, err := ParseHashAlg(k)
		if err != nil {
			return nil, &ParseError{What: "PCR JSON", Err: err}
		}
		var bank map[string]string
		if err := json.Unmarshal(v, &bank); err != nil {
			return nil, perr("PCR JSON", "bank %s: %v", k, err)
		}
		for i, h := range bank {
			if err := setHex(out, alg, i, h); err != nil {
				return nil, err
			}
		}
	}
	if len(flat) > 0 {
		if len(out) > 0 {
			return nil, perr("PCR JSON", "mixes banks and bare PCR indices")
		}
		var alg Alg
		for i, h := range flat {
			n := len(strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")) / 2
			var a Alg
			switch n {
			case 20:
				a = AlgSHA1
			case 32:
				a = AlgSHA256
			case 48:
				a = AlgSHA384
			case 64:
				a = AlgSHA512
			default:
				return nil, perr("PCR JSON", "PCR %s: %d-byte value fits no bank", i, n)
			}
			if alg != 0 && a != alg {
				return nil, perr("PCR JSON", "flat PCR values of different sizes (hint: group them by bank)")
			}
			alg = a
			if err := setHex(out, alg, i, h); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func setHex(out PCRs, alg Alg, idx, h string) error {
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= 8*MaxPCRSelectBytes || strconv.Itoa(i) != idx {
		return perr("PCR JSON", "PCR index %q", idx)
	}
	h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	v, err := hex.DecodeString(h)
	if err != nil {
		return perr("PCR JSON", "PCR %d: %v", i, err)
	}
	if len(v) != alg.DigestSize() {
		return perr("PCR JSON", "%v PCR %d has %d bytes, want %d", alg, i, len(v), alg.DigestSize())
	}
	out.Set(alg, i, v)
	return nil
}

func parsePCRSerialized(b []byte) (PCRs, error) {
	if len(b) < serialSelListLen+4 {
		return nil, perr("tpm2-tools PCR file", "%d bytes is too short", len(b))
	}
	le := binary.LittleEndian
	count := le.Uint32(b)
	if count == 0 || count > 16 {
		return nil, perr("tpm2-tools PCR file", "selection count %d", count)
	}
	type sel struct {
		alg  Alg
		pcrs []int
	}
	sels := make([]sel, 0, count)
	for i := 0; i < int(count); i++ {
		e := b[4+i*serialSelSize : 4+(i+1)*serialSelSize]
		alg := Alg(le.Uint16(e))
		size := int(e[2])
		if alg.DigestSize() == 0 {
			return nil, perr("tpm2-tools PCR file", "selection %d: %v is not a hash algorithm", i, alg)
		}
		if size > MaxPCRSelectBytes {
			return nil, perr("tpm2-tools PCR file", "selection %d: sizeofSelect %d", i, size)
		}
		s := sel{alg: alg}
		for p := 0; p < 8*size; p++ {
			if e[3+p/8]&(1<<(p%8)) != 0 {
				s.pcrs = append(s.pcrs, p)
			}
		}
		sels = append(sels, s)
	}
	n := le.Uint32(b[serialSelListLen:])
	if n > serialMaxLists || len(b) != serialSelListLen+4+int(n)*serialDigestList {
		return nil, perr("tpm2-tools PCR file", "%d digest lists do not fit %d bytes", n, len(b))
	}
	lists := b[serialSelListLen+4:]
	out := PCRs{}
	vi, di := 0, 0
	for _, s := range sels {
		for _, p := range s.pcrs {
			if vi >= int(n) {
				return nil, perr("tpm2-tools PCR file", "fewer digests than selected PCRs")
			}
			l := lists[vi*serialDigestList : (vi+1)*serialDigestList]
			lc := int(le.Uint32(l))
			if lc == 0 || lc > 8 || di >= lc {
				return nil, perr("tpm2-tools PCR file", "digest list %d has count %d", vi, lc)
			}
			d := l[4+di*serialDigestSize : 4+(di+1)*serialDigestSize]
			size := int(le.Uint16(d))
			if size != s.alg.DigestSize() {
				return nil, perr("tpm2-tools PCR file", "%v PCR %d digest has %d bytes", s.alg, p, size)
			}
			if _, dup := out[s.alg][p]; dup {
				return nil, perr("tpm2-tools PCR file", "%v PCR %d listed twice", s.alg, p)
			}
			out.Set(s.alg, p, append([]byte(nil), d[2:2+size]...))
			if di++; di >= lc {
				di, vi = 0, vi+1
			}
		}
	}
	if di != 0 || vi != int(n) {
		return nil, perr("tpm2-tools PCR file", "more digests than selected PCRs")
	}
	return out, nil
}

// MarshalPCRsSerialized writes PCR values in the tpm2-tools serialised form
// (for tests and for tools that hand files to tpm2_checkquote).
func MarshalPCRsSerialized(sel []PCRSelection, p PCRs) ([]byte, error) {
	if len(sel) == 0 || len(sel) > 16 {
		return nil, fmt.Errorf("tpm: %d banks", len(sel))
	}
	le := binary.LittleEndian
	out := make([]byte, serialSelListLen+4)
	le.PutUint32(out, uint32(len(sel)))
	var digests [][]byte
	for i, s := range sel {
		e := out[4+i*serialSelSize:]
		le.PutUint16(e, uint16(s.Hash))
		e[2] = byte(s.SizeOfSelect)
		for _, pcr := range s.PCRs {
			if pcr/8 >= s.SizeOfSelect || s.SizeOfSelect > MaxPCRSelectBytes {
				return nil, fmt.Errorf("tpm: PCR %d outside sizeofSelect", pcr)
			}
			e[3+pcr/8] |= 1 << (pcr % 8)
			v, ok := p[s.Hash][pcr]
			if !ok {
				return nil, fmt.Errorf("tpm: no value for %v PCR %d", s.Hash, pcr)
			}
			digests = append(digests, v)
		}
	}
	nl := (len(digests) + 7) / 8
	le.PutUint32(out[serialSelListLen:], uint32(nl))
	for l := 0; l < nl; l++ {
		list := make([]byte, serialDigestList)
		chunk := digests[l*8 : min(len(digests), (l+1)*8)]
		le.PutUint32(list, uint32(len(chunk)))
		for k, d := range chunk {
			le.PutUint16(list[4+k*serialDigestSize:], uint16(len(d)))
			copy(list[4+k*serialDigestSize+2:], d)
		}
		out = append(out, list...)
	}
	return out, nil
}

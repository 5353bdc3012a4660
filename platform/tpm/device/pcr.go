package device

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// NumPCRs is the number of PCRs of a PC Client TPM (PC Client Platform TPM
// Profile §4.6.1): "all" in a selection means 0–23.
const NumPCRs = 24

// PCRSelection is one bank and the PCRs selected in it (ascending).
type PCRSelection struct {
	Hash tpm2.TPMIAlgHash
	PCRs []int
}

// PCRValue is one PCR as read from the TPM.
type PCRValue struct {
	Hash   tpm2.TPMIAlgHash `json:"-"`
	Bank   string           `json:"bank"`
	Index  int              `json:"pcr"`
	Digest []byte           `json:"digest"`
}

// ParsePCRSelection reads tpm2-tools PCR selection syntax:
// "sha256:0,1,7", "sha1:0,1+sha256:all", "sha256:0-7" (ranges are a cloudra
// extension). Banks appear in the order given; each bank at most once.
func ParsePCRSelection(s string) ([]PCRSelection, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("device: empty PCR selection (want e.g. sha256:0,1,7)")
	}
	var out []PCRSelection
	seen := map[tpm2.TPMIAlgHash]bool{}
	for _, part := range strings.Split(s, "+") {
		bank, list, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || list == "" {
			return nil, fmt.Errorf("device: PCR selection %q: want BANK:LIST such as sha256:0,1,7", part)
		}
		h, err := parseHash(bank)
		if err != nil {
			return nil, err
		}
		if seen[h] {
			return nil, fmt.Errorf("device: PCR selection %q: bank %s given twice", s, bank)
		}
		seen[h] = true
		var set [NumPCRs]bool
		if list == "all" {
			for i := range set {
				set[i] = true
			}
		} else {
			for _, item := range strings.Split(list, ",") {
				lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
				a, err := parsePCRIndex(lo)
				if err != nil {
					return nil, err
				}
				b := a
				if isRange {
					if b, err = parsePCRIndex(hi); err != nil {
						return nil, err
					}
					if b < a {
						return nil, fmt.Errorf("device: PCR range %q is reversed", item)
					}
				}
				for i := a; i <= b; i++ {
					set[i] = true
				}
			}
		}
		sel := PCRSelection{Hash: h}
		for i, on := range set {
			if on {
				sel.PCRs = append(sel.PCRs, i)
			}
		}
		out = append(out, sel)
	}
	return out, nil
}

func parsePCRIndex(s string) (int, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 0, 8)
	if err != nil || n >= NumPCRs {
		return 0, fmt.Errorf("device: PCR index %q out of range 0–%d", s, NumPCRs-1)
	}
	return int(n), nil
}

// parseHash reads a bank name (tpm2-tools spelling) or a numeric TPM_ALG_ID.
func parseHash(s string) (tpm2.TPMIAlgHash, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sha1", "sha-1":
		return tpm2.TPMAlgSHA1, nil
	case "sha256", "sha-256":
		return tpm2.TPMAlgSHA256, nil
	case "sha384", "sha-384":
		return tpm2.TPMAlgSHA384, nil
	case "sha512", "sha-512":
		return tpm2.TPMAlgSHA512, nil
	case "sm3_256", "sm3":
		return tpm2.TPMAlgSM3256, nil
	}
	if n, err := strconv.ParseUint(s, 0, 16); err == nil {
		h := tpm2.TPMIAlgHash(n)
		if _, err := h.Hash(); err == nil {
			return h, nil
		}
	}
	return 0, fmt.Errorf("device: unknown PCR bank %q (want sha1, sha256, sha384 or sha512)", s)
}

// FormatPCRSelection writes a selection in tpm2-tools syntax.
func FormatPCRSelection(sel []PCRSelection) string {
	parts := make([]string, 0, len(sel))
	for _, s := range sel {
		idx := make([]string, len(s.PCRs))
		for i, p := range s.PCRs {
			idx[i] = strconv.Itoa(p)
		}
		parts = append(parts, algName(s.Hash)+":"+strings.Join(idx, ","))
	}
	return strings.Join(parts, "+")
}

// toTPML encodes a selection as TPML_PCR_SELECTION with sizeofSelect 3 (24
// PCRs, what tpm2-tools sends).
func toTPML(sel []PCRSelection) tpm2.TPMLPCRSelection {
	var l tpm2.TPMLPCRSelection
	for _, s := range sel {
		bm := make([]byte, 3)
		for _, p := range s.PCRs {
			bm[p/8] |= 1 << (p % 8)
		}
		l.PCRSelections = append(l.PCRSelections, tpm2.TPMSPCRSelection{Hash: s.Hash, PCRSelect: bm})
	}
	return l
}

// fromTPML decodes TPML_PCR_SELECTION (bit i mod 8 of byte i/8 = PCR i).
func fromTPML(l tpm2.TPMLPCRSelection) []PCRSelection {
	out := make([]PCRSelection, 0, len(l.PCRSelections))
	for _, s := range l.PCRSelections {
		sel := PCRSelection{Hash: s.Hash}
		for i, b := range s.PCRSelect {
			for bit := 0; bit < 8; bit++ {
				if b&(1<<bit) != 0 {
					sel.PCRs = append(sel.PCRs, i*8+bit)
				}
			}
		}
		out = append(out, sel)
	}
	return out
}

// ReadPCRs reads the selected PCRs, in selection order. TPM2_PCR_Read
// returns at most eight digests per call, so reading takes several calls;
// if the PCR update counter moves between them the read starts over, so the
// values come from one state of the TPM.
func ReadPCRs(t transport.TPM, sel []PCRSelection) ([]PCRValue, error) {
	const attempts = 5
	for range attempts {
		vals, stable, err := readPCRsOnce(t, sel)
		if err != nil {
			return nil, err
		}
		if stable {
			return vals, nil
		}
	}
	return nil, fmt.Errorf("device: PCRs kept changing during %d reads", attempts)
}

func readPCRsOnce(t transport.TPM, sel []PCRSelection) ([]PCRValue, bool, error) {
	type key struct {
		h tpm2.TPMIAlgHash
		i int
	}
	got := map[key][]byte{}
	want := 0
	for _, s := range sel {
		want += len(s.PCRs)
	}
	var counter uint32
	first := true
	remaining := slices.Clone(sel)
	for len(got) < want {
		req := toTPML(remaining)
		rsp, err := tpm2.PCRRead{PCRSelectionIn: req}.Execute(t)
		if err != nil {
			return nil, false, fmt.Errorf("device: read PCRs: %w", err)
		}
		if !first && rsp.PCRUpdateCounter != counter {
			return nil, false, nil
		}
		first, counter = false, rsp.PCRUpdateCounter
		n := 0
		for _, s := range fromTPML(rsp.PCRSelectionOut) {
			for _, p := range s.PCRs {
				if n >= len(rsp.PCRValues.Digests) {
					return nil, false, fmt.Errorf("device: PCR read returned fewer digests than its selection")
				}
				got[key{s.Hash, p}] = rsp.PCRValues.Digests[n].Buffer
				n++
			}
		}
		if n == 0 {
			return nil, false, fmt.Errorf("device: the TPM returned no values for %s (hint: is the bank allocated? tpm2_getcap pcrs lists the active banks)", FormatPCRSelection(remaining))
		}
		var next []PCRSelection
		for _, s := range remaining {
			r := PCRSelection{Hash: s.Hash}
			for _, p := range s.PCRs {
				if _, ok := got[key{s.Hash, p}]; !ok {
					r.PCRs = append(r.PCRs, p)
				}
			}
			if len(r.PCRs) > 0 {
				next = append(next, r)
			}
		}
		remaining = next
	}
	var out []PCRValue
	for _, s := range sel {
		for _, p := range s.PCRs {
			out = append(out, PCRValue{Hash: s.Hash, Bank: algName(s.Hash), Index: p, Digest: got[key{s.Hash, p}]})
		}
	}
	return out, true, nil
}

// TPM2ToolsPCRs encodes PCR values in the file format of `tpm2_quote -o`
// and `tpm2_pcrread -o` ("values", tpm2-tools lib/pcr.c
// pcr_fwrite_serialized): host-endian C structures, not TPM marshalling —
// TPML_PCR_SELECTION (count u32 + 16 × {hash u16, sizeofSelect u8,
// pcrSelect[4], pad}), then a u32 count of TPML_DIGEST structures, each
// {count u32, 8 × TPM2B_DIGEST{size u16, buffer[64]}}. tpm2-tools fills one
// TPML_DIGEST per PCR_Read response (at most eight values); any split into
// runs of eight in selection order is read the same way. Values must be in
// the order of sel (the quoted selection).
func TPM2ToolsPCRs(sel []PCRSelection, vals []PCRValue) ([]byte, error) {
	const maxBanks, digestsPerList, bufSize = 16, 8, 64
	if len(sel) > maxBanks {
		return nil, fmt.Errorf("device: %d PCR banks (tpm2-tools takes %d)", len(sel), maxBanks)
	}
	le := binary.LittleEndian
	out := le.AppendUint32(nil, uint32(len(sel)))
	for i := range maxBanks {
		rec := make([]byte, 8)
		if i < len(sel) {
			le.PutUint16(rec, uint16(sel[i].Hash))
			rec[2] = 3
			for _, p := range sel[i].PCRs {
				if p < 0 || p >= 32 {
					return nil, fmt.Errorf("device: PCR %d out of range", p)
				}
				rec[3+p/8] |= 1 << (p % 8)
			}
		}
		out = append(out, rec...)
	}
	n := 0
	for _, s := range sel {
		n += len(s.PCRs)
	}
	if n != len(vals) {
		return nil, fmt.Errorf("device: %d PCR values for a selection of %d", len(vals), n)
	}
	lists := (n + digestsPerList - 1) / digestsPerList
	out = le.AppendUint32(out, uint32(lists))
	for l := range lists {
		chunk := vals[l*digestsPerList : min((l+1)*digestsPerList, n)]
		out = le.AppendUint32(out, uint32(len(chunk)))
		for i := range digestsPerList {
			d := make([]byte, 2+bufSize)
			if i < len(chunk) {
				if len(chunk[i].Digest) > bufSize {
					return nil, fmt.Errorf("device: PCR digest of %d bytes", len(chunk[i].Digest))
				}
				le.PutUint16(d, uint16(len(chunk[i].Digest)))
				copy(d[2:], chunk[i].Digest)
			}
			out = append(out, d...)
		}
	}
	return out, nil
}

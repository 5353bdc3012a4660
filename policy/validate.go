package policy

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudra/cloudra/internal/tpmalg"
)

// Byte-string lengths are declared on the fields with a hex tag, read when
// the field is decoded:
//
//	hex:"48"            exactly 48 bytes
//	hex:"1-64"          1 to 64 bytes
//	hex:"20|32|48|64"   one of these lengths
//	hex:"32,0x"         (string fields) an optional 0x prefix is allowed
//
// A value of another length could never equal the evidence field it is
// compared with, so the rule would fail every time, or, worse, be compared
// as a prefix; either way it is not the rule that was meant. String fields
// are trimmed of surrounding white space first, as the platform packages
// trim them when they compare.
type hexSpec struct {
	min, max int   // a range, when lens is empty
	lens     []int // allowed lengths
	prefix0x bool
}

func parseHexSpec(tag string) (*hexSpec, error) {
	lens, opt, _ := strings.Cut(tag, ",")
	s := &hexSpec{}
	switch opt {
	case "":
	case "0x":
		s.prefix0x = true
	default:
		return nil, fmt.Errorf("bad hex tag option %q", opt)
	}
	if lo, hi, ok := strings.Cut(lens, "-"); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || a > b {
			return nil, fmt.Errorf("bad hex tag %q", tag)
		}
		s.min, s.max = a, b
		return s, nil
	}
	for l := range strings.SplitSeq(lens, "|") {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad hex tag %q", tag)
		}
		s.lens = append(s.lens, n)
	}
	return s, nil
}

// check returns "" when n bytes is an allowed length, else the reason.
func (s *hexSpec) check(n int) string {
	if len(s.lens) == 0 {
		if n < s.min || n > s.max {
			return fmt.Sprintf("%d bytes, want %d to %d", n, s.min, s.max)
		}
		return ""
	}
	for _, l := range s.lens {
		if n == l {
			return ""
		}
	}
	want := make([]string, len(s.lens))
	for i, l := range s.lens {
		want[i] = strconv.Itoa(l)
	}
	return fmt.Sprintf("%d bytes, want %s", n, strings.Join(want, " or "))
}

// checkString checks a hex string field.
func (s *hexSpec) checkString(v string) string {
	v = strings.TrimSpace(v)
	if s.prefix0x {
		v = strings.TrimPrefix(v, "0x")
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return "not hex: " + hexMessage(err)
	}
	return s.check(len(b))
}

// tpmBank looks a TPM bank name of the tpm section up as
// platform/tpm.ParseHashAlg reads it (one table, internal/tpmalg): its
// TPM_ALG_ID and digest size.
func tpmBank(name string) (alg uint16, size int, ok bool) {
	h, ok := tpmalg.Parse(name)
	return h.ID, h.Size, ok
}

// maxPCRIndex is the highest PCR a quote can select: TPMS_PCR_SELECTION
// carries at most PCR_SELECT_MAX = 4 bytes of bitmap (TPM 2.0 Part 2,
// §10.6.1; platform/tpm.MaxPCRSelectBytes), 32 PCRs.
const maxPCRIndex = 31

// validate checks the pcrs and banks rules: every bank is one the verifier
// knows, no bank is given twice under two spellings ("sha256", "SHA-256"),
// every PCR index is a plain decimal 0–31, and every digest has the bank's
// digest size.
func (p *TPM) validate(v *value) *Error {
	for i, b := range p.Banks {
		if _, _, ok := tpmBank(b); !ok {
			return &Error{Key: fmt.Sprintf("banks[%d]", i), Line: v.at("banks", i).line, Err: errorf(ErrValue, "unknown bank %q (want sha1, sha256, sha384 or sha512)", b)}
		}
	}
	seen := map[uint16]string{}
	for _, bank := range sortedKeys(p.PCRs) {
		alg, size, ok := tpmBank(bank)
		key := "pcrs." + bank
		bv := v.at("pcrs", bank)
		if !ok {
			return &Error{Key: key, Line: bv.line, Err: errorf(ErrValue, "unknown bank %q (want sha1, sha256, sha384 or sha512)", bank)}
		}
		if other, dup := seen[alg]; dup {
			return &Error{Key: key, Line: bv.line, Err: errorf(ErrDuplicateKey, "duplicate key: the same bank as %q", other)}
		}
		seen[alg] = bank
		rules := p.PCRs[bank]
		for _, idx := range sortedKeys(rules) {
			n, err := strconv.Atoi(idx)
			if err != nil || !isDecimal(idx) || n < 0 || n > maxPCRIndex {
				return &Error{Key: key + "." + idx, Line: bv.at(idx).line, Err: errorf(ErrValue, "%q is not a PCR index (a plain decimal 0 to %d)", idx, maxPCRIndex)}
			}
			for j, d := range rules[idx] {
				spec := hexSpec{lens: []int{size}, prefix0x: true}
				if msg := spec.checkString(d); msg != "" {
					return &Error{Key: fmt.Sprintf("%s.%s[%d]", key, idx, j), Line: bv.at(idx, j).line, Err: errorf(ErrValue, "%s (the %s digest size)", msg, bank)}
				}
			}
		}
	}
	return nil
}

// sortedKeys returns a map's keys in order, so that the first error
// reported does not depend on map iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

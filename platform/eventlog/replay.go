package eventlog

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// startupLocalitySig begins the data of the EV_NO_ACTION event that records
// the locality of TPM2_Startup (PFP §10.4.5.3, TCG_EfiStartupLocalityEvent).
const startupLocalitySig = "StartupLocality\x00"

// StartupLocality returns the locality recorded by a StartupLocality event
// in PCR0, or 0.
func (l *Log) StartupLocality() (uint8, bool) {
	for i := range l.Events {
		e := &l.Events[i]
		if e.Type == EvNoAction && e.Index == 0 && len(e.Data) == len(startupLocalitySig)+1 &&
			bytes.HasPrefix(e.Data, []byte(startupLocalitySig)) {
			return e.Data[len(startupLocalitySig)], true
		}
	}
	return 0, false
}

// ResetValue is the value of a PCR after TPM2_Startup that nothing has
// extended: zero, except DRTM PCRs 17–22, which start at all 0xFF until a
// dynamic launch resets them (PC Client PTP §4.6 "PCR initial values").
func ResetValue(pcr, size int) []byte {
	v := make([]byte, size)
	if pcr >= 17 && pcr <= 22 {
		for i := range v {
			v[i] = 0xFF
		}
	}
	return v
}

// ErrNoBank is a replay in a bank the log does not carry.
var ErrNoBank = errors.New("eventlog: the log has no digests in this bank")

// Replay extends every event except EV_NO_ACTION (which by definition is
// not extended, PFP §10.4.1) into PCRs of bank, PCR = H(PCR ‖ digest),
// starting from zero; PCR0 starts at the StartupLocality locality in its
// last byte (PFP §10.4.5.3). The result holds only PCRs the log extends.
func Replay(l *Log, bank uint16) (map[int][]byte, error) {
	h, ok := HashFor(bank)
	if !ok {
		return nil, fmt.Errorf("eventlog: cannot replay bank %s", AlgName(bank))
	}
	if !l.HasAlg(bank) {
		return nil, fmt.Errorf("%w (%s)", ErrNoBank, AlgName(bank))
	}
	out := map[int][]byte{}
	loc, _ := l.StartupLocality()
	hh := h.New()
	for i := range l.Events {
		e := &l.Events[i]
		if e.Type == EvNoAction {
			continue
		}
		d := e.Digest(bank)
		if d == nil {
			return nil, fmt.Errorf("eventlog: event %d (%v, PCR %d) has no %s digest", e.Seq, e.Type, e.Index, AlgName(bank))
		}
		cur, ok := out[int(e.Index)]
		if !ok {
			cur = make([]byte, h.Size())
			if e.Index == 0 {
				cur[len(cur)-1] = loc
			}
		}
		hh.Reset()
		hh.Write(cur)
		hh.Write(d)
		out[int(e.Index)] = hh.Sum(nil)
	}
	return out, nil
}

// Mismatch is one PCR whose replayed value differs from the quoted one.
type Mismatch struct {
	PCR      int
	Replayed []byte // nil: the log never extends this PCR
	Quoted   []byte
}

// Compare compares replayed PCRs with quoted values, for every quoted PCR.
// A quoted PCR the log never extends matches only if it holds its reset
// value. Every mismatch is returned, in PCR order.
func Compare(replayed, quoted map[int][]byte) []Mismatch {
	var idx []int
	for i := range quoted {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var out []Mismatch
	for _, i := range idx {
		q := quoted[i]
		r, ok := replayed[i]
		if !ok {
			if !bytes.Equal(q, ResetValue(i, len(q))) {
				out = append(out, Mismatch{PCR: i, Quoted: q})
			}
			continue
		}
		if !bytes.Equal(r, q) {
			out = append(out, Mismatch{PCR: i, Replayed: r, Quoted: q})
		}
	}
	return out
}

package eventlog

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra"
)

// Fields lists every event of a TCG PC Client (or, with cc, a CC) event
// log, for inspection: the format, the event count, and per event its
// index, type, data size and digests per bank. Nothing is verified.
func Fields(data []byte, cc bool) ([]cloudra.Claim, error) {
	parse := Parse
	if cc {
		parse = ParseCCEL
	}
	l, err := parse(data)
	if err != nil {
		return nil, err
	}
	format := "TCG crypto-agile"
	if l.Format == FormatSHA1 {
		format = "TCG SHA-1 (TPM 1.2)"
	}
	out := []cloudra.Claim{{Name: "format", Value: format}, {Name: "events", Value: len(l.Events)}}
	for _, e := range l.Events {
		digests := make([]string, 0, len(e.Digests))
		for _, d := range e.Digests {
			digests = append(digests, fmt.Sprintf("%s:%s", algName(d.Alg), hex.EncodeToString(d.Value)))
		}
		out = append(out, cloudra.Claim{
			Name:  fmt.Sprintf("event[%d]", e.Seq),
			Value: fmt.Sprintf("index=%d type=%s data=%dB %s", e.Index, e.Type, len(e.Data), strings.Join(digests, " ")),
		})
	}
	return out, nil
}

// algName names a TPM_ALG_ID as tpm2-tools does (TPM 2.0 Part 2, §6.3
// Table 9).
func algName(a uint16) string {
	switch a {
	case AlgSHA1:
		return "sha1"
	case AlgSHA256:
		return "sha256"
	case AlgSHA384:
		return "sha384"
	case AlgSHA512:
		return "sha512"
	case AlgSM3:
		return "sm3_256"
	}
	return fmt.Sprintf("0x%04x", a)
}

// IsLog recognises a TCG PC Client event log by its first event: an
// EV_NO_ACTION (3) in PCR 0 whose data begins "Spec ID Event" (TCG PC
// Client Platform Firmware Profile, §10.4.5.1 Specification ID Version
// Event; the SHA-1 log format of §10.2.1 for the first record).
func IsLog(b []byte) bool {
	if len(b) < 32+16 {
		return false
	}
	if b[0]|b[1]|b[2]|b[3] != 0 || b[4] != 3 || b[5]|b[6]|b[7] != 0 {
		return false
	}
	return strings.Contains(string(b[:64]), "Spec ID Event")
}

package tpm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/eventlog"
)

// TestForgedEventDataReported: a real log whose Secure Boot authority or
// GRUB command line data was replaced after measurement still replays to
// the quoted PCRs (the digests are untouched), so only the data-digest rule
// stands between it and its claims: eventlog.events fails naming
// eventlog.data-digest, and the forged values are never claimed.
func TestForgedEventDataReported(t *testing.T) {
	b := vectortest.Read(t, "eventlog/go-tpm-tools-gce-and-other-logs/ubuntu-2404-amd-sevsnp.bin")
	genuine := verifyForged(t, quoteOverLog(t, b), testNonce, nil)
	checktest.WantPass(t, genuine)
	gb := genuine.Claims.(*Claims).Boot
	if gb == nil || gb.SecureBoot == nil || len(gb.SecureBoot.Authorities) == 0 || gb.KernelCmdline == "" {
		t.Fatalf("genuine claims %+v", gb)
	}
	for _, tc := range []struct {
		name  string
		match func(e *eventlog.Event) bool
		edit  func(d []byte) []byte
	}{
		{"authority", func(e *eventlog.Event) bool { return e.Index == 7 && e.Type == eventlog.EvEFIVariableAuthority },
			func(d []byte) []byte { d[len(d)-1] ^= 0xff; return d }},
		{"kernel-cmdline", func(e *eventlog.Event) bool {
			return e.Index == 8 && e.Type == eventlog.EvIPL && bytes.HasPrefix(e.Data, []byte("kernel_cmdline: "))
		}, func(d []byte) []byte { return append(d[:len(d)-1], []byte(" init=/bin/sh\x00")...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := eventlog.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for i := range l.Events {
				if e := &l.Events[i]; tc.match(e) {
					e.Data = tc.edit(append([]byte{}, e.Data...))
					n++
					break
				}
			}
			if n != 1 {
				t.Fatal("event not found")
			}
			pol := &Policy{KernelCmdlines: []string{gb.KernelCmdline, gb.KernelCmdline + " init=/bin/sh"}}
			r := verifyForged(t, quoteOverLog(t, l.Marshal()), testNonce, pol)
			onlyFailure(t, r, "eventlog.events", cloudra.ClassPolicy)
			c, _ := r.Check("eventlog.events")
			if !strings.Contains(c.Detail, eventlog.ProblemDataDigest) {
				t.Errorf("eventlog.events does not name %s: %s", eventlog.ProblemDataDigest, c.Detail)
			}
			if cl, ok := r.Claims.(*Claims); ok && cl != nil && cl.Boot != nil && strings.HasSuffix(cl.Boot.KernelCmdline, "init=/bin/sh") {
				t.Errorf("forged command line claimed: %q", cl.Boot.KernelCmdline)
			}
		})
	}
}

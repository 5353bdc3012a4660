package cli_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra/cmd/cloudra/cli"
	"github.com/cloudra/cloudra/internal/vectortest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }}
	code := cli.RunEnv(context.Background(), env, args)
	return code, out.String(), errb.String()
}

// TestBadInput: bad input of any kind gets exit 2 with a clear error, or a
// named failed check with exit 1 — never a panic or a stack trace.
func TestBadInput(t *testing.T) {
	vec := vectortest.Dir(t)
	report, err := os.ReadFile(filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek/report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	coll := filepath.Join(vec, "snp/virtee-sev-milan-v2-vcek")
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	version := func(v uint32) []byte {
		b := bytes.Clone(report)
		binary.LittleEndian.PutUint32(b, v)
		return b
	}
	huge := make([]byte, 17<<20)
	copy(huge, report)
	reserved := bytes.Clone(report)
	reserved[0x4c] = 1 // reserved, must be zero
	unsignedTail := bytes.Clone(report)
	unsignedTail[0x400] = 0xee // in the MBZ bytes after r‖s

	cases := []struct {
		name string
		file string
		args []string
		code int
		want string
	}{
		{"truncated report", write("trunc.bin", report[:1000]), nil, 1, "report.parse  fail/parse"},
		{"version 6", write("v6.bin", version(6)), nil, 2, "unrecognised artifact"},
		{"version 0xffffffff", write("vff.bin", version(0xffffffff)), nil, 2, "unrecognised artifact"},
		{"huge file", write("huge.bin", huge), nil, 2, "larger than"},
		{"reserved byte set", write("reserved.bin", reserved), nil, 1, "fail/parse"},
		{"unsigned MBZ tail", write("tail.bin", unsignedTail), nil, 1, "fail/parse"},
		{"wrong product hint", write("ok.bin", report), []string{"--product", "Genoa"}, 1, "fail"},
		{"garbage bundle", write("bad.json", []byte(`{"schema":"cloudra.evidence/v1","artifacts":[{"kind":"sev-snp/report","data":"!!"}]}`)), nil, 1, "malformed bundle"},
		{"bundle with trailing data", write("trail.json", []byte(`{"schema":"cloudra.evidence/v1","artifacts":[]} {}`)), nil, 1, "trailing"},
		{"empty bundle", write("empty.json", []byte(`{"schema":"cloudra.evidence/v1","artifacts":[]}`)), nil, 2, "nothing this cloudra can verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"verify", "--offline", "--at", "2023-04-04T19:23:43Z", "--collateral", coll}, c.args...)
			args = append(args, c.file)
			code, out, errOut := runCLI(t, args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if !strings.Contains(out+errOut, c.want) {
				t.Fatalf("output lacks %q\nstdout:\n%s\nstderr:\n%s", c.want, out, errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Fatalf("stack trace on stderr:\n%s", errOut)
			}
		})
	}
}

package cli_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/cmd/cloudra/cli"
	"github.com/cloudra/cloudra/sim"
	snpsim "github.com/cloudra/cloudra/sim/snp"
)

// syncBuffer is a bytes.Buffer safe for the serving goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `cloudra serve` on a loopback port, verifies simulated
// SEV-SNP evidence through it, and stops it by cancelling the context.
func TestServe(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var stdout, stderr syncBuffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- cli.RunEnv(ctx, env, []string{"serve", "--listen", "127.0.0.1:0", "--offline", "--cache-dir", "",
			"--allow-test-roots", "--format", "json"})
	}()
	var start struct {
		Listen, URL string
		Offline     bool
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if line, ok := strings.CutSuffix(stdout.String(), "\n"); ok {
			if err := json.Unmarshal([]byte(line), &start); err != nil {
				t.Fatalf("startup line %q: %v", line, err)
			}
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no startup line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(start.URL, "http://127.0.0.1:") || !start.Offline {
		t.Fatalf("startup %+v", start)
	}
	post := func(path string, body []byte) (int, []byte) {
		t.Helper()
		resp, err := http.Post(start.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	resp, err := http.Get(start.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	code, body := post("/v1/nonce", nil)
	var nr struct{ Nonce string }
	if code != 200 || json.Unmarshal(body, &nr) != nil {
		t.Fatalf("nonce: %d %s", code, body)
	}
	n, _ := hex.DecodeString(nr.Nonce)
	sim, err := snpsim.New([]byte(sim.DemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], n)
	raw, err := sim.Provider(snpsim.ReportOptions{Extended: true}).Report(rd, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := (&cloudra.Bundle{Platform: "sev-snp", Nonce: n, Artifacts: []cloudra.Artifact{
		{Kind: cloudra.KindSNPReport, Data: raw.Report}, {Kind: cloudra.KindSNPCertTable, Data: raw.CertTable}}}).Marshal()
	for i, want := range []string{`"verdict":"pass"`, `"class":"fresh"`} {
		code, body = post("/v1/verify", b)
		if code != 200 || !strings.Contains(string(body), want) || !strings.Contains(string(body), `"schema":"cloudra.result/v1"`) {
			t.Fatalf("verify #%d: %d %s", i+1, code, body)
		}
	}
	cancel()
	select {
	case code := <-exit:
		if code != cli.ExitPass {
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

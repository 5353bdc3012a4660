package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
	"github.com/cloudra/cloudra/platform/nitro"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
)

// fakeCollector collects one artifact, or fails with err; calls records
// the order collectors were asked in.
type fakeCollector struct {
	name  string
	err   error
	calls *[]string
}

func (c fakeCollector) Platform() string { return c.name }

func (c fakeCollector) Collect(_ context.Context, req acquire.Request) (*acquire.Evidence, error) {
	*c.calls = append(*c.calls, c.name)
	if c.err != nil {
		return nil, c.err
	}
	return &acquire.Evidence{Interface: c.name + "-if",
		Artifacts:  []cloudra.Artifact{{Kind: cloudra.Kind(c.name + "/report"), Data: req.ReportData[:4]}},
		Collateral: []cloudra.Artifact{{Kind: cloudra.Kind(c.name + "/collateral"), Name: "c"}}}, nil
}

func absent(name string) error {
	return acquire.NotAvailable(fmt.Errorf("%s/device: no %s guest interface", name, name))
}

func runFakeCollect(t *testing.T, f collectFlags, cs ...fakeCollector) (*cloudra.Bundle, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	list := make([]acquire.Collector, len(cs))
	for i, c := range cs {
		list[i] = c
	}
	if f.nonce == "" {
		f.nonce = "00112233"
	}
	f.out = "-"
	err := collect(context.Background(), env, &f, list)
	if err != nil {
		return nil, stderr.String(), err
	}
	b, perr := cloudra.ParseBundle(stdout.Bytes())
	if perr != nil {
		t.Fatalf("bundle: %v\n%s", perr, stdout.Bytes())
	}
	return b, stderr.String(), nil
}

func exitErr(t *testing.T, err error) *ExitError {
	t.Helper()
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want an *ExitError", err)
	}
	return ee
}

// auto goes past the collectors whose platform is not on this machine, in
// list order, and stops at the first that collects.
func TestCollectAutoSkipsAbsentPlatforms(t *testing.T) {
	var calls []string
	b, _, err := runFakeCollect(t, collectFlags{platform: "auto"},
		fakeCollector{name: "a", err: absent("a"), calls: &calls},
		fakeCollector{name: "b", err: absent("b"), calls: &calls},
		fakeCollector{name: "c", calls: &calls},
		fakeCollector{name: "d", calls: &calls})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []string{"a", "b", "c"}) {
		t.Errorf("asked %v, want a, b, c", calls)
	}
	if b.Platform != "c" || b.Collector != "cloudra "+Version+" c-if" || len(b.Artifacts) != 1 ||
		b.Artifacts[0].Kind != "c/report" || len(b.Collateral) != 1 || !bytes.Equal(b.Nonce, []byte{0, 0x11, 0x22, 0x33}) {
		t.Errorf("bundle %+v", b)
	}
	if !bytes.Equal(b.Artifacts[0].Data, []byte{0, 0x11, 0x22, 0x33}) {
		t.Errorf("REPORT_DATA %x, want the nonce", b.Artifacts[0].Data)
	}
}

// A platform whose interface is there and fails does not end auto either
// (as collect always did): the next platform is tried, and when none
// collects, every failure is named, in list order, with the hint.
func TestCollectAutoGoesPastFailures(t *testing.T) {
	var calls []string
	broken := errors.New("a/device: firmware status 0x16")
	b, _, err := runFakeCollect(t, collectFlags{platform: "auto"},
		fakeCollector{name: "a", err: broken, calls: &calls},
		fakeCollector{name: "b", calls: &calls})
	if err != nil || b.Platform != "b" || !slices.Equal(calls, []string{"a", "b"}) {
		t.Fatalf("asked %v: %v", calls, err)
	}

	calls = nil
	_, _, err = runFakeCollect(t, collectFlags{platform: "auto"},
		fakeCollector{name: "a", err: broken, calls: &calls},
		fakeCollector{name: "b", err: absent("b"), calls: &calls})
	ee := exitErr(t, err)
	want := "no confidential-computing guest interface found: a/device: firmware status 0x16\nb/device: no b guest interface"
	if ee.Code != ExitUndecided || ee.Error() != want || ee.Hint != noGuestHint {
		t.Errorf("exit %d, error %q, hint %q; want %d, %q, %q", ee.Code, ee.Error(), ee.Hint, ExitUndecided, want, noGuestHint)
	}
	if !errors.Is(err, broken) || !errors.Is(err, acquire.ErrNotAvailable) {
		t.Error("the joined error lost a collector's error")
	}
}

// A named platform is the only one asked; its error is the command's, with
// no hint of the command's own (the CLI's hints for the error apply).
func TestCollectNamedPlatform(t *testing.T) {
	var calls []string
	_, _, err := runFakeCollect(t, collectFlags{platform: "b"},
		fakeCollector{name: "a", calls: &calls},
		fakeCollector{name: "b", err: absent("b"), calls: &calls},
		fakeCollector{name: "c", calls: &calls})
	ee := exitErr(t, err)
	if ee.Code != ExitUndecided || ee.Error() != "b/device: no b guest interface" || ee.Hint != "" || !slices.Equal(calls, []string{"b"}) {
		t.Errorf("asked %v: exit %d, error %q, hint %q", calls, ee.Code, ee.Error(), ee.Hint)
	}
}

// With --simulate every platform is there: auto is the first of the list,
// and its error ends the command.
func TestCollectSimulateAutoIsFirst(t *testing.T) {
	var calls []string
	b, _, err := runFakeCollect(t, collectFlags{platform: "auto", simulate: true},
		fakeCollector{name: "a", calls: &calls}, fakeCollector{name: "b", calls: &calls})
	if err != nil || b.Platform != "a" || !slices.Equal(calls, []string{"a"}) {
		t.Fatalf("asked %v: %v", calls, err)
	}
	calls = nil
	_, _, err = runFakeCollect(t, collectFlags{platform: "auto", simulate: true},
		fakeCollector{name: "a", err: errors.New("sim: VMPL 7 out of range"), calls: &calls}, fakeCollector{name: "b", calls: &calls})
	if ee := exitErr(t, err); ee.Error() != "sim: VMPL 7 out of range" || !slices.Equal(calls, []string{"a"}) {
		t.Errorf("asked %v: %v", calls, err)
	}
}

// An unknown --platform names the collectors of the list, in order, and
// asks none of them.
func TestCollectUnknownPlatformListsCollectors(t *testing.T) {
	var calls []string
	_, _, err := runFakeCollect(t, collectFlags{platform: "nitro"},
		fakeCollector{name: "x", calls: &calls}, fakeCollector{name: "y", calls: &calls}, fakeCollector{name: "z", calls: &calls})
	ee := exitErr(t, err)
	if ee.Code != ExitUndecided || ee.Error() != `unknown --platform "nitro"` || ee.Hint != "use auto, x, y or z" || len(calls) != 0 {
		t.Errorf("asked %v: exit %d, error %q, hint %q", calls, ee.Code, ee.Error(), ee.Hint)
	}
}

// The list is SEV-SNP, TDX, SGX, Nitro, each named as its verifier names the
// platform, and --platform's help shows them.
func TestCollectorsList(t *testing.T) {
	env := &Env{}
	got := platformNames(collectors(env, &collectFlags{}))
	if want := []string{sevsnp.Platform, tdx.Platform, sgx.Platform, nitro.Platform}; !slices.Equal(got, want) {
		t.Errorf("collectors %v, want %v", got, want)
	}
	fl := newCollectCmd(env).Flags().Lookup("platform")
	if want := "platform: auto (SEV-SNP, then TDX, then SGX under Gramine, then a Nitro enclave), sev-snp, tdx, sgx, nitro"; fl.Usage != want {
		t.Errorf("--platform help %q, want %q", fl.Usage, want)
	}
	for _, c := range collectors(env, &collectFlags{simulate: true}) {
		if !strings.Contains(fl.Usage, c.Platform()) {
			t.Errorf("--platform help misses %s", c.Platform())
		}
	}
}

// Inside a Gramine enclave, auto reaches SGX through the device packages'
// collectors: SEV-SNP and TDX are not there.
func TestCollectAutoReachesGramine(t *testing.T) {
	dir := t.TempDir()
	none := filepath.Join(dir, "none")
	gramine := filepath.Join(dir, "attestation")
	quote := make([]byte, 48+384+4)
	binary.LittleEndian.PutUint16(quote, 3)
	copy(quote[48+320:], []byte{0x00, 0x11, 0x22, 0x33})
	if err := os.MkdirAll(gramine, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"attestation_type": []byte("dcap\n"), "user_report_data": nil, "quote": quote} {
		if err := os.WriteFile(filepath.Join(gramine, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Now: time.Now}
	code := RunEnv(context.Background(), env, []string{"collect", "--nonce", "00112233",
		"--tsm-root", none, "--device", filepath.Join(none, "sev-guest"), "--tdx-device", filepath.Join(none, "tdx_guest"),
		"--gramine-root", gramine, "--cloud", "azure"})
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, stderr.Bytes())
	}
	b, err := cloudra.ParseBundle(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b.Platform != "sgx" || b.Cloud != "azure" || b.Collector != "cloudra "+Version+" gramine:/dev/attestation" ||
		len(b.Artifacts) != 1 || b.Artifacts[0].Kind != cloudra.KindSGXQuote || !bytes.Equal(b.Artifacts[0].Data, quote) ||
		b.Artifacts[0].Meta["attestation_type"] != "dcap" || b.Collateral != nil {
		t.Errorf("bundle %+v", b)
	}
}

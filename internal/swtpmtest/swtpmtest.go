// Package swtpmtest runs a real software TPM (swtpm) for tests: a fresh
// TPM 2.0 in a temporary state directory on free loopback ports, stopped
// and restarted on the same state like a rebooted machine.
//
// Tests skip when swtpm (or a tpm2-tools binary) is missing, except when
// the environment variable CI is "true": then a missing tool fails the test,
// so CI cannot pass by skipping. CI installs the Debian/Ubuntu packages
// swtpm, swtpm-tools and tpm2-tools.
package swtpmtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra/platform/tpm/device"
	"github.com/google/go-tpm/tpm2/transport"
)

// Need skips t when the program is not on PATH, or fails it under CI=true.
// It returns the program's path.
func Need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not installed (apt-get install swtpm swtpm-tools tpm2-tools)", prog)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true requires it", msg)
	}
	t.Skip(msg)
	return ""
}

// Sim is one swtpm process and its state directory.
type Sim struct {
	Dir  string // TPM state (survives Restart)
	Host string
	Port int // command channel; the control channel is Port+1

	t    testing.TB
	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
}

// Start runs swtpm with a fresh state in t.TempDir(); t.Cleanup stops it.
func Start(t testing.TB) *Sim {
	t.Helper()
	s := &Sim{Dir: t.TempDir(), Host: "127.0.0.1", t: t, bin: Need(t, "swtpm")}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Spec is the cloudra --tpm value (and tpm2-tools TCTI) for this TPM.
func (s *Sim) Spec() string { return fmt.Sprintf("swtpm:host=%s,port=%d", s.Host, s.Port) }

// TCTI is the tpm2-tools TCTI string (TPM2TOOLS_TCTI) for this TPM.
func (s *Sim) TCTI() string { return fmt.Sprintf("swtpm:host=%s,port=%d", s.Host, s.Port) }

// Open connects to the TPM; the connection is closed at cleanup. swtpm
// serves one connection at a time: close it before running tpm2-tools.
func (s *Sim) Open(t testing.TB) transport.TPMCloser {
	t.Helper()
	tpm, err := device.Open(s.Spec())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close() })
	return tpm
}

// Restart stops swtpm gracefully and starts it again on the same state:
// persistent handles and NV survive, transient objects and PCRs do not.
func (s *Sim) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// freePortPair finds P with P and P+1 free on the loopback interface.
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p, nil
		}
	}
	return 0, errors.New("swtpmtest: no free port pair")
}

func (s *Sim) start() error {
	var lastErr error
	for range 5 {
		port, err := freePortPair()
		if err != nil {
			return err
		}
		s.Port = port
		if lastErr = s.startOn(port); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

func (s *Sim) startOn(port int) error {
	cmd := exec.Command(s.bin, "socket", "--tpm2",
		"--tpmstate", "dir="+s.Dir,
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=%s", port, s.Host),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=%s", port+1, s.Host),
		"--flags", "not-need-init,startup-clear",
		"--log", "file="+s.Dir+"/swtpm.log,level=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("swtpmtest: start swtpm: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			return fmt.Errorf("swtpmtest: swtpm exited: %v: %s", err, stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(port+1)), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("swtpmtest: swtpm did not listen on %d: %s", port+1, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// cmdShutdown is swtpm's control-channel CMD_SHUTDOWN (swtpm tpm_ioctl.h):
// the TPM saves its state and the process exits.
const cmdShutdown = 3

// Stop shuts swtpm down through its control channel (falling back to
// killing it). Stopping a stopped Sim does nothing.
func (s *Sim) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port+1)), 2*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(binary.BigEndian.AppendUint32(nil, cmdShutdown))
		var rsp [4]byte
		c.Read(rsp[:])
		c.Close()
	}
	select {
	case <-done:
		return
	case <-time.After(10 * time.Second):
	}
	cmd.Process.Kill()
	<-done
}

package device

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/tcp"
)

// Default device paths, tried in order when the spec is empty: the kernel
// resource manager first (it flushes what a crashed client leaves behind),
// then the raw device.
const (
	DefaultDevice = "/dev/tpmrm0"
	RawDevice     = "/dev/tpm0"
)

// Default ports of a software TPM's command channel (tpm2-tss TCTI
// defaults); the control/platform channel listens on port+1.
const defaultSimPort = 2321

// Errors callers branch on.
var (
	// ErrNotDevice is returned when a device path is not a character device.
	ErrNotDevice = errors.New("device: not a character device")
	// ErrNoTPM is returned when no default TPM device exists.
	ErrNoTPM = errors.New("device: no TPM found")
	// ErrBadSpec is a TPM spec Open cannot read.
	ErrBadSpec = errors.New("device: bad TPM spec")
)

// Open opens the TPM named by spec:
//
//	""                          /dev/tpmrm0, else /dev/tpm0
//	/dev/tpmrm0, device:/dev/X  a kernel TPM character device
//	swtpm[:host=H,port=P]       swtpm's TCP command channel (raw TPM commands;
//	                            tpm2-tools TCTI syntax, default 127.0.0.1:2321)
//	mssim[:host=H,port=P]       the Microsoft/IBM simulator protocol (command
//	                            port P, platform port P+1), powered on if off
//
// The caller closes the returned transport.
func Open(spec string) (transport.TPMCloser, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		for _, p := range []string{DefaultDevice, RawDevice} {
			if _, err := os.Stat(p); err == nil {
				return openDevice(p)
			}
		}
		return nil, fmt.Errorf("%w at %s or %s (hint: run inside a VM with a (v)TPM, load the tpm_crb/tpm_tis module, or use a software TPM)", ErrNoTPM, DefaultDevice, RawDevice)
	}
	kind, args, _ := strings.Cut(spec, ":")
	switch kind {
	case "device":
		if args == "" {
			args = DefaultDevice
		}
		return openDevice(args)
	case "swtpm", "mssim":
		host, port, err := parseTCTIArgs(args)
		if err != nil {
			return nil, err
		}
		if kind == "swtpm" {
			return dialSWTPM(net.JoinHostPort(host, strconv.Itoa(port)))
		}
		return dialMSSim(host, port)
	}
	if strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, ".") {
		return openDevice(spec)
	}
	return nil, fmt.Errorf("%w %q (hint: use a device path such as /dev/tpmrm0, or swtpm:host=127.0.0.1,port=2321)", ErrBadSpec, spec)
}

// parseTCTIArgs reads tpm2-tss TCTI configuration "host=H,port=P" (either
// may be missing).
func parseTCTIArgs(args string) (string, int, error) {
	host, port := "127.0.0.1", defaultSimPort
	if args == "" {
		return host, port, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", 0, fmt.Errorf("%w: %q is not key=value", ErrBadSpec, kv)
		}
		switch k {
		case "host":
			if v == "" {
				return "", 0, fmt.Errorf("%w: empty host", ErrBadSpec)
			}
			host = v
		case "port":
			p, err := strconv.ParseUint(v, 10, 16)
			if err != nil || p == 0 || p == 65535 {
				return "", 0, fmt.Errorf("%w: port %q", ErrBadSpec, v)
			}
			port = int(p)
		default:
			return "", 0, fmt.Errorf("%w: unknown key %q (want host, port)", ErrBadSpec, k)
		}
	}
	return host, port, nil
}

// commandTimeout bounds one TPM command over TCP. Key generation on a
// software TPM takes seconds; a minute means the peer is gone.
const commandTimeout = 60 * time.Second

// maxResponse bounds a TPM response (the largest TPM buffers are a few KiB;
// tpm2-tss uses 4096, go-tpm's TCP transport 1 MiB).
const maxResponse = 1 << 20

// swtpmConn speaks swtpm's TCP command channel: the raw TPM command goes
// out, the raw response comes back (the tpm2-tss "swtpm" TCTI protocol; no
// Microsoft simulator framing). swtpm serves one connection at a time.
type swtpmConn struct {
	conn net.Conn
}

func dialSWTPM(addr string) (transport.TPMCloser, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("device: connect to swtpm at %s: %w (hint: start it with scripts/swtpm.sh start)", addr, err)
	}
	return &swtpmConn{conn: c}, nil
}

// Send implements transport.TPM, resending while the TPM asks to.
func (s *swtpmConn) Send(cmd []byte) ([]byte, error) { return sendRetrying(s.send, cmd) }

// Response codes after which the caller should resend the same command
// (Part 2 §6.6.3: TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING). Software
// TPMs answer TPM_RC_RETRY to the first use of a key while they self-test;
// tpm2-tss and go-tpm's device transport retry the same way.
const (
	rcRetry   = 0x922
	rcYielded = 0x908
	rcTesting = 0x90A
)

func sendRetrying(send func([]byte) ([]byte, error), cmd []byte) ([]byte, error) {
	delay := time.Millisecond
	for {
		rsp, err := send(cmd)
		if err != nil || len(rsp) < 10 {
			return rsp, err
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case rcRetry, rcYielded, rcTesting:
			if delay > 2*time.Second {
				return rsp, nil
			}
			time.Sleep(delay)
			delay *= 2
			continue
		}
		return rsp, nil
	}
}

func (s *swtpmConn) send(cmd []byte) ([]byte, error) {
	if err := s.conn.SetDeadline(time.Now().Add(commandTimeout)); err != nil {
		return nil, fmt.Errorf("device: swtpm: %w", err)
	}
	if _, err := s.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("device: swtpm: send: %w", err)
	}
	return readResponse(s.conn)
}

// readResponse reads one TPM response: a 10-byte header whose size field
// (Part 1 §18.10) gives the total length.
func readResponse(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 10)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("device: read response header: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("device: response size %d out of range", size)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr)
	if _, err := io.ReadFull(r, rsp[10:]); err != nil {
		return nil, fmt.Errorf("device: read response: %w", err)
	}
	return rsp, nil
}

// Close implements io.Closer.
func (s *swtpmConn) Close() error { return s.conn.Close() }

func dialMSSim(host string, port int) (transport.TPMCloser, error) {
	t, err := tcp.Open(tcp.Config{
		CommandAddress:  net.JoinHostPort(host, strconv.Itoa(port)),
		PlatformAddress: net.JoinHostPort(host, strconv.Itoa(port+1)),
	})
	if err != nil {
		return nil, fmt.Errorf("device: mssim: %w", err)
	}
	// Powering on a running simulator is a no-op; a fresh one needs it
	// (TPM2_Startup is then the caller's business, as with tpm2-tools).
	if err := t.PowerOn(); err != nil {
		t.Close()
		return nil, fmt.Errorf("device: mssim power on: %w", err)
	}
	return &retryingTPM{t}, nil
}

// retryingTPM adds sendRetrying to a transport.
type retryingTPM struct{ transport.TPMCloser }

func (r *retryingTPM) Send(cmd []byte) ([]byte, error) { return sendRetrying(r.TPMCloser.Send, cmd) }

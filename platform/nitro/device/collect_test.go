package device

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
)

func TestCollector(t *testing.T) {
	nsm := newFakeNSM(t)
	col := []cloudra.Artifact{{Kind: "collateral/x", Name: "x"}}
	c := &Collector{
		Open: func() (Provider, []cloudra.Artifact, error) {
			return providerFunc(func(b []byte) ([]byte, error) { return nsm.handle(b), nil }), col, nil
		},
		UserData: []byte("user"), PublicKey: []byte("key"),
	}
	if c.Platform() != "nitro" {
		t.Errorf("Platform() = %q", c.Platform())
	}
	nonce := []byte("challenge of its own length")
	ev, err := c.Collect(context.Background(), acquire.Request{ReportData: [64]byte{1}, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Interface != InterfaceSimulated || len(ev.Artifacts) != 1 || len(ev.Collateral) != 1 {
		t.Fatalf("evidence %+v", ev)
	}
	a := ev.Artifacts[0]
	if a.Kind != cloudra.KindNitroDoc {
		t.Errorf("kind %s", a.Kind)
	}
	u, n, p := docFields(t, a.Data)
	if !bytes.Equal(n.([]byte), nonce) || !bytes.Equal(u.([]byte), []byte("user")) || !bytes.Equal(p.([]byte), []byte("key")) {
		t.Errorf("document fields %q %q %q", u, n, p)
	}
	want := map[string]string{"interface": "simulated", "module_id": "i-0123456789abcdef0-enc0123456789abcdef", "digest": "SHA384", "version": "1.0.0"}
	if len(a.Meta) != len(want) {
		t.Errorf("meta %v", a.Meta)
	}
	for k, v := range want {
		if a.Meta[k] != v {
			t.Errorf("meta[%s] = %q, want %q", k, a.Meta[k], v)
		}
	}
}

// TestCollectorNoNonce: an empty challenge leaves the nonce null rather than
// an empty byte string.
func TestCollectorNoNonce(t *testing.T) {
	nsm := newFakeNSM(t)
	c := &Collector{Open: func() (Provider, []cloudra.Artifact, error) {
		return providerFunc(func(b []byte) ([]byte, error) { return nsm.handle(b), nil }), nil, nil
	}}
	for _, nonce := range [][]byte{nil, {}} {
		ev, err := c.Collect(context.Background(), acquire.Request{Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		if u, n, p := docFields(t, ev.Artifacts[0].Data); u != nil || n != nil || p != nil {
			t.Errorf("nonce %#v: fields %v %v %v", nonce, u, n, p)
		}
	}
}

// TestCollectorDescriptionBestEffort: an NSM that will not describe itself
// still yields the document.
func TestCollectorDescriptionBestEffort(t *testing.T) {
	nsm := newFakeNSM(t)
	c := &Collector{Open: func() (Provider, []cloudra.Artifact, error) {
		return providerFunc(func(b []byte) ([]byte, error) {
			if string(b) == string(enc(t, "DescribeNSM")) {
				return enc(t, map[string]string{"Error": "InvalidOperation"}), nil
			}
			return nsm.handle(b), nil
		}), nil, nil
	}}
	ev, err := c.Collect(context.Background(), acquire.Request{Nonce: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if m := ev.Artifacts[0].Meta; len(m) != 1 || m["interface"] != InterfaceSimulated {
		t.Errorf("meta %v", m)
	}
}

func TestCollectorErrors(t *testing.T) {
	// No device: not available, with Open's message.
	o := Options{DevicePath: filepath.Join(t.TempDir(), "nsm")}
	_, openErr := Open(o)
	_, err := (&Collector{Options: o}).Collect(context.Background(), acquire.Request{})
	if !errors.Is(err, acquire.ErrNotAvailable) || err.Error() != openErr.Error() {
		t.Errorf("no device: err = %v", err)
	}

	// The NSM refuses: its error, not "not available".
	c := &Collector{Open: func() (Provider, []cloudra.Artifact, error) {
		return fixed(enc(t, map[string]string{"Error": "InternalError"})), nil, nil
	}}
	var ne *NSMError
	if _, err := c.Collect(context.Background(), acquire.Request{}); !errors.As(err, &ne) || errors.Is(err, acquire.ErrNotAvailable) {
		t.Errorf("NSM error: err = %v", err)
	}

	// A nonce the NSM would refuse is refused before sending.
	var le *LimitError
	if _, err := c.Collect(context.Background(), acquire.Request{Nonce: make([]byte, MaxNonce+1)}); !errors.As(err, &le) || le.Field != "nonce" {
		t.Errorf("long nonce: err = %v", err)
	}

	// A simulated platform's Open failing.
	boom := errors.New("boom")
	c = &Collector{Open: func() (Provider, []cloudra.Artifact, error) { return nil, nil, boom }}
	if _, err := c.Collect(context.Background(), acquire.Request{}); !errors.Is(err, boom) {
		t.Errorf("Open failing: err = %v", err)
	}

	// A nil provider is an error, not a panic.
	c = &Collector{Open: func() (Provider, []cloudra.Artifact, error) { return nil, nil, nil }}
	if _, err := c.Collect(context.Background(), acquire.Request{}); !errors.Is(err, ErrNoProvider) {
		t.Errorf("nil provider: err = %v", err)
	}
}

func TestCollectorCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opened := false
	c := &Collector{Open: func() (Provider, []cloudra.Artifact, error) {
		opened = true
		return fixed(validAttestation(t)), nil, nil
	}}
	if _, err := c.Collect(ctx, acquire.Request{}); !errors.Is(err, context.Canceled) || opened {
		t.Errorf("err = %v, opened %v", err, opened)
	}
	// Cancelled between opening and the request: nothing is sent.
	ctx, cancel = context.WithCancel(context.Background())
	sent := false
	c = &Collector{Open: func() (Provider, []cloudra.Artifact, error) {
		cancel()
		return providerFunc(func([]byte) ([]byte, error) { sent = true; return validAttestation(t), nil }), nil, nil
	}}
	if _, err := c.Collect(ctx, acquire.Request{}); !errors.Is(err, context.Canceled) || sent {
		t.Errorf("err = %v, sent %v", err, sent)
	}
}

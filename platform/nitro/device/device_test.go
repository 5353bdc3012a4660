package device

import (
	"bytes"
	"encoding/hex"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestRequestEncoding pins the requests to serde's encoding of the nsm-api
// Request enum: a unit variant is its name, a struct variant a one-entry map
// of its fields in declaration order, None is null.
func TestRequestEncoding(t *testing.T) {
	var got []byte
	c := Client{Provider: providerFunc(func(req []byte) ([]byte, error) {
		got = req
		return enc(t, map[string]string{"Error": "InternalError"}), nil
	})}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"DescribeNSM", func() error { _, err := c.DescribeNSM(); return err },
			"6b" + hex.EncodeToString([]byte("DescribeNSM"))},
		{"DescribePCR", func() error { _, err := c.DescribePCR(3); return err },
			"a16b" + hex.EncodeToString([]byte("DescribePCR")) + "a165" + hex.EncodeToString([]byte("index")) + "03"},
		{"Attestation nulls", func() error { _, err := c.Attestation(nil, nil, nil); return err },
			"a16b" + hex.EncodeToString([]byte("Attestation")) + "a3" +
				"69" + hex.EncodeToString([]byte("user_data")) + "f6" +
				"65" + hex.EncodeToString([]byte("nonce")) + "f6" +
				"6a" + hex.EncodeToString([]byte("public_key")) + "f6"},
		{"Attestation values", func() error { _, err := c.Attestation([]byte{1}, []byte{}, []byte{2, 3}); return err },
			"a16b" + hex.EncodeToString([]byte("Attestation")) + "a3" +
				"69" + hex.EncodeToString([]byte("user_data")) + "4101" +
				"65" + hex.EncodeToString([]byte("nonce")) + "40" +
				"6a" + hex.EncodeToString([]byte("public_key")) + "420203"},
	} {
		got = nil
		var ne *NSMError
		if err := tc.call(); !errors.As(err, &ne) || ne.Code != "InternalError" {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if hexOf(got) != tc.want {
			t.Errorf("%s: request %x, want %s", tc.name, got, tc.want)
		}
	}
}

// TestAttestationRoundTrip goes through the ioctl: the request reaches the
// NSM intact and the document comes back as the NSM gave it.
func TestAttestationRoundTrip(t *testing.T) {
	nsm := newFakeNSM(t)
	closed := 0
	c := Client{Provider: devProviderFor(t, &fakeDev{nsm: nsm.handle, closed: &closed})}
	userData, nonce, pub := bytes.Repeat([]byte{1}, MaxUserData), bytes.Repeat([]byte{2}, MaxNonce), bytes.Repeat([]byte{3}, MaxPublicKey)
	doc, err := c.Attestation(userData, nonce, pub)
	if err != nil {
		t.Fatal(err)
	}
	u, n, p := docFields(t, doc)
	if !bytes.Equal(u.([]byte), userData) || !bytes.Equal(n.([]byte), nonce) || !bytes.Equal(p.([]byte), pub) {
		t.Errorf("fields did not reach the NSM intact")
	}
	if len(nsm.requests) != 1 || len(nsm.requests[0]) > RequestMaxSize {
		t.Errorf("%d requests", len(nsm.requests))
	}
	// Open closes its probe, and every exchange closes its descriptor.
	if closed != 2 {
		t.Errorf("closed %d times, want 2", closed)
	}

	// Nil is null; empty is an empty byte string.
	doc, err = c.Attestation(nil, []byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, n, p := docFields(t, doc); u != nil || p != nil || n == nil || len(n.([]byte)) != 0 {
		t.Errorf("fields %v %v %v", u, n, p)
	}
}

func TestDescribePCR(t *testing.T) {
	c := Client{Provider: devProviderFor(t, &fakeDev{nsm: newFakeNSM(t).handle})}
	pcr, err := c.DescribePCR(0)
	if err != nil {
		t.Fatal(err)
	}
	if pcr.Index != 0 || !pcr.Locked || !bytes.Equal(pcr.Data, bytes.Repeat([]byte{0xa0}, 48)) {
		t.Errorf("PCR0 %+v", pcr)
	}
	if pcr, err = c.DescribePCR(16); err != nil || pcr.Index != 16 || pcr.Locked || len(pcr.Data) != 48 {
		t.Errorf("PCR16 %+v %v", pcr, err)
	}
	var ne *NSMError
	if _, err := c.DescribePCR(1000); !errors.As(err, &ne) || ne.Code != "InvalidIndex" {
		t.Errorf("PCR1000: err = %v", err)
	}
}

func TestDescribeNSM(t *testing.T) {
	c := Client{Provider: devProviderFor(t, &fakeDev{nsm: newFakeNSM(t).handle})}
	d, err := c.DescribeNSM()
	if err != nil {
		t.Fatal(err)
	}
	want := Description{VersionMajor: 1, ModuleID: "i-0123456789abcdef0-enc0123456789abcdef", MaxPCRs: 32,
		LockedPCRs: []uint16{0, 1, 2, 3, 4}, Digest: "SHA384"}
	if d.VersionMajor != want.VersionMajor || d.VersionMinor != 0 || d.VersionPatch != 0 || d.ModuleID != want.ModuleID ||
		d.MaxPCRs != want.MaxPCRs || hexOf(enc(t, d.LockedPCRs)) != hexOf(enc(t, want.LockedPCRs)) || d.Digest != want.Digest {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

// TestNSMErrors: every ErrorCode is an NSMError naming the code and saying
// what it means.
func TestNSMErrors(t *testing.T) {
	for code, meaning := range errorCodes {
		c := Client{Provider: fixed(enc(t, map[string]string{"Error": code}))}
		_, err := c.Attestation(nil, nil, nil)
		var ne *NSMError
		if !errors.As(err, &ne) || ne.Code != code {
			t.Errorf("%s: err = %v", code, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, code) || !strings.Contains(msg, meaning) {
			t.Errorf("%s: message %q", code, msg)
		}
		if errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%s: an NSM error is not a malformed response", code)
		}
	}
	if len(errorCodes) != 9 {
		t.Errorf("%d error codes, want the nine of nsm-api", len(errorCodes))
	}
}

// TestLimits: the NSM's field limits are checked before anything is sent.
func TestLimits(t *testing.T) {
	sent := 0
	c := Client{Provider: providerFunc(func(req []byte) ([]byte, error) {
		sent++
		return newFakeNSM(t).handle(req), nil
	})}
	for _, tc := range []struct {
		field string
		max   int
		call  func(b []byte) error
	}{
		{"user_data", 512, func(b []byte) error { _, err := c.Attestation(b, nil, nil); return err }},
		{"nonce", 512, func(b []byte) error { _, err := c.Attestation(nil, b, nil); return err }},
		{"public_key", 1024, func(b []byte) error { _, err := c.Attestation(nil, nil, b); return err }},
	} {
		sent = 0
		if err := tc.call(make([]byte, tc.max)); err != nil || sent != 1 {
			t.Errorf("%s of %d bytes: err = %v, sent %d", tc.field, tc.max, err, sent)
		}
		sent = 0
		err := tc.call(make([]byte, tc.max+1))
		var le *LimitError
		if !errors.As(err, &le) || le.Field != tc.field || le.Len != tc.max+1 || le.Max != tc.max || sent != 0 {
			t.Errorf("%s of %d bytes: err = %v, sent %d", tc.field, tc.max+1, err, sent)
		} else if msg := err.Error(); !strings.Contains(msg, tc.field) || !strings.Contains(msg, "513") && tc.max == 512 {
			t.Errorf("%s: message %q", tc.field, msg)
		}
	}
	// All three at their limits still fit NSM_REQUEST_MAX_SIZE.
	if _, err := c.Attestation(make([]byte, MaxUserData), make([]byte, MaxNonce), make([]byte, MaxPublicKey)); err != nil {
		t.Errorf("all fields at their limits: %v", err)
	}
}

// TestExchangeLimits: the driver's request bound, checked before the ioctl.
func TestExchangeLimits(t *testing.T) {
	nsm := newFakeNSM(t)
	p := devProviderFor(t, &fakeDev{nsm: nsm.handle})
	var le *LimitError
	if _, err := p.Exchange(make([]byte, RequestMaxSize+1)); !errors.As(err, &le) || le.Field != "request" || le.Max != RequestMaxSize {
		t.Errorf("oversized request: err = %v", err)
	}
	if _, err := p.Exchange(nil); !errors.Is(err, ErrEmptyRequest) {
		t.Errorf("empty request: err = %v", err)
	}
	if len(nsm.requests) != 0 {
		t.Errorf("%d requests reached the NSM", len(nsm.requests))
	}
	// A request of exactly NSM_REQUEST_MAX_SIZE is the driver's to take.
	if _, err := p.Exchange(make([]byte, RequestMaxSize)); err != nil || len(nsm.requests) != 1 || len(nsm.requests[0]) != RequestMaxSize {
		t.Errorf("request of NSM_REQUEST_MAX_SIZE: err = %v", err)
	}
}

// TestOversizedResponse: longer than NSM_RESPONSE_MAX_SIZE from a
// provider, or said by the driver to be longer than its buffer.
func TestOversizedResponse(t *testing.T) {
	c := Client{Provider: fixed(make([]byte, ResponseMaxSize+1))}
	if _, err := c.Attestation(nil, nil, nil); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("provider: err = %v", err)
	}

	// A driver answering more than the buffer holds truncates, as
	// parse_resp_raw does: what is left is not a response.
	doc := make([]byte, ResponseMaxSize)
	big := enc(t, map[string]any{"Attestation": map[string]any{"document": doc}})
	c = Client{Provider: devProviderFor(t, &fakeDev{nsm: func([]byte) []byte { return big }})}
	if _, err := c.Attestation(nil, nil, nil); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("truncated by the driver: err = %v", err)
	}

	// A driver claiming more than the buffer is not believed.
	nsm := newFakeNSM(t)
	c = Client{Provider: devProviderFor(t, &fakeDev{nsm: nsm.handle, after: func(raw *nsmRaw) { raw.Response.Len = ResponseMaxSize + 1 }})}
	if _, err := c.Attestation(nil, nil, nil); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("response.len beyond the buffer: err = %v", err)
	}
	c = Client{Provider: devProviderFor(t, &fakeDev{nsm: nsm.handle, after: func(raw *nsmRaw) { raw.Response.Len = 0 }})}
	if _, err := c.Attestation(nil, nil, nil); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("empty response: err = %v", err)
	}
}

func TestIoctlError(t *testing.T) {
	c := Client{Provider: devProviderFor(t, &fakeDev{errno: syscall.EIO})}
	_, err := c.DescribeNSM()
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "NSM_IOCTL_RAW") {
		t.Errorf("err = %v", err)
	}
}

func TestProviderError(t *testing.T) {
	boom := errors.New("boom")
	c := Client{Provider: providerFunc(func([]byte) ([]byte, error) { return nil, boom })}
	if _, err := c.DescribePCR(0); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if _, err := (Client{}).DescribeNSM(); !errors.Is(err, ErrNoProvider) {
		t.Errorf("no provider: err = %v", err)
	}
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := Open(Options{DevicePath: filepath.Join(t.TempDir(), "nsm")})
	want := ErrNoDevice
	if runtime.GOOS != "linux" {
		want = ErrUnsupportedOS
	}
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want %v", err, want)
	}
}

// TestOpenPerExchange: each exchange opens the device afresh and a failed
// open fails the exchange.
func TestOpenPerExchange(t *testing.T) {
	requireWordSize(t)
	opens := 0
	nsm := newFakeNSM(t)
	p, err := open(Options{DevicePath: "/dev/nsm0"}, func(path string) (rawDevice, error) {
		opens++
		if opens > 2 {
			return nil, syscall.EACCES
		}
		return &fakeDev{nsm: nsm.handle}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := Client{Provider: p}
	if _, err := c.DescribeNSM(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeNSM(); !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "/dev/nsm0") {
		t.Errorf("failed open: err = %v", err)
	}
}

package device

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// fakeDev is the NSM driver at the ioctl: rawIoctl receives nsm_raw as the
// kernel does and reads and writes the memory its iovecs point to, as
// drivers/misc/nsm.c does (fill_req_raw, parse_resp_raw).
type fakeDev struct {
	nsm    func(req []byte) []byte // the NSM behind the driver
	errno  error                   // returned instead of an answer
	after  func(raw *nsmRaw)       // a driver misbehaving after the copy
	closed *int
}

// userPtr reads a __u64 address as a pointer, as u64_to_user_ptr does. The
// address is reinterpreted in place rather than converted from an integer,
// which keeps the fake clear of the checks that -race enables for
// unsafe.Pointer(uintptr) conversions; it assumes 64-bit pointers
// ([requireWordSize]).
func userPtr(addr *uint64) *byte { return *(**byte)(unsafe.Pointer(addr)) }

func requireWordSize(t testing.TB) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the ioctl fake reads 64-bit addresses")
	}
}

func (d *fakeDev) rawIoctl(raw *nsmRaw) error {
	if d.errno != nil {
		return d.errno
	}
	if raw.Request.Len > RequestMaxSize {
		return syscall.EMSGSIZE
	}
	req := bytes.Clone(unsafe.Slice(userPtr(&raw.Request.Addr), raw.Request.Len))
	resp := d.nsm(req)
	// Truncate any message that does not fit, copy, report the length.
	n := min(raw.Response.Len, uint64(len(resp)))
	copy(unsafe.Slice(userPtr(&raw.Response.Addr), raw.Response.Len), resp[:n])
	raw.Response.Len = n
	if d.after != nil {
		d.after(raw)
	}
	return nil
}

func (d *fakeDev) Close() error {
	if d.closed != nil {
		*d.closed++
	}
	return nil
}

// devProviderFor is Open on a fake driver.
func devProviderFor(t *testing.T, d *fakeDev) Provider {
	t.Helper()
	requireWordSize(t)
	p, err := open(Options{}, func(path string) (rawDevice, error) {
		if path != DefaultDevicePath {
			t.Errorf("opened %s", path)
		}
		return d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// providerFunc is a Provider above the driver.
type providerFunc func(req []byte) ([]byte, error)

func (f providerFunc) Exchange(req []byte) ([]byte, error) { return f(req) }

// fixed answers every request with resp.
func fixed(resp []byte) providerFunc {
	return func([]byte) ([]byte, error) { return resp, nil }
}

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeNSM answers requests as an NSM does, from its PCRs; its attestation
// "document" is the CBOR array of the request's three fields, so that
// tests can see what reached it.
type fakeNSM struct {
	t        testing.TB
	pcrs     map[uint16][]byte
	locked   map[uint16]bool
	requests [][]byte
}

func newFakeNSM(t testing.TB) *fakeNSM {
	return &fakeNSM{t: t,
		pcrs:   map[uint16][]byte{0: bytes.Repeat([]byte{0xa0}, 48), 16: make([]byte, 48)},
		locked: map[uint16]bool{0: true},
	}
}

func (n *fakeNSM) handle(req []byte) []byte {
	n.requests = append(n.requests, req)
	var v any
	if err := cbor.Unmarshal(req, &v); err != nil {
		return enc(n.t, map[string]string{"Error": "InvalidArgument"})
	}
	if v == "DescribeNSM" {
		return enc(n.t, map[string]any{"DescribeNSM": map[string]any{
			"version_major": 1, "version_minor": 0, "version_patch": 0, "module_id": "i-0123456789abcdef0-enc0123456789abcdef",
			"max_pcrs": 32, "locked_pcrs": []uint16{0, 1, 2, 3, 4}, "digest": "SHA384",
		}})
	}
	m, ok := v.(map[any]any)
	if !ok || len(m) != 1 {
		return enc(n.t, map[string]string{"Error": "InvalidArgument"})
	}
	for k, f := range m {
		fields, _ := f.(map[any]any)
		switch k {
		case "Attestation":
			return enc(n.t, map[string]any{"Attestation": map[string]any{
				"document": enc(n.t, []any{"fake-cose", fields["user_data"], fields["nonce"], fields["public_key"]}),
			}})
		case "DescribePCR":
			i, _ := fields["index"].(uint64)
			data, ok := n.pcrs[uint16(i)]
			if !ok {
				return enc(n.t, map[string]string{"Error": "InvalidIndex"})
			}
			return enc(n.t, map[string]any{"DescribePCR": map[string]any{"lock": n.locked[uint16(i)], "data": data}})
		}
	}
	return enc(n.t, map[string]string{"Error": "InvalidOperation"})
}

// docFields decodes a fake document back into its three fields.
func docFields(t *testing.T, doc []byte) (userData, nonce, publicKey any) {
	t.Helper()
	var a []any
	if err := cbor.Unmarshal(doc, &a); err != nil || len(a) != 4 || a[0] != "fake-cose" {
		t.Fatalf("document %x: %v", doc, err)
	}
	return a[1], a[2], a[3]
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

// Package device collects AWS Nitro Enclaves attestation documents inside an
// enclave, from the Nitro Secure Module (NSM) through its misc device
// /dev/nsm.
//
// The kernel interface is one ioctl, NSM_IOCTL_RAW (Linux
// include/uapi/linux/nsm.h and drivers/misc/nsm.c, merged in Linux 6.8; the
// earlier out-of-tree driver that aws-nitro-enclaves-nsm-api targets has the
// same layout): the caller hands the driver a CBOR-encoded request of at most
// NSM_REQUEST_MAX_SIZE bytes and a response buffer, and the driver writes the
// NSM's CBOR-encoded response into it and sets its length.
//
// The requests and responses are the serde encodings of the Request and
// Response enums of aws-nitro-enclaves-nsm-api (src/api/mod.rs): externally
// tagged, so a struct variant is a map of one entry from the variant's name
// to a map of its fields, a newtype variant (Error) maps the name to its
// value, and a unit variant (DescribeNSM as a request) is the name as a text
// string. Responses are decoded strictly (see [Client]).
//
// The package returns the document as the NSM produced it; parsing and
// verification live in package nitro.
package device

import (
	"errors"
	"fmt"
	"io"

	"github.com/cloudra/cloudra/internal/guestdev"
)

// Platform is the name of the platform this package collects for, as its
// verifier (package nitro) names it.
const Platform = "nitro"

// DefaultDevicePath is the NSM misc device.
const DefaultDevicePath = "/dev/nsm"

// Interface names reported in [acquire.Evidence.Interface].
const (
	InterfaceDevice    = "/dev/nsm"
	InterfaceSimulated = "simulated"
)

// Sizes the NSM driver enforces (include/uapi/linux/nsm.h).
const (
	// RequestMaxSize is NSM_REQUEST_MAX_SIZE: the driver refuses a longer
	// request with EMSGSIZE.
	RequestMaxSize = 0x1000
	// ResponseMaxSize is NSM_RESPONSE_MAX_SIZE: the NSM's response buffer,
	// and so the longest response there is.
	ResponseMaxSize = 0x3000
)

// Limits the NSM enforces on the fields of an Attestation request
// (aws-nitro-enclaves-nsm-api, the documentation of nsm_get_attestation_doc).
// They are checked before sending, so that an oversized field is named
// rather than answered by the NSM's bare InputTooLarge.
const (
	MaxUserData  = 512
	MaxNonce     = 512
	MaxPublicKey = 1024
)

// Provider is the NSM: one CBOR-encoded request in, one CBOR-encoded
// response out.
type Provider interface {
	Exchange(request []byte) ([]byte, error)
}

// Options configures the interface.
type Options struct {
	// DevicePath is the NSM device; default DefaultDevicePath.
	DevicePath string
}

// ErrUnsupportedOS is returned off Linux, where there is no NSM driver.
var ErrUnsupportedOS = errors.New("nitro/device: the Nitro Secure Module is only available on Linux")

// ErrNoDevice is returned when there is no NSM device: the process does not
// run inside a Nitro enclave, or the nsm driver is not loaded.
var ErrNoDevice = errors.New("nitro/device: no Nitro Secure Module device (not inside a Nitro enclave, or the nsm driver is not loaded)")

// ErrEmptyRequest is returned by a Provider asked to send no request.
var ErrEmptyRequest = errors.New("nitro/device: empty NSM request")

// ErrResponseTooLarge is returned when a response is longer than
// NSM_RESPONSE_MAX_SIZE, or longer than the buffer it was written to.
var ErrResponseTooLarge = errors.New("nitro/device: NSM response too large")

// ErrMalformedResponse is wrapped by every error about a response that is not
// the CBOR encoding of the expected Response variant.
var ErrMalformedResponse = errors.New("nitro/device: malformed NSM response")

// ErrNoProvider is returned by a [Client] without a Provider.
var ErrNoProvider = errors.New("nitro/device: no NSM provider")

// LimitError reports a request, or a field of one, longer than the NSM
// accepts.
type LimitError struct {
	Field string // "user_data", "nonce", "public_key" or "request"
	Len   int
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("nitro/device: %s is %d bytes; the NSM accepts at most %d", e.Field, e.Len, e.Max)
}

// rawDevice is the NSM driver as [exchange] sees it: one NSM_IOCTL_RAW on an
// open device. The Linux implementation issues the ioctl; tests put a fake
// behind it that reads and writes the buffers nsm_raw points to, as the
// driver does.
type rawDevice interface {
	io.Closer
	rawIoctl(raw *nsmRaw) error
}

// Open returns the NSM at opts.DevicePath. The device is opened once here,
// so that a missing device is reported at once ([ErrNoDevice]), and then
// once per exchange, so that no descriptor outlives a request.
func Open(opts Options) (Provider, error) {
	return open(opts, openDevice)
}

func open(opts Options, openDev func(string) (rawDevice, error)) (Provider, error) {
	path := opts.DevicePath
	if path == "" {
		path = DefaultDevicePath
	}
	d, err := openDev(path)
	if err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, fmt.Errorf("nitro/device: close %s: %w", path, err)
	}
	return &devProvider{path: path, open: openDev}, nil
}

// devProvider is the NSM behind its device, opened per exchange.
type devProvider struct {
	path string
	open func(string) (rawDevice, error)
}

// Exchange implements [Provider].
func (p *devProvider) Exchange(request []byte) ([]byte, error) {
	return guestdev.Use("nitro/device", p.path, p.open, func(d rawDevice) ([]byte, error) {
		return exchange(d, request)
	})
}

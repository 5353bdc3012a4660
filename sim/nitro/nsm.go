package nitrosim

import (
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// NSM's limits on an attestation request's inputs (AWS Nitro Enclaves
// User Guide, "Cryptographic attestation"): larger inputs are refused with
// ErrorInputTooLarge.
const (
	MaxUserData  = 512
	MaxNonce     = 512
	MaxPublicKey = 1024
)

// MaxRequest is the largest request the NSM driver sends
// (NSM_REQUEST_MAX_SIZE, aws-nitro-enclaves-nsm-api src/driver/mod.rs).
const MaxRequest = 0x1000

// NSM geometry: 32 SHA-384 PCRs, 0–15 locked at boot; documents carry
// the locked ones.
const (
	MaxPCRs    = 32
	LockedPCRs = 16
)

// Simulated NSM version, reported by DescribeNSM.
const (
	VersionMajor = 1
	VersionMinor = 0
	VersionPatch = 0
)

// NSM error codes (ErrorCode, aws-nitro-enclaves-nsm-api src/api/mod.rs),
// the text of a {"Error": …} response.
const (
	ErrorInvalidArgument  = "InvalidArgument"
	ErrorInvalidIndex     = "InvalidIndex"
	ErrorReadOnlyIndex    = "ReadOnlyIndex"
	ErrorInvalidOperation = "InvalidOperation"
	ErrorInputTooLarge    = "InputTooLarge"
	ErrorInternalError    = "InternalError"
)

// Options configure a simulated NSM.
type Options struct {
	// Debug simulates an enclave run in debug mode: PCR0, 1, 2 and 8 read
	// zero, as AWS's debug-mode documents show them.
	Debug bool
}

// NSM is a simulated Nitro Secure Module: the device behind /dev/nsm of
// one enclave. It answers NSM requests with NSM responses (Exchange) and
// signs attestation documents with the leaf of a chain minted for the
// instant its clock gives. It is safe for concurrent use.
type NSM struct {
	pki   *PKI
	clock func() time.Time
	debug bool

	mu     sync.Mutex
	pcrs   [MaxPCRs][PCRSize]byte
	locked [MaxPCRs]bool
	random uint64 // GetRandom calls so far
}

// New builds the PKI for seed and an NSM on it.
func New(seed []byte, clock func() time.Time, o Options) (*NSM, error) {
	p, err := NewPKI(seed)
	if err != nil {
		return nil, err
	}
	return NewNSM(p, clock, o)
}

// NewNSM returns an NSM whose documents p signs and whose clock is clock.
// Its enclave image measurements are those of [EnclavePCRs].
func NewNSM(p *PKI, clock func() time.Time, o Options) (*NSM, error) {
	if p == nil || clock == nil {
		return nil, errors.New("nitrosim: NSM needs a PKI and a clock")
	}
	n := &NSM{pki: p, clock: clock, debug: o.Debug}
	pcrs, err := EnclavePCRs(p.seed, o.Debug)
	if err != nil {
		return nil, err
	}
	for i, v := range pcrs {
		copy(n.pcrs[i][:], v)
	}
	for i := range LockedPCRs {
		n.locked[i] = true
	}
	return n, nil
}

// PKI is the PKI that signs the NSM's documents.
func (n *NSM) PKI() *PKI { return n.pki }

// ModuleID is the NSM's module ID.
func (n *NSM) ModuleID() string { return n.pki.ModuleID() }

// Root is the simulated root the NSM's documents chain to.
func (n *NSM) Root() *x509.Certificate { return n.pki.root }

// EnclavePCRs returns the PCRs 0–15 of the seed's enclave image: PCR0
// (enclave image), 1 (kernel and boot ramdisk), 2 (application), 3 (IAM
// role), 4 (instance ID) and 8 (signing certificate) derived from the seed,
// the others zero (AWS Nitro Enclaves User Guide, "Where to get an
// enclave's measurements"). In debug mode PCR0, 1, 2 and 8 are zero.
func EnclavePCRs(seed []byte, debug bool) (map[uint][]byte, error) {
	if len(seed) == 0 {
		return nil, errEmptySeed
	}
	out := make(map[uint][]byte, LockedPCRs)
	for i := range uint(LockedPCRs) {
		v := make([]byte, PCRSize)
		switch i {
		case 0, 1, 2, 8:
			if debug {
				break
			}
			fallthrough
		case 3, 4:
			if err := derive(seed, "enclave pcr "+strconv.Itoa(int(i)), v); err != nil {
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

// Attest returns the attestation document the NSM signs for these inputs
// (nil is absent, written null) at its clock's instant.
func (n *NSM) Attest(userData, nonce, publicKey []byte) ([]byte, error) {
	if len(userData) > MaxUserData || len(nonce) > MaxNonce || len(publicKey) > MaxPublicKey {
		return nil, errInputTooLarge
	}
	at := n.clock()
	c, err := n.pki.Chain(at)
	if err != nil {
		return nil, err
	}
	p := NewPayload(c, n.pki.ModuleID(), at, n.lockedPCRs())
	p.UserData, p.Nonce, p.PublicKey = userData, nonce, publicKey
	return c.Sign(p)
}

var errInputTooLarge = errors.New("nitrosim: attestation input too large")

// lockedPCRs are the PCRs a document carries: the locked ones.
func (n *NSM) lockedPCRs() map[uint][]byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[uint][]byte)
	for i := range MaxPCRs {
		if n.locked[i] {
			out[uint(i)] = append([]byte(nil), n.pcrs[i][:]...)
		}
	}
	return out
}

// request is the body of an NSM request with fields: serde's Option
// fields are None when null or absent.
type request struct {
	Index     *uint64 `cbor:"index"`
	Range     *uint64 `cbor:"range"`
	Data      []byte  `cbor:"data"`
	UserData  []byte  `cbor:"user_data"`
	Nonce     []byte  `cbor:"nonce"`
	PublicKey []byte  `cbor:"public_key"`
}

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// Exchange answers one NSM request, both CBOR as the NSM driver carries
// them (aws-nitro-enclaves-nsm-api src/api/mod.rs; serde's externally
// tagged enums): a request is a variant name, "DescribeNSM" or "GetRandom",
// or a one-entry map from a variant name to its fields, e.g.
// {"Attestation": {"user_data": h'…', "nonce": null, "public_key": null}}.
// A request NSM refuses is answered {"Error": <code>}; the error is non-nil
// only when no response could be written.
func (n *NSM) Exchange(req []byte) ([]byte, error) {
	if len(req) > MaxRequest {
		return errorResponse(ErrorInputTooLarge), nil
	}
	var name string
	var body request
	if decMode.Unmarshal(req, &name) != nil {
		var m map[string]cbor.RawMessage
		if err := decMode.Unmarshal(req, &m); err != nil || len(m) != 1 {
			return errorResponse(ErrorInvalidArgument), nil
		}
		var raw cbor.RawMessage
		for k, v := range m {
			name, raw = k, v
		}
		if err := decMode.Unmarshal(raw, &body); err != nil {
			return errorResponse(ErrorInvalidArgument), nil
		}
	}
	switch name {
	case "DescribeNSM":
		return n.describeNSM(), nil
	case "GetRandom":
		return n.getRandom()
	case "DescribePCR":
		i, code := pcrIndex(body.Index)
		if code != "" {
			return errorResponse(code), nil
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		var e enc
		e.mapHead(1, false)
		e.text("DescribePCR")
		e.mapHead(2, false)
		e.text("lock")
		e.bool(n.locked[i])
		e.text("data")
		e.bytes(n.pcrs[i][:])
		return e.b, nil
	case "ExtendPCR":
		i, code := pcrIndex(body.Index)
		if code != "" {
			return errorResponse(code), nil
		}
		if body.Data == nil {
			return errorResponse(ErrorInvalidArgument), nil
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.locked[i] {
			return errorResponse(ErrorReadOnlyIndex), nil
		}
		// PCR_new = SHA-384(PCR_old ‖ data).
		h := sha512.New384()
		h.Write(n.pcrs[i][:])
		h.Write(body.Data)
		copy(n.pcrs[i][:], h.Sum(nil))
		var e enc
		e.mapHead(1, false)
		e.text("ExtendPCR")
		e.mapHead(1, false)
		e.text("data")
		e.bytes(n.pcrs[i][:])
		return e.b, nil
	case "LockPCR":
		i, code := pcrIndex(body.Index)
		if code != "" {
			return errorResponse(code), nil
		}
		n.mu.Lock()
		n.locked[i] = true
		n.mu.Unlock()
		var e enc
		e.text("LockPCR")
		return e.b, nil
	case "LockPCRs":
		if body.Range == nil || *body.Range > MaxPCRs {
			return errorResponse(ErrorInvalidIndex), nil
		}
		n.mu.Lock()
		for i := range *body.Range {
			n.locked[i] = true
		}
		n.mu.Unlock()
		var e enc
		e.text("LockPCRs")
		return e.b, nil
	case "Attestation":
		if len(body.UserData) > MaxUserData || len(body.Nonce) > MaxNonce || len(body.PublicKey) > MaxPublicKey {
			return errorResponse(ErrorInputTooLarge), nil
		}
		doc, err := n.Attest(body.UserData, body.Nonce, body.PublicKey)
		if err != nil {
			return errorResponse(ErrorInternalError), nil
		}
		var e enc
		e.mapHead(1, false)
		e.text("Attestation")
		e.mapHead(1, false)
		e.text("document")
		e.bytes(doc)
		return e.b, nil
	}
	return errorResponse(ErrorInvalidOperation), nil
}

func pcrIndex(i *uint64) (int, string) {
	if i == nil {
		return 0, ErrorInvalidArgument
	}
	if *i >= MaxPCRs {
		return 0, ErrorInvalidIndex
	}
	return int(*i), ""
}

func (n *NSM) describeNSM() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	var locked []uint64
	for i := range MaxPCRs {
		if n.locked[i] {
			locked = append(locked, uint64(i))
		}
	}
	var e enc
	e.mapHead(1, false)
	e.text("DescribeNSM")
	e.mapHead(7, false)
	e.text("version_major")
	e.uint(VersionMajor)
	e.text("version_minor")
	e.uint(VersionMinor)
	e.text("version_patch")
	e.uint(VersionPatch)
	e.text("module_id")
	e.text(n.pki.ModuleID())
	e.text("max_pcrs")
	e.uint(MaxPCRs)
	e.text("locked_pcrs")
	e.head(majorArray, uint64(len(locked)))
	for _, i := range locked {
		e.uint(i)
	}
	e.text("digest")
	e.text(Digest)
	return e.b
}

// RandomSize is the number of bytes a GetRandom response carries.
const RandomSize = 256

// getRandom answers GetRandom with bytes derived from the seed and the
// call's rank: a simulator's entropy is reproducible, never secret.
func (n *NSM) getRandom() ([]byte, error) {
	n.mu.Lock()
	k := n.random
	n.random++
	n.mu.Unlock()
	b := make([]byte, RandomSize)
	if err := derive(n.pki.seed, fmt.Sprintf("random %d", k), b); err != nil {
		return nil, err
	}
	var e enc
	e.mapHead(1, false)
	e.text("GetRandom")
	e.mapHead(1, false)
	e.text("random")
	e.bytes(b)
	return e.b, nil
}

func errorResponse(code string) []byte {
	var e enc
	e.mapHead(1, false)
	e.text("Error")
	e.text(code)
	return e.b
}

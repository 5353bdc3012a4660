package nitro

import (
	"context"
	"encoding/binary"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	nitrosim "github.com/cloudra/cloudra/sim/nitro"
)

// Forged documents come from the simulated Nitro PKI (sim/nitro): its chain
// has the shape of AWS's (root, regional, zonal, instance, leaf; P-384,
// ecdsa-with-SHA384) and its documents the bytes NSM writes
// (aws-nitro-enclaves-nsm-api docs/attestation_process.md §3.2), so each
// forgery changes one thing of an otherwise valid document.

var (
	simSeed = []byte("cloudra nitro verifier tests")
	// simTime is when the forged documents are made; simVerify, a minute
	// later, is when they are verified.
	simTime   = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	simVerify = simTime.Add(time.Minute)
)

type simFixture struct {
	pki   *nitrosim.PKI
	chain *nitrosim.Chain
	pcrs  map[uint][]byte
	v     *Verifier // trusts the simulated root (with AllowTestRoots)
}

var (
	simOnce sync.Once
	simFix  *simFixture
	simErr  error
)

func sim(t testing.TB) *simFixture {
	t.Helper()
	simOnce.Do(func() {
		f := &simFixture{}
		if f.pki, simErr = nitrosim.NewPKI(simSeed); simErr != nil {
			return
		}
		if f.chain, simErr = f.pki.Chain(simTime); simErr != nil {
			return
		}
		if f.pcrs, simErr = nitrosim.EnclavePCRs(simSeed, false); simErr != nil {
			return
		}
		if f.v, simErr = NewVerifier(WithTestRoot(f.pki.Root())); simErr != nil {
			return
		}
		simFix = f
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simFix
}

// payload is the payload NSM writes for the fixture's enclave at simTime,
// signed by c (the fixture's chain when nil).
func (f *simFixture) payload(c *nitrosim.Chain) *nitrosim.Payload {
	if c == nil {
		c = f.chain
	}
	return nitrosim.NewPayload(c, f.pki.ModuleID(), simTime, maps.Clone(f.pcrs))
}

// sign wraps payload bytes in a COSE_Sign1 signed by c's leaf key (the
// fixture's chain when nil).
func (f *simFixture) sign(t testing.TB, c *nitrosim.Chain, payload []byte, o *nitrosim.SignOptions) []byte {
	t.Helper()
	if c == nil {
		c = f.chain
	}
	b, err := nitrosim.Sign1(payload, c.LeafKey(), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// doc is a valid simulated document with p's fields.
func (f *simFixture) doc(t testing.TB, p *nitrosim.Payload) []byte {
	t.Helper()
	return f.sign(t, nil, p.Marshal(), nil)
}

// verify verifies doc at simVerify with test roots allowed.
func (f *simFixture) verify(t testing.TB, doc []byte, pol *Policy) *cloudra.Result {
	t.Helper()
	return f.verifyOpts(t, doc, pol, cloudra.Options{Time: simVerify, AllowTestRoots: true})
}

func (f *simFixture) verifyOpts(t testing.TB, doc []byte, pol *Policy, opts cloudra.Options) *cloudra.Result {
	t.Helper()
	res, err := f.v.Verify(context.Background(), Evidence{Document: doc}, pol, opts)
	return checktest.Result(t, res, err)
}

// A minimal CBOR writer (RFC 8949 §3) for payloads no encoder would write:
// duplicate keys, non-minimal heads, wrong types. Every head is the
// shortest form unless written by hand.

func cborHead(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n <= 0xff:
		return []byte{m | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{m | 25}, uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32([]byte{m | 26}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{m | 27}, n)
}

func cUint(n uint64) []byte  { return cborHead(0, n) }
func cNeg(n uint64) []byte   { return cborHead(1, n) } // -1-n
func cBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }
func cNull() []byte          { return []byte{0xf6} }
func cArray(items ...[]byte) []byte {
	out := cborHead(4, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// kv is one map entry, key and value as raw CBOR.
type kv struct{ k, v []byte }

func cMap(entries []kv) []byte {
	out := cborHead(5, uint64(len(entries)))
	for _, e := range entries {
		out = append(append(out, e.k...), e.v...)
	}
	return out
}

// fields is a payload as an ordered list of text-keyed entries, so that a
// row can replace, drop or add any of them.
type fields []kv

// payloadFields are the entries of p as Marshal writes them (NSM's order).
func payloadFields(p *nitrosim.Payload) fields {
	opt := func(b []byte) []byte {
		if b == nil {
			return cNull()
		}
		return cBytes(b)
	}
	var bundle [][]byte
	for _, c := range p.CABundle {
		bundle = append(bundle, cBytes(c))
	}
	pcrKey := "pcrs"
	if p.TPM {
		pcrKey = "nitrotpm_pcrs"
	}
	return fields{
		{cText("module_id"), cText(p.ModuleID)},
		{cText("digest"), cText(p.Digest)},
		{cText("timestamp"), cUint(p.Timestamp)},
		{cText(pcrKey), pcrMap(p.PCRs)},
		{cText("certificate"), cBytes(p.Certificate)},
		{cText("cabundle"), cArray(bundle...)},
		{cText("public_key"), opt(p.PublicKey)},
		{cText("user_data"), opt(p.UserData)},
		{cText("nonce"), opt(p.Nonce)},
	}
}

// pcrMap writes PCRs in ascending index order.
func pcrMap(pcrs map[uint][]byte) []byte {
	var entries []kv
	for i := range uint(64) {
		if v, ok := pcrs[i]; ok {
			entries = append(entries, kv{cUint(uint64(i)), cBytes(v)})
		}
	}
	return cMap(entries)
}

// set replaces the value of key (adding the key when absent).
func (fs fields) set(key string, v []byte) fields {
	out := append(fields{}, fs...)
	for i, e := range out {
		if string(e.k) == string(cText(key)) {
			out[i].v = v
			return out
		}
	}
	return append(out, kv{cText(key), v})
}

// del drops key.
func (fs fields) del(key string) fields {
	var out fields
	for _, e := range fs {
		if string(e.k) != string(cText(key)) {
			out = append(out, e)
		}
	}
	return out
}

// add appends an entry, whatever is already there.
func (fs fields) add(k, v []byte) fields { return append(append(fields{}, fs...), kv{k, v}) }

func (fs fields) bytes() []byte { return cMap(fs) }

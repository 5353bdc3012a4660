package device

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// nvRoles are NV indices the clouds use (openvmm runtime claims; TCG EK profile).
var nvRoles = map[uint32]string{
	NVAzureReport:   "Azure HCL report (SNP/TDX report + runtime claims)",
	NVAzureUserData: "Azure HCL user data (64 bytes; writing it regenerates the HCL report)",
	NVAzureAKCert:   "Azure vTPM AK certificate (DER)",
	0x01C00002:      "EK certificate RSA-2048 (TCG)",
	0x01C0000A:      "EK certificate ECC P-256 (TCG)",
	0x01C00016:      "EK certificate ECC P-384 high range (TCG)",
}

// NVIndex describes a defined NV index.
type NVIndex struct {
	Index      uint32   `json:"index"`
	Role       string   `json:"role,omitempty"`
	Size       int      `json:"size"`
	NameAlg    string   `json:"name_alg"`
	Attributes uint32   `json:"attributes"`
	AttrNames  []string `json:"attribute_names"`
	Written    bool     `json:"written"`
}

// NVIndices lists the defined NV indices.
func NVIndices(t transport.TPM) ([]NVIndex, error) {
	hs, err := listHandles(t, uint32(tpm2.TPMHTNVIndex)<<24)
	if err != nil {
		return nil, err
	}
	out := make([]NVIndex, 0, len(hs))
	for _, h := range hs {
		pub, err := nvPublic(t, h)
		if err != nil {
			return nil, err
		}
		out = append(out, describeNV(pub))
	}
	return out, nil
}

func describeNV(p *tpm2.TPMSNVPublic) NVIndex {
	a := p.Attributes
	attrs := uint32(0)
	if b := tpm2.Marshal(a); len(b) == 4 {
		attrs = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return NVIndex{
		Index: uint32(p.NVIndex), Role: RoleOf(uint32(p.NVIndex)), Size: int(p.DataSize),
		NameAlg: algName(p.NameAlg), Attributes: attrs, AttrNames: nvAttrNames(attrs), Written: a.Written,
	}
}

// nvAttrNames lists TPMA_NV bits (Part 2 §13.4) with tpm2-tools names.
func nvAttrNames(v uint32) []string {
	bits := []struct {
		bit  uint
		name string
	}{
		{0, "ppwrite"}, {1, "ownerwrite"}, {2, "authwrite"}, {3, "policywrite"},
		{10, "policydelete"}, {11, "writelocked"}, {12, "writeall"}, {13, "writedefine"},
		{14, "write_stclear"}, {15, "globallock"}, {16, "ppread"}, {17, "ownerread"},
		{18, "authread"}, {19, "policyread"}, {25, "no_da"}, {26, "orderly"},
		{27, "clear_stclear"}, {28, "readlocked"}, {29, "written"}, {30, "platformcreate"},
		{31, "read_stclear"},
	}
	out := []string{}
	if nt := (v >> 4) & 0xF; nt != 0 {
		out = append(out, fmt.Sprintf("nt=%d", nt))
	}
	for _, b := range bits {
		if v&(1<<b.bit) != 0 {
			out = append(out, b.name)
		}
	}
	return out
}

func checkNVIndex(index uint32) error {
	if index>>24 != uint32(tpm2.TPMHTNVIndex) {
		return fmt.Errorf("device: 0x%08x is not an NV index (want 0x01xxxxxx)", index)
	}
	return nil
}

func nvPublic(t transport.TPM, index uint32) (*tpm2.TPMSNVPublic, error) {
	rsp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(index)}.Execute(t)
	if err != nil {
		if isMissing(err) {
			return nil, &NVMissingError{Index: index}
		}
		return nil, fmt.Errorf("device: read NV public 0x%08x: %w", index, err)
	}
	pub, err := rsp.NVPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("device: NV public 0x%08x: %w", index, err)
	}
	return pub, nil
}

// NVMissingError is an NV index that is not defined.
type NVMissingError struct{ Index uint32 }

func (e *NVMissingError) Error() string {
	if e.Index == NVAzureReport {
		return fmt.Sprintf("device: NV index 0x%08x is not defined (hint: the Azure HCL report exists only in Azure confidential VMs)", e.Index)
	}
	return fmt.Sprintf("device: NV index 0x%08x is not defined", e.Index)
}

// nvBufferMax is TPM_PT_NV_BUFFER_MAX, the largest NV read or write in one
// command (Part 2 §6.13); 1024 when the TPM does not say.
func nvBufferMax(t transport.TPM) int {
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(tpm2.TPMPTNVBufferMax), PropertyCount: 1}.Execute(t)
	if err == nil {
		if p, err := rsp.CapabilityData.Data.TPMProperties(); err == nil && len(p.TPMProperty) > 0 &&
			p.TPMProperty[0].Property == tpm2.TPMPTNVBufferMax && p.TPMProperty[0].Value > 0 {
			return int(min(p.TPMProperty[0].Value, 4096))
		}
	}
	return 1024
}

// nvIndexMax is TPM_PT_NV_INDEX_MAX, the largest NV index, or 0.
func nvIndexMax(t transport.TPM) int {
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(tpm2.TPMPTNVIndexMax), PropertyCount: 1}.Execute(t)
	if err == nil {
		if p, err := rsp.CapabilityData.Data.TPMProperties(); err == nil && len(p.TPMProperty) > 0 &&
			p.TPMProperty[0].Property == tpm2.TPMPTNVIndexMax {
			return int(p.TPMProperty[0].Value)
		}
	}
	return 0
}

// nvAuth picks the authorization an index accepts, in tpm2-tools' order of
// preference for reading/writing without a password: the index itself
// (authread/authwrite) or the owner.
func nvAuth(pub *tpm2.TPMSNVPublic, index uint32, write bool) (tpm2.AuthHandle, string, error) {
	a := pub.Attributes
	self := tpm2.AuthHandle{Handle: tpm2.TPMHandle(index), Auth: tpm2.PasswordAuth(nil)}
	owner := tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)}
	if name, err := tpm2.NVName(pub); err == nil {
		self.Name = *name
	}
	switch {
	case write && a.AuthWrite, !write && a.AuthRead:
		return self, "index", nil
	case write && a.OwnerWrite, !write && a.OwnerRead:
		return owner, "owner", nil
	}
	return tpm2.AuthHandle{}, "", fmt.Errorf("device: NV index 0x%08x allows neither owner nor password %s", index, map[bool]string{true: "writes", false: "reads"}[write])
}

// NVRead reads a whole NV index in chunks of TPM_PT_NV_BUFFER_MAX (the
// Azure HCL report at 0x01400001 is larger than one read).
func NVRead(t transport.TPM, index uint32) ([]byte, error) {
	if err := checkNVIndex(index); err != nil {
		return nil, err
	}
	pub, err := nvPublic(t, index)
	if err != nil {
		return nil, err
	}
	if !pub.Attributes.Written {
		return nil, fmt.Errorf("device: NV index 0x%08x has never been written", index)
	}
	auth, who, err := nvAuth(pub, index, false)
	if err != nil {
		return nil, err
	}
	return nvReadChunks(t, index, pub, auth, who, nvBufferMax(t))
}

func nvReadChunks(t transport.TPM, index uint32, pub *tpm2.TPMSNVPublic, auth tpm2.AuthHandle, who string, chunk int) ([]byte, error) {
	nvh := tpm2.NamedHandle{Handle: tpm2.TPMHandle(index)}
	name, err := tpm2.NVName(pub)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	nvh.Name = *name
	size := int(pub.DataSize)
	out := make([]byte, 0, size)
	for off := 0; off < size; {
		n := min(chunk, size-off)
		rsp, err := tpm2.NVRead{AuthHandle: auth, NVIndex: nvh, Size: uint16(n), Offset: uint16(off)}.Execute(t)
		if err != nil {
			return nil, classify(err, fmt.Sprintf("read NV 0x%08x at offset %d", index, off), who)
		}
		if len(rsp.Data.Buffer) != n {
			return nil, fmt.Errorf("device: NV read 0x%08x returned %d bytes, asked %d", index, len(rsp.Data.Buffer), n)
		}
		out = append(out, rsp.Data.Buffer...)
		off += n
	}
	return out, nil
}

// NVDefine defines an ordinary NV index of size bytes with owner
// authorization, readable and writable by the owner and by its (empty)
// password: what `tpm2_nvdefine -C o INDEX -s SIZE` makes, and what Azure's
// user-data index 0x01400002 needs. An existing index of the same size is
// kept (defined=false); another size is an error.
func NVDefine(t transport.TPM, index uint32, size int) (defined bool, err error) {
	if err := checkNVIndex(index); err != nil {
		return false, err
	}
	if size <= 0 || size > 0xFFFF {
		return false, fmt.Errorf("device: NV size %d out of range", size)
	}
	if pub, err := nvPublic(t, index); err == nil {
		if int(pub.DataSize) != size {
			return false, fmt.Errorf("device: NV index 0x%08x exists with size %d, not %d (hint: undefine it with 'tpm2_nvundefine 0x%08x' if it is yours)", index, pub.DataSize, size, index)
		}
		return false, nil
	} else if !errors.As(err, new(*NVMissingError)) {
		return false, err
	}
	if max := nvIndexMax(t); max > 0 && size > max {
		return false, fmt.Errorf("device: NV size %d exceeds this TPM's TPM_PT_NV_INDEX_MAX of %d", size, max)
	}
	_, err = tpm2.NVDefineSpace{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		PublicInfo: tpm2.New2B(tpm2.TPMSNVPublic{
			NVIndex: tpm2.TPMIRHNVIndex(index),
			NameAlg: tpm2.TPMAlgSHA256,
			Attributes: tpm2.TPMANV{
				OwnerWrite: true, AuthWrite: true, OwnerRead: true, AuthRead: true, NoDA: true,
				NT: tpm2.TPMNTOrdinary,
			},
			DataSize: uint16(size),
		}),
	}.Execute(t)
	if err != nil {
		return false, classify(err, fmt.Sprintf("define NV 0x%08x", index), "owner")
	}
	return true, nil
}

// NVWrite writes data at offset 0 of an NV index in chunks of
// TPM_PT_NV_BUFFER_MAX. data must not exceed the index size.
func NVWrite(t transport.TPM, index uint32, data []byte) error {
	if err := checkNVIndex(index); err != nil {
		return err
	}
	pub, err := nvPublic(t, index)
	if err != nil {
		return err
	}
	if len(data) > int(pub.DataSize) {
		return fmt.Errorf("device: %d bytes do not fit NV index 0x%08x of %d bytes", len(data), index, pub.DataSize)
	}
	auth, who, err := nvAuth(pub, index, true)
	if err != nil {
		return err
	}
	chunk := nvBufferMax(t)
	for off := 0; off < len(data); {
		n := min(chunk, len(data)-off)
		// The index name changes once TPMA_NV_WRITTEN is set; read it
		// again for every chunk.
		cur, err := nvPublic(t, index)
		if err != nil {
			return err
		}
		name, err := tpm2.NVName(cur)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		if who == "index" {
			auth.Name = *name
		}
		_, err = tpm2.NVWrite{
			AuthHandle: auth,
			NVIndex:    tpm2.NamedHandle{Handle: tpm2.TPMHandle(index), Name: *name},
			Data:       tpm2.TPM2BMaxNVBuffer{Buffer: bytes.Clone(data[off : off+n])},
			Offset:     uint16(off),
		}.Execute(t)
		if err != nil {
			return classify(err, fmt.Sprintf("write NV 0x%08x at offset %d", index, off), who)
		}
		off += n
	}
	return nil
}

// NVUndefine deletes an NV index defined with owner authorization.
func NVUndefine(t transport.TPM, index uint32) error {
	if err := checkNVIndex(index); err != nil {
		return err
	}
	pub, err := nvPublic(t, index)
	if err != nil {
		return err
	}
	name, err := tpm2.NVName(pub)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	_, err = tpm2.NVUndefineSpace{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		NVIndex:    tpm2.NamedHandle{Handle: tpm2.TPMHandle(index), Name: *name},
	}.Execute(t)
	return classify(err, fmt.Sprintf("undefine NV 0x%08x", index), "owner")
}

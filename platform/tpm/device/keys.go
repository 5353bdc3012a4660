package device

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Persistent handles (see the package documentation).
const (
	HandleSRK       uint32 = 0x81000001
	HandleAK        uint32 = 0x81000002
	HandleAzureAK   uint32 = 0x81000003
	HandleEKRSA     uint32 = 0x81010001
	HandleEKECC     uint32 = 0x81010002
	HandleEKECC384  uint32 = 0x81010016
	NVAzureReport   uint32 = 0x01400001
	NVAzureUserData uint32 = 0x01400002
	NVAzureAKCert   uint32 = 0x01C101D0
)

// Alg names a key algorithm family for EnsureEK/EnsureAK.
type Alg string

// Key algorithms.
const (
	AlgRSA    Alg = "rsa"    // RSA-2048 (EK template L-1; AK RSASSA-SHA256)
	AlgECC    Alg = "ecc"    // NIST P-256 (EK template L-2; AK ECDSA-SHA256)
	AlgECC384 Alg = "ecc384" // NIST P-384 (EK template H-3; AK ECDSA-SHA384)
)

// ParseAlg reads "rsa", "ecc", "ecc256", "ecc384".
func ParseAlg(s string) (Alg, error) {
	switch strings.ToLower(s) {
	case "rsa", "rsa2048":
		return AlgRSA, nil
	case "ecc", "ecc256", "ecc_nist_p256", "p256":
		return AlgECC, nil
	case "ecc384", "ecc_nist_p384", "p384":
		return AlgECC384, nil
	}
	return "", fmt.Errorf("device: unknown key algorithm %q (want rsa, ecc or ecc384)", s)
}

// DefaultEKHandle is the TCG reserved handle for the EK of alg.
func DefaultEKHandle(alg Alg) uint32 {
	switch alg {
	case AlgECC:
		return HandleEKECC
	case AlgECC384:
		return HandleEKECC384
	}
	return HandleEKRSA
}

// ekTemplate is the TCG default EK template for alg (EK Credential Profile
// 2.x §2.2.1.4: L-1, L-2 and H-3).
func ekTemplate(alg Alg) (tpm2.TPMTPublic, string, error) {
	switch alg {
	case AlgRSA:
		return tpm2.RSAEKTemplate, "EK RSA-2048 (TCG template L-1)", nil
	case AlgECC:
		return tpm2.ECCEKTemplate, "EK ECC NIST P-256 (TCG template L-2)", nil
	case AlgECC384:
		return eccP384EKTemplate, "EK ECC NIST P-384 (TCG template H-3)", nil
	}
	return tpm2.TPMTPublic{}, "", fmt.Errorf("device: unknown key algorithm %q", alg)
}

// eccP384EKTemplate is template H-3 (EK Credential Profile 2.5 Table 8):
// SHA-384 name, userWithAuth set (high-range templates allow password
// authorization for child creation), PolicyB-SHA384 admin policy, AES-256,
// and an empty unique field.
var eccP384EKTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgECC,
	NameAlg: tpm2.TPMAlgSHA384,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		AdminWithPolicy:     true,
		Restricted:          true,
		Decrypt:             true,
	},
	AuthPolicy: tpm2.TPM2BDigest{Buffer: []byte{
		// PolicyB-SHA384: PolicyOR of PolicySecret(RH_ENDORSEMENT) and
		// PolicyAuthorizeNV(EK policy NV index).
		0xB2, 0x6E, 0x7D, 0x28, 0xD1, 0x1A, 0x50, 0xBC, 0x53, 0xD8, 0x82, 0xBC,
		0xF5, 0xFD, 0x3A, 0x1A, 0x07, 0x41, 0x48, 0xBB, 0x35, 0xD3, 0xB4, 0xE4,
		0xCB, 0x1C, 0x0A, 0xD9, 0xBD, 0xE4, 0x19, 0xCA, 0xCB, 0x47, 0xBA, 0x09,
		0x69, 0x96, 0x46, 0x15, 0x0F, 0x9F, 0xC0, 0x00, 0xF3, 0xF8, 0x0E, 0x12,
	}},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		Symmetric: tpm2.TPMTSymDefObject{
			Algorithm: tpm2.TPMAlgAES,
			KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(256)),
			Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
		},
		Scheme:  tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
		CurveID: tpm2.TPMECCNistP384,
		KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
	}),
	Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
}

// akAttributes are tpm2_createak's defaults: fixedTPM | fixedParent |
// sensitiveDataOrigin | userWithAuth | restricted | sign = 0x00050072.
var akAttributes = tpm2.TPMAObject{
	FixedTPM:            true,
	FixedParent:         true,
	SensitiveDataOrigin: true,
	UserWithAuth:        true,
	Restricted:          true,
	SignEncrypt:         true,
}

// akTemplate is a restricted signing key: RSA-2048 RSASSA-SHA256, P-256
// ECDSA-SHA256 or P-384 ECDSA-SHA384 (what tpm2_createak -G rsa|ecc makes).
func akTemplate(alg Alg) (tpm2.TPMTPublic, error) {
	switch alg {
	case AlgRSA:
		return tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgRSA,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: akAttributes,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme: tpm2.TPMTRSAScheme{
					Scheme:  tpm2.TPMAlgRSASSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256}),
				},
				KeyBits: 2048,
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{}),
		}, nil
	case AlgECC, AlgECC384:
		curve, hash := tpm2.TPMECCNistP256, tpm2.TPMAlgSHA256
		if alg == AlgECC384 {
			curve, hash = tpm2.TPMECCNistP384, tpm2.TPMAlgSHA384
		}
		return tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgECC,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: akAttributes,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme: tpm2.TPMTECCScheme{
					Scheme:  tpm2.TPMAlgECDSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: hash}),
				},
				CurveID: curve,
				KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
		}, nil
	}
	return tpm2.TPMTPublic{}, fmt.Errorf("device: unknown key algorithm %q", alg)
}

// Key describes what a persistent handle holds.
type Key struct {
	Handle uint32 `json:"handle"`
	// Role is what this handle is known for on the clouds, by handle value
	// alone (not proof of anything).
	Role string `json:"role,omitempty"`
	// Kind is read from the key itself: "ek" (matches a TCG EK template),
	// "storage" (restricted decryption), "ak" (restricted signing),
	// "signing", "decryption", "keyedhash", "symcipher".
	Kind string `json:"kind"`
	// EKTemplate names the TCG EK template the key matches ("L-1", "L-2",
	// "H-3"), ignoring the unique field.
	EKTemplate string   `json:"ek_template,omitempty"`
	Type       string   `json:"type"` // rsa, ecc, keyedhash, symcipher
	Bits       int      `json:"bits,omitempty"`
	Curve      string   `json:"curve,omitempty"`
	Scheme     string   `json:"scheme,omitempty"` // rsassa-sha256, ecdsa-sha256, null
	NameAlg    string   `json:"name_alg"`
	Attributes uint32   `json:"attributes"`
	AttrNames  []string `json:"attribute_names"`
	Name       []byte   `json:"name"`   // TPM2B_NAME contents (nameAlg ‖ digest)
	Public     []byte   `json:"public"` // TPM2B_PUBLIC as the TPM returned it
	// Created is true when this call created and persisted the key.
	Created bool `json:"created,omitempty"`
}

// Summary is a one-line description ("RSA-2048 restricted signing key").
func (k *Key) Summary() string {
	s := strings.ToUpper(k.Type)
	switch {
	case k.Bits > 0:
		s += fmt.Sprintf("-%d", k.Bits)
	case k.Curve != "":
		s += " " + k.Curve
	}
	switch k.Kind {
	case "ek":
		s += " EK (TCG template " + k.EKTemplate + ")"
	case "ak":
		s += " restricted signing key"
	case "storage":
		s += " restricted decryption (storage) key"
	default:
		s += " " + k.Kind + " key"
	}
	if k.Scheme != "" && k.Scheme != "null" {
		s += ", " + k.Scheme
	}
	return s
}

// PEM returns the public key as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// the form tpm2_readpublic -f pem and tpm2_checkquote -u use.
func (k *Key) PEM() ([]byte, error) { return PublicPEM(k.Public) }

// knownRoles are the handles the clouds use (Azure: HCL AK 0x81000003; GCE and the TCG EK Credential Profile: EK handles).
var knownRoles = map[uint32]string{
	HandleSRK:      "SRK (TCG provisioning guidance); Azure: EK RSA (platform-provisioned)",
	HandleAK:       "AK (cloudra / tpm2_createak default)",
	HandleAzureAK:  "Azure vTPM AK (HCLAkPub)",
	HandleEKRSA:    "EK RSA-2048 (TCG reserved, template L-1)",
	HandleEKECC:    "EK ECC NIST P-256 (TCG reserved, template L-2)",
	HandleEKECC384: "EK ECC NIST P-384 (TCG reserved, template H-3; AWS NitroTPM)",
}

// RoleOf returns what a handle is known for, or "".
func RoleOf(h uint32) string {
	if r, ok := knownRoles[h]; ok {
		return r
	}
	if r, ok := nvRoles[h]; ok {
		return r
	}
	return ""
}

// readKey reads the public area at h and describes it. A missing handle
// returns (nil, nil).
func readKey(t transport.TPM, h uint32) (*Key, *tpm2.TPMTPublic, error) {
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(h)}.Execute(t)
	if err != nil {
		if isMissing(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("device: read public area of 0x%08x: %w", h, err)
	}
	raw := rsp.OutPublic.Bytes()
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return nil, nil, fmt.Errorf("device: public area of 0x%08x: %w", h, err)
	}
	k, err := describe(pub, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("device: public area of 0x%08x: %w", h, err)
	}
	k.Handle = h
	k.Role = RoleOf(h)
	k.Name = append([]byte(nil), rsp.Name.Buffer...)
	return k, pub, nil
}

// describe fills a Key from a public area (raw = TPMT_PUBLIC bytes).
func describe(pub *tpm2.TPMTPublic, raw []byte) (*Key, error) {
	k := &Key{NameAlg: algName(pub.NameAlg)}
	k.Public = binary.BigEndian.AppendUint16(nil, uint16(len(raw)))
	k.Public = append(k.Public, raw...)
	k.Attributes = binary.BigEndian.Uint32(tpm2.Marshal(pub.ObjectAttributes))
	k.AttrNames = attrNames(k.Attributes)
	a := pub.ObjectAttributes
	switch pub.Type {
	case tpm2.TPMAlgRSA:
		k.Type = "rsa"
		p, err := pub.Parameters.RSADetail()
		if err != nil {
			return nil, err
		}
		k.Bits = int(p.KeyBits)
		k.Scheme = schemeName(p.Scheme.Scheme, p.Scheme.Details)
	case tpm2.TPMAlgECC:
		k.Type = "ecc"
		p, err := pub.Parameters.ECCDetail()
		if err != nil {
			return nil, err
		}
		k.Curve = curveName(p.CurveID)
		k.Scheme = schemeName(p.Scheme.Scheme, p.Scheme.Details)
	case tpm2.TPMAlgKeyedHash:
		k.Type, k.Kind = "keyedhash", "keyedhash"
	case tpm2.TPMAlgSymCipher:
		k.Type, k.Kind = "symcipher", "symcipher"
	default:
		k.Type = fmt.Sprintf("0x%04x", uint16(pub.Type))
		k.Kind = "other"
	}
	if k.Kind == "" {
		switch {
		case a.Restricted && a.Decrypt && !a.SignEncrypt:
			k.Kind = "storage"
		case a.Restricted && a.SignEncrypt && !a.Decrypt:
			k.Kind = "ak"
		case a.SignEncrypt:
			k.Kind = "signing"
		default:
			k.Kind = "decryption"
		}
	}
	for _, c := range []struct {
		alg  Alg
		name string
	}{{AlgRSA, "L-1"}, {AlgECC, "L-2"}, {AlgECC384, "H-3"}} {
		tmpl, _, _ := ekTemplate(c.alg)
		if sameTemplate(pub, &tmpl) {
			k.EKTemplate, k.Kind = c.name, "ek"
		}
	}
	return k, nil
}

// sameTemplate compares two public areas ignoring the unique field: a key
// made from a template differs from it only there.
func sameTemplate(a, b *tpm2.TPMTPublic) bool {
	if a.Type != b.Type {
		return false
	}
	x, y := *a, *b
	x.Unique = emptyUnique(a.Type)
	y.Unique = emptyUnique(b.Type)
	return bytes.Equal(tpm2.Marshal(x), tpm2.Marshal(y))
}

func emptyUnique(t tpm2.TPMAlgID) tpm2.TPMUPublicID {
	switch t {
	case tpm2.TPMAlgRSA:
		return tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{})
	case tpm2.TPMAlgECC:
		return tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{})
	case tpm2.TPMAlgKeyedHash:
		return tpm2.NewTPMUPublicID(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BDigest{})
	}
	return tpm2.NewTPMUPublicID(tpm2.TPMAlgSymCipher, &tpm2.TPM2BDigest{})
}

// isAKFor reports whether pub is a restricted, TPM-bound signing key of the
// family alg: what a quote needs, whoever created it (Azure's 0x81000003
// does not carry tpm2_createak's exact template).
func isAKFor(pub *tpm2.TPMTPublic, alg Alg) bool {
	a := pub.ObjectAttributes
	if !a.Restricted || !a.SignEncrypt || a.Decrypt || !a.FixedTPM {
		return false
	}
	switch alg {
	case AlgRSA:
		return pub.Type == tpm2.TPMAlgRSA
	case AlgECC, AlgECC384:
		if pub.Type != tpm2.TPMAlgECC {
			return false
		}
		p, err := pub.Parameters.ECCDetail()
		if err != nil {
			return false
		}
		return (alg == AlgECC) == (p.CurveID == tpm2.TPMECCNistP256)
	}
	return false
}

// attrNames lists TPMA_OBJECT bits (Part 2 §8.3) with tpm2-tools names.
func attrNames(v uint32) []string {
	bits := []struct {
		bit  uint
		name string
	}{
		{1, "fixedtpm"}, {2, "stclear"}, {4, "fixedparent"}, {5, "sensitivedataorigin"},
		{6, "userwithauth"}, {7, "adminwithpolicy"}, {10, "noda"}, {11, "encryptedduplication"},
		{16, "restricted"}, {17, "decrypt"}, {18, "sign"}, {19, "x509sign"},
	}
	out := []string{}
	for _, b := range bits {
		if v&(1<<b.bit) != 0 {
			out = append(out, b.name)
		}
	}
	return out
}

func algName(a tpm2.TPMAlgID) string {
	switch a {
	case tpm2.TPMAlgSHA1:
		return "sha1"
	case tpm2.TPMAlgSHA256:
		return "sha256"
	case tpm2.TPMAlgSHA384:
		return "sha384"
	case tpm2.TPMAlgSHA512:
		return "sha512"
	case tpm2.TPMAlgSM3256:
		return "sm3_256"
	case tpm2.TPMAlgNull:
		return "null"
	case tpm2.TPMAlgRSASSA:
		return "rsassa"
	case tpm2.TPMAlgRSAPSS:
		return "rsapss"
	case tpm2.TPMAlgECDSA:
		return "ecdsa"
	}
	return fmt.Sprintf("0x%04x", uint16(a))
}

func curveName(c tpm2.TPMECCCurve) string {
	switch c {
	case tpm2.TPMECCNistP256:
		return "NIST P-256"
	case tpm2.TPMECCNistP384:
		return "NIST P-384"
	case tpm2.TPMECCNistP521:
		return "NIST P-521"
	}
	return fmt.Sprintf("curve 0x%04x", uint16(c))
}

// schemeName renders an asymmetric scheme as "rsassa-sha256".
func schemeName(s tpm2.TPMAlgID, d tpm2.TPMUAsymScheme) string {
	var h tpm2.TPMIAlgHash
	switch s {
	case tpm2.TPMAlgRSASSA:
		if x, err := d.RSASSA(); err == nil {
			h = x.HashAlg
		}
	case tpm2.TPMAlgRSAPSS:
		if x, err := d.RSAPSS(); err == nil {
			h = x.HashAlg
		}
	case tpm2.TPMAlgECDSA:
		if x, err := d.ECDSA(); err == nil {
			h = x.HashAlg
		}
	default:
		return algName(s)
	}
	return algName(s) + "-" + algName(h)
}

// Handles lists the persistent handles and what each holds.
func Handles(t transport.TPM) ([]Key, error) {
	hs, err := listHandles(t, uint32(tpm2.TPMHTPersistent)<<24)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(hs))
	for _, h := range hs {
		k, _, err := readKey(t, h)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue // evicted between the listing and the read
		}
		out = append(out, *k)
	}
	return out, nil
}

// listHandles lists the handles of one type (first byte of start).
func listHandles(t transport.TPM, start uint32) ([]uint32, error) {
	var out []uint32
	for {
		rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: start, PropertyCount: 64}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("device: list handles: %w", err)
		}
		hl, err := rsp.CapabilityData.Data.Handles()
		if err != nil {
			return nil, fmt.Errorf("device: list handles: %w", err)
		}
		last := start
		for _, h := range hl.Handle {
			if uint32(h)>>24 != start>>24 {
				return out, nil
			}
			out = append(out, uint32(h))
			last = uint32(h)
		}
		if !rsp.MoreData || len(hl.Handle) == 0 {
			return out, nil
		}
		start = last + 1
	}
}

// EnsureEK returns the EK of alg at handle (0 = the TCG default handle),
// creating it from the TCG default template in the endorsement hierarchy and
// persisting it (owner authorization, empty password) when the handle is
// empty. A handle holding another key is a *HandleInUseError; a locked
// hierarchy a *ForbiddenError.
func EnsureEK(t transport.TPM, alg Alg, handle uint32) (*Key, error) {
	tmpl, want, err := ekTemplate(alg)
	if err != nil {
		return nil, err
	}
	if handle == 0 {
		handle = DefaultEKHandle(alg)
	}
	if err := checkPersistent(handle); err != nil {
		return nil, err
	}
	k, pub, err := readKey(t, handle)
	if err != nil {
		return nil, err
	}
	if k != nil {
		if sameTemplate(pub, &tmpl) {
			return k, nil
		}
		return nil, &HandleInUseError{Handle: handle, Want: want, Have: k}
	}
	cp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(tmpl),
	}.Execute(t)
	if err != nil {
		return nil, classify(err, "create "+want, "endorsement")
	}
	defer flush(t, cp.ObjectHandle)
	return persist(t, cp.ObjectHandle, cp.Name, handle, "EK")
}

// EnsureAK returns the attestation key of alg at handle (0 = 0x81000002),
// creating a restricted signing key under the EK of the same family (made
// with EnsureEK at ekHandle, 0 = default) and persisting it when the handle
// is empty. An existing restricted signing key of that family is reused
// whoever made it.
func EnsureAK(t transport.TPM, alg Alg, handle, ekHandle uint32) (*Key, error) {
	tmpl, err := akTemplate(alg)
	if err != nil {
		return nil, err
	}
	if handle == 0 {
		handle = HandleAK
	}
	if err := checkPersistent(handle); err != nil {
		return nil, err
	}
	k, pub, err := readKey(t, handle)
	if err != nil {
		return nil, err
	}
	want := fmt.Sprintf("AK %s (restricted signing key)", alg)
	if k != nil {
		if isAKFor(pub, alg) {
			return k, nil
		}
		return nil, &HandleInUseError{Handle: handle, Want: want, Have: k}
	}
	ek, err := EnsureEK(t, alg, ekHandle)
	if err != nil {
		return nil, err
	}
	_, ekPub, err := readKey(t, ek.Handle)
	if err != nil {
		return nil, err
	}
	parent := tpm2.TPMHandle(ek.Handle)
	ekName := tpm2.TPM2BName{Buffer: ek.Name}

	// The TCG low-range EKs admit children only through
	// PolicySecret(TPM_RH_ENDORSEMENT); the high-range ones also by password.
	auth := func() (tpm2.Session, func() error, error) {
		if ekPub.ObjectAttributes.UserWithAuth {
			return tpm2.PasswordAuth(nil), func() error { return nil }, nil
		}
		sess, closer, err := tpm2.PolicySession(t, tpm2.TPMAlgSHA256, 16)
		if err != nil {
			return nil, nil, fmt.Errorf("device: start policy session: %w", err)
		}
		_, err = tpm2.PolicySecret{
			AuthHandle:    tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(nil)},
			PolicySession: sess.Handle(),
			NonceTPM:      sess.NonceTPM(),
		}.Execute(t)
		if err != nil {
			closer()
			return nil, nil, classify(err, "authorize use of the EK", "endorsement")
		}
		return sess, closer, nil
	}

	s, done, err := auth()
	if err != nil {
		return nil, err
	}
	cr, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: parent, Name: ekName, Auth: s},
		InPublic:     tpm2.New2B(tmpl),
	}.Execute(t)
	done()
	if err != nil {
		return nil, classify(err, "create "+want, "endorsement")
	}
	s, done, err = auth()
	if err != nil {
		return nil, err
	}
	ld, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: parent, Name: ekName, Auth: s},
		InPrivate:    cr.OutPrivate,
		InPublic:     cr.OutPublic,
	}.Execute(t)
	done()
	if err != nil {
		return nil, classify(err, "load "+want, "endorsement")
	}
	defer flush(t, ld.ObjectHandle)
	return persist(t, ld.ObjectHandle, ld.Name, handle, "AK")
}

// persist makes a loaded object persistent (TPM2_EvictControl, owner
// authorization with the empty password) and returns the key now at
// handle, marked Created.
func persist(t transport.TPM, obj tpm2.TPMHandle, name tpm2.TPM2BName, handle uint32, what string) (*Key, error) {
	_, err := tpm2.EvictControl{
		Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		ObjectHandle:     tpm2.NamedHandle{Handle: obj, Name: name},
		PersistentHandle: tpm2.TPMIDHPersistent(handle),
	}.Execute(t)
	if err := classify(err, fmt.Sprintf("persist %s at 0x%08x", what, handle), "owner"); err != nil {
		return nil, err
	}
	k, _, err := readKey(t, handle)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("device: %s not found at 0x%08x after persisting it", what, handle)
	}
	k.Created = true
	return k, nil
}

// Evict removes a persistent object (owner authorization).
func Evict(t transport.TPM, handle uint32) error {
	if err := checkPersistent(handle); err != nil {
		return err
	}
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}.Execute(t)
	if err != nil {
		return fmt.Errorf("device: read 0x%08x: %w", handle, err)
	}
	_, err = tpm2.EvictControl{
		Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		ObjectHandle:     tpm2.NamedHandle{Handle: tpm2.TPMHandle(handle), Name: rsp.Name},
		PersistentHandle: tpm2.TPMIDHPersistent(handle),
	}.Execute(t)
	return classify(err, fmt.Sprintf("evict 0x%08x", handle), "owner")
}

func checkPersistent(h uint32) error {
	// Owner persistent range, Part 2 §7.5: 0x81000000–0x817FFFFF.
	if h < 0x81000000 || h > 0x817FFFFF {
		return fmt.Errorf("device: 0x%08x is not an owner persistent handle (want 0x81000000–0x817fffff)", h)
	}
	return nil
}

// flush unloads a transient object or session; errors are ignored because
// the command that used it already decided the outcome.
func flush(t transport.TPM, h tpm2.TPMHandle) {
	_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(t)
}

// PublicPEM converts a TPM2B_PUBLIC or TPMT_PUBLIC (RSA or ECC) to a PEM
// SubjectPublicKeyInfo.
func PublicPEM(b []byte) ([]byte, error) {
	pk, err := PublicKey(b)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKey converts a TPM2B_PUBLIC or TPMT_PUBLIC to a Go public key.
func PublicKey(b []byte) (crypto.PublicKey, error) {
	pub, err := unmarshalPublic(b)
	if err != nil {
		return nil, err
	}
	switch pub.Type {
	case tpm2.TPMAlgRSA:
		p, err := pub.Parameters.RSADetail()
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		u, err := pub.Unique.RSA()
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		e := int(p.Exponent)
		if e == 0 {
			e = 65537 // Part 2 §12.2.3.5: 0 means 2^16+1
		}
		n := new(big.Int).SetBytes(u.Buffer)
		if n.BitLen() < 1024 || n.Bit(0) == 0 {
			return nil, fmt.Errorf("device: RSA modulus of %d bits is not a public key", n.BitLen())
		}
		return &rsa.PublicKey{N: n, E: e}, nil
	case tpm2.TPMAlgECC:
		p, err := pub.Parameters.ECCDetail()
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		u, err := pub.Unique.ECC()
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		var c elliptic.Curve
		switch p.CurveID {
		case tpm2.TPMECCNistP256:
			c = elliptic.P256()
		case tpm2.TPMECCNistP384:
			c = elliptic.P384()
		case tpm2.TPMECCNistP521:
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("device: unsupported curve 0x%04x", uint16(p.CurveID))
		}
		size := (c.Params().BitSize + 7) / 8
		if len(u.X.Buffer) > size || len(u.Y.Buffer) > size {
			return nil, errors.New("device: ECC point larger than the curve")
		}
		enc := make([]byte, 1+2*size)
		enc[0] = 4
		copy(enc[1+size-len(u.X.Buffer):1+size], u.X.Buffer)
		copy(enc[1+2*size-len(u.Y.Buffer):], u.Y.Buffer)
		// ParseUncompressedPublicKey rejects points not on the curve.
		k, err := ecdsa.ParseUncompressedPublicKey(c, enc)
		if err != nil {
			return nil, fmt.Errorf("device: ECC public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("device: unsupported key type 0x%04x", uint16(pub.Type))
}

// unmarshalPublic reads TPM2B_PUBLIC (size prefix equal to the rest) or a
// bare TPMT_PUBLIC, rejecting trailing bytes.
func unmarshalPublic(b []byte) (*tpm2.TPMTPublic, error) {
	body := b
	if len(b) >= 2 && int(binary.BigEndian.Uint16(b)) == len(b)-2 {
		body = b[2:]
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](body)
	if err != nil {
		return nil, fmt.Errorf("device: malformed public area: %w", err)
	}
	if !bytes.Equal(tpm2.Marshal(pub), body) {
		return nil, errors.New("device: malformed public area: trailing or non-canonical bytes")
	}
	return pub, nil
}

package dcaptest

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcapbuild"
)

// JunkConfig shapes adversarial collateral for a platform: items that
// classify as DCAP collateral and name the platform's FMSPC, root and PCK
// CA, but that verify under nothing the verifier trusts.
type JunkConfig struct {
	// Now is the centre of every validity window: the junk is never
	// rejected for being stale, only for its signatures.
	Now   time.Time
	FMSPC [6]byte
	PCEID [2]byte
	TDX   bool
	// RootSubject and PCKCASubject are the DER names the junk claims as
	// issuer (the platform's root and PCK CA).
	RootSubject, PCKCASubject []byte
	// Size is the approximate total size of the junk in bytes (DER of
	// certificates and CRLs, JSON of documents).
	Size int
	// Levels is the number of TCB levels of each junk TCB Info (default
	// 16: PCS's real TDX TCB Info has about that many).
	Levels int
	// Newer gives the junk documents a tcbEvaluationDataNumber above any
	// Intel has issued, so that a search preferring the newest documents
	// tries the junk first; otherwise the junk reads as older than real
	// collateral (tcbEvaluationDataNumber 1, issued earlier).
	Newer bool
}

// Junk mints worst-case junk for every search of a DCAP verification, in
// equal shares until Size is reached: TCB Info for the platform's FMSPC and
// TEE with a signature by another key, TCB
// Info for other FMSPCs (both either newer or older than Intel's, see
// JunkConfig.Newer), QE Identities for the platform's quoting enclave
// signed by another key, "Intel SGX TCB Signing" and PCK CA certificates
// claiming the root (or PCK CA) as issuer, signed by another key, and CRLs
// claiming the root and the PCK CA as issuer.
func Junk(c JunkConfig) *cloudra.Collateral {
	if c.Levels == 0 {
		c.Levels = 16
	}
	key := newKey()
	col := &cloudra.Collateral{}
	size := 0
	id, qeID, prod := "SGX", "QE", uint16(1)
	if c.TDX {
		id, qeID, prod = "TDX", "TD_QE", 2
	}
	// Every item differs (its dates or number), as distinct junk would.
	eval := func(n int) int { return 1 }
	issue := func(n int) time.Time { return c.Now.AddDate(0, 0, -20).Add(-time.Duration(n) * time.Second) }
	thisUpdate := func(n int) time.Time { return c.Now.AddDate(-1, 0, 0).Add(-time.Duration(n) * time.Second) }
	if c.Newer {
		eval = func(n int) int { return 1000 + n }
		issue = func(n int) time.Time { return c.Now.AddDate(0, 0, -1).Add(time.Duration(n) * time.Second) }
		thisUpdate = issue
	}
	tcb := func(fmspc [6]byte, n int) []byte {
		t := &TCBInfo{ID: id, FMSPC: fmspc, PCEID: c.PCEID, Issue: issue(n), Next: c.Now.AddDate(0, 0, 15), EvalNumber: eval(n)}
		for i := range c.Levels {
			l := Level{PCESVN: uint16(c.Levels - i), Status: "UpToDate", Date: c.Now.AddDate(0, -i, 0)}
			for j := range l.Comp {
				l.Comp[j] = byte(c.Levels - i)
			}
			if c.TDX {
				l.TDX = l.Comp
			}
			t.Levels = append(t.Levels, l)
		}
		if c.TDX {
			t.Modules = []Module{{ID: "TDX_01", Levels: []IdentityLevel{{ISVSVN: 4, Status: "UpToDate"}}}}
		}
		inner := t.Marshal()
		return dcapbuild.Envelope("tcbInfo", inner, sign(key, inner))
	}
	qe := func(n int) []byte {
		q := &QEIdentity{ID: qeID, ISVProdID: prod, Issue: issue(n), Next: c.Now.AddDate(0, 0, 15), EvalNumber: eval(n),
			MRSigner: QEMRSigner, Attributes: QEAttrs, AttrMask: [16]byte{0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			Levels: []IdentityLevel{{ISVSVN: 8, Status: "UpToDate"}}}
		inner := q.Marshal()
		return dcapbuild.Envelope("enclaveIdentity", inner, sign(key, inner))
	}
	root := &x509.Certificate{RawSubject: c.RootSubject, SubjectKeyId: []byte{1, 2, 3, 4}, KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	pckCA := &x509.Certificate{RawSubject: c.PCKCASubject, SubjectKeyId: []byte{5, 6, 7, 8}, KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	serial := func() *big.Int { return must(rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))) }
	cert := func(cn string, parent *x509.Certificate) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: cn, Organization: []string{"Intel Corporation"}, Country: []string{"US"}},
			NotBefore: c.Now.AddDate(-1, 0, 0), NotAfter: c.Now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
		return must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key))))
	}
	crl := func(issuer *x509.Certificate, n int) *x509.RevocationList {
		entries := make([]x509.RevocationListEntry, 8)
		for i := range entries {
			entries[i] = x509.RevocationListEntry{SerialNumber: serial(), RevocationTime: c.Now.AddDate(0, 0, -1)}
		}
		der := must(x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: serial(), ThisUpdate: thisUpdate(n), NextUpdate: c.Now.AddDate(0, 0, 29),
			RevokedCertificateEntries: entries}, issuer, key))
		return must(x509.ParseRevocationList(der))
	}
	for n := 0; size < c.Size; n++ {
		same := tcb(c.FMSPC, n)
		otherFMSPC := c.FMSPC
		otherFMSPC[5] ^= byte(n) | 1
		otherFMSPC[4] ^= byte(n >> 8)
		diff := tcb(otherFMSPC, n)
		q := qe(n)
		col.Documents = append(col.Documents,
			cloudra.Document{Kind: "tcb-info", Raw: same, Source: "junk"},
			cloudra.Document{Kind: "tcb-info", Raw: diff, Source: "junk"},
			cloudra.Document{Kind: "qe-identity", Raw: q, Source: "junk"})
		size += len(same) + len(diff) + len(q)
		// Certificates and CRLs are smaller than documents: several per
		// round keep the shares even.
		for i := range 4 {
			for _, x := range []*x509.Certificate{cert("Intel SGX TCB Signing", root), cert("Intel SGX PCK Platform CA", root)} {
				col.Certificates = append(col.Certificates, x)
				size += len(x.Raw)
			}
			for _, l := range []*x509.RevocationList{crl(root, 4*n+i), crl(pckCA, 4*n+i)} {
				col.CRLs = append(col.CRLs, l)
				size += len(l.Raw)
			}
		}
	}
	return col
}

package sevsnp

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestAMDCAChains: every KDS bundle's ARK is byte-identical to the pinned
// one, and every ASK/ASVK verifies under the pinned ARK (snp/amd-ca-chains).
func TestAMDCAChains(t *testing.T) {
	d := vectortest.Dir(t)
	rs := testRoots(t)
	files, _ := filepath.Glob(filepath.Join(d, "snp/amd-ca-chains/*.pem"))
	if len(files) != 9 {
		t.Fatalf("%d bundles", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(d, f)
		for _, c := range readCerts(t, rel) {
			cn := c.Subject.CommonName
			product := cn[strings.LastIndex(cn, "-")+1:]
			set := rs.pinned[product]
			if set == nil {
				t.Fatalf("%s: %s: no pinned product", rel, cn)
			}
			switch {
			case strings.HasPrefix(cn, "ARK-"):
				if certHash(c) != certHash(set.ARK) {
					t.Errorf("%s: %s differs from the pinned ARK", rel, cn)
				}
			default:
				if err := c.CheckSignatureFrom(set.ARK); err != nil {
					t.Errorf("%s: %s: %v", rel, cn, err)
				}
				if certHash(c) != certHash(set.ASK) && certHash(c) != certHash(set.ASVK) {
					t.Errorf("%s: %s is not the embedded intermediate", rel, cn)
				}
			}
		}
	}
}

// TestTurinVCEKChain: the real Turin VCEK (fmcSPL OID, 8-byte hwID) parses
// and chains to the pinned Turin ARK (snp/virtee-sev-turin-vcek-cert-only).
func TestTurinVCEKChain(t *testing.T) {
	dir := "snp/virtee-sev-turin-vcek-cert-only"
	der := vectortest.Read(t, dir+"/vcek_turin.der")
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	leaf := newLeafEntry(c, sha256.Sum256(der))
	if p := leaf.leafProblem(); p != "" {
		t.Fatal(p)
	}
	if leaf.ext.TCB(Turin) != (TCBParts{Turin: true, Microcode: 9}) {
		t.Errorf("tcb %+v", leaf.ext.TCB(Turin))
	}
	rs := testRoots(t)
	cands := readCerts(t, dir+"/cert_chain_turin.pem")
	if _, err := verifyChain(leaf, Turin, rs.anchors(Turin, false), cands, vectortest.Time(t, "2024-11-07T21:14:00Z")); err != nil {
		t.Fatalf("chain: %v", err)
	}
	// Embedded ASK alone suffices.
	if _, err := verifyChain(leaf, Turin, rs.anchors(Turin, false), nil, vectortest.Time(t, "2024-11-07T21:14:00Z")); err != nil {
		t.Fatalf("chain with embedded ASK: %v", err)
	}
	_, err = verifyChain(leaf, Turin, rs.anchors(Turin, false), cands, vectortest.Time(t, "2024-11-06T00:00:00Z"))
	var ce *chainError
	if !errors.As(err, &ce) || !ce.fresh || ce.check != checkLeaf {
		t.Errorf("before notBefore: %v", err)
	}
	// Against the wrong product line: no path.
	if _, err := verifyChain(leaf, Milan, rs.anchors(Milan, false), cands, vectortest.Time(t, "2024-11-07T21:14:00Z")); err == nil {
		t.Error("Turin VCEK chained to Milan")
	}
}

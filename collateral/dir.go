package collateral

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudra/cloudra"
)

// Limits of [LoadDir].
const (
	MaxFileSize = DefaultMaxBody // larger files are skipped
	MaxDirFiles = 4096           // more entries than this is an error
)

// Skipped is a file [LoadDir] did not use, and why.
type Skipped struct {
	Path   string
	Reason string
}

// issuerChainSuffixes pair a document file X.json with the issuer chain
// beside it: X_issuer_chain.pem (the layout of PCS dumps and of the shared
// vectors) or X.issuer-chain.pem (what [WriteDir] writes). Pairing is the
// only use of file names; what each file is comes from its content.
var issuerChainSuffixes = []string{"_issuer_chain.pem", ".issuer-chain.pem", "-issuer-chain.pem"}

// ErrTooManyEntries is wrapped by [LoadDir] for a folder of more than
// MaxDirFiles entries: the collateral of one attestation is a few files.
var ErrTooManyEntries = errors.New("too many entries for the collateral of one attestation")

// LoadDir reads collateral from dir and from its immediate subdirectories
// (one level: dir/*, dir/*/*; deeper folders are reported as skipped).
// Every regular file up to MaxFileSize is classified by content with
// [Classify]; files that are not collateral are returned in Skipped with the
// reason, never silently dropped. Files that are recognisably collateral but
// do not parse ([ErrMalformed]: a corrupt VCEK) are in Skipped too, and in
// the result's Unreadable, so that verification warns about them.
// Symbolic links to files are followed.
// The error is only for an unreadable dir or more than MaxDirFiles entries.
func LoadDir(dir string) (*cloudra.Collateral, []Skipped, error) {
	var files []string
	var skipped []Skipped
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("collateral: %w", err)
	}
	count := len(top)
	for _, e := range top {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			files = append(files, p)
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			skipped = append(skipped, Skipped{p, err.Error()})
			continue
		}
		count += len(sub)
		if count > MaxDirFiles {
			return nil, nil, fmt.Errorf("collateral: %s holds more than %d entries: %w", dir, MaxDirFiles, ErrTooManyEntries)
		}
		for _, s := range sub {
			sp := filepath.Join(p, s.Name())
			if s.IsDir() {
				skipped = append(skipped, Skipped{sp, "directory nested more than one level deep"})
				continue
			}
			files = append(files, sp)
		}
	}
	if count > MaxDirFiles {
		return nil, nil, fmt.Errorf("collateral: %s holds more than %d entries: %w", dir, MaxDirFiles, ErrTooManyEntries)
	}

	out := newCollateral()
	raw := map[string][]byte{}  // path → bytes of files that classified
	docs := map[string][]int{}  // path → indexes into out.Documents
	seenDoc := map[string]int{} // kind+hash → index into out.Documents
	for _, p := range files {
		data, err := readCapped(p, MaxFileSize)
		if err != nil {
			skipped = append(skipped, Skipped{p, strings.TrimPrefix(err.Error(), p+": ")})
			continue
		}
		col, err := Classify(data, p)
		if err != nil {
			reason := strings.TrimPrefix(err.Error(), "collateral: "+p+": ")
			skipped = append(skipped, Skipped{p, reason})
			if errors.Is(err, ErrMalformed) {
				out.AddUnreadable(cloudra.UnreadableItem{Source: p, Reason: reason})
			}
			continue
		}
		raw[p] = data
		for _, c := range col.Certificates {
			out.AddCertificate(c)
		}
		for _, c := range col.CRLs {
			out.AddCRL(c)
		}
		for _, d := range col.Documents {
			key := d.Kind + "/" + hexSum(d.Raw)
			i, ok := seenDoc[key]
			if !ok {
				i = len(out.Documents)
				seenDoc[key] = i
				out.Documents = append(out.Documents, d)
			}
			docs[p] = append(docs[p], i)
		}
		for k, v := range col.Sources {
			if _, ok := out.Sources[k]; !ok {
				out.Sources[k] = v
			}
		}
	}
	for p, idx := range docs {
		base := strings.TrimSuffix(p, filepath.Ext(p))
		for _, suf := range issuerChainSuffixes {
			ch, ok := raw[base+suf]
			if !ok {
				continue
			}
			for _, i := range idx {
				if out.Documents[i].IssuerChain == nil {
					out.Documents[i].IssuerChain = ch
				}
			}
			break
		}
	}
	return out, skipped, nil
}

// WriteDir writes every item of col into dir (created if needed) under a
// name derived from its content, so that [LoadDir] reads back the same
// certificates, CRLs and documents (issuer chains included):
//
//	cert-<subject CN>-<sha256[:8]>.pem
//	crl-<issuer CN>-<sha256[:8]>.der
//	tcb-info-<id>-<fmspc>-<sha256[:8]>.json   (+ .issuer-chain.pem beside it)
//	qe-identity-<id>-<sha256[:8]>.json        (+ .issuer-chain.pem)
//	jwks-<sha256[:8]>.json
//
// Files are written to a temporary name and renamed. It returns the paths
// written. Documents whose bytes do not classify as their Kind are an error.
func WriteDir(dir string, col *cloudra.Collateral) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("collateral: %w", err)
	}
	if col == nil {
		return nil, nil
	}
	var written []string
	used := map[string]string{} // file name → hash of content
	write := func(stem, ext string, data []byte) (string, error) {
		sum := hexSum(data)
		name := stem + "-" + sum[:8]
		if h, ok := used[name+ext]; ok && h != sum {
			name = stem + "-" + sum // 32-bit prefix collision: use the full hash
		}
		used[name+ext] = sum
		p := filepath.Join(dir, name+ext)
		if err := writeAtomic(p, data); err != nil {
			return "", fmt.Errorf("collateral: %w", err)
		}
		written = append(written, p)
		return p, nil
	}
	for _, c := range col.Certificates {
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		if _, err := write("cert-"+sanitize(c.Subject.CommonName), ".pem", data); err != nil {
			return written, err
		}
	}
	for _, c := range col.CRLs {
		if _, err := write("crl-"+sanitize(c.Issuer.CommonName), ".der", c.Raw); err != nil {
			return written, err
		}
	}
	for _, d := range col.Documents {
		got, err := Classify(d.Raw, "document")
		if err != nil || len(got.Documents) != 1 || got.Documents[0].Kind != d.Kind {
			return written, fmt.Errorf("collateral: cannot write a %q document whose bytes do not classify as one", d.Kind)
		}
		p, err := write(docStem(d), ".json", d.Raw)
		if err != nil {
			return written, err
		}
		if len(d.IssuerChain) > 0 {
			cc, err := Classify(d.IssuerChain, "issuer chain")
			if err != nil || len(cc.CRLs) > 0 || len(cc.Documents) > 0 {
				return written, fmt.Errorf("collateral: issuer chain of a %q document is not PEM certificates", d.Kind)
			}
			cp := strings.TrimSuffix(p, ".json") + ".issuer-chain.pem"
			if err := writeAtomic(cp, d.IssuerChain); err != nil {
				return written, fmt.Errorf("collateral: %w", err)
			}
			written = append(written, cp)
		}
	}
	return written, nil
}

// docStem names a document after the identifiers inside it.
func docStem(d cloudra.Document) string {
	var v struct {
		TCBInfo *struct {
			ID    string `json:"id"`
			FMSPC string `json:"fmspc"`
		} `json:"tcbInfo"`
		EnclaveIdentity *struct {
			ID string `json:"id"`
		} `json:"enclaveIdentity"`
	}
	_ = json.Unmarshal(d.Raw, &v) // names only; the kind was checked by Classify
	parts := []string{d.Kind}
	switch {
	case d.Kind == KindTCBInfo && v.TCBInfo != nil:
		parts = append(parts, v.TCBInfo.ID, v.TCBInfo.FMSPC)
	case d.Kind == KindQEIdentity && v.EnclaveIdentity != nil:
		parts = append(parts, v.EnclaveIdentity.ID)
	}
	var out []string
	for _, p := range parts {
		if s := sanitize(p); s != "unnamed" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "-")
}

// sanitize keeps a file-name-safe, bounded form of a name.
func sanitize(s string) string {
	var b bytes.Buffer
	dash := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_'
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "unnamed"
	}
	return out
}

package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/internal/boundedio"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
	"github.com/cloudra/cloudra/platform/nitro"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/policy"
)

type verifyFlags struct {
	collateralDirs []string
	offline        bool
	at             string
	policyFile     string
	reportData     string
	nonce          string
	format         formatFlag
	verbose        bool
	allowTestRoots bool
	cacheDir       string
	product        string
	kdsURL         string
	pcsURL         string
	tlsCert        string
}

func newVerifyCmd(env *Env) *cobra.Command {
	var f verifyFlags
	c := &cobra.Command{
		Use:   "verify [flags] EVIDENCE...",
		Short: "Verify attestation evidence and appraise it against a policy",
		Long: `Verify attestation evidence: signatures over the exact received bytes, certificate
chains to pinned vendor roots, collateral, freshness, then the policy.

EVIDENCE is an evidence bundle (cloudra collect) or a raw artifact recognised by its
content (binary, hex or base64 text): an SEV-SNP report, a DCAP quote, an Azure HCL
report, a TPM quote, and the files beside them as tpm2-tools and snpguest write them
(tpm2_quote -m/-s/-o, the AK public key, vcek/ask/ark certificates or their folder).
Several files are verified together; "-" is standard input. Files are recognised by
content, never by name; certificates join the collateral, never the roots.

Exit codes: 0 pass, 1 rejected, 2 could not decide.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), env, &f, args)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.collateralDirs, "collateral", nil, "folder of certificates, CRLs and PCS JSON to use (repeatable)")
	fl.BoolVar(&f.offline, "offline", false, "never use the network; missing collateral means exit 2")
	fl.StringVar(&f.at, "at", "", "verification time (RFC 3339); default: now")
	fl.StringVar(&f.policyFile, "policy", "", "policy file (YAML or JSON); default: the built-in default policy")
	fl.StringVar(&f.reportData, "report-data", "", "expected REPORT_DATA (hex, or @FILE; up to 64 bytes, zero-padded)")
	fl.StringVar(&f.nonce, "nonce", "", "expected nonce (hex, or @FILE) for TPM quotes and bundles")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "Nitro: TLS certificate FILE (PEM or DER) whose SubjectPublicKeyInfo the document's user_data must be")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list ignored collateral files and fetches")
	fl.BoolVar(&f.allowTestRoots, "allow-test-roots", false, "also trust cloudra's simulator roots (never in production)")
	fl.StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "collateral cache folder")
	fl.StringVar(&f.product, "product", "", "SEV-SNP product line hint for v2 reports (Milan, Genoa, Turin)")
	addSourceFlags(c, &f.kdsURL, &f.pcsURL)
	addFormatFlag(c, &f.format)
	return c
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cloudra")
	}
	return ""
}

// verifyTime returns --at or the current time.
func verifyTime(env *Env, at string) (time.Time, error) {
	if at == "" {
		return env.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, undecided(fmt.Errorf("bad --at %q: %w", at, err), "use RFC 3339, e.g. --at 2025-01-01T00:00:00Z")
	}
	return t, nil
}

func runVerify(ctx context.Context, env *Env, f *verifyFlags, args []string) error {
	at, err := verifyTime(env, f.at)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(f.policyFile)
	if err != nil {
		return err
	}
	if f.reportData != "" {
		rd, err := bytesFlag("--report-data", f.reportData, 64)
		if err != nil {
			return err
		}
		platform.SetReportData(pol, rd)
	}
	if f.tlsCert != "" {
		if pol, err = withTLSCert(pol, f.tlsCert); err != nil {
			return err
		}
	}
	bundle, err := loadEvidence(env, args)
	if bad := (*malformedBundleError)(nil); errors.As(err, &bad) {
		if err := printResult(env.Stdout, f.format, rejectedEvidence(bad)); err != nil {
			return undecided(err, "")
		}
		return errRejected
	}
	if err != nil {
		return err
	}
	// The expected nonce comes from the relying party (--nonce) only; the
	// bundle's own "nonce" field is never an expected value.
	var nonce []byte
	if f.nonce != "" {
		if nonce, err = nonceFlag(f.nonce); err != nil {
			return err
		}
	}
	if f.product != "" {
		bundle.Artifacts = append([]cloudra.Artifact(nil), bundle.Artifacts...)
		for i := range bundle.Artifacts {
			if bundle.Artifacts[i].Kind == cloudra.KindSNPReport {
				m := map[string]string{"product": f.product}
				for k, v := range bundle.Artifacts[i].Meta {
					if k != "product" {
						m[k] = v
					}
				}
				bundle.Artifacts[i].Meta = m
			}
		}
	}
	col, err := loadCollateral(env, bundle, f.collateralDirs, f.verbose)
	if err != nil {
		return err
	}
	vs, err := newVerifiers(f.allowTestRoots)
	if err != nil {
		return undecided(err, "")
	}
	in := platform.Input{Bundle: bundle, Collateral: col, Policy: pol, Nonce: nonce,
		Options: cloudra.Options{Time: at, AllowTestRoots: f.allowTestRoots}}
	res, err := verifyFetching(ctx, env, vs, in, f)
	if err != nil {
		return err
	}
	if err := printResult(env.Stdout, f.format, res); err != nil {
		return undecided(err, "")
	}
	if f.format != "json" {
		for _, h := range freshnessHints(res, f.nonce != "", f.reportData != "") {
			fmt.Fprintf(env.Stderr, "hint: %s\n", h)
		}
		for _, h := range nitroHints(res, at) {
			fmt.Fprintf(env.Stderr, "hint: %s\n", h)
		}
	}
	if res.Verdict != cloudra.Pass {
		return errRejected
	}
	return nil
}

// withTLSCert returns a copy of pol whose nitro section expects user_data
// to be the SubjectPublicKeyInfo of the TLS certificate in path: an enclave
// that serves TLS binds its key so (the key's DER SPKI in the document's
// user_data), and the relying party checks it against the certificate the
// connection presented.
func withTLSCert(pol *policy.Policy, path string) (*policy.Policy, error) {
	spki, err := readSPKIFile("--tls-cert", path, false)
	if err != nil {
		return nil, err
	}
	var sec nitro.Policy
	if s := nitro.PolicyOf(pol); s != nil {
		sec = *s
	}
	sec.UserDataSPKI = spki
	return pol.With(nitro.Platform, &sec), nil
}

// freshnessHints names the flag that supplies the expected value a failed
// freshness rule lacked.
func freshnessHints(res *cloudra.Result, haveNonce, haveReportData bool) []string {
	var out []string
	if !haveNonce && (res.HasViolation("require-nonce") || res.HasViolation("require-freshness")) {
		out = append(out, "pass --nonce HEX (or @FILE): the challenge the quote must carry; the bundle's own nonce is never trusted")
	}
	if !haveReportData && res.HasViolation("require-freshness") {
		out = append(out, "or pass --report-data HEX: the user-data the runtime claims must echo")
	}
	return out
}

// verifyFetching verifies, and while the verifier names missing collateral
// and the network is allowed, fetches it (through the cache) and tries again.
func verifyFetching(ctx context.Context, env *Env, vs *platform.Verifiers, in platform.Input, f *verifyFlags) (*cloudra.Result, error) {
	o := platform.FetchOptions{Rewrite: func(u string) string { return rebase(u, f.kdsURL, f.pcsURL) }}
	var fetcher collateral.Fetcher
	if f.offline {
		// Offline still serves what an earlier online run cached; it
		// never dials.
		if f.cacheDir != "" {
			if c, err := collateral.NewCache(f.cacheDir, collateral.CacheOptions{TTLFor: collateral.SuggestedTTL}); err == nil {
				fetcher = collateral.Offline(c)
			}
		}
	} else {
		fetcher = newFetcher(env, f.cacheDir, f.verbose)
		o.Revocation = true
		o.Progress = func(ev string) { fmt.Fprintf(env.Stderr, "cloudra: %s\n", ev) }
	}
	if f.verbose {
		o.NotFetched = func(e error) { fmt.Fprintf(env.Stderr, "cloudra: not fetched: %v\n", e) }
	}
	res, err := decided(vs.VerifyFetching(ctx, in, fetcher, o))
	var rev *platform.RevocationError
	var fe *platform.FetchError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &rev):
		return nil, undecided(err, "check the network, or pass --collateral DIR holding the CRL (cloudra collateral fetch writes one)")
	case errors.As(err, &fe) && f.offline:
		return nil, undecided(fe.Verify, "")
	case errors.As(err, &fe):
		return nil, undecided(err, "pass --collateral DIR with it, or check the network")
	}
	return nil, undecided(err, "")
}

// newFetcher fetches over HTTP through the disk cache in cacheDir. Cache
// lifetimes follow collateral.SuggestedTTL, and the cache never serves a CRL
// or PCS document past its own nextUpdate.
func newFetcher(env *Env, cacheDir string, verbose bool) collateral.Fetcher {
	opts := collateral.HTTPOptions{Version: Version}
	opts.Progress = func(ev string) { fmt.Fprintf(env.Stderr, "cloudra: %s\n", ev) }
	var f collateral.Fetcher = collateral.NewHTTP(opts)
	if cacheDir != "" {
		if c, err := collateral.NewCache(cacheDir, collateral.CacheOptions{TTLFor: collateral.SuggestedTTL}); err == nil {
			f = collateral.Cached(f, c)
		} else if verbose {
			fmt.Fprintf(env.Stderr, "cloudra: cache disabled: %v\n", err)
		}
	}
	return f
}

func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" {
		return policy.Default(), nil
	}
	b, err := readFileLimited(path, policy.MaxSize)
	if err != nil {
		return nil, undecided(err, "")
	}
	p, err := platform.ParsePolicy(b)
	if err != nil {
		return nil, undecided(fmt.Errorf("%s: %w", path, err), "")
	}
	return p, nil
}

// nonceFlag reads --nonce: the expected nonce, hex or @FILE.
func nonceFlag(s string) ([]byte, error) { return bytesFlag("--nonce", s, 1024) }

// bytesFlag reads a byte-string flag: hex digits, or @FILE for a file's
// content. The file holds the bytes themselves, or hex text: when its
// content, less surrounding white space, is an even number of hex digits
// it is read as hex (so a raw value whose every byte is an ASCII hex digit
// must be given in hex), otherwise as the raw bytes.
func bytesFlag(name, s string, max int) ([]byte, error) {
	path, ok := strings.CutPrefix(s, "@")
	if !ok {
		return parseHexFlag(name, s, max)
	}
	// Hex text is twice the size, plus room for white space and a newline.
	b, err := readFileLimited(path, int64(4*max+64))
	if err != nil {
		return nil, undecided(fmt.Errorf("%s: %w", name, err), "")
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && len(t)%2 == 0 && isHexDigits(t) {
		b, _ = hex.DecodeString(string(t))
	}
	if len(b) > max {
		return nil, undecided(fmt.Errorf("%s %s is %d bytes, at most %d", name, s, len(b), max), "")
	}
	return b, nil
}

func isHexDigits(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func parseHexFlag(name, s string, max int) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, undecided(fmt.Errorf("%s is not hex: %w", name, err), "give an even number of hex digits, e.g. "+name+" 00ff…, or "+name+" @FILE")
	}
	if len(b) > max {
		return nil, undecided(fmt.Errorf("%s is %d bytes, at most %d", name, len(b), max), "")
	}
	return b, nil
}

// readEvidence reads an EVIDENCE argument, "-" being standard input, with
// the artifact size bound either way.
func readEvidence(env *Env, p string) ([]byte, error) {
	if p != "-" {
		return readFileLimited(p, cloudra.MaxArtifactSize)
	}
	if env.Stdin == nil {
		return nil, nil
	}
	b, err := boundedio.ReadAll(env.Stdin, cloudra.MaxArtifactSize)
	switch {
	case errors.Is(err, boundedio.ErrTooLarge):
		return nil, fmt.Errorf("standard input: larger than %d bytes", cloudra.MaxArtifactSize)
	case err != nil:
		return nil, fmt.Errorf("standard input: %w", err)
	}
	return b, nil
}

func readFileLimited(path string, max int64) ([]byte, error) {
	return boundedio.ReadFile(path, max)
}

// loadEvidence reads bundles and raw artifacts into one bundle. A folder
// stands for the files in it (snpguest's certificate folder, tpm2-tools'
// output folder); raw files are recognised by content (see "Recognising
// raw files" in recognise.go).
func loadEvidence(env *Env, args []string) (*cloudra.Bundle, error) {
	paths, err := expandFolders(args)
	if err != nil {
		return nil, err
	}
	out := &cloudra.Bundle{Schema: cloudra.EvidenceSchema}
	var left []unrecognised
	var weak []int
	stdin := 0
	for _, p := range paths {
		if p == "-" {
			if stdin++; stdin > 1 {
				return nil, undecided(errors.New("standard input (-) given more than once"), "")
			}
		}
		ef, err := loadFile(env, p)
		if err != nil {
			return nil, err
		}
		if ef.left != nil {
			left = append(left, *ef.left)
			continue
		}
		b := ef.bundle
		if out.Platform == "" {
			out.Platform = b.Platform
		}
		if out.Cloud == "" {
			out.Cloud = b.Cloud
		}
		if len(out.Nonce) == 0 {
			out.Nonce = b.Nonce
		}
		if ef.weak {
			weak = append(weak, len(out.Artifacts))
		}
		out.Artifacts = append(out.Artifacts, b.Artifacts...)
		out.Collateral = append(out.Collateral, b.Collateral...)
	}
	if left = resolvePlainSignature(out, left, weak); len(left) > 0 {
		return nil, undecided(fmt.Errorf("%s: %w", left[0].path, left[0].err), "")
	}
	return out, nil
}

// expandFolders replaces each folder argument by the regular files in it
// (not recursively, in name order).
func expandFolders(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if a == "-" || err != nil || !fi.IsDir() {
			out = append(out, a) // errors are reported when the file is read
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, undecided(err, "")
		}
		n := 0
		for _, e := range ents {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(a, e.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, undecided(fmt.Errorf("%s: no files in the folder", a), "")
		}
	}
	return out, nil
}

// evidenceFile is one EVIDENCE file, read and sorted by content.
type evidenceFile struct {
	// bundle holds a bundle's content, or a raw file's artifacts.
	bundle   *cloudra.Bundle
	isBundle bool
	// weak: a raw file taken for a Nitro document by its first byte only.
	weak bool
	// left is a raw file that matched nothing: maybe a raw signature.
	left *unrecognised
}

// loadFile reads one EVIDENCE argument ("-" is standard input): an
// evidence bundle, or a raw file recognised by its content.
func loadFile(env *Env, p string) (evidenceFile, error) {
	data, err := readEvidence(env, p)
	if err != nil {
		return evidenceFile{}, undecided(err, "")
	}
	if looksLikeBundle(data) {
		b, err := parseBundleFile(data)
		var bad *malformedBundleError
		switch {
		case err == nil:
			return evidenceFile{bundle: b, isBundle: true}, nil
		case errors.As(err, &bad):
			bad.file = p
			if p == "-" {
				bad.file = "stdin"
			}
			return evidenceFile{}, &ExitError{Code: ExitRejected, Err: bad}
		default:
			return evidenceFile{}, undecided(fmt.Errorf("%s: %w", p, err), "")
		}
	}
	rec, err := recogniseRaw(artifactName(p), data)
	if err != nil {
		return evidenceFile{left: &unrecognised{path: p, data: data, err: err}}, nil
	}
	return evidenceFile{bundle: &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Artifacts: rec.evidence, Collateral: rec.collateral}, weak: rec.weak}, nil
}

// utf8BOM is the UTF-8 encoding of U+FEFF.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// looksLikeBundle reports whether data is recognisably meant as an evidence
// bundle: after white space (and a byte-order mark) a JSON object that
// names a schema or cloudra's evidence schema. Such a file that does not
// parse is a malformed bundle (rejected evidence, exit 1), never an
// unrecognised artifact (exit 2).
func looksLikeBundle(data []byte) bool {
	t := bytes.TrimSpace(data)
	t = bytes.TrimSpace(bytes.TrimPrefix(t, utf8BOM))
	return len(t) > 0 && t[0] == '{' &&
		(bytes.Contains(t, []byte(`"schema"`)) || bytes.Contains(t, []byte("cloudra.evidence")))
}

// malformedBundleError is a file that is recognisably an evidence bundle but
// does not parse: verify reports it as a failed evidence.parse check.
type malformedBundleError struct {
	file string
	err  error
}

func (e *malformedBundleError) Error() string { return fmt.Sprintf("%s: %v", e.file, e.err) }
func (e *malformedBundleError) Unwrap() error { return e.err }

// parseBundleFile parses a file that looks like a bundle. A schema this
// cloudra does not read is returned as is (could not decide); anything
// else that fails is a *malformedBundleError.
func parseBundleFile(data []byte) (*cloudra.Bundle, error) {
	t := bytes.TrimLeft(data, " \t\r\n")
	if bytes.HasPrefix(t, utf8BOM) {
		// RFC 8259 §8.1: implementations MUST NOT add a byte-order mark
		// to networked JSON; a bundle is such a text, and cloudra never
		// writes one, so a BOM means the file was altered on the way.
		return nil, &malformedBundleError{err: errors.New("UTF-8 byte-order mark before the JSON (RFC 8259 §8.1: implementations MUST NOT add a BOM)")}
	}
	b, err := cloudra.ParseBundle(data)
	switch {
	case err == nil:
		return b, nil
	case strings.Contains(err.Error(), "unsupported schema"):
		return nil, err
	case errors.Is(err, cloudra.ErrNotBundle):
		// The schema probe failed: say why the JSON does not decode.
		var probe struct {
			Schema any `json:"schema"`
		}
		if jerr := json.Unmarshal(bytes.TrimSpace(data), &probe); jerr != nil {
			return nil, &malformedBundleError{err: fmt.Errorf("evidence: malformed bundle: %w", jerr)}
		}
		return nil, &malformedBundleError{err: fmt.Errorf("evidence: malformed bundle: \"schema\" is %v, want %q", probe.Schema, cloudra.EvidenceSchema)}
	}
	return nil, &malformedBundleError{err: err}
}

// rejectedEvidence is the result of evidence that could not be parsed.
func rejectedEvidence(bad *malformedBundleError) *cloudra.Result {
	r := &cloudra.Result{}
	r.Failf("evidence.parse", cloudra.ClassParse, "%s: %v", bad.file, bad.err)
	return r.Finish()
}

// artifactName names an artifact after its file; "-" is "stdin".
func artifactName(p string) string {
	if p == "-" {
		return "stdin"
	}
	return filepath.Base(p)
}

// loadCollateral loads the --collateral folders (bundle collateral is
// merged by the platform dispatcher).
func loadCollateral(env *Env, b *cloudra.Bundle, dirs []string, verbose bool) (*cloudra.Collateral, error) {
	col := &cloudra.Collateral{}
	for _, d := range dirs {
		c, skipped, err := collateral.LoadDir(d)
		if err != nil {
			return nil, undecided(fmt.Errorf("--collateral %s: %w", d, err), collateralDirHint(err))
		}
		if verbose {
			for _, s := range skipped {
				fmt.Fprintf(env.Stderr, "cloudra: ignored %s: %s\n", s.Path, s.Reason)
			}
		}
		col.Merge(c)
	}
	return col, nil
}

// addSourceFlags adds the collateral source flags: a PCCS, a cloud's cache
// (Azure THIM-style) or a mirror serves the same paths under another base.
func addSourceFlags(c *cobra.Command, kdsBase, pcsBase *string) {
	c.Flags().StringVar(kdsBase, "kds-url", "", "base URL serving the AMD KDS paths (default "+sevsnp.KDSBase+")")
	c.Flags().StringVar(pcsBase, "pcs-url", "", "base URL serving the Intel PCS v4 paths: a PCCS or a cloud cache (default "+pcs.DefaultBase+")")
}

// rebase points a collateral URL at the chosen KDS or PCS base. Only the
// source changes: what is fetched is verified exactly as before.
func rebase(u, kdsBase, pcsBase string) string {
	if kdsBase != "" && strings.HasPrefix(u, sevsnp.KDSBase+"/") {
		return strings.TrimRight(kdsBase, "/") + strings.TrimPrefix(u, sevsnp.KDSBase)
	}
	if pcsBase != "" && u == pcs.RootCACRLURL {
		// A PCCS serves the Root CA CRL itself (hex-encoded DER).
		return strings.TrimRight(pcsBase, "/") + "/sgx/certification/v4/rootcacrl"
	}
	if pcsBase != "" && strings.HasPrefix(u, pcs.DefaultBase+"/") {
		return strings.TrimRight(pcsBase, "/") + strings.TrimPrefix(u, pcs.DefaultBase)
	}
	return u
}

// fetchRefs is collateral.FetchRefs with the CLI's source flags and
// progress on stderr (unless quiet).
func fetchRefs(ctx context.Context, env *Env, fetcher collateral.Fetcher, refs []cloudra.CollateralRef, kdsBase, pcsBase string, quiet bool) (*cloudra.Collateral, int, []error) {
	var progress func(string)
	if !quiet {
		progress = func(ev string) { fmt.Fprintf(env.Stderr, "cloudra: %s\n", ev) }
	}
	return collateral.FetchRefs(ctx, fetcher, refs, func(u string) string { return rebase(u, kdsBase, pcsBase) }, progress)
}

package layering_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cloudra/cloudra"

// A rule says what the non-test files of the packages matching pkg may
// import from inside the module: an import is allowed when it matches a
// pattern of may and none of never. Patterns are module-relative: "." is
// the root package, "*" stands for one path element, a trailing "/..."
// for the package and everything below it, and "..." alone for every
// package. The first rule whose pkg matches a package applies to it.
// Imports from outside the module (the standard library, other modules)
// are free, except where stdOnly is set.
type rule struct {
	pkg     string
	may     []string
	never   []string
	stdOnly bool
	// fallback rows are for packages that do not exist yet (the next
	// platform): TestFallbackRowServesANewPlatform checks them instead of
	// the packages of today.
	fallback bool
	why      string
}

// rules is the import-rules table; docs/design.md ("Import rules") shows
// it, and TestDesignDocShowsTheRules keeps the two the same.
var rules = []rule{
	{pkg: ".", stdOnly: true,
		why: "the evidence, collateral, options and result types every layer shares"},
	{pkg: "cmd/...", may: []string{"..."},
		why: "the CLI wires devices, simulators, fetchers, verifiers and the server together"},
	{pkg: "server", may: []string{".", "collateral", "platform", "policy"},
		why: "serves verification only: no device, no simulator, no verifier below the dispatcher"},
	{pkg: "collateral", may: []string{".", "internal/..."},
		why: "the only code that dials; it classifies what it fetches but verifies nothing"},
	{pkg: "policy", may: []string{".", "internal/..."},
		why: "one policy format; platforms import it, it imports no platform"},
	{pkg: "internal/dcapbuild", may: []string{".", "internal/...", "platform/dcap/..."},
		why: "encoders of DCAP structures for the simulators and the test kit"},
	{pkg: "internal/dcaptest", may: []string{".", "internal/...", "platform/dcap/..."},
		why: "test kit: forged DCAP quotes and collateral for the platforms' tests"},
	{pkg: "internal/swtpmtest", may: []string{".", "internal/...", "platform/tpm/device"},
		why: "test kit: a swtpm behind the TPM device interface"},
	{pkg: "internal/tsmtest", may: []string{".", "internal/...", "platform/tsm"},
		why: "test kit: a fake configfs-tsm tree"},
	{pkg: "internal/simroots", may: []string{".", "platform/seam", "platform/sevsnp", "platform/tdx", "platform/sgx", "sim/..."},
		why: "the simulators' test roots, for the CLI's demo and --allow-test-roots only"},
	{pkg: "internal/guestdev", may: []string{".", "internal/...", "platform/tsm"},
		why: "acquire: the interface choice and device open the SEV-SNP and TDX device packages share"},
	{pkg: "internal/...", may: []string{".", "internal/..."},
		why: "helpers below every layer"},
	{pkg: "platform", may: []string{".", "internal/...", "policy", "collateral", "platform/..."},
		never: []string{"platform/*/device/...", "platform/tsm/...", "sim/..."},
		why:   "the dispatcher: recognises artifacts and calls the verifiers; never a device, never a simulator"},
	{pkg: "platform/seam", may: []string{".", "policy"},
		why: "the interface a platform implements; imports no platform"},
	{pkg: "platform/acquire", may: []string{"."},
		why: "the interface a device package's collector implements; links no verifier, no policy"},
	{pkg: "platform/internal/...", may: []string{".", "internal/...", "policy", "platform/dcap/..."},
		why: "the DCAP pipeline that the TDX and SGX verifiers share"},
	{pkg: "platform/*/device/...", may: []string{".", "internal/...", "platform/acquire", "platform/tsm/...", "platform/*/device/..."},
		why: "acquire: the only code that opens devices; imported only by cmd and sim"},
	{pkg: "platform/tsm/...", may: []string{".", "internal/...", "platform/tsm/..."},
		why: "acquire: the configfs-tsm client the SNP and TDX device packages share"},
	{pkg: "platform/azure", may: []string{".", "internal/...", "policy", "platform/seam", "platform/sevsnp", "platform/tdx", "platform/tpm", "platform/dcap"},
		why: "composite: the hardware report and the vTPM quote, verified by their own verifiers, and the bindings between them"},
	{pkg: "platform/sevsnp/...", may: []string{".", "internal/...", "policy", "platform/seam", "platform/sevsnp/..."},
		why: "SEV-SNP verifier and its roots"},
	{pkg: "platform/dcap/...", may: []string{".", "internal/...", "policy", "platform/dcap/..."},
		why: "the DCAP quote and the PCS collateral that TDX and SGX share"},
	{pkg: "platform/tdx/...", may: []string{".", "internal/...", "policy", "platform/seam", "platform/internal/...", "platform/dcap/...", "platform/eventlog", "platform/tdx/..."},
		why: "TDX verifier on the DCAP pipeline; replays the CC event log"},
	{pkg: "platform/sgx/...", may: []string{".", "internal/...", "policy", "platform/seam", "platform/internal/...", "platform/dcap/...", "platform/sgx/..."},
		why: "SGX verifier on the DCAP pipeline"},
	{pkg: "platform/tpm/...", may: []string{".", "internal/...", "policy", "platform/seam", "platform/eventlog", "platform/tpm/..."},
		why: "TPM quote verifier; replays event logs"},
	{pkg: "platform/eventlog", may: []string{".", "internal/..."},
		why: "TCG and CC event-log parsing and replay"},
	{pkg: "platform/*/...", may: []string{".", "internal/...", "policy", "platform/seam", "platform/eventlog", "$/..."},
		never: []string{"collateral", "sim/...", "platform/*/device/..."}, fallback: true,
		why: "a platform without a row of its own: its own packages ($), the seam and the policy format; a composite that uses other platforms gets a row"},
	{pkg: "sim/...", may: []string{".", "internal/...", "sim/...", "platform/..."},
		never: []string{"platform", "platform/azure", "platform/sevsnp", "platform/tdx", "platform/sgx", "platform/tpm", "platform/nitro", "platform/seam", "platform/internal/..."},
		why:   "simulated platforms behind the device interfaces; they encode evidence, never verify it"},
}

// reach says what the packages matching pkg must never depend on, however
// indirectly: what a verifier service or library user links.
var reach = []struct {
	pkg   string
	never []string
	why   string
}{
	{"server", []string{"sim/...", "platform/*/device/...", "platform/tsm/...", "internal/guestdev"},
		"a verifier service links no simulator and opens no device"},
	{"platform", []string{"sim/...", "platform/*/device/...", "platform/tsm/...", "internal/guestdev"},
		"test roots reach the verifiers only through an option the CLI sets"},
}

// match reports whether the module-relative path rel matches pattern pat.
func match(pat, rel string) bool {
	if pat == "..." {
		return true
	}
	if pat == "." || rel == "." {
		return pat == rel
	}
	ps, rs := strings.Split(pat, "/"), strings.Split(rel, "/")
	for i, p := range ps {
		if p == "..." && i == len(ps)-1 {
			return true
		}
		if i >= len(rs) || (p != "*" && p != rs[i]) {
			return false
		}
	}
	return len(rs) == len(ps)
}

// own expands "$" at the start of a may pattern to the first two elements
// of the importing package's path (its platform folder, "platform/nitro"),
// so that one row serves every platform not listed above it.
func own(pats []string, from string) []string {
	parts := strings.SplitN(from, "/", 3)
	if len(parts) < 2 {
		return pats
	}
	out := make([]string, len(pats))
	for i, p := range pats {
		if rest, ok := strings.CutPrefix(p, "$"); ok {
			p = parts[0] + "/" + parts[1] + rest
		}
		out[i] = p
	}
	return out
}

func matchAny(pats []string, rel string) bool {
	return slices.ContainsFunc(pats, func(p string) bool { return match(p, rel) })
}

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Standard   bool
}

// rel is p's path relative to the module ("." for the root), or "" when p
// is outside the module.
func rel(path string) string {
	switch {
	case path == module:
		return "."
	case strings.HasPrefix(path, module+"/"):
		return strings.TrimPrefix(path, module+"/")
	}
	return ""
}

// load lists every package of the module and its dependencies (non-test
// files, the host's build constraints) with `go list -deps -json`.
func load(t *testing.T) map[string]*pkg {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,Imports,Standard", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = up
	}
}

// importedIn names the files of p that import path, module-relative.
func importedIn(p *pkg, path string) string {
	var files []string
	for _, f := range slices.Concat(p.GoFiles, p.CgoFiles) {
		af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, is := range af.Imports {
			if v, _ := strconv.Unquote(is.Path.Value); v == path {
				files = append(files, filepath.ToSlash(filepath.Join(rel(p.ImportPath), f)))
				break
			}
		}
	}
	return strings.Join(files, ", ")
}

func ruleFor(r string) (rule, bool) {
	for _, ru := range rules {
		if match(ru.pkg, r) {
			return ru, true
		}
	}
	return rule{}, false
}

// violations checks each module package's imports against the rules.
func violations(pkgs map[string]*pkg) []string {
	var out []string
	for _, path := range slices.Sorted(mapsKeys(pkgs)) {
		p := pkgs[path]
		from := rel(path)
		if from == "" {
			continue
		}
		ru, ok := ruleFor(from)
		if !ok {
			out = append(out, fmt.Sprintf("%s: no import rule covers this package (add a row to the rules table and docs/design.md)", from))
			continue
		}
		for _, imp := range p.Imports {
			to := rel(imp)
			var bad string
			switch {
			case to == "" && ru.stdOnly && !isStd(pkgs, imp):
				bad = "only the standard library may be imported"
			case to == "":
				continue
			case ru.stdOnly:
				bad = "only the standard library may be imported"
			case matchAny(ru.never, to):
				bad = "never " + backticked(ru.never)
			case !matchAny(own(ru.may, from), to):
				bad = "may import only " + backticked(ru.may)
			default:
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s (in %s): rule `%s`: %s", from, shown(imp), importedIn(p, imp), ru.pkg, bad))
		}
	}
	return out
}

func isStd(pkgs map[string]*pkg, path string) bool {
	if p, ok := pkgs[path]; ok {
		return p.Standard
	}
	return !strings.Contains(strings.Split(path, "/")[0], ".")
}

func shown(path string) string {
	if r := rel(path); r != "" {
		return r
	}
	return path
}

func mapsKeys(m map[string]*pkg) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// chains finds, for each package from depends on that matches never, the
// shortest import chain leading to it.
func chains(pkgs map[string]*pkg, from string, never []string) []string {
	start := module
	if from != "." {
		start += "/" + from
	}
	if _, ok := pkgs[start]; !ok {
		return []string{fmt.Sprintf("%s: not found by go list", from)}
	}
	parent := map[string]string{start: ""}
	queue := []string{start}
	var out []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p := pkgs[cur]
		if p == nil {
			continue
		}
		for _, imp := range slices.Sorted(slices.Values(p.Imports)) {
			if _, seen := parent[imp]; seen || rel(imp) == "" {
				continue
			}
			parent[imp] = cur
			if !matchAny(never, rel(imp)) {
				queue = append(queue, imp)
			} else {
				var chain []string
				for x := imp; x != ""; x = parent[x] {
					chain = append(chain, shown(x))
				}
				slices.Reverse(chain)
				out = append(out, fmt.Sprintf("%s (%s imports it in %s)", strings.Join(chain, " → "), shown(cur), importedIn(p, imp)))
			}
		}
	}
	return out
}

// TestImportRules checks every package's imports against the rules table.
func TestImportRules(t *testing.T) {
	for _, v := range violations(load(t)) {
		t.Error(v)
	}
}

// TestServerLinksNoSimulatorOrDevice: what `go list -deps ./server` (and
// the dispatcher it uses) links holds no simulator and no device package.
func TestServerLinksNoSimulatorOrDevice(t *testing.T) {
	pkgs := load(t)
	for _, r := range reach {
		for _, c := range chains(pkgs, r.pkg, r.never) {
			t.Errorf("%s depends on a forbidden package (never %s): %s", r.pkg, backticked(r.never), c)
		}
	}
}

// TestRulesCoverEveryPackage: no rule is dead and every pattern names
// packages that exist, so a renamed package cannot slip past the table.
func TestRulesCoverEveryPackage(t *testing.T) {
	pkgs := load(t)
	var rels []string
	for path := range pkgs {
		if r := rel(path); r != "" {
			rels = append(rels, r)
		}
	}
	for i, ru := range rules {
		if ru.fallback {
			continue
		}
		used := false
		for _, r := range rels {
			if first, _ := ruleFor(r); first.pkg == ru.pkg {
				used = true
			}
		}
		if !used {
			t.Errorf("rule %d `%s` applies to no package", i, ru.pkg)
		}
	}
}

// TestFallbackRowServesANewPlatform: a platform added as its folder alone
// (platform/nitro) is covered by the fallback row: it may import its own
// packages, the seam, the policy format and the root, and never the
// fetcher, a simulator, a device package or another platform's verifier.
func TestFallbackRowServesANewPlatform(t *testing.T) {
	ru, ok := ruleFor("platform/nitro")
	if !ok || !ru.fallback {
		t.Fatalf("platform/nitro is covered by %+v, want the fallback row", ru)
	}
	if sub, _ := ruleFor("platform/nitro/cose"); sub.pkg != ru.pkg {
		t.Errorf("platform/nitro/cose is covered by %q", sub.pkg)
	}
	for to, want := range map[string]bool{
		".": true, "policy": true, "platform/seam": true, "internal/lebytes": true, "platform/nitro/cose": true,
		"platform/sevsnp": false, "platform/tdx": false, "platform": false, "server": false,
	} {
		if got := matchAny(own(ru.may, "platform/nitro"), to) && !matchAny(ru.never, to); got != want {
			t.Errorf("platform/nitro importing %s: allowed %v, want %v", to, got, want)
		}
	}
	for _, to := range []string{"collateral", "sim/snp", "platform/nitro/device"} {
		if !matchAny(ru.never, to) {
			t.Errorf("platform/nitro may import %s", to)
		}
	}
}

// TestMatch pins the pattern language.
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, rel string
		want     bool
	}{
		{".", ".", true}, {".", "policy", false}, {"...", ".", true}, {"...", "a/b", true},
		{"platform", "platform", true}, {"platform", "platform/tpm", false},
		{"platform/...", "platform", true}, {"platform/...", "platform/tpm/device", true}, {"platform/...", "platformx", false},
		{"platform/*/device/...", "platform/tpm/device", true}, {"platform/*/device/...", "platform/tpm/device/swtpmtest", true},
		{"platform/*/device/...", "platform/tpm", false}, {"platform/*/device/...", "platform/dcap/pcs", false},
		{"sim/...", "sim/snp", true}, {"sim/...", "server", false},
	} {
		if got := match(tc.pat, tc.rel); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pat, tc.rel, got, tc.want)
		}
	}
}

func backticked(pats []string) string {
	q := make([]string, len(pats))
	for i, p := range pats {
		q[i] = "`" + p + "`"
	}
	return strings.Join(q, ", ")
}

// table renders the rules as docs/design.md shows them.
func table() string {
	var b strings.Builder
	b.WriteString("| package | may import (inside the module) | never | why |\n|---|---|---|---|\n")
	for _, r := range rules {
		may := backticked(r.may)
		switch {
		case r.stdOnly:
			may = "the standard library only"
		case may == "":
			may = "nothing"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.pkg, may, backticked(r.never), r.why)
	}
	b.WriteString("\n| package | never depends on, however indirectly | why |\n|---|---|---|\n")
	for _, r := range reach {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.pkg, backticked(r.never), r.why)
	}
	return b.String()
}

// TestDesignDocShowsTheRules: the tables in docs/design.md, section
// "Import rules", are the ones this file checks.
func TestDesignDocShowsTheRules(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## Import rules\n")
	if !ok {
		t.Fatal(`docs/design.md has no "## Import rules" section`)
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	var got []string
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "|") || (line == "" && len(got) > 0 && strings.HasPrefix(got[len(got)-1], "|")) {
			got = append(got, line)
		}
	}
	gotText := strings.TrimRight(strings.Join(got, "\n"), "\n") + "\n"
	if want := table(); gotText != want {
		t.Errorf("docs/design.md \"Import rules\" tables differ from the rules in internal/layering; they should read:\n\n%s", want)
	}
}

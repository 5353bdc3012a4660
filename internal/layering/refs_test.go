package layering_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// outsideNote matches the names of notes kept outside the repository
	// (the names are assembled, so that this file does not cite them).
	outsideNote = regexp.MustCompile(`\b(` + strings.Join(noteNames, "|") + `)\.md\b|shared` + `/notes`)
	noteNames   = []string{"formats", "pitfalls", "flows", "posture", "anchors", "style"}
	// sharedDir matches a path into the folder beside the repository; only
	// its vectors (read by internal/vectortest) may be named.
	sharedDir = regexp.MustCompile(`\.\./shared(/[\w.-]*)?`)
	// bareID matches a pitfall ID not tied to the table that holds it.
	bareID = regexp.MustCompile(`\b[Pp]itfalls? [A-Z][0-9]+\b`)
	// rowCite matches "docs/pitfalls-snp.md B9" and lists ("… C10, C11",
	// "… E3, A1 and A4").
	rowCite = regexp.MustCompile(`docs/pitfalls-([a-z]+)\.md((?:(?:,| and)? [A-Z][0-9]+\b)+)`)
	rowID   = regexp.MustCompile(`[A-Z][0-9]+`)
)

// citedFiles lists the files whose text may cite: every non-vendor .go
// file and every Markdown document, this file aside (it spells the
// patterns out).
func citedFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".md")) && name != "refs_test.go" {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCommentsCiteOnlyTheRepository: comments and documents cite the
// specifications and the repository's own tables (docs/pitfalls-*.md by row
// ID), never notes kept outside it, and every cited row exists.
func TestCommentsCiteOnlyTheRepository(t *testing.T) {
	root := moduleRoot(t)
	rows := map[string]map[string]bool{}
	rowsOf := func(table string) map[string]bool {
		if r, ok := rows[table]; ok {
			return r
		}
		r := map[string]bool{}
		b, err := os.ReadFile(filepath.Join(root, "docs", "pitfalls-"+table+".md"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if id := rowID.FindString(line); id != "" && strings.HasPrefix(line, "| "+id+" ") {
					r[id] = true
				}
			}
		}
		rows[table] = r
		return r
	}
	for _, path := range citedFiles(t, root) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(root, path)
		name = filepath.ToSlash(name)
		for i, line := range strings.Split(string(b), "\n") {
			at := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s:%d: "+format, append([]any{name, i + 1}, args...)...)
			}
			for _, m := range outsideNote.FindAllString(line, -1) {
				at("cites %q, a note outside the repository: cite the specification and section, or a docs/ table row", m)
			}
			for _, m := range sharedDir.FindAllStringSubmatch(line, -1) {
				if m[1] != "/vectors" {
					at("cites %q outside the repository (only ../shared/vectors, the test vectors, may be named)", m[0])
				}
			}
			for _, m := range bareID.FindAllString(line, -1) {
				at("cites %q without its table: write docs/pitfalls-{snp,dcap,tpm,server,nitro}.md and the row ID", m)
			}
			for _, m := range rowCite.FindAllStringSubmatch(line, -1) {
				for _, id := range rowID.FindAllString(m[2], -1) {
					if !rowsOf(m[1])[id] {
						at("cites docs/pitfalls-%s.md %s, which has no such row", m[1], id)
					}
				}
			}
		}
	}
}

package cloudra

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippetsFromExamples: a Go block of README.md whose first line is
// "// from FILE" is a trimmed copy of FILE (a runnable example): each of its
// non-blank lines is a line of FILE, in the same order (indentation aside).
// So the README's library snippets cannot drift from code that compiles and
// whose output is checked.
func TestREADMESnippetsFromExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n// from (\\S+)\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d Go blocks marked \"// from FILE\", want the three library examples", len(blocks))
	}
	for _, b := range blocks {
		file, block := b[1], b[2]
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("README.md block from %s: %v", file, err)
			continue
		}
		lines := strings.Split(string(src), "\n")
		i := 0
		for _, want := range strings.Split(block, "\n") {
			want = strings.TrimSpace(want)
			if want == "" {
				continue
			}
			for i < len(lines) && strings.TrimSpace(lines[i]) != want {
				i++
			}
			if i == len(lines) {
				t.Errorf("README.md block from %s: line %q is not in the file (after the block's previous lines)", file, want)
				break
			}
			i++
		}
	}
}

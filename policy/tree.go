package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A policy file is first read into a tree of values, from YAML nodes or JSON
// tokens, and only then mapped onto the Go types (decode.go). Building the
// tree ourselves, rather than handing the bytes to encoding/json, is what
// lets every key be checked exactly and for duplicates, and every scalar be
// seen as written rather than as a decoder chose to read it.

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber // a JSON number, or a YAML !!int or !!float scalar, as written
	kindString
	kindOther // a YAML scalar of another tag (!!timestamp, !!binary, custom)
	kindMap
	kindList
)

// value is one node of a policy document.
type value struct {
	kind kind
	text string // scalars: the text as written (strings: their content)
	tag  string // YAML scalars: the resolved tag, for messages
	line int    // 1-based
	// Maps: keys in document order, each key's line, and the values.
	keys     []string
	keyLines []int
	vals     []*value
	// Lists: the elements.
	elems []*value
}

// lineOf returns the line of key k of a map, or 0.
func (v *value) lineOf(k string) int {
	if v == nil {
		return 0
	}
	for i, key := range v.keys {
		if key == k {
			return v.keyLines[i]
		}
	}
	return 0
}

// at follows map keys (string) and list indexes (int) from v. It returns
// an empty value, whose line is 0, when the path leads nowhere.
func (v *value) at(path ...any) *value {
	for _, p := range path {
		var next *value
		switch p := p.(type) {
		case string:
			if v.kind == kindMap {
				for i, k := range v.keys {
					if k == p {
						next = v.vals[i]
					}
				}
			}
		case int:
			if v.kind == kindList && p >= 0 && p < len(v.elems) {
				next = v.elems[p]
			}
		}
		if next == nil {
			return &value{}
		}
		v = next
	}
	return v
}

// describe names a value for messages ("a list", "the number 1e3").
func (v *value) describe() string {
	switch v.kind {
	case kindNull:
		return "no value"
	case kindBool:
		return "the boolean " + v.text
	case kindNumber:
		return "the number " + v.text
	case kindString:
		return "a string"
	case kindMap:
		return "a mapping"
	case kindList:
		return "a list"
	}
	return fmt.Sprintf("a %s value", v.tag)
}

// maxDepth bounds nesting. The deepest policy value is a PCR digest,
// tpm.pcrs.<bank>.<index>[i]: five levels below the document.
const maxDepth = 16

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (b *mapBuilder) add(path, key string, line int, v *value) error {
	if first, ok := b.seen[key]; ok {
		return &Error{Key: join(path, key), Line: line, Err: errorf(ErrDuplicateKey, "duplicate key (first at line %d)", first)}
	}
	b.seen[key] = line
	b.v.keys = append(b.v.keys, key)
	b.v.keyLines = append(b.v.keyLines, line)
	b.v.vals = append(b.v.vals, v)
	return nil
}

type mapBuilder struct {
	v    *value
	seen map[string]int
}

func newMap(line int) *mapBuilder {
	return &mapBuilder{v: &value{kind: kindMap, line: line}, seen: map[string]int{}}
}

// fromYAML reads exactly one YAML document.
func fromYAML(data []byte) (*value, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Err: errorf(ErrSyntax, "empty file")}
		}
		return nil, &Error{Err: errorf(ErrSyntax, "not valid YAML: %s", yamlMessage(err))}
	}
	// A second document would be ignored by a one-document decoder; rules
	// written after a "---" must not be lost.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = next.Line
		}
		return nil, &Error{Line: line, Err: errorf(ErrSyntax, "a second YAML document: a policy file is one document")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Err: errorf(ErrSyntax, "not a YAML document")}
	}
	root, err := yamlValue(doc.Content[0], "", 0)
	if err != nil {
		return nil, err
	}
	if root.kind != kindMap {
		return nil, &Error{Line: root.line, Err: errorf(ErrValue, "the document is %s, want a mapping", root.describe())}
	}
	return root, nil
}

// yamlMessage is a YAML decoder error in the policy's words.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func yamlValue(n *yaml.Node, path string, depth int) (*value, error) {
	if depth > maxDepth {
		return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrValue, "nested more than %d levels deep", maxDepth)}
	}
	// Anchors, aliases and merge keys let one part of the file silently
	// supply or override another's keys; a policy is read as written.
	if n.Kind == yaml.AliasNode {
		return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrSyntax, "YAML aliases (*%s) are not supported", n.Value)}
	}
	if n.Anchor != "" {
		return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrSyntax, "YAML anchors (&%s) are not supported", n.Anchor)}
	}
	switch n.Kind {
	case yaml.MappingNode:
		if n.Tag != "!!map" {
			return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrValue, "a %s mapping, want a plain mapping", n.Tag)}
		}
		b := newMap(n.Line)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, e := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				return nil, &Error{Key: path, Line: k.Line, Err: errorf(ErrSyntax, "YAML merge keys (<<) are not supported")}
			}
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || k.Anchor != "" {
				what := "a " + k.Tag + " value"
				if k.Kind == yaml.ScalarNode {
					what = fmt.Sprintf("%s %q", k.Tag, k.Value)
				}
				return nil, &Error{Key: path, Line: k.Line, Err: errorf(ErrValue, "key %s is not a string (hint: quote it)", what)}
			}
			c, err := yamlValue(e, join(path, k.Value), depth+1)
			if err != nil {
				return nil, err
			}
			if err := b.add(path, k.Value, k.Line, c); err != nil {
				return nil, err
			}
		}
		return b.v, nil
	case yaml.SequenceNode:
		if n.Tag != "!!seq" {
			return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrValue, "a %s sequence, want a plain list", n.Tag)}
		}
		v := &value{kind: kindList, line: n.Line, elems: make([]*value, 0, len(n.Content))}
		for i, e := range n.Content {
			c, err := yamlValue(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, c)
		}
		return v, nil
	case yaml.ScalarNode:
		v := &value{text: n.Value, tag: n.Tag, line: n.Line}
		switch n.Tag {
		case "!!null":
			v.kind = kindNull
		case "!!bool":
			v.kind = kindBool
		case "!!int", "!!float":
			v.kind = kindNumber
		case "!!str":
			v.kind = kindString
		default:
			v.kind = kindOther
		}
		return v, nil
	}
	return nil, &Error{Key: path, Line: n.Line, Err: errorf(ErrSyntax, "unexpected YAML node")}
}

// jsonReader walks JSON tokens, tracking lines in one pass over the input.
type jsonReader struct {
	data   []byte
	dec    *json.Decoder
	off    int // offset up to which lines are counted
	lineNo int
}

// line returns the line of the decoder's current offset.
func (r *jsonReader) line() int {
	end := min(int(r.dec.InputOffset()), len(r.data))
	if end > r.off {
		r.lineNo += bytes.Count(r.data[r.off:end], []byte{'\n'})
		r.off = end
	}
	return r.lineNo
}

func (r *jsonReader) syntax(err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of file"
	}
	return &Error{Line: r.line(), Err: errorf(ErrSyntax, "not valid JSON: %s", msg)}
}

// fromJSON reads exactly one JSON object. Duplicate names are found here:
// encoding/json would keep the last one silently (RFC 8259 §4 leaves the
// behaviour to implementations).
func fromJSON(data []byte) (*value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	r := &jsonReader{data: data, dec: dec, lineNo: 1}
	tok, err := dec.Token()
	if err != nil {
		return nil, r.syntax(err)
	}
	root, err := r.value(tok, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Line: r.line(), Err: errorf(ErrSyntax, "trailing data after the document")}
	}
	if root.kind != kindMap {
		return nil, &Error{Err: errorf(ErrValue, "the document is %s, want an object", root.describe())}
	}
	return root, nil
}

func (r *jsonReader) value(tok json.Token, path string, depth int) (*value, error) {
	line := r.line()
	if depth > maxDepth {
		return nil, &Error{Key: path, Line: line, Err: errorf(ErrValue, "nested more than %d levels deep", maxDepth)}
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			b := newMap(line)
			for r.dec.More() {
				kt, err := r.dec.Token()
				if err != nil {
					return nil, r.syntax(err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, r.syntax(errors.New("object key is not a string"))
				}
				kline := r.line()
				vt, err := r.dec.Token()
				if err != nil {
					return nil, r.syntax(err)
				}
				c, err := r.value(vt, join(path, k), depth+1)
				if err != nil {
					return nil, err
				}
				if err := b.add(path, k, kline, c); err != nil {
					return nil, err
				}
			}
			if _, err := r.dec.Token(); err != nil {
				return nil, r.syntax(err)
			}
			return b.v, nil
		case '[':
			v := &value{kind: kindList, line: line}
			for i := 0; r.dec.More(); i++ {
				et, err := r.dec.Token()
				if err != nil {
					return nil, r.syntax(err)
				}
				c, err := r.value(et, fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				v.elems = append(v.elems, c)
			}
			if _, err := r.dec.Token(); err != nil {
				return nil, r.syntax(err)
			}
			return v, nil
		}
	case string:
		return &value{kind: kindString, text: t, line: line}, nil
	case json.Number:
		return &value{kind: kindNumber, text: string(t), line: line}, nil
	case bool:
		return &value{kind: kindBool, text: fmt.Sprint(t), line: line}, nil
	case nil:
		return &value{kind: kindNull, text: "null", line: line}, nil
	}
	return nil, r.syntax(fmt.Errorf("unexpected token %v", tok))
}

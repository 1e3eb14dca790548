// Package mk8s edits Control Plane (cpln) mk8s cluster manifests: it turns on the AWS
// workload identity add-on, spec.addOns.awsWorkloadIdentity, and keeps the rest of the file as
// it was written.
//
// The edit inserts the new lines into the original text at the place yaml.v3 reports for the
// mapping they join, so comments, key order, blank lines, quoting and indentation stay byte
// for byte; the result is parsed again and must equal the original plus the add-on. When the
// text cannot be edited that way (flow-style mappings, an addOns: with no value), the file goes
// through a yaml.v3 Node round trip instead, which keeps comments and key order but may
// re-indent. A JSON manifest stays JSON, its key order kept.
package mk8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-wi/kubectl-wi/pkg/internal/yamlnode"
)

// Kind is the kind of a Control Plane managed Kubernetes cluster.
const Kind = "mk8s"

// AddOn is the add-on enable turns on, under spec.addOns.
const AddOn = "awsWorkloadIdentity"

// Result is the outcome of an edit.
type Result struct {
	// Out is the manifest after the edit; the input itself when nothing changed.
	Out []byte
	// Changed lists the clusters whose add-on was turned on; Unchanged those that had it.
	Changed, Unchanged []string
}

// NotManifestError says the file is not an mk8s manifest, and what it is instead.
type NotManifestError struct{ Found string }

// Error says what the file is instead.
func (e *NotManifestError) Error() string {
	return fmt.Sprintf("not a Control Plane mk8s cluster manifest (kind: %s): found %s", Kind, e.Found)
}

// EnableAWSWorkloadIdentity adds spec.addOns.awsWorkloadIdentity: {} to every mk8s cluster in
// the manifest (one or more YAML documents, or JSON) that lacks it.
func EnableAWSWorkloadIdentity(data []byte) (*Result, error) {
	docs, err := decode(data)
	if err != nil {
		return nil, err
	}
	res := &Result{Out: data}
	var clusters []*cluster
	var found []string
	for _, d := range docs {
		c, what, err := asCluster(d)
		if err != nil {
			return nil, err
		}
		if c == nil {
			found = append(found, what)
			continue
		}
		clusters = append(clusters, c)
		if c.has {
			res.Unchanged = append(res.Unchanged, c.name)
		} else {
			res.Changed = append(res.Changed, c.name)
		}
	}
	if len(clusters) == 0 {
		if len(found) == 0 {
			found = []string{"an empty file"}
		}
		return nil, &NotManifestError{Found: strings.Join(found, ", ")}
	}
	if len(res.Changed) == 0 {
		return res, nil
	}
	want, err := expected(data)
	if err != nil {
		return nil, err
	}
	if isJSON(data) {
		out, err := roundTripJSON(docs, clusters)
		if err != nil {
			return nil, err
		}
		if !sameAs(out, want) {
			return nil, errors.New("the edited JSON manifest does not read back as the original plus the add-on; edit it by hand: add \"awsWorkloadIdentity\": {} under spec.addOns")
		}
		res.Out = out
		return res, nil
	}
	if out, ok := insertText(data, clusters); ok && sameAs(out, want) {
		res.Out = out
		return res, nil
	}
	out, err := roundTrip(docs, clusters, indentOf(docs))
	if err != nil {
		return nil, err
	}
	if !sameAs(out, want) {
		return nil, errors.New("the edited manifest does not read back as the original plus the add-on; edit it by hand: add awsWorkloadIdentity: {} under spec.addOns")
	}
	res.Out = out
	return res, nil
}

// cluster is one mk8s document and where the add-on goes.
type cluster struct {
	name   string
	root   *yaml.Node // the document's mapping
	spec   *yaml.Node // spec's mapping
	addOns *yaml.Node // spec.addOns' value, nil when absent
	has    bool       // the add-on is on already
}

func decode(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		docs = append(docs, &n)
	}
}

// asCluster reads one document: a cluster, or (nil, what it is instead).
func asCluster(doc *yaml.Node) (*cluster, string, error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Sprintf("a YAML %s at line %d", nodeKind(root), root.Line), nil
	}
	kind, apiVersion := scalar(yamlnode.Value(root, "kind")), scalar(yamlnode.Value(root, "apiVersion"))
	switch {
	case kind == "" && apiVersion == "":
		return nil, fmt.Sprintf("a mapping with no kind at line %d", root.Line), nil
	case apiVersion != "":
		return nil, fmt.Sprintf("apiVersion: %s, kind: %s at line %d (a Kubernetes object: enable it with kubectl wi enable TARGET)", apiVersion, kind, root.Line), nil
	case kind != Kind:
		return nil, fmt.Sprintf("kind: %s at line %d", kind, root.Line), nil
	}
	c := &cluster{name: scalar(yamlnode.Value(root, "name")), root: root}
	if c.name == "" {
		c.name = "(no name)"
	}
	spec := yamlnode.Value(root, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, "", fmt.Errorf("mk8s %s at line %d has no spec mapping: a cluster manifest has spec.version, spec.provider and so on", c.name, root.Line)
	}
	c.spec = spec
	c.addOns = yamlnode.Value(spec, "addOns")
	switch {
	case c.addOns == nil, c.addOns.Kind == yaml.ScalarNode && c.addOns.Tag == "!!null":
	case c.addOns.Kind == yaml.MappingNode:
		c.has = yamlnode.Value(c.addOns, AddOn) != nil
	default:
		return nil, "", fmt.Errorf("mk8s %s: spec.addOns at line %d is a %s, not a mapping", c.name, c.addOns.Line, nodeKind(c.addOns))
	}
	return c, "", nil
}

// insertText adds the add-on by inserting lines into the original text. ok is false when the
// layout is not one this handles; the caller then verifies the result anyway.
func insertText(data []byte, clusters []*cluster) ([]byte, bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	type insertion struct {
		after int // 1-based line after which the text goes
		text  []string
	}
	var ins []insertion
	for _, c := range clusters {
		if c.has {
			continue
		}
		switch {
		case c.addOns != nil && c.addOns.Kind == yaml.MappingNode && c.addOns.Style&yaml.FlowStyle == 0 && len(c.addOns.Content) > 0:
			last, ok := lastLine(c.addOns)
			if !ok {
				return nil, false
			}
			indent := strings.Repeat(" ", c.addOns.Content[0].Column-1)
			ins = append(ins, insertion{after: last, text: []string{indent + AddOn + ": {}"}})
		case c.addOns == nil && c.spec.Style&yaml.FlowStyle == 0 && len(c.spec.Content) > 0:
			last, ok := lastLine(c.spec)
			if !ok {
				return nil, false
			}
			col := c.spec.Content[0].Column
			step := col - c.root.Content[0].Column
			if step <= 0 {
				step = 2
			}
			indent := strings.Repeat(" ", col-1)
			ins = append(ins, insertion{after: last, text: []string{indent + "addOns:", indent + strings.Repeat(" ", step) + AddOn + ": {}"}})
		default:
			return nil, false
		}
	}
	var out bytes.Buffer
	next := 0
	for i, line := range lines {
		out.Write(line)
		if next < len(ins) && ins[next].after == i+1 {
			eol := "\n"
			if bytes.HasSuffix(line, []byte("\r\n")) {
				eol = "\r\n"
			} else if !bytes.HasSuffix(line, []byte("\n")) {
				out.WriteString(eol)
			}
			for _, t := range ins[next].text {
				out.WriteString(t + eol)
			}
			next++
		}
	}
	return out.Bytes(), next == len(ins)
}

// lastLine is the last line a block node's content is on. ok is false when that cannot be
// told from the node positions: a scalar over several lines, a flow collection over several
// lines.
func lastLine(n *yaml.Node) (int, bool) {
	last := n.Line
	var walk func(*yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Line > last {
			last = n.Line
		}
		switch n.Kind {
		case yaml.ScalarNode:
			return !strings.Contains(n.Value, "\n") && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0
		case yaml.MappingNode, yaml.SequenceNode:
			if n.Style&yaml.FlowStyle != 0 {
				for _, c := range n.Content {
					if c.Line != n.Line || c.Kind != yaml.ScalarNode && len(c.Content) > 0 && !walk(c) {
						return false
					}
				}
				return true
			}
			for _, c := range n.Content {
				if !walk(c) {
					return false
				}
			}
		case yaml.AliasNode:
		case yaml.DocumentNode:
			return false
		}
		return true
	}
	ok := walk(n)
	return last, ok
}

// roundTrip adds the add-on in the node trees and encodes them again.
func roundTrip(docs []*yaml.Node, clusters []*cluster, indent int) ([]byte, error) {
	addToTrees(clusters)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func addToTrees(clusters []*cluster) {
	empty := func() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle} }
	key := func(k string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k} }
	for _, c := range clusters {
		switch {
		case c.has:
		case c.addOns == nil:
			addOns := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: c.spec.Style & yaml.FlowStyle}
			addOns.Content = []*yaml.Node{key(AddOn), empty()}
			c.spec.Content = append(c.spec.Content, key("addOns"), addOns)
		case c.addOns.Kind == yaml.ScalarNode: // addOns: with no value
			*c.addOns = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key(AddOn), empty()},
				HeadComment: c.addOns.HeadComment, LineComment: c.addOns.LineComment, FootComment: c.addOns.FootComment}
		default:
			c.addOns.Content = append(c.addOns.Content, key(AddOn), empty())
		}
	}
}

// indentOf guesses the file's indentation step from the first nested mapping.
func indentOf(docs []*yaml.Node) int {
	for _, d := range docs {
		root := d
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 1; i < len(root.Content); i += 2 {
			v := root.Content[i]
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
				if step := v.Content[0].Column - root.Content[0].Column; step > 0 {
					return step
				}
			}
		}
	}
	return 2
}

// expected is the manifest's data with the add-on on, to check an edit against.
func expected(data []byte) ([]any, error) {
	docs, err := values(data)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		m, ok := d.(map[string]any)
		if !ok || m["kind"] != Kind || m["apiVersion"] != nil {
			continue
		}
		spec, ok := m["spec"].(map[string]any)
		if !ok {
			// A YAML key such as 00 or true decodes as a number or a boolean, not a string.
			return nil, errors.New("an mk8s cluster's spec has a key that is not a string: quote it")
		}
		addOns, _ := spec["addOns"].(map[string]any)
		if addOns == nil {
			addOns = map[string]any{}
			spec["addOns"] = addOns
		}
		if _, ok := addOns[AddOn]; !ok {
			addOns[AddOn] = map[string]any{}
		}
	}
	return docs, nil
}

func values(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

func sameAs(out []byte, want []any) bool {
	got, err := values(out)
	return err == nil && reflect.DeepEqual(got, want)
}

func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// roundTripJSON writes a JSON manifest again with the add-on, keys in their original order.
func roundTripJSON(docs []*yaml.Node, clusters []*cluster) ([]byte, error) {
	if len(docs) != 1 {
		return nil, errors.New("a JSON manifest holds one object")
	}
	addToTrees(clusters)
	var b bytes.Buffer
	if err := writeJSON(&b, docs[0], ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node, indent string) error {
	const step = "  "
	switch n.Kind {
	case yaml.DocumentNode:
		return writeJSON(b, n.Content[0], indent)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			b.WriteString(indent + step)
			writeString(b, n.Content[i].Value)
			b.WriteString(": ")
			if err := writeJSON(b, n.Content[i+1], indent+step); err != nil {
				return err
			}
			if i+2 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, c := range n.Content {
			b.WriteString(indent + step)
			if err := writeJSON(b, c, indent+step); err != nil {
				return err
			}
			if i+1 < len(n.Content) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float", "!!bool", "!!null":
			v := n.Value
			if n.Tag == "!!null" {
				v = "null"
			}
			b.WriteString(v)
		default:
			writeString(b, n.Value)
		}
	default:
		return fmt.Errorf("line %d: a YAML alias in a JSON manifest", n.Line)
	}
	return nil
}

// writeString writes a JSON string without the HTML escaping of json.Marshal.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return "string"
		}
		return strings.TrimPrefix(n.Tag, "!!")
	default:
		return "node"
	}
}

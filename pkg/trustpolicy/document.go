package trustpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Document is an IAM policy document as IAM stores it: any statement, principal, action and
// condition operator, not only the few this package generates. It keeps the order of every
// key and whether a value was written as one string or as a list, so a corrected copy renders
// the same as the original except where it was corrected, and a diff of the two shows only
// the correction.
type Document struct {
	Version    string
	ID         string
	Statements []Stmt
	// single: Statement was one object rather than a list.
	single bool
}

// Stmt is one statement of a Document.
type Stmt struct {
	Sid    string
	Effect string // Allow or Deny
	// Principal and NotPrincipal are nil when absent.
	Principal, NotPrincipal *Principals
	// Action or NotAction: NotAction is set when the statement names the actions it does not
	// apply to.
	Action    Values
	NotAction bool
	// Resource is kept as written: IAM refuses it in a trust policy, and Parse says so.
	Resource   json.RawMessage
	Conditions []Clause
}

// Principals is a Principal or NotPrincipal element: "*", or values by type (AWS, Federated,
// Service, CanonicalUser) in their written order.
type Principals struct {
	Any     bool
	Entries []PrincipalEntry
}

// PrincipalEntry is one type of principal and its values.
type PrincipalEntry struct {
	Type   string
	Values Values
}

// Clause is one operator/key pair of a Condition: the request's values for Key must satisfy
// Operator against Values. Operator is as written, qualifiers included:
// "ForAnyValue:StringLikeIfExists".
type Clause struct {
	Operator string
	Key      string
	Values   Values
}

// Values is a string or a list of strings, as IAM takes them; Bare marks values written
// without quotes (true, 3), which IAM compares as their text.
type Values struct {
	Items []string
	Bare  []bool // parallel to Items; nil: all quoted
	List  bool   // written as a list
}

// NewValues is values written as one string (one value) or a list (several).
func NewValues(items ...string) Values { return Values{Items: items, List: len(items) != 1} }

func (v Values) bare(i int) bool { return i < len(v.Bare) && v.Bare[i] }

// ParseDocument reads a policy document: JSON, or the URL-encoded JSON that iam:GetRole
// returns as AssumeRolePolicyDocument. It refuses what IAM would refuse to store in a trust
// policy (an unknown element, a statement without Effect, a Resource), so that the evaluator
// never judges a document IAM would not hold.
func ParseDocument(doc string) (*Document, error) {
	s := strings.TrimSpace(doc)
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		u, err := url.QueryUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("policy document is URL-encoded but does not decode: %w", err)
		}
		s = u
	}
	n, err := parseNode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("policy document is not JSON: %w", err)
	}
	if n.kind != '{' {
		return nil, errors.New("policy document is not a JSON object")
	}
	d := &Document{}
	seen := false
	for _, kv := range n.obj {
		switch kv.key {
		case "Version":
			d.Version, err = kv.val.text("Version")
		case "Id":
			d.ID, err = kv.val.text("Id")
		case "Statement":
			seen = true
			err = d.parseStatements(kv.val)
		default:
			err = fmt.Errorf("unknown policy element %q", kv.key)
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen || len(d.Statements) == 0 {
		return nil, errors.New("policy document has no Statement")
	}
	return d, nil
}

func (d *Document) parseStatements(n *node) error {
	items := n.arr
	if n.kind == '{' {
		items, d.single = []*node{n}, true
	} else if n.kind != '[' {
		return errors.New("Statement is neither an object nor a list")
	}
	for i, sn := range items {
		st, err := parseStmt(sn)
		if err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
		d.Statements = append(d.Statements, st)
	}
	return nil
}

func parseStmt(n *node) (Stmt, error) {
	var st Stmt
	if n.kind != '{' {
		return st, errors.New("not an object")
	}
	hasAction := false
	for _, kv := range n.obj {
		var err error
		switch kv.key {
		case "Sid":
			st.Sid, err = kv.val.text("Sid")
		case "Effect":
			st.Effect, err = kv.val.text("Effect")
		case "Principal", "NotPrincipal":
			var p *Principals
			p, err = parsePrincipals(kv.val, kv.key)
			if kv.key == "Principal" {
				st.Principal = p
			} else {
				st.NotPrincipal = p
			}
		case "Action", "NotAction":
			if hasAction {
				return st, errors.New("has both Action and NotAction")
			}
			hasAction = true
			st.NotAction = kv.key == "NotAction"
			st.Action, err = kv.val.values(kv.key)
		case "Resource", "NotResource":
			return st, fmt.Errorf("has %s, which a trust policy may not have (IAM refuses it)", kv.key)
		case "Condition":
			st.Conditions, err = parseConditions(kv.val)
		default:
			err = fmt.Errorf("unknown statement element %q", kv.key)
		}
		if err != nil {
			return st, err
		}
	}
	switch {
	case st.Effect != "Allow" && st.Effect != "Deny":
		return st, fmt.Errorf("the Effect %q is neither Allow nor Deny", st.Effect)
	case !hasAction:
		return st, errors.New("has no Action")
	case st.Principal == nil && st.NotPrincipal == nil:
		return st, errors.New("has no Principal")
	case st.Principal != nil && st.NotPrincipal != nil:
		return st, errors.New("has both Principal and NotPrincipal")
	}
	return st, nil
}

func parsePrincipals(n *node, what string) (*Principals, error) {
	if n.kind == '"' {
		if n.str != "*" {
			return nil, fmt.Errorf("%s %q: a principal given as a string can only be \"*\"", what, n.str)
		}
		return &Principals{Any: true}, nil
	}
	if n.kind != '{' {
		return nil, fmt.Errorf("%s is neither \"*\" nor an object", what)
	}
	p := &Principals{}
	for _, kv := range n.obj {
		v, err := kv.val.values(what + "." + kv.key)
		if err != nil {
			return nil, err
		}
		p.Entries = append(p.Entries, PrincipalEntry{Type: kv.key, Values: v})
	}
	return p, nil
}

func parseConditions(n *node) ([]Clause, error) {
	if n.kind != '{' {
		return nil, errors.New("Condition is not an object")
	}
	var out []Clause
	for _, op := range n.obj {
		if _, err := parseOperator(op.key); err != nil {
			return nil, err
		}
		if op.val.kind != '{' {
			return nil, fmt.Errorf("condition operator %s is not an object of keys", op.key)
		}
		for _, kv := range op.val.obj {
			v, err := kv.val.values(op.key + "." + kv.key)
			if err != nil {
				return nil, err
			}
			out = append(out, Clause{Operator: op.key, Key: kv.key, Values: v})
		}
	}
	return out, nil
}

// JSON renders the document indented by two spaces, keys in their order, with a final newline.
func (d *Document) JSON() string {
	var b bytes.Buffer
	d.write(&b, "  ")
	b.WriteByte('\n')
	return b.String()
}

// Compact renders the document on one line with no white space outside strings: what IAM
// measures against its size limits, and what a command line can carry.
func (d *Document) Compact() string {
	var b bytes.Buffer
	d.write(&b, "")
	return b.String()
}

// Size is the document's length as IAM counts it against a trust policy's limit: characters,
// white space outside strings not counted.
func (d *Document) Size() int { return len([]rune(d.Compact())) }

// Clone is a deep copy, to correct without touching the original.
func (d *Document) Clone() *Document {
	c := *d
	c.Statements = make([]Stmt, len(d.Statements))
	for i, st := range d.Statements {
		c.Statements[i] = st.clone()
	}
	return &c
}

func (st Stmt) clone() Stmt {
	c := st
	c.Principal, c.NotPrincipal = st.Principal.clone(), st.NotPrincipal.clone()
	c.Action = st.Action.clone()
	c.Resource = append(json.RawMessage(nil), st.Resource...)
	c.Conditions = make([]Clause, len(st.Conditions))
	for i, cl := range st.Conditions {
		c.Conditions[i] = Clause{Operator: cl.Operator, Key: cl.Key, Values: cl.Values.clone()}
	}
	return c
}

func (p *Principals) clone() *Principals {
	if p == nil {
		return nil
	}
	c := &Principals{Any: p.Any, Entries: make([]PrincipalEntry, len(p.Entries))}
	for i, e := range p.Entries {
		c.Entries[i] = PrincipalEntry{Type: e.Type, Values: e.Values.clone()}
	}
	return c
}

func (v Values) clone() Values {
	return Values{Items: append([]string(nil), v.Items...), Bare: append([]bool(nil), v.Bare...), List: v.List}
}

// StatementJSON renders statement i on its own, compact: how a message quotes it.
func (d *Document) StatementJSON(i int) string {
	var b bytes.Buffer
	w := &jw{b: &b}
	d.Statements[i].write(w)
	return b.String()
}

// ClauseJSON renders one condition clause compact, as it reads in the policy:
// "StringEquals": {"KEY": "VALUE"}.
func ClauseJSON(c Clause) string {
	var b bytes.Buffer
	c.Values.write(&jw{b: &b})
	op, _ := marshalNoEscape(c.Operator)
	key, _ := marshalNoEscape(c.Key)
	return string(op) + ": {" + string(key) + ": " + b.String() + "}"
}

// jw writes JSON with an indent ("" for compact).
type jw struct {
	b      *bytes.Buffer
	indent string
	depth  int
}

func (w *jw) nl() {
	if w.indent == "" {
		return
	}
	w.b.WriteByte('\n')
	w.b.WriteString(strings.Repeat(w.indent, w.depth))
}

func (w *jw) colon() {
	if w.indent == "" {
		w.b.WriteByte(':')
	} else {
		w.b.WriteString(": ")
	}
}

func (w *jw) str(s string) {
	enc, _ := marshalNoEscape(s)
	w.b.Write(enc)
}

// object writes the fields in order; each writes its value.
func (w *jw) object(n int, key func(int) string, val func(int)) {
	w.b.WriteByte('{')
	if n == 0 {
		w.b.WriteByte('}')
		return
	}
	w.depth++
	for i := range n {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.nl()
		w.str(key(i))
		w.colon()
		val(i)
	}
	w.depth--
	w.nl()
	w.b.WriteByte('}')
}

func (d *Document) write(b *bytes.Buffer, indent string) {
	w := &jw{b: b, indent: indent}
	type field struct {
		k string
		v func()
	}
	var fs []field
	if d.Version != "" {
		fs = append(fs, field{"Version", func() { w.str(d.Version) }})
	}
	if d.ID != "" {
		fs = append(fs, field{"Id", func() { w.str(d.ID) }})
	}
	fs = append(fs, field{"Statement", func() {
		if d.single && len(d.Statements) == 1 {
			d.Statements[0].write(w)
			return
		}
		w.b.WriteByte('[')
		w.depth++
		for i, st := range d.Statements {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.nl()
			st.write(w)
		}
		w.depth--
		w.nl()
		w.b.WriteByte(']')
	}})
	w.object(len(fs), func(i int) string { return fs[i].k }, func(i int) { fs[i].v() })
}

func (st Stmt) write(w *jw) {
	type field struct {
		k string
		v func()
	}
	var fs []field
	if st.Sid != "" {
		fs = append(fs, field{"Sid", func() { w.str(st.Sid) }})
	}
	fs = append(fs, field{"Effect", func() { w.str(st.Effect) }})
	if st.Principal != nil {
		fs = append(fs, field{"Principal", func() { st.Principal.write(w) }})
	}
	if st.NotPrincipal != nil {
		fs = append(fs, field{"NotPrincipal", func() { st.NotPrincipal.write(w) }})
	}
	action := "Action"
	if st.NotAction {
		action = "NotAction"
	}
	fs = append(fs, field{action, func() { st.Action.write(w) }})
	if len(st.Conditions) > 0 {
		fs = append(fs, field{"Condition", func() { writeConditions(w, st.Conditions) }})
	}
	w.object(len(fs), func(i int) string { return fs[i].k }, func(i int) { fs[i].v() })
}

func (p *Principals) write(w *jw) {
	if p.Any {
		w.str("*")
		return
	}
	w.object(len(p.Entries), func(i int) string { return p.Entries[i].Type }, func(i int) { p.Entries[i].Values.write(w) })
}

// writeConditions groups the clauses by operator, operators and keys in first-seen order.
func writeConditions(w *jw, cs []Clause) {
	var ops []string
	byOp := map[string][]Clause{}
	for _, c := range cs {
		if _, ok := byOp[c.Operator]; !ok {
			ops = append(ops, c.Operator)
		}
		byOp[c.Operator] = append(byOp[c.Operator], c)
	}
	w.object(len(ops), func(i int) string { return ops[i] }, func(i int) {
		keys := byOp[ops[i]]
		w.object(len(keys), func(j int) string { return keys[j].Key }, func(j int) { keys[j].Values.write(w) })
	})
}

func (v Values) write(w *jw) {
	one := func(i int) {
		if v.bare(i) {
			w.b.WriteString(v.Items[i])
			return
		}
		w.str(v.Items[i])
	}
	if !v.List && len(v.Items) == 1 {
		one(0)
		return
	}
	w.b.WriteByte('[')
	w.depth++
	for i := range v.Items {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.nl()
		one(i)
	}
	w.depth--
	if len(v.Items) > 0 {
		w.nl()
	}
	w.b.WriteByte(']')
}

// node is a JSON value with object keys in their order.
type node struct {
	kind byte // '{', '[', '"', 'b' (bare: number, true, false), 'n' (null)
	str  string
	obj  []kv
	arr  []*node
}

type kv struct {
	key string
	val *node
}

func parseNode(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the document")
	}
	return n, nil
}

func decodeNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: '{'}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if seen[k] {
					return nil, fmt.Errorf("key %q appears twice in one object", k)
				}
				seen[k] = true
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, kv{k, v})
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &node{kind: '['}
			for dec.More() {
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, v)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		return &node{kind: '"', str: t}, nil
	case json.Number:
		return &node{kind: 'b', str: t.String()}, nil
	case bool:
		if t {
			return &node{kind: 'b', str: "true"}, nil
		}
		return &node{kind: 'b', str: "false"}, nil
	case nil:
		return &node{kind: 'n'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func (n *node) text(what string) (string, error) {
	if n.kind != '"' {
		return "", fmt.Errorf("%s is not a string", what)
	}
	return n.str, nil
}

// values reads a string, a bare scalar, or a list of those.
func (n *node) values(what string) (Values, error) {
	var v Values
	add := func(e *node) error {
		switch e.kind {
		case '"':
			v.Items = append(v.Items, e.str)
			v.Bare = append(v.Bare, false)
		case 'b':
			v.Items = append(v.Items, e.str)
			v.Bare = append(v.Bare, true)
		default:
			return fmt.Errorf("%s holds a value that is not a string", what)
		}
		return nil
	}
	if n.kind == '[' {
		v.List = true
		for _, e := range n.arr {
			if err := add(e); err != nil {
				return v, err
			}
		}
		return v, nil
	}
	return v, add(n)
}

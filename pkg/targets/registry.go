package targets

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/internal/yamlnode"
)

// builtinYAML holds the built-in custom resource kinds and Helm charts, in the format of a user
// targets file.
//
//go:embed builtin.yaml
var builtinYAML []byte

// File is a targets file: custom resource kinds and Helm charts, as data.
type File struct {
	Kinds  []*Custom `yaml:"kinds"`
	Charts []*Chart  `yaml:"charts"`
}

// Custom is a custom resource kind whose operator takes the IAM role in the resource itself.
type Custom struct {
	Name         string      `yaml:"name"`
	Aliases      []string    `yaml:"aliases"`
	Product      string      `yaml:"product"`
	Group        string      `yaml:"group"`
	Version      string      `yaml:"version"`
	Kind         string      `yaml:"kind"`
	Resource     string      `yaml:"resource"`
	Scope        string      `yaml:"scope"` // Namespaced or Cluster
	Role         Role        `yaml:"role"`
	ReferencedBy []Reference `yaml:"referencedBy"`
	Next         Next        `yaml:"next"`

	// Source says where the entry comes from: "built in", or FILE:LINE.
	Source string `yaml:"-"`
}

// Role says where the role goes in the object: exactly one field is set.
type Role struct {
	ListItem    *ListItem    `yaml:"listItem"`
	Annotations *Annotations `yaml:"annotations"`
}

// ListItem puts the role in an item of a list, merged by one field: the item whose MergeKey
// field has the template's value is ours; every other item is kept.
type ListItem struct {
	Path     string            `yaml:"path"`
	MergeKey string            `yaml:"mergeKey"`
	Item     map[string]string `yaml:"item"`
}

// Annotations puts the eks.amazonaws.com/ annotations in an annotation map inside the object,
// e.g. the template of the service account the operator creates.
type Annotations struct {
	Path string `yaml:"path"`
}

// Reference is a kind whose objects name an object of the target kind in one field.
type Reference struct {
	Group    string `yaml:"group"`
	Version  string `yaml:"version"`
	Kind     string `yaml:"kind"`
	Resource string `yaml:"resource"`
	Scope    string `yaml:"scope"`
	// Field is the dotted path of the name.
	Field string `yaml:"field"`
	// Default is the name an object with the field unset refers to ("" for none).
	Default string `yaml:"default"`
	// Effect says what happens to a referring object when the target changes.
	Effect string `yaml:"effect"`
}

// Next is what the user does after enable or disable changed an object.
type Next struct {
	Enable  string `yaml:"enable"`
	Disable string `yaml:"disable"`
}

// Chart is a Helm chart whose service account annotations are set under another values key
// than serviceAccount.annotations.
type Chart struct {
	Product   string     `yaml:"product"`
	Component string     `yaml:"component"`
	Match     ChartMatch `yaml:"match"`
	Values    string     `yaml:"values"`
	Upgrade   string     `yaml:"upgrade"`

	Source string `yaml:"-"`
}

// ChartMatch recognises a chart's service account: every field given must match.
type ChartMatch struct {
	ServiceAccount string `yaml:"serviceAccount"` // the service account's name
	Release        string `yaml:"release"`        // its meta.helm.sh/release-name annotation
	Chart          string `yaml:"chart"`          // a prefix of its helm.sh/chart label
}

// Namespaced is true for a namespaced kind.
func (c *Custom) Namespaced() bool { return c.Scope == ScopeNamespaced }

// CRDName is the name of the CustomResourceDefinition: RESOURCE.GROUP.
func (c *Custom) CRDName() string { return c.Resource + "." + c.Group }

// APIVersion is GROUP/VERSION.
func (c *Custom) APIVersion() string { return c.Group + "/" + c.Version }

// ProductName is the product, or the API group when the entry names none.
func (c *Custom) ProductName() string {
	if c.Product != "" {
		return c.Product
	}
	return c.Group
}

// Name is how kubectl prints the kind in KIND.GROUP/NAME: provider.pkg.crossplane.io.
func (r *Reference) Name() string { return strings.ToLower(r.Kind) + "." + r.Group }

// Scopes of a kind.
const (
	ScopeNamespaced = "Namespaced"
	ScopeCluster    = "Cluster"
)

// Placeholders in items and next steps.
const (
	PlaceholderRoleARN   = "${ROLE_ARN}"
	PlaceholderName      = "${NAME}"
	PlaceholderNamespace = "${NAMESPACE}"
)

// Registry is the kinds a TARGET may name, the built-in ones first, and the Helm charts enable
// recognises.
type Registry struct {
	kinds  []*Kind
	charts []*Chart
}

var builtinFile = mustParseBuiltin()

func mustParseBuiltin() *File {
	f, err := parseFile("built in", builtinYAML)
	if err != nil {
		panic(fmt.Sprintf("the built-in targets do not parse: %v", err))
	}
	return f
}

// Builtin returns a registry of the service account, the workload kinds and the built-in
// custom resource kinds and charts. Each call returns a new registry that Load may extend.
func Builtin() *Registry {
	r := &Registry{kinds: append([]*Kind(nil), coreKinds...)}
	if err := r.add(builtinFile); err != nil {
		panic(err)
	}
	return r
}

// Kinds lists every kind, the built-in ones first.
func (r *Registry) Kinds() []*Kind { return r.kinds }

// Charts lists the Helm charts.
func (r *Registry) Charts() []*Chart { return r.charts }

// CustomKinds lists the custom resource kinds.
func (r *Registry) CustomKinds() []*Kind {
	var out []*Kind
	for _, k := range r.kinds {
		if k.Custom != nil {
			out = append(out, k)
		}
	}
	return out
}

// DefaultFile is the user's targets file: targets.yaml in kubectl-wi's directory under the
// user's config directory ($XDG_CONFIG_HOME, ~/.config on Linux). "" when there is no config
// directory.
func DefaultFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "kubectl-wi", "targets.yaml")
}

// FileError is a malformed targets file: it names the file and the line.
type FileError struct {
	File string
	Line int // 0 when the error is about the whole file
	Msg  string
}

// Error names the file, the line and what is wrong.
func (e *FileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("targets file %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("targets file %s: line %d: %s", e.File, e.Line, e.Msg)
}

// Load reads a targets file and adds its kinds and charts. A kind named like a built-in
// custom resource kind replaces it; one that collides with another name is an error. With
// optional set, a missing file is not an error.
func (r *Registry) Load(path string, optional bool) error {
	b, err := os.ReadFile(path)
	if optional && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &FileError{File: path, Msg: fmt.Sprintf("cannot read it: %v", errors.Unwrap(err))}
	}
	f, err := parseFile(path, b)
	if err != nil {
		return err
	}
	return r.add(f)
}

// add registers a parsed file's kinds and charts.
func (r *Registry) add(f *File) error {
	for _, c := range f.Kinds {
		k := newCustomKind(c)
		replaced := false
		for i, have := range r.kinds {
			if have.Custom != nil && have.Custom.Name == c.Name {
				if have.Custom.Source != "built in" {
					return fmt.Errorf("targets file %s: kind %q is also defined at %s", c.Source, c.Name, have.Custom.Source)
				}
				r.kinds[i] = k
				replaced = true
				break
			}
		}
		for _, have := range r.kinds {
			if have.Custom != nil && have.Custom.Name == c.Name {
				continue
			}
			for _, a := range k.Aliases {
				if have.hasAlias(a) {
					return fmt.Errorf("targets file %s: %q names the kind %s already (%s)", c.Source, a, have.Name, have.source())
				}
			}
		}
		if !replaced {
			r.kinds = append(r.kinds, k)
		}
	}
	r.charts = append(r.charts, f.Charts...)
	return nil
}

func newCustomKind(c *Custom) *Kind {
	group := strings.ToLower(c.Group)
	kind := strings.ToLower(c.Kind)
	aliases := []string{c.Name}
	seen := map[string]bool{c.Name: true}
	for _, a := range append(append([]string(nil), c.Aliases...), kind, c.Resource, kind+"."+group, c.Resource+"."+group) {
		if a = strings.ToLower(a); !seen[a] {
			seen[a] = true
			aliases = append(aliases, a)
		}
	}
	short := ""
	if len(c.Aliases) > 0 {
		short = c.Aliases[0]
	}
	return &Kind{Name: kind + "." + group, Resource: c.CRDName(), Aliases: aliases, Short: short, Custom: c}
}

func (k *Kind) hasAlias(a string) bool {
	for _, have := range k.Aliases {
		if have == a {
			return true
		}
	}
	return false
}

func (k *Kind) source() string {
	if k.Custom != nil {
		return k.Custom.Source
	}
	return "built in"
}

// Chart finds the chart entry that recognises sa, and says how: "its name mxp-controller".
// nil when none does.
func (r *Registry) Chart(sa *corev1.ServiceAccount) (*Chart, string) {
	for i := len(r.charts) - 1; i >= 0; i-- { // a user's entry wins over a built-in one
		c := r.charts[i]
		var how []string
		ok := true
		if m := c.Match.ServiceAccount; m != "" {
			ok = ok && sa.Name == m
			how = append(how, "its name "+m)
		}
		if m := c.Match.Release; m != "" {
			ok = ok && sa.Annotations["meta.helm.sh/release-name"] == m
			how = append(how, "its Helm release "+m)
		}
		if m := c.Match.Chart; m != "" {
			ok = ok && strings.HasPrefix(sa.Labels["helm.sh/chart"], m)
			how = append(how, "its chart "+sa.Labels["helm.sh/chart"])
		}
		if ok {
			return c, strings.Join(how, " and ")
		}
	}
	return nil, ""
}

// Parse reads NAME or TYPE/NAME against the registry's kinds.
func (r *Registry) Parse(arg string) (Ref, error) {
	kindText, name, hasKind := strings.Cut(arg, "/")
	if !hasKind {
		kindText, name = "serviceaccount", arg
	}
	if name == "" {
		return Ref{}, fmt.Errorf("target %q has no name: expected NAME or TYPE/NAME, TYPE one of %s", arg, r.KindList())
	}
	if strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("target %q has more than one slash: expected NAME or TYPE/NAME", arg)
	}
	if msgs := ValidName(name); msgs != "" {
		return Ref{}, fmt.Errorf("target %q: %q is not a valid object name: %s", arg, name, msgs)
	}
	kind := r.lookup(kindText)
	if kind == nil {
		return Ref{}, fmt.Errorf("target %q has unknown kind %q: expected one of %s", arg, kindText, r.KindList())
	}
	return Ref{Kind: kind, Name: name}, nil
}

// KindList names the accepted kinds for error messages: serviceaccount (sa), deployment (deploy), ...
func (r *Registry) KindList() string {
	parts := make([]string, 0, len(r.kinds))
	for _, k := range r.kinds {
		if k.Short == "" {
			parts = append(parts, k.Aliases[0])
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", k.Aliases[0], k.Short))
	}
	return strings.Join(parts, ", ")
}

// Kind returns the kind an alias names (deploy, statefulsets.apps, ...), or nil.
func (r *Registry) Kind(alias string) *Kind { return r.lookup(alias) }

func (r *Registry) lookup(text string) *Kind {
	text = strings.ToLower(text)
	for _, k := range r.kinds {
		if k.hasAlias(text) {
			return k
		}
	}
	return nil
}

// parseFile decodes and checks a targets file. Every error names the file and the line.
func parseFile(name string, b []byte) (*File, error) {
	// The typed decode, strict about unknown fields, reports type errors with their line;
	// the node decode gives the line of each entry and field for the checks that follow.
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{}, nil // an empty file adds nothing
		}
		return nil, yamlError(name, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		line := more.Line
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, &FileError{File: name, Line: line, Msg: "a second YAML document: a targets file is one document with kinds and charts"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlError(name, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
			return &File{}, nil
		}
		return nil, &FileError{File: name, Line: doc.Line, Msg: "expected a mapping with kinds and charts"}
	}
	kindNodes := seqItems(yamlnode.Value(doc, "kinds"))
	for i, c := range f.Kinds {
		n := nodeAt(kindNodes, i, doc)
		if c == nil {
			return nil, &FileError{File: name, Line: n.Line, Msg: fmt.Sprintf("kinds[%d] is empty", i)}
		}
		c.Source = fmt.Sprintf("%s:%d", name, n.Line)
		if name == "built in" {
			c.Source = name
		}
		if err := checkCustom(c, n); err != nil {
			return nil, &FileError{File: name, Line: err.line, Msg: fmt.Sprintf("kinds[%d] (%s): %s", i, c.Name, err.msg)}
		}
	}
	seen := map[string]int{}
	for i, c := range f.Kinds {
		if j, dup := seen[c.Name]; dup {
			return nil, &FileError{File: name, Line: nodeAt(kindNodes, i, doc).Line, Msg: fmt.Sprintf("kinds[%d]: name %q is used by kinds[%d] too", i, c.Name, j)}
		}
		seen[c.Name] = i
	}
	chartNodes := seqItems(yamlnode.Value(doc, "charts"))
	for i, c := range f.Charts {
		n := nodeAt(chartNodes, i, doc)
		if c == nil {
			return nil, &FileError{File: name, Line: n.Line, Msg: fmt.Sprintf("charts[%d] is empty", i)}
		}
		c.Source = fmt.Sprintf("%s:%d", name, n.Line)
		if err := checkChart(c, n); err != nil {
			return nil, &FileError{File: name, Line: err.line, Msg: fmt.Sprintf("charts[%d] (%s): %s", i, c.Product, err.msg)}
		}
	}
	return &f, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into a FileError with the line it names.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	line := 0
	var out []string
	for _, m := range msgs {
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			if line == 0 {
				_, _ = fmt.Sscan(g[1], &line)
				out = append(out, g[2])
			} else {
				out = append(out, "line "+g[1]+": "+g[2])
			}
			continue
		}
		out = append(out, m)
	}
	return &FileError{File: name, Line: line, Msg: yamlWords.Replace(strings.Join(out, "; "))}
}

// yamlWords rewords yaml.v3's type errors for a user who never saw the Go types.
var yamlWords = strings.NewReplacer(
	"field ", "unknown field ", " not found in type targets.File", " (a targets file has kinds and charts)",
	" not found in type targets.Custom", " in a kind", " not found in type targets.Chart", " in a chart",
	" not found in type targets.Role", " in role (listItem or annotations)",
	" not found in type targets.ListItem", " in listItem (path, mergeKey, item)",
	" not found in type targets.Annotations", " in annotations (path)",
	" not found in type targets.Reference", " in a referencedBy entry",
	" not found in type targets.Next", " in next (enable, disable)",
	" not found in type targets.ChartMatch", " in match (serviceAccount, release, chart)",
	"cannot unmarshal !!seq", "found a list", "cannot unmarshal !!map", "found a mapping",
	"cannot unmarshal !!str", "found the string", "cannot unmarshal !!int", "found the number",
	"cannot unmarshal !!bool", "found the boolean", "cannot unmarshal !!float", "found the number",
	"into []*targets.Custom", "where a list of kinds belongs", "into []*targets.Chart", "where a list of charts belongs",
	"into targets.File", "where a mapping with kinds and charts belongs", "into []targets.Reference", "where a list belongs",
	"into []string", "where a list of strings belongs", "into map[string]string", "where a mapping of strings belongs",
	"into targets.", "where a mapping belongs: ", "into *targets.", "where a mapping belongs: ",
	"into string", "where a string belongs", "into bool", "where true or false belongs",
)

type checkError struct {
	line int
	msg  string
}

func checkErr(n *yaml.Node, format string, args ...any) *checkError {
	return &checkError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsName    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	kindName   = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	version    = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]+)?$`)
	pathSeg    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	placeholds = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// checkCustom checks one kind; errors carry the line of the field at fault, or of the
// nearest enclosing one when the field is missing.
func checkCustom(c *Custom, n *yaml.Node) *checkError {
	at := func(path ...string) *yaml.Node { return keyNode(n, path...) }
	required := []struct {
		field, value string
		re           *regexp.Regexp
		want         string
	}{
		{"name", c.Name, dnsLabel, "a lowercase name such as storagecluster"},
		{"group", c.Group, dnsName, "an API group such as core.libopenstorage.org"},
		{"version", c.Version, version, "an API version such as v1 or v1beta1"},
		{"kind", c.Kind, kindName, "a kind such as StorageCluster"},
		{"resource", c.Resource, dnsLabel, "the plural resource, lowercase, such as storageclusters"},
	}
	for _, r := range required {
		if r.value == "" {
			return checkErr(n, "%s is required: %s", r.field, r.want)
		}
		if !r.re.MatchString(r.value) {
			return checkErr(at(r.field), "%s %q is not %s", r.field, r.value, r.want)
		}
	}
	for i, a := range c.Aliases {
		if !dnsName.MatchString(a) {
			return checkErr(at("aliases"), "aliases[%d] %q is not a lowercase name", i, a)
		}
	}
	if c.Name == "serviceaccount" {
		return checkErr(at("name"), "name %q is the service account's", c.Name)
	}
	if err := checkScope(c.Scope, n); err != nil {
		return err
	}
	switch {
	case c.Role.ListItem == nil && c.Role.Annotations == nil:
		return checkErr(at("role"), "role needs listItem or annotations: where the role goes")
	case c.Role.ListItem != nil && c.Role.Annotations != nil:
		return checkErr(at("role"), "role has both listItem and annotations: give one")
	case c.Role.ListItem != nil:
		l := c.Role.ListItem
		if err := checkPath(l.Path, "role.listItem.path", at("role", "listItem", "path")); err != nil {
			return err
		}
		if l.MergeKey == "" {
			return checkErr(at("role", "listItem"), "role.listItem.mergeKey is required: the item field that tells whose item it is, e.g. cloudProvider")
		}
		if _, ok := l.Item[l.MergeKey]; !ok {
			return checkErr(at("role", "listItem", "item"), "role.listItem.item has no %s field, the mergeKey", l.MergeKey)
		}
		hasRole := false
		for _, k := range sortedKeys(l.Item) {
			v := l.Item[k]
			if err := checkPlaceholders(v, at("role", "listItem", "item", k), PlaceholderRoleARN); err != nil {
				return err
			}
			if strings.Contains(v, PlaceholderRoleARN) {
				hasRole = true
				if k == l.MergeKey {
					return checkErr(at("role", "listItem", "item", k), "the mergeKey field %s cannot hold the role", k)
				}
			}
		}
		if !hasRole {
			return checkErr(at("role", "listItem", "item"), "role.listItem.item does not use %s: no field would hold the role", PlaceholderRoleARN)
		}
	default:
		if err := checkPath(c.Role.Annotations.Path, "role.annotations.path", at("role", "annotations", "path")); err != nil {
			return err
		}
	}
	refNodes := seqItems(yamlnode.Value(n, "referencedBy"))
	for i := range c.ReferencedBy {
		r := &c.ReferencedBy[i]
		rn := nodeAt(refNodes, i, n)
		for _, f := range []struct{ field, value string }{{"group", r.Group}, {"version", r.Version}, {"kind", r.Kind}, {"resource", r.Resource}} {
			if f.value == "" {
				return checkErr(rn, "referencedBy[%d].%s is required", i, f.field)
			}
		}
		if err := checkScope(r.Scope, rn); err != nil {
			return &checkError{line: err.line, msg: fmt.Sprintf("referencedBy[%d].%s", i, err.msg)}
		}
		if r.Field == "" {
			return checkErr(rn, "referencedBy[%d].field is required: the dotted path of the name, such as spec.configRef.name", i)
		}
		if err := checkSegments(r.Field, fmt.Sprintf("referencedBy[%d].field", i), keyNode(rn, "field")); err != nil {
			return err
		}
	}
	if err := checkPlaceholders(c.Next.Enable, at("next", "enable"), PlaceholderRoleARN, PlaceholderName, PlaceholderNamespace); err != nil {
		return err
	}
	return checkPlaceholders(c.Next.Disable, at("next", "disable"), PlaceholderName, PlaceholderNamespace)
}

func checkScope(scope string, n *yaml.Node) *checkError {
	switch scope {
	case ScopeNamespaced, ScopeCluster:
		return nil
	case "":
		return checkErr(n, "scope is required: Namespaced or Cluster")
	}
	return checkErr(keyNode(n, "scope"), "scope %q is not Namespaced or Cluster", scope)
}

// checkPath checks the dotted path of the role's field: not empty, no empty segment, inside a
// top-level field, and not into metadata, status or the type fields, which are not the
// operator's configuration.
func checkPath(path, field string, at *yaml.Node) *checkError {
	if path == "" {
		return checkErr(at, "%s is required: a dotted path such as spec.a.b", field)
	}
	if err := checkSegments(path, field, at); err != nil {
		return err
	}
	segs := strings.Split(path, ".")
	switch segs[0] {
	case "metadata", "status", "apiVersion", "kind":
		return checkErr(at, "%s %q is under %s, which is not the operator's configuration", field, path, segs[0])
	}
	if len(segs) < 2 {
		return checkErr(at, "%s %q is a top-level field: give the path inside it, such as spec.a", field, path)
	}
	return nil
}

func checkSegments(path, field string, at *yaml.Node) *checkError {
	for _, s := range strings.Split(path, ".") {
		if !pathSeg.MatchString(s) {
			return checkErr(at, "%s %q: %q is not a field name (a dotted path such as spec.a.b)", field, path, s)
		}
	}
	return nil
}

// checkPlaceholders refuses ${...} other than the allowed ones.
func checkPlaceholders(s string, n *yaml.Node, allowed ...string) *checkError {
	for _, m := range placeholds.FindAllString(s, -1) {
		ok := false
		for _, a := range allowed {
			ok = ok || m == a
		}
		if !ok {
			return checkErr(n, "unknown placeholder %s: use %s", m, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkChart(c *Chart, n *yaml.Node) *checkError {
	if c.Match == (ChartMatch{}) {
		return checkErr(n, "match needs serviceAccount, release or chart: how to recognise the chart's service account")
	}
	if c.Values == "" {
		return checkErr(n, "values is required: the values key of the service account's annotations, e.g. controller.serviceAccount.annotations")
	}
	return checkSegments(c.Values, "values", keyNode(n, "values"))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keyNode is the key node of the field at path in mapping n, for its line; when the field is
// missing, the key of the deepest enclosing field that exists (or n).
func keyNode(n *yaml.Node, path ...string) *yaml.Node {
	best, cur := n, n
	for _, p := range path {
		next := (*yaml.Node)(nil)
		if cur != nil && cur.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == p {
					best, next = cur.Content[i], cur.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			return best
		}
		cur = next
	}
	return best
}

func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func nodeAt(nodes []*yaml.Node, i int, fallback *yaml.Node) *yaml.Node {
	if i < len(nodes) {
		return nodes[i]
	}
	return fallback
}

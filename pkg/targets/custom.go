package targets

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// GVR is the kind's group, version and resource, for the dynamic client.
func (c *Custom) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: c.Group, Version: c.Version, Resource: c.Resource}
}

// GVR is the referring kind's group, version and resource.
func (r *Reference) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// Edit is what enable or disable changes in one custom resource.
type Edit struct {
	// Changed is false when the object already is as asked: nothing is written.
	Changed bool
	// Result is the object after the edit: a copy, or the object itself when unchanged.
	Result *unstructured.Unstructured
	// Patch is the JSON merge patch that makes the edit, touching only the role's field. A
	// patch that replaces a list carries the object's resourceVersion, so the server refuses
	// it with a Conflict when another writer changed the object since it was read.
	Patch []byte
	// Precondition is true when Patch carries the resourceVersion.
	Precondition bool
	// What names what changed, for the summary: role-arn, audience- (removed), or the list
	// item spec.workloadIdentity.credentials[cloudProvider=aws].
	What []string
}

// Apply computes the edit that makes obj carry want (nil: no identity). Only the field the
// kind's role names changes; an error means the object's shape does not allow the edit (the
// path crosses a field that is not an object, or the list is not a list).
func (c *Custom) Apply(obj *unstructured.Unstructured, want *identity.Config) (*Edit, error) {
	return c.ApplyKeeping(obj, want, nil)
}

// ApplyKeeping is Apply leaving the annotations named in keep as they are: enable's settings
// not named on the command line. A list item carries the role alone, so keep is moot there.
func (c *Custom) ApplyKeeping(obj *unstructured.Unstructured, want *identity.Config, keep []string) (*Edit, error) {
	if want != nil && c.Role.ListItem != nil {
		if err := c.CheckConfig(*want); err != nil {
			return nil, err
		}
	}
	if c.Role.ListItem != nil {
		return c.applyList(obj, want)
	}
	return c.applyAnnotations(obj, want, keep)
}

// CheckConfig refuses settings the kind's role cannot express: a list item carries only the
// role ARN.
func (c *Custom) CheckConfig(want identity.Config) error {
	if c.Role.ListItem == nil {
		return nil
	}
	var extra []string
	if want.Audience != "" && want.Audience != identity.DefaultAudience {
		extra = append(extra, "--audience")
	}
	if want.TokenExpiration != 0 {
		extra = append(extra, "--token-expiration")
	}
	if want.STSRegional {
		extra = append(extra, "--sts-regional-endpoints")
	}
	if len(extra) > 0 {
		return fmt.Errorf("%s takes only the role ARN (%s): %s cannot be set on it", c.Kind, c.Role.ListItem.Path, strings.Join(extra, ", "))
	}
	return nil
}

func (c *Custom) applyList(obj *unstructured.Unstructured, want *identity.Config) (*Edit, error) {
	rule := c.Role.ListItem
	path := strings.Split(rule.Path, ".")
	have, err := lookupPath(obj.Object, path)
	if err != nil {
		return nil, err
	}
	var list []any
	switch v := have.(type) {
	case nil:
	case []any:
		list = v
	default:
		return nil, fmt.Errorf("%s is %s, not a list", rule.Path, describe(v))
	}
	keyValue := rule.Item[rule.MergeKey]
	what := fmt.Sprintf("%s[%s=%s]", rule.Path, rule.MergeKey, keyValue)
	ours := func(item any) bool {
		m, ok := item.(map[string]any)
		return ok && m[rule.MergeKey] == keyValue
	}

	var out []any
	changed := false
	if want == nil {
		for _, item := range list {
			if ours(item) {
				changed = true
				continue
			}
			out = append(out, item)
		}
	} else {
		item := map[string]any{}
		for k, v := range rule.Item {
			item[k] = strings.ReplaceAll(v, PlaceholderRoleARN, want.RoleARN)
		}
		found := false
		for _, have := range list {
			if !ours(have) {
				out = append(out, have)
				continue
			}
			if found { // a second item of ours would contradict the first: merged away
				changed = true
				continue
			}
			found = true
			merged := deepCopy(have).(map[string]any)
			for k, v := range item {
				if merged[k] != v {
					merged[k] = v
					changed = true
				}
			}
			out = append(out, merged)
		}
		if !found {
			out = append(out, item)
			changed = true
		}
	}
	if !changed {
		return &Edit{Result: obj}, nil
	}
	var value any = out
	if out == nil {
		value = nil // the last item went: remove the list rather than leave [] behind
	}
	result, patch := edited(obj, path, value)
	rv := obj.GetResourceVersion()
	if rv != "" {
		patch["metadata"] = map[string]any{"resourceVersion": rv}
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	return &Edit{Changed: true, Result: result, Patch: b, Precondition: rv != "", What: []string{what}}, nil
}

func (c *Custom) applyAnnotations(obj *unstructured.Unstructured, want *identity.Config, keep []string) (*Edit, error) {
	path := strings.Split(c.Role.Annotations.Path, ".")
	have, err := lookupPath(obj.Object, path)
	if err != nil {
		return nil, err
	}
	var annotations map[string]any
	switch v := have.(type) {
	case nil:
	case map[string]any:
		annotations = v
	default:
		return nil, fmt.Errorf("%s is %s, not an annotation map", c.Role.Annotations.Path, describe(v))
	}
	strs := map[string]string{}
	for k, v := range annotations {
		if s, ok := v.(string); ok {
			strs[k] = s
		}
	}
	changes := identity.AnnotationChanges(strs, want)
	for _, k := range keep {
		delete(changes, k)
	}
	if len(changes) == 0 {
		return &Edit{Result: obj}, nil
	}
	next := map[string]any{}
	for k, v := range annotations {
		next[k] = v
	}
	patchMap := map[string]any{}
	var what []string
	for _, k := range identity.ChangedKeys(changes) {
		short := strings.TrimPrefix(k, identity.AnnotationPrefix)
		if v := changes[k]; v != nil {
			next[k] = *v
			patchMap[k] = *v
			what = append(what, short)
		} else {
			delete(next, k)
			patchMap[k] = nil
			if want != nil {
				short += "-"
			}
			what = append(what, short)
		}
	}
	var result *unstructured.Unstructured
	var patch map[string]any
	if len(next) == 0 {
		result, patch = edited(obj, path, nil)
	} else {
		result, _ = edited(obj, path, next)
		patch = nest(path, patchMap)
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	return &Edit{Changed: true, Result: result, Patch: b, What: what}, nil
}

// edited returns a copy of obj with the field at path set to value (nil: removed, and with it
// every object on the path that the removal leaves empty, except the top-level field), and the
// JSON merge patch that makes the same change.
func edited(obj *unstructured.Unstructured, path []string, value any) (*unstructured.Unstructured, map[string]any) {
	out := obj.DeepCopy()
	if value != nil {
		m := out.Object
		for _, seg := range path[:len(path)-1] {
			next, ok := m[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[seg] = next
			}
			m = next
		}
		m[path[len(path)-1]] = value
		return out, nest(path, value)
	}
	// Removal: walk down, remembering the maps; then drop empty ones from the bottom up.
	maps := []map[string]any{out.Object}
	for _, seg := range path[:len(path)-1] {
		next, ok := maps[len(maps)-1][seg].(map[string]any)
		if !ok {
			return out, map[string]any{} // nothing there to remove
		}
		maps = append(maps, next)
	}
	cut := len(path) - 1 // the index of the segment set to null in the patch
	delete(maps[cut], path[cut])
	for cut > 1 && len(maps[cut]) == 0 {
		cut--
		delete(maps[cut], path[cut])
	}
	return out, nest(path[:cut+1], nil)
}

// nest builds {path[0]: {path[1]: ... value}}.
func nest(path []string, value any) map[string]any {
	m := map[string]any{path[len(path)-1]: value}
	for i := len(path) - 2; i >= 0; i-- {
		m = map[string]any{path[i]: m}
	}
	return m
}

// lookupPath reads the field at path; nil when it or an object on the way is missing. An
// object on the way that is something else is an error.
func lookupPath(obj map[string]any, path []string) (any, error) {
	var cur any = obj
	for i, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			if cur == nil {
				return nil, nil
			}
			return nil, fmt.Errorf("%s is %s, not an object", strings.Join(path[:i], "."), describe(cur))
		}
		cur = m[seg]
	}
	return cur, nil
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, int, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// RoleARN reads the role ARN the object carries ("" for none): the role field of our list
// item, or the role-arn annotation.
func (c *Custom) RoleARN(obj *unstructured.Unstructured) string {
	if rule := c.Role.ListItem; rule != nil {
		have, err := lookupPath(obj.Object, strings.Split(rule.Path, "."))
		list, ok := have.([]any)
		if err != nil || !ok {
			return ""
		}
		field := ""
		for k, v := range rule.Item {
			if strings.Contains(v, PlaceholderRoleARN) {
				field = k
			}
		}
		for _, item := range list {
			if m, ok := item.(map[string]any); ok && m[rule.MergeKey] == rule.Item[rule.MergeKey] {
				s, _ := m[field].(string)
				return s
			}
		}
		return ""
	}
	have, err := lookupPath(obj.Object, strings.Split(c.Role.Annotations.Path, "."))
	m, ok := have.(map[string]any)
	if err != nil || !ok {
		return ""
	}
	s, _ := m[identity.AnnotationRoleARN].(string)
	return s
}

// Refers is true when obj names the object called name in the reference's field, or leaves
// the field unset and name is the default the unset field stands for.
func (r *Reference) Refers(obj *unstructured.Unstructured, name string) bool {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, strings.Split(r.Field, ".")...)
	if err != nil {
		return false
	}
	s, _ := v.(string)
	if !found || s == "" {
		return r.Default != "" && r.Default == name
	}
	return s == name
}

// NextStep renders the next step after enable (want set) or disable, "" when the kind has
// none.
func (c *Custom) NextStep(name, namespace string, want *identity.Config) string {
	text := c.Next.Disable
	role := ""
	if want != nil {
		text, role = c.Next.Enable, want.RoleARN
	}
	return strings.NewReplacer(PlaceholderName, name, PlaceholderNamespace, namespace, PlaceholderRoleARN, role).Replace(text)
}

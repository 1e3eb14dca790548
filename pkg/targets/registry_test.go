package targets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func TestBuiltinKinds(t *testing.T) {
	r := Builtin()
	tests := []struct {
		arg                       string
		wantKind, wantCRD, wantGV string
		wantProduct               string
		namespaced                bool
	}{
		{arg: "storagecluster/px", wantKind: "storagecluster.core.libopenstorage.org", wantCRD: "storageclusters.core.libopenstorage.org", wantGV: "core.libopenstorage.org/v1", wantProduct: "Portworx", namespaced: true},
		{arg: "stc/px", wantKind: "storagecluster.core.libopenstorage.org", wantCRD: "storageclusters.core.libopenstorage.org", wantGV: "core.libopenstorage.org/v1", wantProduct: "Portworx", namespaced: true},
		{arg: "storageclusters.core.libopenstorage.org/px", wantKind: "storagecluster.core.libopenstorage.org", wantCRD: "storageclusters.core.libopenstorage.org", wantGV: "core.libopenstorage.org/v1", wantProduct: "Portworx", namespaced: true},
		{arg: "StorageCluster.core.libopenstorage.org/px", wantKind: "storagecluster.core.libopenstorage.org", wantCRD: "storageclusters.core.libopenstorage.org", wantGV: "core.libopenstorage.org/v1", wantProduct: "Portworx", namespaced: true},
		{arg: "deploymentruntimeconfig/aws", wantKind: "deploymentruntimeconfig.pkg.crossplane.io", wantCRD: "deploymentruntimeconfigs.pkg.crossplane.io", wantGV: "pkg.crossplane.io/v1beta1", wantProduct: "Crossplane"},
		{arg: "deploymentruntimeconfigs/aws", wantKind: "deploymentruntimeconfig.pkg.crossplane.io", wantCRD: "deploymentruntimeconfigs.pkg.crossplane.io", wantGV: "pkg.crossplane.io/v1beta1", wantProduct: "Crossplane"},
		{arg: "deploymentruntimeconfigs.pkg.crossplane.io/aws", wantKind: "deploymentruntimeconfig.pkg.crossplane.io", wantCRD: "deploymentruntimeconfigs.pkg.crossplane.io", wantGV: "pkg.crossplane.io/v1beta1", wantProduct: "Crossplane"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			ref, err := r.Parse(tt.arg)
			if err != nil {
				t.Fatal(err)
			}
			c := ref.Kind.Custom
			if !ref.IsCustom() || ref.Kind.Name != tt.wantKind || c.CRDName() != tt.wantCRD || c.APIVersion() != tt.wantGV ||
				c.ProductName() != tt.wantProduct || c.Namespaced() != tt.namespaced || ref.Name != strings.Split(tt.arg, "/")[1] {
				t.Fatalf("Parse(%q) = %s (%+v)", tt.arg, ref, c)
			}
		})
	}

	px, _ := r.Parse("stc/px")
	if l := px.Kind.Custom.Role.ListItem; l == nil || l.Path != "spec.workloadIdentity.credentials" || l.MergeKey != "cloudProvider" ||
		l.Item["cloudProvider"] != "aws" || l.Item["key"] != "eks.amazonaws.com/role-arn" || l.Item["value"] != "${ROLE_ARN}" {
		t.Errorf("StorageCluster role = %+v", l)
	}
	next := px.Kind.Custom.NextStep("px", "portworx", nil)
	if next == "" || strings.Contains(next, "${") {
		t.Errorf("StorageCluster disable next step = %q", next)
	}
	next = px.Kind.Custom.NextStep("px", "portworx", nil)
	enable := px.Kind.Custom.Next.Enable
	for _, want := range []string{"pxctl credentials create", "--provider s3", "--use-workload-identity", "--s3-region <region>", "--bucket <bucket>", "<name>", "-n ${NAMESPACE}"} {
		if !strings.Contains(enable, want) {
			t.Errorf("StorageCluster next step lacks %q:\n%s", want, enable)
		}
	}
	_ = next

	drc, _ := r.Parse("deploymentruntimeconfig/aws")
	c := drc.Kind.Custom
	if c.Role.Annotations == nil || c.Role.Annotations.Path != "spec.serviceAccountTemplate.metadata.annotations" || c.Namespaced() {
		t.Errorf("DeploymentRuntimeConfig = %+v", c)
	}
	if len(c.ReferencedBy) != 1 || c.ReferencedBy[0].Name() != "provider.pkg.crossplane.io" || c.ReferencedBy[0].Field != "spec.runtimeConfigRef.name" ||
		c.ReferencedBy[0].GVR().String() != "pkg.crossplane.io/v1, Resource=providers" {
		t.Errorf("DeploymentRuntimeConfig referencedBy = %+v", c.ReferencedBy)
	}

	if got := KindList(); !strings.HasPrefix(got, "serviceaccount (sa), deployment (deploy), statefulset (sts), daemonset (ds), storagecluster (stc), deploymentruntimeconfig") {
		t.Errorf("KindList() = %q", got)
	}
}

func TestChart(t *testing.T) {
	sa := func(name string, labels, annotations map[string]string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}
	}
	r := Builtin()
	c, how := r.Chart(sa("mxp-controller", map[string]string{"app.kubernetes.io/managed-by": "Helm"}, nil))
	if c == nil || c.Values != "controlPlanes.mxpController.serviceAccount.annotations" || c.Product != "Upbound Spaces" || how != "its name mxp-controller" {
		t.Fatalf("Chart(mxp-controller) = %+v, %q", c, how)
	}
	if c, _ := r.Chart(sa("external-dns", nil, nil)); c != nil {
		t.Fatalf("Chart(external-dns) = %+v, want none", c)
	}

	path := writeFile(t, `charts:
  - product: AWS Load Balancer Controller
    match: {release: lbc, chart: aws-load-balancer-controller-}
    values: serviceAccount.annotations
`)
	if err := r.Load(path, false); err != nil {
		t.Fatal(err)
	}
	c, how = r.Chart(sa("lbc", map[string]string{"helm.sh/chart": "aws-load-balancer-controller-1.8.1"}, map[string]string{"meta.helm.sh/release-name": "lbc"}))
	if c == nil || c.Product != "AWS Load Balancer Controller" || how != "its Helm release lbc and its chart aws-load-balancer-controller-1.8.1" {
		t.Fatalf("Chart(lbc) = %+v, %q", c, how)
	}
	if c, _ := r.Chart(sa("lbc", map[string]string{"helm.sh/chart": "other-1.0.0"}, map[string]string{"meta.helm.sh/release-name": "lbc"})); c != nil {
		t.Fatalf("every match field must match; got %+v", c)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodKind = `kinds:
  - name: widget
    aliases: [wdg]
    product: Widgets
    group: widgets.example.com
    version: v1alpha1
    kind: Widget
    resource: widgets
    scope: Namespaced
    role:
      annotations:
        path: spec.podTemplate.serviceAccount.annotations
    next:
      enable: kubectl rollout restart deploy/widget-${NAME} -n ${NAMESPACE}
`

func TestLoadAddsKinds(t *testing.T) {
	r := Builtin()
	path := writeFile(t, goodKind)
	if err := r.Load(path, false); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"widget/a", "wdg/a", "widgets/a", "widgets.widgets.example.com/a", "widget.widgets.example.com/a"} {
		ref, err := r.Parse(arg)
		if err != nil || ref.Kind.Custom == nil || ref.Kind.Custom.Kind != "Widget" {
			t.Fatalf("Parse(%q) = %v, %v", arg, ref, err)
		}
		if want := path + ":2"; ref.Kind.Custom.Source != want {
			t.Fatalf("source %q, want %q", ref.Kind.Custom.Source, want)
		}
	}
	if _, err := r.Parse("stc/px"); err != nil {
		t.Fatalf("the built-in kinds are kept: %v", err)
	}
	if _, err := Parse("widget/a"); err == nil {
		t.Fatal("the default registry grew: Load must only change its own registry")
	}
	if !strings.Contains(r.KindList(), "widget (wdg)") {
		t.Fatalf("KindList() = %q", r.KindList())
	}
}

func TestLoadReplacesABuiltinKind(t *testing.T) {
	r := Builtin()
	path := writeFile(t, `kinds:
  - name: storagecluster
    product: Portworx
    group: core.libopenstorage.org
    version: v2
    kind: StorageCluster
    resource: storageclusters
    scope: Namespaced
    role:
      listItem:
        path: spec.identity.credentials
        mergeKey: provider
        item: {provider: aws, roleArn: "${ROLE_ARN}"}
`)
	if err := r.Load(path, false); err != nil {
		t.Fatal(err)
	}
	ref, err := r.Parse("storagecluster/px")
	if err != nil || ref.Kind.Custom.Version != "v2" {
		t.Fatalf("Parse = %v, %v; want the user's v2 entry", ref, err)
	}
	if n := len(r.CustomKinds()); n != 2 {
		t.Fatalf("%d custom kinds, want 2 (replaced, not added)", n)
	}
}

func TestLoadMissingFile(t *testing.T) {
	r := Builtin()
	missing := filepath.Join(t.TempDir(), "none.yaml")
	if err := r.Load(missing, true); err != nil {
		t.Fatalf("an optional missing file: %v", err)
	}
	err := r.Load(missing, false)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "targets file "+missing+": cannot read it: no such file or directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if got, want := DefaultFile(), filepath.Join(dir, "kubectl-wi", "targets.yaml"); got != want {
		t.Fatalf("DefaultFile() = %q, want %q", got, want)
	}
}

// TestLoadBadFiles: every malformed file is refused with the line at fault.
func TestLoadBadFiles(t *testing.T) {
	tests := []struct {
		name, content string
		wantLine      int
		wantMsg       string
	}{
		{name: "not yaml", content: "kinds:\n  - name: a\n    group: b: c\n", wantLine: 3, wantMsg: "mapping values are not allowed"},
		{name: "tab indentation", content: "kinds:\n\t- name: a\n", wantLine: 2, wantMsg: "found character that cannot start any token"},
		{name: "unknown top-level field", content: "kind:\n  - name: a\n", wantLine: 1, wantMsg: "unknown field kind (a targets file has kinds and charts)"},
		{name: "unknown field in a kind", content: strings.Replace(goodKind, "    scope: Namespaced\n", "    scope: Namespaced\n    namespaced: true\n", 1), wantLine: 10, wantMsg: "unknown field namespaced in a kind"},
		{name: "kinds is not a list", content: "kinds: widget\n", wantLine: 1, wantMsg: "found the string `widget` where a list of kinds belongs"},
		{name: "item is not a map", content: strings.Replace(goodKind, "      annotations:\n        path: spec.podTemplate.serviceAccount.annotations\n", "      listItem:\n        path: spec.x.y\n        mergeKey: p\n        item: [p, q]\n", 1), wantLine: 14, wantMsg: "found a list where a mapping of strings belongs"},
		{name: "empty entry", content: "kinds:\n  -\n", wantLine: 2, wantMsg: "kinds[0] is empty"},
		{name: "missing group", content: strings.Replace(goodKind, "    group: widgets.example.com\n", "", 1), wantLine: 2, wantMsg: "kinds[0] (widget): group is required"},
		{name: "bad kind", content: strings.Replace(goodKind, "kind: Widget", "kind: widget", 1), wantLine: 7, wantMsg: `kind "widget" is not a kind such as StorageCluster`},
		{name: "bad version", content: strings.Replace(goodKind, "version: v1alpha1", "version: 1", 1), wantLine: 6, wantMsg: `version "1" is not an API version`},
		{name: "uppercase resource", content: strings.Replace(goodKind, "resource: widgets", "resource: Widgets", 1), wantLine: 8, wantMsg: `resource "Widgets" is not the plural resource`},
		{name: "bad alias", content: strings.Replace(goodKind, "[wdg]", "[W/D]", 1), wantLine: 3, wantMsg: `aliases[0] "W/D" is not a lowercase name`},
		{name: "missing scope", content: strings.Replace(goodKind, "    scope: Namespaced\n", "", 1), wantLine: 2, wantMsg: "scope is required: Namespaced or Cluster"},
		{name: "bad scope", content: strings.Replace(goodKind, "scope: Namespaced", "scope: namespace", 1), wantLine: 9, wantMsg: `scope "namespace" is not Namespaced or Cluster`},
		{name: "no role", content: strings.Replace(goodKind, "      annotations:\n        path: spec.podTemplate.serviceAccount.annotations\n", "", 1), wantLine: 10, wantMsg: "role needs listItem or annotations"},
		{name: "two roles", content: strings.Replace(goodKind, "    role:\n", "    role:\n      listItem: {path: spec.a.b, mergeKey: p, item: {p: aws, v: \"${ROLE_ARN}\"}}\n", 1), wantLine: 10, wantMsg: "role has both listItem and annotations"},
		{name: "path into status", content: strings.Replace(goodKind, "path: spec.podTemplate", "path: status.podTemplate", 1), wantLine: 12, wantMsg: "is under status, which is not the operator's configuration"},
		{name: "empty path segment", content: strings.Replace(goodKind, "path: spec.podTemplate", "path: spec..podTemplate", 1), wantLine: 12, wantMsg: `"" is not a field name`},
		{name: "top-level path", content: strings.Replace(goodKind, "path: spec.podTemplate.serviceAccount.annotations", "path: spec", 1), wantLine: 12, wantMsg: "is a top-level field"},
		{name: "item without the merge key", content: strings.Replace(goodKind, "      annotations:\n        path: spec.podTemplate.serviceAccount.annotations\n", "      listItem:\n        path: spec.x.y\n        mergeKey: provider\n        item:\n          cloud: aws\n          value: ${ROLE_ARN}\n", 1), wantLine: 14, wantMsg: "role.listItem.item has no provider field, the mergeKey"},
		{name: "item without the role", content: strings.Replace(goodKind, "      annotations:\n        path: spec.podTemplate.serviceAccount.annotations\n", "      listItem:\n        path: spec.x.y\n        mergeKey: provider\n        item:\n          provider: aws\n          value: arn\n", 1), wantLine: 14, wantMsg: "does not use ${ROLE_ARN}"},
		{name: "no merge key", content: strings.Replace(goodKind, "      annotations:\n        path: spec.podTemplate.serviceAccount.annotations\n", "      listItem:\n        path: spec.x.y\n        item: {value: \"${ROLE_ARN}\"}\n", 1), wantLine: 11, wantMsg: "role.listItem.mergeKey is required"},
		{name: "unknown placeholder", content: strings.Replace(goodKind, "${NAMESPACE}", "${NS}", 1), wantLine: 14, wantMsg: "unknown placeholder ${NS}"},
		{name: "role in a disable step", content: goodKind + "      disable: gone ${ROLE_ARN}\n", wantLine: 15, wantMsg: "unknown placeholder ${ROLE_ARN}"},
		{name: "reference without field", content: strings.Replace(goodKind, "    next:\n", "    referencedBy:\n      - {group: g.example.com, version: v1, kind: User, resource: users, scope: Cluster}\n    next:\n", 1), wantLine: 14, wantMsg: "referencedBy[0].field is required"},
		{name: "duplicate name", content: goodKind + strings.TrimPrefix(goodKind, "kinds:\n"), wantLine: 15, wantMsg: `kinds[1]: name "widget" is used by kinds[0] too`},
		{name: "name of the service account", content: strings.Replace(goodKind, "name: widget", "name: serviceaccount", 1), wantLine: 2, wantMsg: `name "serviceaccount" is the service account's`},
		{name: "chart without match", content: "charts:\n  - product: X\n    values: a.b\n", wantLine: 2, wantMsg: "charts[0] (X): match needs serviceAccount, release or chart"},
		{name: "chart without values", content: "charts:\n  - product: X\n    match: {release: x}\n", wantLine: 2, wantMsg: "values is required"},
		{name: "two documents", content: goodKind + "---\nkinds: []\n", wantLine: 15, wantMsg: "a second YAML document"},
		{name: "a list at the top", content: "- name: a\n", wantLine: 1, wantMsg: "found a list where a mapping with kinds and charts belongs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			err := Builtin().Load(path, false)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a *FileError", err, err)
			}
			if fe.File != path || fe.Line != tt.wantLine || !strings.Contains(fe.Msg, tt.wantMsg) {
				t.Fatalf("err = %v\nwant line %d and %q", err, tt.wantLine, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "targets file "+path+": line ") {
				t.Fatalf("err = %q does not name the file and the line", err)
			}
		})
	}
}

func TestLoadCollisions(t *testing.T) {
	r := Builtin()
	err := r.Load(writeFile(t, strings.Replace(goodKind, "[wdg]", "[sa]", 1)), false)
	if err == nil || !strings.Contains(err.Error(), `"sa" names the kind serviceaccount already (built in)`) {
		t.Fatalf("err = %v", err)
	}
	r = Builtin()
	first := writeFile(t, goodKind)
	if err := r.Load(first, false); err != nil {
		t.Fatal(err)
	}
	err = r.Load(writeFile(t, goodKind), false)
	if err == nil || !strings.Contains(err.Error(), `kind "widget" is also defined at `+first+":2") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyFileAddsNothing(t *testing.T) {
	for _, content := range []string{"", "# nothing yet\n", "kinds: []\n"} {
		r := Builtin()
		if err := r.Load(writeFile(t, content), false); err != nil || len(r.Kinds()) != len(Builtin().Kinds()) {
			t.Fatalf("%q: %v", content, err)
		}
	}
}

// TestFixtureCRDs: every built-in custom resource kind and every kind it refers to has a CRD
// in testdata/crds, for the end-to-end tests, that serves it as the entry says.
func TestFixtureCRDs(t *testing.T) {
	type crd struct {
		Metadata struct{ Name string }
		Spec     struct {
			Group    string
			Scope    string
			Names    struct{ Kind, Plural string }
			Versions []struct {
				Name         string
				Served       bool
				Subresources map[string]any
			}
		}
	}
	check := func(group, version, kind, resource, scope string) {
		t.Helper()
		name := resource + "." + group
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "crds", name+".yaml"))
		if err != nil {
			t.Errorf("no fixture CRD for %s: %v", name, err)
			return
		}
		var c crd
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		served := false
		for _, v := range c.Spec.Versions {
			served = served || v.Name == version && v.Served && v.Subresources["status"] != nil
		}
		if c.Metadata.Name != name || c.Spec.Group != group || c.Spec.Names.Kind != kind || c.Spec.Names.Plural != resource || c.Spec.Scope != scope || !served {
			t.Errorf("fixture CRD %s does not serve %s/%s %s (%s) with a status subresource: %+v", name, group, version, kind, scope, c)
		}
	}
	for _, k := range Builtin().CustomKinds() {
		c := k.Custom
		check(c.Group, c.Version, c.Kind, c.Resource, c.Scope)
		for _, r := range c.ReferencedBy {
			check(r.Group, r.Version, r.Kind, r.Resource, r.Scope)
		}
	}
}

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

const tgRole = "arn:aws:iam::111122223333:role/portworx"

var (
	tgStorageClusters = schema.GroupVersionResource{Group: "core.libopenstorage.org", Version: "v1", Resource: "storageclusters"}
	tgRuntimeConfigs  = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "deploymentruntimeconfigs"}
	tgProviders       = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"}
)

// TestTargets: the CRDs of testdata/crds installed on the local cluster; enable and disable
// on a Portworx StorageCluster and a Crossplane DeploymentRuntimeConfig that carry other
// content (another provider's credentials, other annotations, labels, a status) change only
// the role; a second run writes nothing (same resourceVersion); a kind whose CRD is not
// installed exits 2 naming the CRD and the product.
func TestTargets(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	dyn, disc := e.tgClients(t)

	e.installCRDs(t, "testdata/crds", tgStorageClusters, tgRuntimeConfigs, tgProviders)

	t.Run("a kind whose CRD is not installed", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "targets.yaml")
		tgWrite(t, file, `kinds:
  - name: widget
    product: Widgets Operator
    group: wi-e2e.example.com
    version: v1
    kind: Widget
    resource: widgets
    scope: Namespaced
    role:
      annotations: {path: spec.serviceAccount.annotations}
`)
		r := e.wi(t, "enable", "widget/w", "-n", ns, "--role-arn", tgRole, "--targets", file)
		want := "error: Widgets Operator is not installed in this cluster: no CustomResourceDefinition widgets.wi-e2e.example.com serves wi-e2e.example.com/v1 Widget"
		if r.code != 2 || !strings.HasPrefix(r.stderr, want) {
			t.Fatalf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
		}
	})

	t.Run("StorageCluster", func(t *testing.T) {
		sc := dyn.Resource(tgStorageClusters).Namespace(ns)
		obj := tgObject(t, `apiVersion: core.libopenstorage.org/v1
kind: StorageCluster
metadata:
  name: px-cluster
  labels: {app: portworx}
  annotations: {portworx.io/misc-args: "--oem esse"}
spec:
  image: portworx/oci-monitor:3.2.0
  kvdb: {internal: true}
  workloadIdentity:
    enabled: true
    credentials:
      - cloudProvider: azure
        key: azure.workload.identity/client-id
        value: 11111111-2222-3333-4444-555555555555
`)
		created, err := sc.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = unstructured.SetNestedMap(created.Object, map[string]any{"phase": "Online", "clusterName": "px-cluster"}, "status")
		if _, err := sc.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		before, err := sc.Get(ctx, "px-cluster", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}

		r := e.wi(t, "enable", "storagecluster/px-cluster", "-n", ns, "--role-arn", tgRole)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "storagecluster.core.libopenstorage.org/px-cluster configured (spec.workloadIdentity.credentials[cloudProvider=aws])\n") ||
			!strings.Contains(r.stdout, "pxctl credentials create --provider s3 --use-workload-identity") {
			t.Fatalf("enable: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		enabled, err := sc.Get(ctx, "px-cluster", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		azure := map[string]any{"cloudProvider": "azure", "key": "azure.workload.identity/client-id", "value": "11111111-2222-3333-4444-555555555555"}
		aws := map[string]any{"cloudProvider": "aws", "key": "eks.amazonaws.com/role-arn", "value": tgRole}
		tgSameBut(t, before, enabled, []any{azure, aws})

		// Again: no write.
		r = e.wi(t, "enable", "stc/px-cluster", "-n", ns, "--role-arn", tgRole)
		again, _ := sc.Get(ctx, "px-cluster", metav1.GetOptions{})
		if r.code != 0 || r.stdout != "storagecluster.core.libopenstorage.org/px-cluster unchanged\n" || again.GetResourceVersion() != enabled.GetResourceVersion() {
			t.Fatalf("second enable: exit %d, stdout %q, resourceVersion %s -> %s", r.code, r.stdout, enabled.GetResourceVersion(), again.GetResourceVersion())
		}

		// Dry runs of another role store nothing; the server one is validated by the server.
		for _, mode := range []string{"--dry-run=server", "--dry-run=client"} {
			r = e.wi(t, "enable", "storageclusters.core.libopenstorage.org/px-cluster", "-n", ns, "--role-arn", "arn:aws:iam::111122223333:role/other", "--overwrite", mode, "-o", "json")
			dry, _ := sc.Get(ctx, "px-cluster", metav1.GetOptions{})
			var printed unstructured.Unstructured
			if err := json.Unmarshal([]byte(r.stdout), &printed.Object); err != nil || r.code != 0 || dry.GetResourceVersion() != enabled.GetResourceVersion() {
				t.Fatalf("%s: exit %d, resourceVersion %s -> %s, stdout %q (%v), stderr %q", mode, r.code, enabled.GetResourceVersion(), dry.GetResourceVersion(), r.stdout, err, r.stderr)
			}
			if l, _, _ := unstructured.NestedSlice(printed.Object, "spec", "workloadIdentity", "credentials"); len(l) != 2 || !strings.Contains(r.stdout, "role/other") {
				t.Fatalf("%s printed %s", mode, r.stdout)
			}
		}

		// status reports it.
		r = e.wi(t, "status", "-n", ns)
		if r.code != 0 || !strings.Contains(r.stdout, "storagecluster.core.libopenstorage.org/px-cluster   Portworx   "+tgRole) {
			t.Fatalf("status: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}

		// Disable removes only the aws item.
		r = e.wi(t, "disable", "storagecluster/px-cluster", "-n", ns)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "storagecluster.core.libopenstorage.org/px-cluster identity removed (spec.workloadIdentity.credentials[cloudProvider=aws])\n") {
			t.Fatalf("disable: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		disabled, _ := sc.Get(ctx, "px-cluster", metav1.GetOptions{})
		tgSameBut(t, before, disabled, []any{azure})
		r = e.wi(t, "disable", "storagecluster/px-cluster", "-n", ns)
		again, _ = sc.Get(ctx, "px-cluster", metav1.GetOptions{})
		if r.code != 0 || again.GetResourceVersion() != disabled.GetResourceVersion() {
			t.Fatalf("second disable: exit %d, stdout %q, resourceVersion %s -> %s", r.code, r.stdout, disabled.GetResourceVersion(), again.GetResourceVersion())
		}

		// --audience cannot go in a credentials item: refused before any write.
		r = e.wi(t, "enable", "stc/px-cluster", "-n", ns, "--role-arn", tgRole, "--audience", "other")
		if r.code != 2 || !strings.Contains(r.stderr, "StorageCluster takes only the role ARN") {
			t.Fatalf("--audience: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("DeploymentRuntimeConfig", func(t *testing.T) {
		name := "wi-e2e-" + randSuffix()
		drc := dyn.Resource(tgRuntimeConfigs)
		obj := tgObject(t, `apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata:
  name: `+name+`
  annotations: {owner: platform}
spec:
  deploymentTemplate:
    spec:
      selector: {}
      template:
        spec:
          containers: [{name: package-runtime, args: [--debug, --poll=1m]}]
  serviceAccountTemplate:
    metadata:
      name: provider-aws
      labels: {team: platform}
      annotations: {example.com/owner: platform}
`)
		if _, err := drc.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drc.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		for _, p := range []struct{ name, ref string }{{name + "-s3", name}, {name + "-other", "default"}} {
			prov := tgObject(t, "apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: "+p.name+"}\nspec: {package: xpkg.upbound.io/upbound/provider-aws-s3:v1, runtimeConfigRef: {name: "+p.ref+"}}\n")
			if _, err := dyn.Resource(tgProviders).Create(ctx, prov, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = dyn.Resource(tgProviders).Delete(context.Background(), p.name, metav1.DeleteOptions{}) })
		}
		before, _ := drc.Get(ctx, name, metav1.GetOptions{})

		r := e.wi(t, "enable", "deploymentruntimeconfig/"+name, "--role-arn", tgRole, "--sts-regional-endpoints")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "deploymentruntimeconfig.pkg.crossplane.io/"+name+" annotated (role-arn, sts-regional-endpoints)\n"+
			"  provider.pkg.crossplane.io/"+name+"-s3 uses it: ") || strings.Contains(r.stdout, name+"-other") {
			t.Fatalf("enable: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		enabled, _ := drc.Get(ctx, name, metav1.GetOptions{})
		want := before.DeepCopy()
		_ = unstructured.SetNestedStringMap(want.Object, map[string]string{
			"example.com/owner": "platform", "eks.amazonaws.com/role-arn": tgRole, "eks.amazonaws.com/sts-regional-endpoints": "true",
		}, "spec", "serviceAccountTemplate", "metadata", "annotations")
		tgSame(t, want, enabled)

		r = e.wi(t, "enable", "deploymentruntimeconfigs.pkg.crossplane.io/"+name, "--role-arn", tgRole, "--sts-regional-endpoints")
		again, _ := drc.Get(ctx, name, metav1.GetOptions{})
		if r.code != 0 || again.GetResourceVersion() != enabled.GetResourceVersion() {
			t.Fatalf("second enable: exit %d, stdout %q, resourceVersion %s -> %s", r.code, r.stdout, enabled.GetResourceVersion(), again.GetResourceVersion())
		}

		r = e.wi(t, "status", "-A", "-o", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"kind": "deploymentruntimeconfig.pkg.crossplane.io",`) || !strings.Contains(r.stdout, `"name": "`+name+`",`) {
			t.Fatalf("status -A: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}

		r = e.wi(t, "disable", "deploymentruntimeconfig/"+name)
		disabled, _ := drc.Get(ctx, name, metav1.GetOptions{})
		if r.code != 0 {
			t.Fatalf("disable: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		tgSame(t, before, disabled)
	})

	t.Run("Helm-managed mxp-controller", func(t *testing.T) {
		_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Name: "mxp-controller", Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			Annotations: map[string]string{"meta.helm.sh/release-name": "control-plane"},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := e.wi(t, "enable", "mxp-controller", "-n", ns, "--role-arn", tgRole, "--restart=never")
		want := `  --set controlPlanes.mxpController.serviceAccount.annotations."eks\.amazonaws\.com/role-arn"=` + tgRole + "\n"
		if r.code != 0 || !strings.Contains(r.stderr, "recognised by its name mxp-controller") || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("a CRD removed", func(t *testing.T) {
		e.tgKubectl(t, "delete", "crd", "deploymentruntimeconfigs.pkg.crossplane.io", "--timeout=60s")
		waitFor(t, 60*time.Second, "DeploymentRuntimeConfig no longer served", func(context.Context) (bool, error) {
			return !tgServed(disc, tgRuntimeConfigs), nil
		})
		r := e.wi(t, "enable", "deploymentruntimeconfig/anything", "--role-arn", tgRole)
		if r.code != 2 || !strings.Contains(r.stderr, "Crossplane is not installed in this cluster: no CustomResourceDefinition deploymentruntimeconfigs.pkg.crossplane.io") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func (e env) tgClients(t *testing.T) (dynamic.Interface, discovery.DiscoveryInterface) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn, disc
}

func (e env) tgKubectl(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(e.k8s, "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func tgServed(disc discovery.DiscoveryInterface, gvr schema.GroupVersionResource) bool {
	l, err := disc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range l.APIResources {
		if r.Name == gvr.Resource {
			return true
		}
	}
	return false
}

func tgObject(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func tgWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tgSameBut checks that got is before with the credentials list replaced and nothing else
// changed: labels, annotations, other spec fields and the status.
func tgSameBut(t *testing.T, before, got *unstructured.Unstructured, credentials []any) {
	t.Helper()
	want := before.DeepCopy()
	if err := unstructured.SetNestedSlice(want.Object, credentials, "spec", "workloadIdentity", "credentials"); err != nil {
		t.Fatal(err)
	}
	tgSame(t, want, got)
	if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); phase != "Online" {
		t.Fatalf("status lost: %v", got.Object["status"])
	}
}

// tgSame compares two objects but for what the API server changes on every write.
func tgSame(t *testing.T, want, got *unstructured.Unstructured) {
	t.Helper()
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		for _, f := range []string{"resourceVersion", "generation", "managedFields"} {
			unstructured.RemoveNestedField(c.Object, "metadata", f)
		}
		return c.Object
	}
	if w, g := strip(want), strip(got); !reflect.DeepEqual(w, g) {
		wb, _ := json.MarshalIndent(w, "", "  ")
		gb, _ := json.MarshalIndent(g, "", "  ")
		t.Fatalf("object changed beyond the role:\nwant %s\ngot  %s", wb, gb)
	}
}

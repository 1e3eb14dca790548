package plugin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

var (
	stcGVR      = schema.GroupVersionResource{Group: "core.libopenstorage.org", Version: "v1", Resource: "storageclusters"}
	drcGVR      = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "deploymentruntimeconfigs"}
	providerGVR = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"}
)

// cluster is a fake cluster with custom resources: the typed client (whose discovery says
// which kinds are installed) and the dynamic client holding the objects.
type cluster struct {
	client *fake.Clientset
	dyn    *dynamicfake.FakeDynamicClient
}

// newCluster serves the given resources (GROUP/VERSION/RESOURCE of Kind) and holds objs.
func newCluster(t *testing.T, served map[schema.GroupVersionResource]string, objs ...runtime.Object) *cluster {
	t.Helper()
	client := fake.NewClientset(kt.Namespace("portworx"))
	byGV := map[string]*metav1.APIResourceList{}
	listKinds := map[schema.GroupVersionResource]string{}
	for gvr, kind := range served {
		gv := gvr.GroupVersion().String()
		if byGV[gv] == nil {
			byGV[gv] = &metav1.APIResourceList{GroupVersion: gv}
			client.Resources = append(client.Resources, byGV[gv])
		}
		byGV[gv].APIResources = append(byGV[gv].APIResources, metav1.APIResource{Name: gvr.Resource, Kind: kind, Namespaced: gvr.Resource == "storageclusters"})
		listKinds[gvr] = kind + "List"
	}
	for _, gvr := range []schema.GroupVersionResource{stcGVR, drcGVR, providerGVR} {
		if listKinds[gvr] == "" {
			listKinds[gvr] = "List"
		}
	}
	return &cluster{client: client, dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)}
}

var allCRDs = map[schema.GroupVersionResource]string{stcGVR: "StorageCluster", drcGVR: "DeploymentRuntimeConfig", providerGVR: "Provider"}

// runCR runs `kubectl wi args...` against the fake cluster, with no user targets file.
func runCR(t *testing.T, c *cluster, args ...string) result {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	withDeps(t, func(d *deps) {
		d.newCustom = func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error) {
			return &annotate.CustomClients{Discovery: c.client.Discovery(), Dynamic: c.dyn}, nil
		}
	})
	c.dyn.ClearActions()
	return runWI(t, c.client, args...)
}

func unstructuredFrom(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// storageCluster has another provider's credentials, other spec fields, labels and a status.
func storageCluster(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	return unstructuredFrom(t, `apiVersion: core.libopenstorage.org/v1
kind: StorageCluster
metadata:
  name: px
  namespace: portworx
  resourceVersion: "41"
  labels: {team: storage}
  annotations: {portworx.io/misc-args: "-rt_opts kvdb_failover_timeout_in_mins=25"}
spec:
  image: portworx/oci-monitor:3.2.0
  workloadIdentity:
    credentials:
      - cloudProvider: azure
        key: azure.workload.identity/client-id
        value: 11111111-2222-3333-4444-555555555555
status:
  phase: Online
`)
}

func getCR(t *testing.T, c *cluster, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var ri interface {
		Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
	} = c.dyn.Resource(gvr)
	if ns != "" {
		ri = c.dyn.Resource(gvr).Namespace(ns)
	}
	obj, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func crPatches(c *cluster) []clienttesting.PatchActionImpl {
	var out []clienttesting.PatchActionImpl
	for _, a := range c.dyn.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}

func credentials(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	l, _, _ := unstructured.NestedSlice(obj.Object, "spec", "workloadIdentity", "credentials")
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	azureItem = `{"cloudProvider":"azure","key":"azure.workload.identity/client-id","value":"11111111-2222-3333-4444-555555555555"}`
	awsItem   = `{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + roleARN + `"}`
)

func TestEnableStorageCluster(t *testing.T) {
	c := newCluster(t, allCRDs, storageCluster(t))
	before := getCR(t, c, stcGVR, "portworx", "px")

	r := runCR(t, c, "enable", "storagecluster/px", "-n", "portworx", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.out, "storagecluster.core.libopenstorage.org/px configured (spec.workloadIdentity.credentials[cloudProvider=aws])\n"+
		"Next, for storagecluster.core.libopenstorage.org/px:\n  The Portworx operator annotates its service accounts and restarts the Portworx pods.") ||
		!strings.Contains(r.out, "kubectl exec -n portworx ") || !strings.Contains(r.out, "pxctl credentials create --provider s3 --use-workload-identity") {
		t.Fatalf("stdout = %q", r.out)
	}
	ps := crPatches(c)
	if len(ps) != 1 || ps[0].GetPatchType() != types.MergePatchType || ps[0].GetResource() != stcGVR || ps[0].GetNamespace() != "portworx" {
		t.Fatalf("patches = %+v", ps)
	}
	wantPatch := `{"metadata":{"resourceVersion":"41"},"spec":{"workloadIdentity":{"credentials":[` + azureItem + `,` + awsItem + `]}}}`
	if string(ps[0].GetPatch()) != wantPatch {
		t.Fatalf("patch = %s\nwant    %s", ps[0].GetPatch(), wantPatch)
	}
	after := getCR(t, c, stcGVR, "portworx", "px")
	if got := credentials(t, after); got != "["+azureItem+","+awsItem+"]" {
		t.Fatalf("credentials = %s", got)
	}
	// Everything else is as it was.
	for _, obj := range []*unstructured.Unstructured{before, after} {
		unstructured.RemoveNestedField(obj.Object, "spec", "workloadIdentity")
		unstructured.RemoveNestedField(obj.Object, "metadata", "resourceVersion")
	}
	b1, _ := json.Marshal(before.Object)
	b2, _ := json.Marshal(after.Object)
	if string(b1) != string(b2) {
		t.Fatalf("other fields changed:\n%s\n%s", b1, b2)
	}
	if len(r.client.Actions()) != 1 { // the discovery of the kind; no service account call
		t.Fatalf("typed calls = %v", r.client.Actions())
	}

	// Again: nothing to write.
	r = runCR(t, c, "enable", "stc/px", "-n", "portworx", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if r.out != "storagecluster.core.libopenstorage.org/px unchanged\n" || len(crPatches(c)) != 0 {
		t.Fatalf("stdout = %q, patches %v", r.out, crPatches(c))
	}

	// Another role replaces the aws item, not adds one.
	r = runCR(t, c, "enable", "storageclusters.core.libopenstorage.org/px", "-n", "portworx", "--role-arn", kt.OtherRoleARN)
	wantCode(t, r, ExitUsage) // not without --overwrite
	if len(crPatches(c)) != 0 || !strings.Contains(r.errOut, "refusing to replace an existing role without --overwrite: storagecluster.core.libopenstorage.org/px has "+roleARN) {
		t.Fatalf("stderr = %q, patches %v", r.errOut, crPatches(c))
	}
	r = runCR(t, c, "enable", "storageclusters.core.libopenstorage.org/px", "-n", "portworx", "--role-arn", kt.OtherRoleARN, "--overwrite")
	wantCode(t, r, ExitOK)
	want := "[" + azureItem + "," + strings.Replace(awsItem, roleARN, kt.OtherRoleARN, 1) + "]"
	if got := credentials(t, getCR(t, c, stcGVR, "portworx", "px")); got != want {
		t.Fatalf("credentials = %s\nwant          %s", got, want)
	}

	// Disable removes only the aws item.
	r = runCR(t, c, "disable", "storagecluster/px", "-n", "portworx")
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.out, "storagecluster.core.libopenstorage.org/px identity removed (spec.workloadIdentity.credentials[cloudProvider=aws])\n") ||
		!strings.Contains(r.out, "pxctl credentials delete") {
		t.Fatalf("stdout = %q", r.out)
	}
	if got := credentials(t, getCR(t, c, stcGVR, "portworx", "px")); got != "["+azureItem+"]" {
		t.Fatalf("credentials = %s", got)
	}
	r = runCR(t, c, "disable", "storagecluster/px", "-n", "portworx")
	if r.out != "storagecluster.core.libopenstorage.org/px unchanged\n" || len(crPatches(c)) != 0 {
		t.Fatalf("second disable: stdout = %q, patches %v", r.out, crPatches(c))
	}
}

func TestEnableStorageClusterDryRunAndOutput(t *testing.T) {
	c := newCluster(t, allCRDs, storageCluster(t))
	r := runCR(t, c, "enable", "stc/px", "-n", "portworx", "--role-arn", roleARN, "--dry-run=client", "-o", "yaml")
	wantCode(t, r, ExitOK)
	if len(crPatches(c)) != 0 {
		t.Fatalf("--dry-run=client wrote: %v", crPatches(c))
	}
	if !strings.HasPrefix(r.errOut, "storagecluster.core.libopenstorage.org/px configured (spec.workloadIdentity.credentials[cloudProvider=aws]) (dry run)\n") {
		t.Fatalf("stderr = %q", r.errOut)
	}
	printed := unstructuredFrom(t, r.out)
	if printed.GetKind() != "StorageCluster" || credentials(t, printed) != "["+azureItem+","+awsItem+"]" || printed.Object["status"] == nil {
		t.Fatalf("-o yaml printed:\n%s", r.out)
	}
	if got := credentials(t, getCR(t, c, stcGVR, "portworx", "px")); got != "["+azureItem+"]" {
		t.Fatalf("stored credentials changed: %s", got)
	}

	r = runCR(t, c, "enable", "stc/px", "-n", "portworx", "--role-arn", roleARN, "--dry-run=server", "-o", "name")
	wantCode(t, r, ExitOK)
	ps := crPatches(c)
	if len(ps) != 1 || len(ps[0].PatchOptions.DryRun) != 1 || ps[0].PatchOptions.DryRun[0] != metav1.DryRunAll {
		t.Fatalf("patches = %+v", ps)
	}
	if r.out != "storagecluster.core.libopenstorage.org/px\n" || !strings.Contains(r.errOut, "(server dry run)") {
		t.Fatalf("stdout = %q, stderr = %q", r.out, r.errOut)
	}
}

// TestEnableStorageClusterConflict: another writer adds an item between our read and our
// write; the resourceVersion precondition makes the write fail, and the retry keeps the item.
func TestEnableStorageClusterConflict(t *testing.T) {
	c := newCluster(t, allCRDs, storageCluster(t))
	conflicts := 0
	c.dyn.PrependReactor("patch", "storageclusters", func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			return false, nil, nil
		}
		conflicts++
		// The tracker, not the client: the client's lock is held while a reactor runs.
		got, err := c.dyn.Tracker().Get(stcGVR, "portworx", "px")
		if err != nil {
			t.Fatal(err)
		}
		obj := got.(*unstructured.Unstructured)
		l, _, _ := unstructured.NestedSlice(obj.Object, "spec", "workloadIdentity", "credentials")
		l = append(l, map[string]any{"cloudProvider": "gcp", "key": "iam.gke.io/gcp-service-account", "value": "px@p.iam.gserviceaccount.com"})
		_ = unstructured.SetNestedSlice(obj.Object, l, "spec", "workloadIdentity", "credentials")
		if err := c.dyn.Tracker().Update(stcGVR, obj, "portworx"); err != nil {
			t.Error(err)
		}
		return true, nil, apierrors.NewConflict(stcGVR.GroupResource(), "px", nil)
	})
	r := runCR(t, c, "enable", "stc/px", "-n", "portworx", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if conflicts != 1 || len(crPatches(c)) != 2 {
		t.Fatalf("conflicts %d, patches %d: want one refused patch and one retried", conflicts, len(crPatches(c)))
	}
	got := credentials(t, getCR(t, c, stcGVR, "portworx", "px"))
	want := "[" + azureItem + `,{"cloudProvider":"gcp","key":"iam.gke.io/gcp-service-account","value":"px@p.iam.gserviceaccount.com"},` + awsItem + "]"
	if got != want {
		t.Fatalf("credentials = %s\nwant          %s", got, want)
	}
}

func TestCustomTargetErrors(t *testing.T) {
	v1alpha1 := schema.GroupVersionResource{Group: "core.libopenstorage.org", Version: "v1alpha1", Resource: "storageclusters"}
	tests := []struct {
		name    string
		served  map[schema.GroupVersionResource]string
		args    []string
		wantErr string
	}{
		{name: "no CRD", served: map[schema.GroupVersionResource]string{drcGVR: "DeploymentRuntimeConfig"},
			args:    []string{"enable", "stc/px", "-n", "portworx", "--role-arn", roleARN},
			wantErr: "error: Portworx is not installed in this cluster: no CustomResourceDefinition storageclusters.core.libopenstorage.org serves core.libopenstorage.org/v1 StorageCluster; install Portworx first, or check the kubeconfig's context\n"},
		{name: "another version", served: map[schema.GroupVersionResource]string{v1alpha1: "StorageCluster"},
			args:    []string{"disable", "stc/px", "-n", "portworx"},
			wantErr: "(the cluster serves core.libopenstorage.org in version v1alpha1 only: add an entry for that version to a targets file, --targets)"},
		{name: "no Crossplane", served: map[schema.GroupVersionResource]string{stcGVR: "StorageCluster"},
			args:    []string{"enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN},
			wantErr: "Crossplane is not installed in this cluster: no CustomResourceDefinition deploymentruntimeconfigs.pkg.crossplane.io serves pkg.crossplane.io/v1beta1 DeploymentRuntimeConfig"},
		{name: "no object", served: allCRDs,
			args:    []string{"enable", "stc/other", "-n", "portworx", "--role-arn", roleARN},
			wantErr: `error: storagecluster.core.libopenstorage.org "other" not found in namespace "portworx"`},
		{name: "no namespace", served: allCRDs,
			args:    []string{"enable", "stc/px", "-n", "nowhere", "--role-arn", roleARN},
			wantErr: `error: namespace "nowhere" not found`},
		{name: "no cluster-scoped object", served: allCRDs,
			args:    []string{"enable", "deploymentruntimeconfig/missing", "--role-arn", roleARN},
			wantErr: `error: deploymentruntimeconfig.pkg.crossplane.io "missing" not found`},
		{name: "audience on a list item", served: allCRDs,
			args:    []string{"enable", "stc/px", "-n", "portworx", "--role-arn", roleARN, "--audience", "other"},
			wantErr: "error: storagecluster.core.libopenstorage.org/px: StorageCluster takes only the role ARN (spec.workloadIdentity.credentials): --audience cannot be set on it"},
		{name: "create", served: allCRDs,
			args:    []string{"enable", "stc/px", "-n", "portworx", "--role-arn", roleARN, "--create"},
			wantErr: "error: --create creates service accounts, and storagecluster.core.libopenstorage.org/px is a custom resource"},
		{name: "wait", served: allCRDs,
			args:    []string{"enable", "stc/px", "-n", "portworx", "--role-arn", roleARN, "--wait"},
			wantErr: "error: --wait waits for the workloads this command restarts, and storagecluster.core.libopenstorage.org/px is restarted by its operator"},
		{name: "unknown kind lists the custom kinds", served: allCRDs,
			args:    []string{"enable", "storagepool/px", "--role-arn", roleARN},
			wantErr: "expected one of serviceaccount (sa), deployment (deploy), statefulset (sts), daemonset (ds), storagecluster (stc), deploymentruntimeconfig"},
		{name: "a shape the edit does not fit", served: allCRDs,
			args:    []string{"enable", "stc/bad", "-n", "portworx", "--role-arn", roleARN},
			wantErr: "error: cannot set the role in storagecluster.core.libopenstorage.org/bad: spec.workloadIdentity.credentials is an object, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := unstructuredFrom(t, "apiVersion: core.libopenstorage.org/v1\nkind: StorageCluster\nmetadata: {name: bad, namespace: portworx}\nspec: {workloadIdentity: {credentials: {aws: x}}}\n")
			c := newCluster(t, tt.served, storageCluster(t), bad)
			r := runCR(t, c, tt.args...)
			wantCode(t, r, ExitUsage)
			if !strings.Contains(r.errOut, tt.wantErr) {
				t.Fatalf("stderr = %q\nwant it to contain %q", r.errOut, tt.wantErr)
			}
			for _, a := range c.dyn.Actions() {
				if a.GetVerb() != "get" && a.GetVerb() != "list" {
					t.Fatalf("wrote although refused: %v", a)
				}
			}
		})
	}
}

func deploymentRuntimeConfig(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	return unstructuredFrom(t, `apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata: {name: aws}
spec:
  deploymentTemplate:
    spec:
      selector: {}
      template:
        spec:
          containers: [{name: package-runtime, args: [--debug]}]
  serviceAccountTemplate:
    metadata:
      name: provider-aws
      annotations: {example.com/owner: platform}
`)
}

func provider(t *testing.T, name, runtimeConfig string) *unstructured.Unstructured {
	t.Helper()
	ref := ""
	if runtimeConfig != "" {
		ref = ", runtimeConfigRef: {name: " + runtimeConfig + "}"
	}
	return unstructuredFrom(t, "apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: "+name+"}\nspec: {package: xpkg.upbound.io/upbound/"+name+":v1"+ref+"}\n")
}

func TestEnableDeploymentRuntimeConfig(t *testing.T) {
	c := newCluster(t, allCRDs, deploymentRuntimeConfig(t),
		provider(t, "provider-aws-s3", "aws"), provider(t, "provider-aws-iam", "aws"), provider(t, "provider-helm", ""), provider(t, "provider-k8s", "other"))
	r := runCR(t, c, "enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN, "--token-expiration", "3600")
	wantCode(t, r, ExitOK)
	wantOut := `deploymentruntimeconfig.pkg.crossplane.io/aws annotated (role-arn, token-expiration)
  provider.pkg.crossplane.io/provider-aws-iam uses it: Crossplane updates the provider's service account and rolls its deployment
  provider.pkg.crossplane.io/provider-aws-s3 uses it: Crossplane updates the provider's service account and rolls its deployment
Next, for deploymentruntimeconfig.pkg.crossplane.io/aws:
`
	if !strings.HasPrefix(r.out, wantOut) {
		t.Fatalf("stdout = %q\nwant prefix %q", r.out, wantOut)
	}
	ps := crPatches(c)
	wantPatch := `{"spec":{"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"` + roleARN + `","eks.amazonaws.com/token-expiration":"3600"}}}}}`
	if len(ps) != 1 || string(ps[0].GetPatch()) != wantPatch || ps[0].GetNamespace() != "" {
		t.Fatalf("patches = %v", ps)
	}
	got := getCR(t, c, drcGVR, "", "aws")
	ann, _, _ := unstructured.NestedStringMap(got.Object, "spec", "serviceAccountTemplate", "metadata", "annotations")
	if len(ann) != 3 || ann["example.com/owner"] != "platform" || ann[identity.AnnotationRoleARN] != roleARN {
		t.Fatalf("annotations = %v", ann)
	}
	if name, _, _ := unstructured.NestedString(got.Object, "spec", "serviceAccountTemplate", "metadata", "name"); name != "provider-aws" {
		t.Fatal("the template's name changed")
	}

	r = runCR(t, c, "enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN, "--token-expiration", "3600")
	if r.out != "deploymentruntimeconfig.pkg.crossplane.io/aws unchanged\n" || len(crPatches(c)) != 0 {
		t.Fatalf("second run: stdout = %q, patches %v", r.out, crPatches(c))
	}
	// A rerun naming only the role keeps the expiration; --reset clears it.
	r = runCR(t, c, "enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN)
	if r.out != "deploymentruntimeconfig.pkg.crossplane.io/aws unchanged\n" || len(crPatches(c)) != 0 {
		t.Fatalf("rerun naming only the role: stdout = %q, patches %v", r.out, crPatches(c))
	}
	r = runCR(t, c, "enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN, "--reset", "--dry-run=client")
	if !strings.HasPrefix(r.out, "deploymentruntimeconfig.pkg.crossplane.io/aws annotated (token-expiration-)") {
		t.Fatalf("--reset: stdout = %q", r.out)
	}

	r = runCR(t, c, "disable", "deploymentruntimeconfig/aws")
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.out, "deploymentruntimeconfig.pkg.crossplane.io/aws identity removed (role-arn, token-expiration)\n") {
		t.Fatalf("stdout = %q", r.out)
	}
	ann, _, _ = unstructured.NestedStringMap(getCR(t, c, drcGVR, "", "aws").Object, "spec", "serviceAccountTemplate", "metadata", "annotations")
	if len(ann) != 1 || ann["example.com/owner"] != "platform" {
		t.Fatalf("annotations after disable = %v", ann)
	}
}

func TestEnableDeploymentRuntimeConfigDefaultAndNoProviders(t *testing.T) {
	def := deploymentRuntimeConfig(t)
	def.SetName("default")
	c := newCluster(t, allCRDs, def, provider(t, "provider-helm", ""), provider(t, "provider-aws-s3", "aws"))
	r := runCR(t, c, "enable", "deploymentruntimeconfigs/default", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, "  provider.pkg.crossplane.io/provider-helm uses it:") || strings.Contains(r.out, "provider-aws-s3") {
		t.Fatalf("a provider without runtimeConfigRef uses the config named default; stdout = %q", r.out)
	}

	c = newCluster(t, map[schema.GroupVersionResource]string{drcGVR: "DeploymentRuntimeConfig"}, deploymentRuntimeConfig(t))
	r = runCR(t, c, "enable", "deploymentruntimeconfig/aws", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, "  nothing uses it yet: no provider.pkg.crossplane.io (spec.runtimeConfigRef.name) names it\n") {
		t.Fatalf("stdout = %q", r.out)
	}
}

// TestMixedTargets: a service account and a custom resource in one run; every read comes
// before the first write, so a missing service account leaves the custom resource alone.
func TestMixedTargets(t *testing.T) {
	c := newCluster(t, allCRDs, storageCluster(t))
	if _, err := c.client.CoreV1().ServiceAccounts("portworx").Create(context.Background(), kt.ServiceAccount("portworx", "app", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runCR(t, c, "enable", "stc/px", "missing", "-n", "portworx", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitUsage)
	if len(crPatches(c)) != 0 {
		t.Fatal("the custom resource was written before the missing service account was found")
	}
	r = runCR(t, c, "enable", "stc/px", "app", "-n", "portworx", "--role-arn", roleARN, "--restart=never", "-o", "name")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/app\nstoragecluster.core.libopenstorage.org/px\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	if !strings.Contains(r.errOut, "serviceaccount/app annotated (role-arn)\n") || !strings.Contains(r.errOut, "storagecluster.core.libopenstorage.org/px configured") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

const widgetKind = `kinds:
  - name: widget
    product: Widgets
    group: widgets.example.com
    version: v1alpha1
    kind: Widget
    resource: widgets
    scope: Cluster
    role:
      annotations:
        path: spec.serviceAccount.annotations
    next:
      enable: restart the widget controller for ${NAME}
`

func TestTargetsFile(t *testing.T) {
	widgetGVR := schema.GroupVersionResource{Group: "widgets.example.com", Version: "v1alpha1", Resource: "widgets"}
	widget := unstructuredFrom(t, "apiVersion: widgets.example.com/v1alpha1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n")
	c := newCluster(t, map[schema.GroupVersionResource]string{widgetGVR: "Widget"}, widget)

	file := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(file, []byte(widgetKind), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCR(t, c, "enable", "widget/w", "--role-arn", roleARN, "--targets", file)
	wantCode(t, r, ExitOK)
	if r.out != "widget.widgets.example.com/w annotated (role-arn)\nNext, for widget.widgets.example.com/w:\n  restart the widget controller for w\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	if got := getCR(t, c, widgetGVR, "", "w"); got.Object["spec"].(map[string]any)["size"] != int64(3) {
		t.Fatalf("spec = %v", got.Object["spec"])
	}

	// Without the file the kind is unknown.
	r = runCR(t, c, "disable", "widget/w")
	wantCode(t, r, ExitUsage)
	if !strings.Contains(r.errOut, `unknown kind "widget"`) {
		t.Fatalf("stderr = %q", r.errOut)
	}

	// The default file under the user's config directory.
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "kubectl-wi"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "kubectl-wi", "targets.yaml"), []byte(widgetKind), 0o600); err != nil {
		t.Fatal(err)
	}
	withDeps(t, func(d *deps) {
		d.newCustom = func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error) {
			return &annotate.CustomClients{Discovery: c.client.Discovery(), Dynamic: c.dyn}, nil
		}
	})
	t.Setenv("XDG_CONFIG_HOME", cfg)
	r = runWI(t, c.client, "disable", "widget/w")
	wantCode(t, r, ExitOK)
	if r.out != "widget.widgets.example.com/w identity removed (role-arn)\n" {
		t.Fatalf("stdout = %q", r.out)
	}

	// A malformed file: exit 2, naming the file and the line, before any call.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(widgetKind, "scope: Cluster", "scope: Global", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.client.ClearActions()
	r = runCR(t, c, "enable", "app", "--role-arn", roleARN, "--targets", bad)
	wantCode(t, r, ExitUsage)
	if r.errOut != "error: targets file "+bad+": line 8: kinds[0] (widget): scope \"Global\" is not Namespaced or Cluster\n" || len(c.client.Actions()) != 0 {
		t.Fatalf("stderr = %q, calls %v", r.errOut, c.client.Actions())
	}
	r = runCR(t, c, "enable", "app", "--role-arn", roleARN, "--targets", filepath.Join(t.TempDir(), "none.yaml"))
	wantCode(t, r, ExitUsage)
	if !strings.Contains(r.errOut, "none.yaml: cannot read it: no such file or directory") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

func TestHelmWarnings(t *testing.T) {
	tests := []struct {
		name        string
		sa          string
		labels      map[string]string
		annotations map[string]string
		args        []string
		want        string
	}{
		{
			name:   "Upbound Spaces mxp-controller",
			sa:     "mxp-controller",
			labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			want: "Warning: serviceaccount/mxp-controller is Upbound Spaces' mxp-controller, the backup and restore controller of each control plane (recognised by its name mxp-controller); " +
				"the next upgrade drops annotations its values do not set. Set them in the Spaces install's values (shared by every control plane of the Space), e.g. helm upgrade spaces -n upbound-system --reuse-values ... or up space upgrade ...:\n" +
				`  --set controlPlanes.mxpController.serviceAccount.annotations."eks\.amazonaws\.com/role-arn"=` + roleARN + "\n",
		},
		{
			name: "Spaces with a token expiration: numbers stay strings",
			sa:   "mxp-controller",
			args: []string{"--token-expiration", "3600", "--sts-regional-endpoints"},
			want: `  --set controlPlanes.mxpController.serviceAccount.annotations."eks\.amazonaws\.com/role-arn"=` + roleARN +
				` --set-string controlPlanes.mxpController.serviceAccount.annotations."eks\.amazonaws\.com/sts-regional-endpoints"=true` +
				` --set-string controlPlanes.mxpController.serviceAccount.annotations."eks\.amazonaws\.com/token-expiration"=3600` + "\n",
		},
		{
			name:        "Helm by annotation only",
			sa:          "external-dns",
			annotations: map[string]string{"meta.helm.sh/release-name": "dns"},
			want:        "Warning: serviceaccount/external-dns is managed by Helm release dns; the next helm upgrade drops annotations the chart does not set.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa := kt.ServiceAccount("shop", tt.sa, tt.annotations)
			for k, v := range tt.labels {
				sa.Labels[k] = v
			}
			c := newCluster(t, nil)
			if _, err := c.client.CoreV1().ServiceAccounts("shop").Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r := runCR(t, c, append([]string{"enable", tt.sa, "-n", "shop", "--role-arn", roleARN, "--restart=never"}, tt.args...)...)
			wantCode(t, r, ExitOK)
			if !strings.Contains(r.errOut, tt.want) {
				t.Fatalf("stderr = %q\nwant it to contain %q", r.errOut, tt.want)
			}
		})
	}

	sa := kt.ServiceAccount("shop", "mxp-controller", map[string]string{identity.AnnotationRoleARN: roleARN})
	r := runCR(t, &cluster{client: fake.NewClientset(sa), dyn: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())}, "disable", "mxp-controller", "-n", "shop", "--restart=never")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.errOut, "remove the eks.amazonaws.com/ annotations from controlPlanes.mxpController.serviceAccount.annotations in the Spaces install's values") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

func setCredentials(obj *unstructured.Unstructured, items []any) error {
	return unstructured.SetNestedSlice(obj.Object, items, "spec", "workloadIdentity", "credentials")
}

func setAnnotation(obj *unstructured.Unstructured, key, value string) error {
	return unstructured.SetNestedField(obj.Object, value, "spec", "serviceAccountTemplate", "metadata", "annotations", key)
}

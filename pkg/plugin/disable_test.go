package plugin

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

func TestDisableRemovesAnnotationsAndRestartsInjected(t *testing.T) {
	cfg := identity.Config{RoleARN: roleARN, Audience: "custom"}
	web := kt.Deployment("shop", "web", "app")
	clean := kt.Deployment("shop", "clean", "app")
	sa := kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "custom"})
	client := fake.NewClientset(sa, web, clean, kt.Injected(web, "web-1", "", cfg), kt.PodOf(clean, "clean-1", ""))

	r := runWI(t, client, "disable", "app", "-n", "shop")
	wantCode(t, r, ExitOK)
	want := "serviceaccount/app identity removed (role-arn, audience)\n" +
		"deployment.apps/clean unchanged: 1 live pod already carries no injected identity\n" +
		"deployment.apps/web restarted: pod web-1 still carries the injected role " + roleARN + "\n"
	if r.out != want {
		t.Fatalf("stdout =\n%s\nwant\n%s", r.out, want)
	}
	ps := patches(client, "serviceaccounts")
	if len(ps) != 1 || ps[0].GetPatchType() != types.MergePatchType ||
		string(ps[0].GetPatch()) != `{"metadata":{"annotations":{"eks.amazonaws.com/audience":null,"eks.amazonaws.com/role-arn":null}}}` {
		t.Fatalf("patches = %+v", ps)
	}
	if ps := patches(client, "deployments"); len(ps) != 1 || ps[0].GetName() != "web" {
		t.Fatalf("deployment patches = %+v", ps)
	}
	got := getSA(t, client, "shop", "app")
	if !reflect.DeepEqual(got.Annotations, map[string]string{"keep.example.com/note": "untouched"}) || got.Labels["team"] != "payments" {
		t.Fatalf("annotations = %v, labels = %v", got.Annotations, got.Labels)
	}
}

func TestDisableIsIdempotent(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	r := runWI(t, client, "disable", "app", "-n", "shop")
	wantCode(t, r, ExitOK)
	if r.calls().Writes() != 0 {
		t.Fatalf("calls = %v", r.calls())
	}
	if r.out != "serviceaccount/app unchanged\ndeployment.apps/web unchanged: 1 live pod already carries no injected identity\n" {
		t.Fatalf("stdout = %q", r.out)
	}
}

func TestDisableDryRunAndSelector(t *testing.T) {
	annotated := map[string]string{identity.AnnotationRoleARN: roleARN}
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.ServiceAccount("a", "one", annotated), kt.ServiceAccount("b", "two", annotated), kt.ServiceAccount("b", "three", nil))
	}
	r := runWI(t, objs(), "disable", "-l", "team=payments", "-A", "--dry-run=server", "--restart=never")
	wantCode(t, r, ExitOK)
	ps := patches(r.client, "serviceaccounts")
	if len(ps) != 2 {
		t.Fatalf("patches = %+v", ps)
	}
	for _, p := range ps {
		if !reflect.DeepEqual(p.GetPatchOptions().DryRun, []string{metav1.DryRunAll}) {
			t.Fatalf("patch options %+v", p.GetPatchOptions())
		}
	}
	want := "serviceaccount/one -n a identity removed (role-arn) (server dry run)\n" +
		"serviceaccount/three -n b unchanged\n" +
		"serviceaccount/two -n b identity removed (role-arn) (server dry run)\n"
	if r.out != want {
		t.Fatalf("stdout =\n%s\nwant\n%s", r.out, want)
	}

	r = runWI(t, objs(), "disable", "-l", "team=payments", "-A", "--dry-run=client", "-o", "name")
	wantCode(t, r, ExitOK)
	if r.calls().Writes() != 0 {
		t.Fatalf("client dry run calls = %v", r.calls())
	}
	if r.out != "serviceaccount/one\nserviceaccount/three\nserviceaccount/two\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	if !strings.Contains(r.errOut, "serviceaccount/one -n a identity removed (role-arn) (dry run)") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

func TestDisableHelmWarning(t *testing.T) {
	sa := kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN, "meta.helm.sh/release-name": "shop"})
	sa.Labels["app.kubernetes.io/managed-by"] = "Helm"
	r := runWI(t, fake.NewClientset(sa), "disable", "app", "-n", "shop", "--restart=never")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.errOut, "Warning: serviceaccount/app is managed by Helm release shop; remove the eks.amazonaws.com/ annotations from the chart's values too") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

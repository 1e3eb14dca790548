package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

const roleARN = kt.RoleARN

// result is what one run of `kubectl wi ...` left behind.
type result struct {
	code        int
	out, errOut string
	client      *fake.Clientset
}

// calls tallies the API calls the run made.
func (r result) calls() kt.Counts { return kt.Count(r.client.Actions()) }

// testAssociated, when set, tells runWI's webhook which accounts have a Pod Identity
// association: their dry-run pods get the container credentials.
var testAssociated func(namespace, name string) bool

// testDeps are the fakes a test adds to the deps runWI builds (withDeps).
var testDeps []func(*deps)

// withDeps makes the runs of the rest of the test change their deps with f, after the fake
// client and the fast timings.
func withDeps(t *testing.T, f func(*deps)) {
	t.Helper()
	old := testDeps
	testDeps = append(append([]func(*deps){}, old...), f)
	t.Cleanup(func() { testDeps = old })
}

// runWI runs `kubectl wi args...` through Main against client, as the binary would.
// The client's dry-run pod creates are admitted as by a webhook whose cache is up to date.
func runWI(t *testing.T, client *fake.Clientset, args ...string) result {
	t.Helper()
	return runWILagging(t, client, 0, args...)
}

// runWILagging is runWI with a webhook whose cache lags: the first lag dry-run pod creates of
// each account come back unmutated.
func runWILagging(t *testing.T, client *fake.Clientset, lag int, args ...string) result {
	t.Helper()
	return runWIContext(t, context.Background(), client, lag, args...)
}

// runWIContext is runWILagging under ctx, which a test may cancel as Ctrl-C would.
func runWIContext(t *testing.T, ctx context.Context, client *fake.Clientset, lag int, args ...string) result { //nolint:revive // t first, as thelper wants of a test helper
	t.Helper()
	return runWIIn(t, ctx, client, lag, nil, args...)
}

// runWIIn is runWIContext reading stdin from in (nil: empty), as a terminal UI reads keys.
func runWIIn(t *testing.T, ctx context.Context, client *fake.Clientset, lag int, in io.Reader, args ...string) result { //nolint:revive // t first, as thelper wants of a test helper
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig")) // never a real cluster
	kt.WebhookWithAssociations(client, lag, testAssociated)
	d := defaultDeps()
	d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
	d.env = environment{} // not the developer's AWS_REGION or KUBECTL_WI_* defaults
	withoutAWS(&d)
	d.rolloutPoll = time.Millisecond
	d.admissionTimeout, d.admissionPoll = 300*time.Millisecond, time.Millisecond
	d.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, f := range testDeps {
		f(&d)
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	if in != nil {
		streams.In = in
	}
	code := run(ctx, streams, args, d)
	return result{code: code, out: out.String(), errOut: errOut.String(), client: client}
}

// rerun runs again against the same cluster, with the recorded calls cleared.
func rerun(t *testing.T, r result, args ...string) result {
	t.Helper()
	r.client.ClearActions()
	return runWI(t, r.client, args...)
}

func getSA(t *testing.T, c *fake.Clientset, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func patches(c *fake.Clientset, resource string) []clienttesting.PatchActionImpl {
	var out []clienttesting.PatchActionImpl
	for _, a := range c.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok && p.GetResource().Resource == resource {
			out = append(out, p)
		}
	}
	return out
}

func forbiddenErr(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("RBAC: access denied"))
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out, r.errOut)
	}
}

func TestEnableAnnotatesOnlyIdentityAnnotations(t *testing.T) {
	sa := kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationAudience: "old-aud"})
	r := runWI(t, fake.NewClientset(sa), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=never", "--reset")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/app annotated (role-arn, audience-)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	if c := r.calls(); c["get serviceaccounts"] != 1 || c.Writes() != 1 || len(r.client.Actions()) != 2 {
		t.Fatalf("calls = %v, want one GET and one PATCH", c)
	}
	ps := patches(r.client, "serviceaccounts")
	if ps[0].GetPatchType() != types.MergePatchType {
		t.Fatalf("patch type %s", ps[0].GetPatchType())
	}
	wantPatch := `{"metadata":{"annotations":{"eks.amazonaws.com/audience":null,"eks.amazonaws.com/role-arn":"` + roleARN + `"}}}`
	if string(ps[0].GetPatch()) != wantPatch {
		t.Fatalf("patch = %s\nwant    %s", ps[0].GetPatch(), wantPatch)
	}
	got := getSA(t, r.client, "shop", "app")
	want := map[string]string{identity.AnnotationRoleARN: roleARN, "keep.example.com/note": "untouched"}
	if !reflect.DeepEqual(got.Annotations, want) || got.Labels["team"] != "payments" {
		t.Fatalf("annotations = %v, labels = %v", got.Annotations, got.Labels)
	}
}

func TestEnableAllOptions(t *testing.T) {
	r := runWI(t, fake.NewClientset(kt.ServiceAccount("shop", "app", nil)), "enable", "sa/app", "-n", "shop", "--role-arn", roleARN,
		"--audience", "custom", "--token-expiration", "3600", "--sts-regional-endpoints", "--restart=never")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/app annotated (role-arn, audience, sts-regional-endpoints, token-expiration)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	got := getSA(t, r.client, "shop", "app").Annotations
	cfg, ok := identity.FromAnnotations(got)
	if !ok || cfg != (identity.Config{RoleARN: roleARN, Audience: "custom", AudienceSet: true, TokenExpiration: 3600, STSRegional: true}) {
		t.Fatalf("annotations = %v", got)
	}
}

func TestEnableIsIdempotent(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	first := runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, first, ExitOK)
	if first.calls().Writes() != 2 {
		t.Fatalf("first run calls = %v", first.calls())
	}
	// The rollout replaced the pod: the new one carries the injection.
	if err := client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "shop", "web-1"); err != nil {
		t.Fatal(err)
	}
	if err := client.Tracker().Add(kt.Injected(web, "web-2", "", identity.Config{RoleARN: roleARN})); err != nil {
		t.Fatal(err)
	}

	second := rerun(t, first, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, second, ExitOK)
	if n := second.calls().Writes(); n != 0 {
		t.Fatalf("second run made %d writes: %v", n, second.calls())
	}
	want := "serviceaccount/app unchanged\ndeployment.apps/web unchanged: 1 live pod already carries the identity\n"
	if second.out != want {
		t.Fatalf("stdout = %q, want %q", second.out, want)
	}
}

func TestEnableExplicitDefaultsAreUnchanged(t *testing.T) {
	sa := kt.ServiceAccount("shop", "app", map[string]string{
		identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: identity.DefaultAudience, identity.AnnotationTokenExpiration: "86400",
	})
	r := runWI(t, fake.NewClientset(sa), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	if r.calls().Writes() != 0 || r.out != "serviceaccount/app unchanged\n" {
		t.Fatalf("calls = %v, stdout = %q", r.calls(), r.out)
	}
}

func TestEnableDryRun(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	}

	r := runWI(t, objs(), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--dry-run=server")
	wantCode(t, r, ExitOK)
	for _, resource := range []string{"serviceaccounts", "deployments"} {
		ps := patches(r.client, resource)
		if len(ps) != 1 || !reflect.DeepEqual(ps[0].GetPatchOptions().DryRun, []string{metav1.DryRunAll}) {
			t.Fatalf("%s patches = %+v", resource, ps)
		}
	}
	want := "serviceaccount/app annotated (role-arn=" + roleARN + ") (server dry run)\n" +
		"deployment.apps/web restarted (server dry run): pod web-1 lacks the injection (created before the annotation, or the webhook did not mutate it)\n"
	if r.out != want {
		t.Fatalf("stdout =\n%s\nwant\n%s", r.out, want)
	}

	r = runWI(t, objs(), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--dry-run=client", "-o", "yaml")
	wantCode(t, r, ExitOK)
	if n := r.calls().Writes(); n != 0 {
		t.Fatalf("client dry run made %d writes", n)
	}
	if !strings.Contains(r.errOut, "serviceaccount/app annotated (role-arn="+roleARN+") (dry run)") ||
		!strings.Contains(r.errOut, "deployment.apps/web restarted (dry run)") {
		t.Fatalf("stderr = %q", r.errOut)
	}
	var sa corev1.ServiceAccount
	if err := yaml.UnmarshalStrict([]byte(r.out), &sa); err != nil {
		t.Fatalf("stdout is not a service account: %v\n%s", err, r.out)
	}
	if sa.Kind != "ServiceAccount" || sa.APIVersion != "v1" || sa.Annotations[identity.AnnotationRoleARN] != roleARN || sa.Annotations["keep.example.com/note"] != "untouched" {
		t.Fatalf("printed %+v", sa)
	}
	if got := getSA(t, r.client, "shop", "app"); got.Annotations[identity.AnnotationRoleARN] != "" {
		t.Fatal("client dry run changed the stored service account")
	}
}

func TestEnableOutputFormats(t *testing.T) {
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.ServiceAccount("a", "one", nil), kt.ServiceAccount("b", "two", nil), kt.ServiceAccount("b", "other", nil))
	}
	for _, o := range []string{"json", "yaml"} {
		r := runWI(t, objs(), "enable", "-l", "team=payments", "-A", "--role-arn", roleARN, "--restart=never", "-o", o)
		wantCode(t, r, ExitOK)
		var list corev1.List
		var err error
		if o == "json" {
			err = json.Unmarshal([]byte(r.out), &list)
		} else {
			err = yaml.Unmarshal([]byte(r.out), &list)
		}
		if err != nil || list.Kind != "List" || len(list.Items) != 3 {
			t.Fatalf("-o %s: %v\n%s", o, err, r.out)
		}
		if !strings.Contains(r.errOut, "serviceaccount/one -n a annotated (role-arn)") {
			t.Fatalf("-o %s: stderr = %q", o, r.errOut)
		}
		if strings.Contains(r.out, "managedFields") {
			t.Fatalf("-o %s prints managedFields", o)
		}
	}
	r := runWI(t, objs(), "enable", "one", "-n", "a", "--role-arn", roleARN, "--restart=never", "-o", "name")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/one\n" {
		t.Fatalf("-o name: stdout = %q", r.out)
	}
	r = runWI(t, objs(), "enable", "one", "-n", "a", "--role-arn", roleARN, "--restart=never", "-o", "json")
	var sa corev1.ServiceAccount
	if err := json.Unmarshal([]byte(r.out), &sa); err != nil || sa.Kind != "ServiceAccount" {
		t.Fatalf("-o json of one target: %v\n%s", err, r.out)
	}
}

func TestEnableRestartAuto(t *testing.T) {
	cfg := identity.Config{RoleARN: roleARN}
	stale := kt.Deployment("shop", "web", "app")
	current := kt.Deployment("shop", "api", "app")
	paused := kt.Deployment("shop", "paused", "app")
	paused.Spec.Paused = true
	db := kt.StatefulSet("shop", "db", "app")
	agent := kt.DaemonSet("shop", "agent", "app")
	job := kt.Job("shop", "migrate", "app", "")
	unrelated := kt.Deployment("shop", "unrelated", "other")
	client := fake.NewClientset(
		kt.ServiceAccount("shop", "app", nil), kt.ServiceAccount("shop", "other", nil),
		stale, current, paused, db, agent, job, unrelated,
		kt.PodOf(stale, "web-1", ""), kt.Injected(current, "api-1", "", cfg), kt.PodOf(paused, "paused-1", ""),
		kt.Injected(db, "db-0", "", identity.Config{RoleARN: kt.OtherRoleARN}), kt.Injected(agent, "agent-1", "", cfg),
		kt.PodOf(job, "migrate-1", ""), kt.PodOf("shop", "debug", "app"), kt.PodOf(unrelated, "unrelated-1", ""),
	)
	r := runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	want := strings.Join([]string{
		"serviceaccount/app annotated (role-arn)",
		"deployment.apps/api unchanged: 1 live pod already carries the identity",
		"deployment.apps/paused needs a manual restart: kubectl rollout resume deployment/paused -n shop && kubectl rollout restart deployment/paused -n shop  # pod paused-1 lacks the injection (created before the annotation, or the webhook did not mutate it); the deployment is paused: a restart waits for the resume",
		"deployment.apps/web restarted: pod web-1 lacks the injection (created before the annotation, or the webhook did not mutate it)",
		"statefulset.apps/db restarted: pod db-0 has role " + kt.OtherRoleARN + ", the account asks " + roleARN,
		"daemonset.apps/agent unchanged: 1 live pod already carries the identity",
		"job.batch/migrate needs a manual restart: kubectl delete job migrate -n shop  # pod migrate-1 lacks the injection (created before the annotation, or the webhook did not mutate it); create the job again from its manifest",
		"pod/debug needs a manual restart: kubectl delete pod debug -n shop  # pod debug lacks the injection (created before the annotation, or the webhook did not mutate it); create the pod again from its manifest: pods are never mutated once running",
	}, "\n") + "\n"
	if r.out != want {
		t.Fatalf("stdout =\n%s\nwant\n%s", r.out, want)
	}
	if ps := patches(r.client, "deployments"); len(ps) != 1 || ps[0].GetName() != "web" || ps[0].GetPatchType() != types.StrategicMergePatchType ||
		string(ps[0].GetPatch()) != `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-02T03:04:05Z"}}}}}` {
		t.Fatalf("deployment patches = %+v", ps)
	}
	if ps := patches(r.client, "statefulsets"); len(ps) != 1 || ps[0].GetName() != "db" {
		t.Fatalf("statefulset patches = %+v", ps)
	}
	if ps := patches(r.client, "daemonsets"); len(ps) != 0 {
		t.Fatalf("daemonset patches = %+v", ps)
	}
	// Only the restartedAt annotation changed on the restarted Deployment.
	d, err := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Annotations = nil
	if !reflect.DeepEqual(d.Spec, stale.Spec) {
		t.Fatalf("the restart changed more than restartedAt: %+v", d.Spec)
	}
}

func TestEnableRestartAlwaysAndNever(t *testing.T) {
	cfg := identity.Config{RoleARN: roleARN}
	web := kt.Deployment("shop", "web", "app")
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN}), web, kt.Injected(web, "web-1", "", cfg))
	}
	r := runWI(t, objs(), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=always")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/app unchanged\ndeployment.apps/web restarted: --restart=always\n" || len(patches(r.client, "deployments")) != 1 {
		t.Fatalf("always: stdout = %q, calls = %v", r.out, r.calls())
	}

	r = runWI(t, fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", "")),
		"enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	if c := r.calls(); c["list pods"] != 0 || c["list deployments"] != 0 || c.Writes() != 1 {
		t.Fatalf("never: calls = %v", c)
	}
	if !strings.Contains(r.errOut, "Warning: --restart=never") {
		t.Fatalf("never: stderr = %q", r.errOut)
	}
}

func TestEnableUnchangedAccountRestartsStalePodsOnce(t *testing.T) {
	// An earlier --restart=never left stale pods: a plain enable restarts them, and a run
	// during that rollout does not restart again.
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN}), web, kt.PodOf(web, "web-1", ""))
	r := runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if len(patches(client, "deployments")) != 1 || len(patches(client, "serviceaccounts")) != 0 {
		t.Fatalf("calls = %v", r.calls())
	}
	rolling := web.DeepCopy()
	rolling.Generation = 2
	if err := client.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), rolling, "shop"); err != nil {
		t.Fatal(err)
	}
	r = rerun(t, r, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if r.calls().Writes() != 0 || !strings.Contains(r.out, "deployment.apps/web not restarted: rollout in progress (waiting for deployment spec update to be observed)") {
		t.Fatalf("calls = %v, stdout = %q", r.calls(), r.out)
	}
}

func TestEnableWorkloadTarget(t *testing.T) {
	web := kt.Deployment("shop", "web", "web-sa")
	db := kt.StatefulSet("shop", "db", "db-sa")
	client := fake.NewClientset(kt.ServiceAccount("shop", "web-sa", nil), kt.ServiceAccount("shop", "db-sa", nil), web, db)
	r := runWI(t, client, "enable", "deploy/web", "sts/db", "-n", "shop", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/web-sa annotated (role-arn)\nserviceaccount/db-sa annotated (role-arn)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
}

func TestEnableCountsDoNotGrowWithN(t *testing.T) {
	build := func(n int) *fake.Clientset {
		var objs []runtime.Object
		for i := range n {
			ns := fmt.Sprintf("team-%d", i%4)
			name := fmt.Sprintf("sa-%03d", i)
			d := kt.Deployment(ns, "web-"+name, name)
			objs = append(objs, kt.ServiceAccount(ns, name, nil), d, kt.PodOf(d, "web-"+name+"-1", ""))
		}
		objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled", Namespace: "team-0"}})
		return fake.NewClientset(objs...)
	}
	for _, n := range []int{5, 40} {
		r := runWI(t, build(n), "enable", "-l", "team=payments", "-A", "--role-arn", roleARN)
		wantCode(t, r, ExitOK)
		want := kt.Counts{
			"list serviceaccounts": 1, "list pods": 1, "list deployments": 1, "list statefulsets": 1, "list daemonsets": 1,
			"patch serviceaccounts": n, "patch deployments": n,
			// The webhook admits the new identity of the account written last, so of every
			// earlier one too, before the restarts (restart.AwaitAdmissionWritten).
			"dry-run create pods": 1,
		}
		if !reflect.DeepEqual(r.calls(), want) {
			t.Fatalf("n=%d: calls = %v, want %v", n, r.calls(), want)
		}
		for _, a := range r.client.Actions() {
			if l, ok := a.(clienttesting.ListActionImpl); ok && l.GetNamespace() != "" {
				t.Fatalf("n=%d: LIST %s in namespace %q, want one LIST for every namespace", n, l.GetResource().Resource, l.GetNamespace())
			}
		}
		// The second run: the same LISTs, no write. The pods are still stale in the fake, so
		// this also checks that a rollout in progress is not restarted twice.
		for i := range n {
			ns := fmt.Sprintf("team-%d", i%4)
			d, err := r.client.AppsV1().Deployments(ns).Get(context.Background(), fmt.Sprintf("web-sa-%03d", i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d.Generation = 2
			if err := r.client.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), d, ns); err != nil {
				t.Fatal(err)
			}
		}
		r = rerun(t, r, "enable", "-l", "team=payments", "-A", "--role-arn", roleARN)
		wantCode(t, r, ExitOK)
		want = kt.Counts{"list serviceaccounts": 1, "list pods": 1, "list deployments": 1, "list statefulsets": 1, "list daemonsets": 1}
		if !reflect.DeepEqual(r.calls(), want) {
			t.Fatalf("n=%d second run: calls = %v, want %v", n, r.calls(), want)
		}
	}
}

func TestEnableForbidden(t *testing.T) {
	client := fake.NewClientset(kt.ServiceAccount("x", "app", nil))
	client.PrependReactor("patch", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbiddenErr("serviceaccounts")
	})
	r := runWI(t, client, "enable", "app", "-n", "x", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitEnvironment)
	want := `error: cannot patch serviceaccounts in namespace "x": forbidden; ask for RBAC verb "patch" on "serviceaccounts"` + "\n"
	if r.errOut != want {
		t.Fatalf("stderr = %q\nwant     %q", r.errOut, want)
	}

	// A forbidden read comes before any write.
	client = fake.NewClientset(kt.ServiceAccount("x", "app", nil))
	client.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbiddenErr("pods")
	})
	r = runWI(t, client, "enable", "app", "-n", "x", "--role-arn", roleARN)
	wantCode(t, r, ExitEnvironment)
	if !strings.Contains(r.errOut, `cannot list pods in namespace "x": forbidden; ask for RBAC verb "list" on "pods"`) || r.calls().Writes() != 0 {
		t.Fatalf("stderr = %q, calls = %v", r.errOut, r.calls())
	}
}

// The apiserver gone halfway through: enable stops at the first failed write, says how far it
// got, and a rerun writes only the rest.
func TestEnableStoppedHalfway(t *testing.T) {
	client := fake.NewClientset(kt.ServiceAccount("x", "a", nil), kt.ServiceAccount("x", "b", nil), kt.ServiceAccount("x", "c", nil))
	down := false
	client.PrependReactor("patch", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.(clienttesting.PatchAction).GetName() == "b" && !down {
			down = true
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	r := runWI(t, client, "enable", "a", "b", "c", "-n", "x", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitEnvironment)
	if !strings.Contains(r.errOut, "connection refused (stopped after 1 of 3 service accounts; rerun the same command to finish") ||
		r.out != "serviceaccount/a annotated (role-arn)\n" {
		t.Fatalf("stdout %q\nstderr %q", r.out, r.errOut)
	}
	r = runWI(t, client, "enable", "a", "b", "c", "-n", "x", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	if want := "serviceaccount/a unchanged\nserviceaccount/b annotated (role-arn)\nserviceaccount/c annotated (role-arn)\n"; r.out != want {
		t.Fatalf("rerun stdout %q, want %q", r.out, want)
	}
}

func TestEnableRetriesConflict(t *testing.T) {
	client := fake.NewClientset(kt.ServiceAccount("x", "app", nil))
	conflicts := 0
	client.PrependReactor("patch", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicts < 2 {
			conflicts++
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "serviceaccounts"}, "app", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	r := runWI(t, client, "enable", "app", "-n", "x", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	if n := r.calls()["patch serviceaccounts"]; n != 3 {
		t.Fatalf("%d patches, want 3", n)
	}
	if getSA(t, client, "x", "app").Annotations[identity.AnnotationRoleARN] != roleARN {
		t.Fatal("not annotated after the retries")
	}
}

func TestEnableRestartFailureIsReported(t *testing.T) {
	web := kt.Deployment("x", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("x", "app", nil), web, kt.PodOf(web, "web-1", ""))
	client.PrependReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbiddenErr("deployments")
	})
	r := runWI(t, client, "enable", "app", "-n", "x", "--role-arn", roleARN)
	wantCode(t, r, ExitEnvironment)
	if !strings.Contains(r.errOut, `cannot patch deployments.apps in namespace "x": forbidden; ask for RBAC verb "patch" on "deployments.apps"`) {
		t.Fatalf("stderr = %q", r.errOut)
	}
	if r.out != "serviceaccount/app annotated (role-arn)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
}

func TestEnableMissingObjects(t *testing.T) {
	tests := []struct {
		name    string
		objs    []runtime.Object
		args    []string
		wantErr string
	}{
		{name: "service account", objs: []runtime.Object{kt.Namespace("shop")}, args: []string{"enable", "app", "-n", "shop", "--role-arn", roleARN},
			wantErr: `error: serviceaccount "app" not found in namespace "shop"; create it with --create, or kubectl create serviceaccount app -n shop`},
		{name: "namespace", args: []string{"enable", "app", "-n", "nope", "--role-arn", roleARN},
			wantErr: `error: namespace "nope" not found: check -n or the kubeconfig's context`},
		{name: "namespace with create", args: []string{"enable", "app", "-n", "nope", "--create", "--role-arn", roleARN},
			wantErr: `error: namespace "nope" not found`},
		{name: "deployment", objs: []runtime.Object{kt.Namespace("shop")}, args: []string{"enable", "deploy/web", "-n", "shop", "--role-arn", roleARN},
			wantErr: `error: deployment.apps "web" not found in namespace "shop"`},
		{name: "service account of a deployment", objs: []runtime.Object{kt.Namespace("shop"), kt.Deployment("shop", "web", "web-sa")},
			args:    []string{"enable", "deploy/web", "-n", "shop", "--role-arn", roleARN},
			wantErr: `error: serviceaccount "web-sa" not found in namespace "shop" (the service account of deployment.apps/web); create it first: kubectl wi enable serviceaccount/web-sa -n shop --create --role-arn ARN`},
		{name: "selector matches nothing", objs: []runtime.Object{kt.ServiceAccount("shop", "app", nil)}, args: []string{"enable", "-l", "team=none", "-A", "--role-arn", roleARN},
			wantErr: `error: no service accounts match -l team=none in any namespace`},
		{name: "disable", objs: []runtime.Object{kt.Namespace("shop")}, args: []string{"disable", "app", "-n", "shop"},
			wantErr: `error: serviceaccount "app" not found in namespace "shop"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWI(t, fake.NewClientset(tt.objs...), tt.args...)
			wantCode(t, r, ExitUsage)
			if !strings.HasPrefix(r.errOut, tt.wantErr) {
				t.Fatalf("stderr = %q\nwant     %q", r.errOut, tt.wantErr)
			}
			if n := r.calls().Writes(); n != 0 {
				t.Fatalf("%d writes", n)
			}
		})
	}
}

func TestEnableCreate(t *testing.T) {
	r := runWI(t, fake.NewClientset(kt.Namespace("shop")), "enable", "app", "-n", "shop", "--create", "--role-arn", roleARN, "--audience", "a")
	wantCode(t, r, ExitOK)
	if r.out != "serviceaccount/app created (role-arn, audience)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
	sa := getSA(t, r.client, "shop", "app")
	if !reflect.DeepEqual(sa.Annotations, map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "a"}) {
		t.Fatalf("annotations = %v", sa.Annotations)
	}

	r = runWI(t, fake.NewClientset(kt.Namespace("shop")), "enable", "app", "-n", "shop", "--create", "--role-arn", roleARN, "--dry-run=server", "--restart=never")
	wantCode(t, r, ExitOK)
	var creates int
	for _, a := range r.client.Actions() {
		if c, ok := a.(clienttesting.CreateActionImpl); ok {
			creates++
			if !reflect.DeepEqual(c.GetCreateOptions().DryRun, []string{metav1.DryRunAll}) {
				t.Fatalf("create options %+v", c.GetCreateOptions())
			}
		}
	}
	if creates != 1 || r.out != "serviceaccount/app created (role-arn="+roleARN+") (server dry run)\n" {
		t.Fatalf("creates = %d, stdout = %q", creates, r.out)
	}
}

func TestEnableHelmWarning(t *testing.T) {
	sa := kt.ServiceAccount("shop", "app", map[string]string{"meta.helm.sh/release-name": "shop"})
	sa.Labels["app.kubernetes.io/managed-by"] = "Helm"
	r := runWI(t, fake.NewClientset(sa), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=never")
	wantCode(t, r, ExitOK)
	want := `--set-string 'serviceAccount.annotations.eks\.amazonaws\.com/role-arn=` + roleARN + `'`
	if !strings.Contains(r.errOut, "Warning: serviceaccount/app is managed by Helm release shop") || !strings.Contains(r.errOut, want) {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

// TestEnableAwaitsAdmission: the webhook's cache lags behind the annotation, so enable restarts
// only once a dry-run pod of the account comes back with the new identity; a webhook that never
// catches up within the bound gets a warning, and the restart goes ahead.
func TestEnableAwaitsAdmission(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	r := runWILagging(t, client, 3, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	var order []string
	for _, a := range r.client.Actions() {
		if a.GetVerb() == "patch" || a.GetVerb() == "create" {
			order = append(order, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	want := []string{"patch serviceaccounts", "create pods", "create pods", "create pods", "create pods", "patch deployments"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("calls = %v\nwant    %v (the restart after the first dry run that comes back injected)", order, want)
	}
	if strings.Contains(r.errOut, "Warning") {
		t.Fatalf("stderr = %q", r.errOut)
	}

	client = fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	r = runWILagging(t, client, 1<<30, "enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.errOut, `Warning: serviceaccount/app in namespace "shop": the webhook did not admit pods with the new identity in time: a pod created now would be admitted stale: pod lacks the injection`) ||
		!strings.Contains(r.errOut, "(waited up to 300ms); restarting anyway") {
		t.Fatalf("stderr = %q", r.errOut)
	}
	if n := r.calls()["patch deployments"]; n != 1 {
		t.Fatalf("restarts = %d, want 1 after the bounded wait", n)
	}
}

// rollsOut makes client's restart of deployment web replace pod web-1 with web-2, which
// carries the identity or, when the webhook is down, does not.
func rollsOut(t *testing.T, client *fake.Clientset, web *appsv1.Deployment, webhookUp bool) {
	t.Helper()
	client.PrependReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		pods := corev1.SchemeGroupVersion.WithResource("pods")
		_ = client.Tracker().Delete(pods, "shop", "web-1")
		next := kt.PodOf(web, "web-2", "")
		if webhookUp {
			next = kt.Injected(web, "web-2", "", identity.Config{RoleARN: roleARN})
		}
		if err := client.Tracker().Create(pods, next, "shop"); err != nil {
			t.Error(err)
		}
		return false, nil, nil
	})
}

func TestEnableWait(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	rollsOut(t, client, web, true)
	r := runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN, "--wait", "--timeout", "10s")
	wantCode(t, r, ExitOK)
	if !strings.HasSuffix(r.out, "deployment.apps/web successfully rolled out\n") {
		t.Fatalf("stdout = %q", r.out)
	}

	// The webhook admits the new pod unmutated: --wait names it, exit 1.
	client = fake.NewClientset(kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	rollsOut(t, client, web, false)
	r = runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN, "--wait", "--timeout", "10s")
	wantCode(t, r, ExitCheckFailed)
	if !strings.Contains(r.errOut, `deployment.apps/web in namespace "shop": new pod web-2 did not get the identity: pod web-2 lacks the injection`) {
		t.Fatalf("stderr = %q", r.errOut)
	}

	stuck := kt.Deployment("shop", "stuck", "app")
	stuck.Status.AvailableReplicas = 0
	client = fake.NewClientset(kt.ServiceAccount("shop", "app", nil), stuck, kt.PodOf(stuck, "stuck-1", ""))
	r = runWI(t, client, "enable", "app", "-n", "shop", "--role-arn", roleARN, "--wait", "--timeout", "30ms")
	wantCode(t, r, ExitEnvironment)
	if !strings.Contains(r.errOut, "Waiting for deployment.apps/stuck rollout to finish: 0 of 1 updated replicas are available...") ||
		!strings.Contains(r.errOut, "error: timed out waiting for the rollout of deployment.apps/stuck") {
		t.Fatalf("stderr = %q", r.errOut)
	}
}

// TestBadInputs runs bad command lines through Main: each exits 2 and makes no API call.
func TestBadInputs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no role", []string{"enable", "app"}, "--role-arn is required"},
		{"role not an ARN", []string{"enable", "app", "--role-arn", "app"}, "is not an ARN"},
		{"role bad partition", []string{"enable", "app", "--role-arn", "arn:aws-mars:iam::123456789012:role/app"}, `unknown partition "aws-mars"`},
		{"role bad account", []string{"enable", "app", "--role-arn", "arn:aws:iam::12345678901:role/app"}, "expected 12 digits"},
		{"role is a user", []string{"enable", "app", "--role-arn", "arn:aws:iam::123456789012:user/app"}, "not a role"},
		{"role bad name", []string{"enable", "app", "--role-arn", "arn:aws:iam::123456789012:role/a b"}, "role name"},
		{"expiration too low", []string{"enable", "app", "--role-arn", roleARN, "--token-expiration", "599"}, "the webhook would silently raise it to 600"},
		{"expiration too high", []string{"enable", "app", "--role-arn", roleARN, "--token-expiration", "86401"}, "tokens valid for"},
		{"expiration zero", []string{"enable", "app", "--role-arn", roleARN, "--token-expiration", "0"}, "below 600"},
		{"expiration not a number", []string{"enable", "app", "--role-arn", roleARN, "--token-expiration", "1h"}, "invalid argument"},
		{"empty audience", []string{"enable", "app", "--role-arn", roleARN, "--audience", ""}, "--audience is empty"},
		{"restart mode", []string{"enable", "app", "--role-arn", roleARN, "--restart", "sometimes"}, "--restart must be one of auto, always, never"},
		{"dry-run mode", []string{"enable", "app", "--role-arn", roleARN, "--dry-run=maybe"}, `--dry-run "maybe" is not supported: must be none, client or server`},
		{"output format", []string{"enable", "app", "--role-arn", roleARN, "-o", "table"}, `--output "table" is not supported: allowed formats are yaml, json, name`},
		{"unknown kind", []string{"enable", "pod/app", "--role-arn", roleARN}, `unknown kind "pod"`},
		{"too many slashes", []string{"enable", "deployment/a/b", "--role-arn", roleARN}, "more than one slash"},
		{"empty name", []string{"enable", "sa/", "--role-arn", roleARN}, "has no name"},
		{"invalid name", []string{"enable", "App_1", "--role-arn", roleARN}, "not a valid object name"},
		{"no target", []string{"enable", "--role-arn", roleARN}, "a TARGET or -l SELECTOR is required"},
		{"-A without selector", []string{"enable", "app", "-A", "--role-arn", roleARN}, "-A/--all-namespaces needs -l SELECTOR"},
		{"selector and names", []string{"enable", "app", "-l", "a=b", "--role-arn", roleARN}, "not both"},
		{"bad selector", []string{"enable", "-l", "a==b=", "--role-arn", roleARN}, "invalid -l selector"},
		{"timeout without wait", []string{"enable", "app", "--role-arn", roleARN, "--timeout", "1m"}, "--timeout only applies with --wait"},
		{"negative timeout", []string{"enable", "app", "--role-arn", roleARN, "--wait", "--timeout", "-1s"}, "--timeout must be positive"},
		{"wait with never", []string{"enable", "app", "--role-arn", roleARN, "--wait", "--restart=never"}, "--restart=never makes none"},
		{"wait with dry run", []string{"enable", "app", "--role-arn", roleARN, "--wait", "--dry-run=server"}, "--wait cannot be combined with --dry-run"},
		{"unknown flag", []string{"enable", "app", "--role", roleARN}, "unknown flag: --role"},
		{"disable with a role", []string{"disable", "app", "--role-arn", roleARN}, "unknown flag: --role-arn"},
		{"disable unknown kind", []string{"disable", "service/app"}, `unknown kind "service"`},
		{"disable no target", []string{"disable"}, "a TARGET or -l SELECTOR is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(kt.ServiceAccount("default", "app", nil))
			r := runWI(t, client, tt.args...)
			wantCode(t, r, ExitUsage)
			if !strings.Contains(r.errOut, tt.wantErr) || !strings.HasPrefix(r.errOut, "error: ") {
				t.Fatalf("stderr = %q, want it to contain %q", r.errOut, tt.wantErr)
			}
			if !strings.Contains(r.errOut, "--help' for usage") {
				t.Fatalf("stderr = %q, want the usage hint", r.errOut)
			}
			if n := len(client.Actions()); n != 0 {
				t.Fatalf("bad input made %d API calls: %v", n, r.calls())
			}
		})
	}
}

// TestNewCmdEnableFlags checks the flags and their defaults apart from Run.
func TestNewCmdEnableFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	for _, cmd := range []*cobra.Command{NewCmdEnable(genericclioptions.NewConfigFlags(true), streams, defaultDeps()), NewCmdDisable(genericclioptions.NewConfigFlags(true), streams, defaultDeps())} {
		for _, short := range []string{"l", "A", "o"} {
			if cmd.Flags().ShorthandLookup(short) == nil {
				t.Errorf("%s: no -%s", cmd.Name(), short)
			}
		}
		for name, def := range map[string]string{"restart": "auto", "dry-run": "none", "timeout": "5m0s", "wait": "false"} {
			if f := cmd.Flags().Lookup(name); f == nil || f.DefValue != def {
				t.Errorf("%s: --%s default %v, want %q", cmd.Name(), name, f, def)
			}
		}
	}
	enable := NewCmdEnable(genericclioptions.NewConfigFlags(true), streams, defaultDeps())
	for _, name := range []string{"role-arn", "audience", "token-expiration", "sts-regional-endpoints", "create"} {
		if enable.Flags().Lookup(name) == nil {
			t.Errorf("enable: no --%s", name)
		}
	}
}

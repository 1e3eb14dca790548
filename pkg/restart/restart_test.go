package restart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

var want = identity.Config{RoleARN: kt.RoleARN}

// summarize renders actions as "type kind/name" lines for comparison.
func summarize(actions []Action) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = fmt.Sprintf("%s %s", a.Type, a.Ref())
	}
	return out
}

func TestPlan(t *testing.T) {
	web := kt.Deployment("ns", "web", "app")
	cur := kt.Deployment("ns", "cur", "app")
	paused := kt.Deployment("ns", "paused", "app")
	paused.Spec.Paused = true
	empty := kt.Deployment("ns", "empty", "app")
	other := kt.Deployment("ns", "other", "other-sa")
	db := kt.StatefulSet("ns", "db", "app")
	ondelete := kt.StatefulSet("ns", "legacy", "app")
	ondelete.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
	agent := kt.DaemonSet("ns", "agent", "app")
	job := kt.Job("ns", "migrate", "app", "")
	cronRun := kt.Job("ns", "nightly-2900", "app", "nightly")
	orphanRS := kt.PodOf("ns", "orphan-x", "app")
	orphanRS.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "orphan-abc", Controller: ptr.To(true)}}
	custom := kt.PodOf("ns", "widget-0", "app")
	custom.OwnerReferences = []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", Controller: ptr.To(true)}}
	custom2 := custom.DeepCopy()
	custom2.Name = "widget-1"
	done := kt.PodOf("ns", "done", "app")
	done.Status.Phase = corev1.PodSucceeded
	terminating := kt.PodOf(cur, "cur-old", "")
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	// The pod annotation asks 7200 s; the token was issued for the default: stale. (An audience
	// the account does not set comes from the webhook's flag and never makes a pod stale.)
	agentPod := kt.Injected(agent, "agent-x", "", identity.Config{RoleARN: kt.RoleARN, Audience: "from-flag"})
	agentPod.Annotations = map[string]string{identity.AnnotationTokenExpiration: "7200"}
	skipped := kt.PodOf(db, "db-1", "")
	skipped.Labels[identity.LabelSkipPodIdentityWebhook] = "true"

	snap := &Snapshot{
		Pods: []corev1.Pod{
			*kt.PodOf(web, "web-1", ""),
			*kt.Injected(web, "web-2", "", want),
			*kt.Injected(cur, "cur-1", "", want),
			*terminating,
			*kt.PodOf(paused, "paused-1", ""),
			*kt.PodOf(other, "other-1", ""),
			*kt.Injected(db, "db-0", "", identity.Config{RoleARN: kt.OtherRoleARN}),
			*skipped,
			*kt.PodOf(ondelete, "legacy-0", ""),
			*agentPod,
			*kt.PodOf(job, "migrate-abc", ""),
			*kt.PodOf(cronRun, "nightly-2900-x", ""),
			*kt.PodOf("ns", "debug", "app"),
			*kt.PodOf("other-ns", "elsewhere", "app"),
			*orphanRS, *custom, *custom2, *done,
		},
		Deployments:  []appsv1.Deployment{*web, *cur, *paused, *empty, *other},
		StatefulSets: []appsv1.StatefulSet{*db, *ondelete},
		DaemonSets:   []appsv1.DaemonSet{*agent},
		Jobs:         []batchv1.Job{*job, *cronRun},
	}
	accounts := []Account{{Namespace: "ns", Name: "app", Want: &want, Changed: true}}

	got := summarize(Plan(snap, Auto, accounts))
	wantLines := []string{
		"no-pods deployment.apps/empty",
		"current deployment.apps/cur",
		"manual deployment.apps/paused",
		"restart deployment.apps/web",
		"restart statefulset.apps/db",
		"manual statefulset.apps/legacy",
		"restart daemonset.apps/agent",
		"manual job.batch/migrate",
		"manual cronjob.batch/nightly",
		"manual pod/debug",
		"manual replicaset.apps/orphan-abc",
		"manual widget.example.com/w",
	}
	if strings.Join(got, "\n") != strings.Join(sortedByPlan(wantLines), "\n") {
		t.Fatalf("Plan(auto) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(sortedByPlan(wantLines), "\n"))
	}

	byRef := map[string]Action{}
	for _, a := range Plan(snap, Auto, accounts) {
		byRef[a.Ref()] = a
	}
	checks := []struct{ ref, reason, command string }{
		{"deployment.apps/web", "pod web-1 lacks the injection", ""},
		{"deployment.apps/cur", "1 live pod already carries the identity", ""},
		{"deployment.apps/paused", "the deployment is paused: a restart waits for the resume", "kubectl rollout resume deployment/paused -n ns && kubectl rollout restart deployment/paused -n ns"},
		{"statefulset.apps/db", "pod db-0 has role " + kt.OtherRoleARN, ""},
		{"statefulset.apps/legacy", "updateStrategy OnDelete", "kubectl delete pod legacy-0 -n ns"},
		{"daemonset.apps/agent", "pod agent-x token expiration is 86400s, the annotations ask 7200s", ""},
		{"job.batch/migrate", "pod migrate-abc lacks", "kubectl delete job migrate -n ns"},
		{"cronjob.batch/nightly", "pod nightly-2900-x lacks the injection (created before the annotation, or the webhook did not mutate it); or wait for its next run", "kubectl delete job nightly-2900 -n ns && kubectl create job --from=cronjob/nightly nightly-2900-rerun -n ns"},
		{"pod/debug", "pod debug lacks", "kubectl delete pod debug -n ns"},
		{"replicaset.apps/orphan-abc", "replicaset.apps/orphan-abc creates them again", "kubectl delete pod orphan-x -n ns"},
		{"widget.example.com/w", "pod widget-0 lacks the injection (created before the annotation, or the webhook did not mutate it); 1 more stale pod; widget.example.com/w creates them again", "kubectl delete pod widget-0 widget-1 -n ns"},
	}
	for _, c := range checks {
		a, ok := byRef[c.ref]
		if !ok {
			t.Fatalf("no action for %s", c.ref)
		}
		if !strings.Contains(a.Reason, c.reason) || !strings.Contains(a.Command, c.command) {
			t.Errorf("%s: reason %q, command %q; want %q, %q", c.ref, a.Reason, a.Command, c.reason, c.command)
		}
	}

	always := summarize(Plan(snap, Always, accounts))
	for _, w := range []string{"restart deployment.apps/cur", "restart deployment.apps/empty", "restart deployment.apps/web", "manual deployment.apps/paused", "manual statefulset.apps/legacy"} {
		if !contains(always, w) {
			t.Errorf("Plan(always) lacks %q: %v", w, always)
		}
	}
	if got := Plan(snap, Never, accounts); got != nil {
		t.Errorf("Plan(never) = %v", got)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// sortedByPlan orders expected lines as Plan does: by kind order, then name.
func sortedByPlan(lines []string) []string {
	order := map[string]int{"deployment.apps": 0, "statefulset.apps": 1, "daemonset.apps": 2, "job.batch": 3, "cronjob.batch": 4, "pod": 5}
	kindOf := func(l string) (int, string) {
		ref := strings.SplitN(l, " ", 2)[1]
		kind, name, _ := strings.Cut(ref, "/")
		o, ok := order[kind]
		if !ok {
			o = 6
		}
		return o, name
	}
	out := append([]string(nil), lines...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0; j-- {
			oa, na := kindOf(out[j-1])
			ob, nb := kindOf(out[j])
			if oa > ob || oa == ob && na > nb {
				out[j-1], out[j] = out[j], out[j-1]
			}
		}
	}
	return out
}

func TestPlanUnchangedAccountSkipsRolloutInProgress(t *testing.T) {
	rolling := kt.Deployment("ns", "rolling", "app")
	rolling.Generation = 2 // the controller has not seen the restart yet
	settled := kt.Deployment("ns", "settled", "app")
	snap := &Snapshot{
		Pods:        []corev1.Pod{*kt.PodOf(rolling, "rolling-old", ""), *kt.PodOf(settled, "settled-old", "")},
		Deployments: []appsv1.Deployment{*rolling, *settled},
	}
	unchanged := []Account{{Namespace: "ns", Name: "app", Want: &want, Changed: false}}
	got := summarize(Plan(snap, Auto, unchanged))
	if strings.Join(got, ",") != "in-progress deployment.apps/rolling,restart deployment.apps/settled" {
		t.Fatalf("Plan(unchanged) = %v", got)
	}
	changed := []Account{{Namespace: "ns", Name: "app", Want: &want, Changed: true}}
	got = summarize(Plan(snap, Auto, changed))
	if strings.Join(got, ",") != "restart deployment.apps/rolling,restart deployment.apps/settled" {
		t.Fatalf("Plan(changed) = %v", got)
	}
}

func TestPlanDisable(t *testing.T) {
	web := kt.Deployment("ns", "web", "app")
	clean := kt.Deployment("ns", "clean", "app")
	snap := &Snapshot{
		Pods:        []corev1.Pod{*kt.Injected(web, "web-1", "", want), *kt.PodOf(clean, "clean-1", "")},
		Deployments: []appsv1.Deployment{*web, *clean},
	}
	actions := Plan(snap, Auto, []Account{{Namespace: "ns", Name: "app", Want: nil, Changed: true}})
	got := summarize(actions)
	if strings.Join(got, ",") != "current deployment.apps/clean,restart deployment.apps/web" {
		t.Fatalf("Plan(disable) = %v", got)
	}
	if !strings.Contains(actions[1].Reason, "pod web-1 still carries the injected role "+kt.RoleARN) {
		t.Fatalf("reason = %q", actions[1].Reason)
	}
	if !strings.Contains(actions[0].Reason, "carries no injected identity") {
		t.Fatalf("reason = %q", actions[0].Reason)
	}
}

// TestPlanPodIdentity: an account judged by its Pod Identity association restarts the
// workloads whose pods lack the container credentials (IRSA pods among them), keeps those on
// Pod Identity, and, once the association is gone, restarts those that still carry them.
func TestPlanPodIdentity(t *testing.T) {
	irsa := kt.Deployment("ns", "irsa", "app")
	fresh := kt.Deployment("ns", "fresh", "app")
	moved := kt.StatefulSet("ns", "moved", "app")
	snap := &Snapshot{
		Pods: []corev1.Pod{
			*kt.Injected(irsa, "irsa-1", "", want), *kt.PodOf(fresh, "fresh-1", ""),
			*kt.OnPodIdentity(moved, "moved-0", ""),
		},
		Deployments:  []appsv1.Deployment{*irsa, *fresh},
		StatefulSets: []appsv1.StatefulSet{*moved},
	}
	on := Plan(snap, Auto, []Account{{Namespace: "ns", Name: "app", Want: &want, PodIdentity: PodIdentityOn, Changed: true}})
	if got := strings.Join(summarize(on), ","); got != "restart deployment.apps/fresh,restart deployment.apps/irsa,current statefulset.apps/moved" {
		t.Fatalf("Plan(pod identity on) = %s", got)
	}
	if !strings.Contains(on[1].Reason, "pod irsa-1 lacks EKS Pod Identity's container credentials") || !strings.Contains(on[2].Reason, "carries EKS Pod Identity's container credentials") {
		t.Fatalf("reasons: %q, %q", on[1].Reason, on[2].Reason)
	}
	off := Plan(snap, Auto, []Account{{Namespace: "ns", Name: "app", Want: &want, PodIdentity: PodIdentityOff, Changed: true}})
	if got := strings.Join(summarize(off), ","); got != "current deployment.apps/fresh,current deployment.apps/irsa,restart statefulset.apps/moved" {
		t.Fatalf("Plan(pod identity off) = %s", got)
	}
	if !strings.Contains(off[2].Reason, "pod moved-0 still carries EKS Pod Identity's container credentials") {
		t.Fatalf("reason: %q", off[2].Reason)
	}
	// The same pods judged by the annotations alone: the IRSA pod is current.
	irsaOnly := Plan(snap, Auto, []Account{{Namespace: "ns", Name: "app", Want: &want, Changed: true}})
	if got := strings.Join(summarize(irsaOnly), ","); got != "restart deployment.apps/fresh,current deployment.apps/irsa,current statefulset.apps/moved" {
		t.Fatalf("Plan(annotations) = %s", got)
	}
}

// TestAwaitAdmissionPodIdentity: the wait for an association ends once a dry-run pod of the
// account comes back with the container credentials, not before.
func TestAwaitAdmissionPodIdentity(t *testing.T) {
	client := fake.NewClientset(kt.ServiceAccount("ns", "app", map[string]string{identity.AnnotationRoleARN: kt.RoleARN}))
	tries := 0
	kt.WebhookWithAssociations(client, 0, func(_, _ string) bool { tries++; return tries > 2 })
	acc := &Account{Namespace: "ns", Name: "app", Want: &want, PodIdentity: PodIdentityOn, Changed: true}
	if unseen := AwaitAdmission(context.Background(), client, []*Account{acc}, 5*time.Second, time.Millisecond); len(unseen) != 0 {
		t.Fatalf("unseen = %+v", unseen)
	}
	if tries != 3 {
		t.Fatalf("%d dry runs; want 3 (two admitted on IRSA, the third on Pod Identity)", tries)
	}
	never := &Account{Namespace: "ns", Name: "app", Want: &want, PodIdentity: PodIdentityOff, Changed: true}
	kt.WebhookWithAssociations(client, 0, func(_, _ string) bool { return true })
	unseen := AwaitAdmission(context.Background(), client, []*Account{never}, 50*time.Millisecond, time.Millisecond)
	if len(unseen) != 1 || !strings.Contains(unseen[0].Reason, "still carries EKS Pod Identity's container credentials") {
		t.Fatalf("unseen = %+v", unseen)
	}
}

// TestAwaitAdmissionWritten: accounts written one after the other are confirmed by the last
// one's dry runs alone; what the ordering does not cover is checked account by account.
func TestAwaitAdmissionWritten(t *testing.T) {
	dryRuns := func(client *fake.Clientset) map[string]int {
		n := map[string]int{}
		for _, a := range client.Actions() {
			if c, ok := a.(clienttesting.CreateActionImpl); ok && len(c.GetCreateOptions().DryRun) > 0 {
				n[c.GetObject().(*corev1.Pod).Spec.ServiceAccountName]++
			}
		}
		return n
	}
	accounts := func(names ...string) ([]runtime.Object, []*Account) {
		var objs []runtime.Object
		var accs []*Account
		for _, n := range names {
			objs = append(objs, kt.ServiceAccount("ns", n, map[string]string{identity.AnnotationRoleARN: kt.RoleARN}))
			accs = append(accs, &Account{Namespace: "ns", Name: n, Want: &want, Changed: true})
		}
		return objs, accs
	}
	tests := []struct {
		name        string
		lag         int
		podIdentity string // an account judged by its association
		unjudged    string // an account the webhook never injects (its role annotation is gone)
		wantRuns    map[string]int
		wantUnseen  []string
	}{
		{name: "the last account confirms every earlier one", lag: 2, wantRuns: map[string]int{"c": 3}},
		{name: "an account on Pod Identity is checked on its own", lag: 0, podIdentity: "b", wantRuns: map[string]int{"b": 1, "c": 1}},
		{name: "the last account never confirmed: each is checked", lag: 0, unjudged: "c", wantRuns: map[string]int{"a": 1, "b": 1}, wantUnseen: []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, accs := accounts("a", "b", "c")
			client := fake.NewClientset(objs...)
			kt.WebhookWithAssociations(client, tt.lag, func(_, name string) bool { return name == tt.podIdentity })
			for _, a := range accs {
				if a.Name == tt.podIdentity {
					a.PodIdentity = PodIdentityOn
				}
				if a.Name == tt.unjudged {
					sa := kt.ServiceAccount("ns", a.Name, nil)
					if err := client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("serviceaccounts"), sa, "ns"); err != nil {
						t.Fatal(err)
					}
				}
			}
			unseen := AwaitAdmissionWritten(context.Background(), client, accs, 200*time.Millisecond, time.Millisecond)
			var names []string
			for _, u := range unseen {
				names = append(names, u.Account.Name)
			}
			if !slices.Equal(names, tt.wantUnseen) {
				t.Errorf("unseen %v, want %v", names, tt.wantUnseen)
			}
			got := dryRuns(client)
			for name, n := range tt.wantRuns {
				if got[name] != n {
					t.Errorf("%d dry runs of %s, want %d (all: %v)", got[name], name, n, got)
				}
			}
			for name := range got {
				if _, ok := tt.wantRuns[name]; !ok && !slices.Contains(tt.wantUnseen, name) {
					t.Errorf("dry runs of %s, which the last account's confirmation covers (all: %v)", name, got)
				}
			}
		})
	}
}

func TestPlanManyAccountsAcrossNamespaces(t *testing.T) {
	snap := &Snapshot{}
	var accounts []Account
	for i := range 6 {
		ns := fmt.Sprintf("ns-%d", i%3)
		name := fmt.Sprintf("sa-%d", i)
		d := kt.Deployment(ns, "web-"+name, name)
		snap.Deployments = append(snap.Deployments, *d)
		snap.Pods = append(snap.Pods, *kt.PodOf(d, "p-"+name, ""))
		accounts = append(accounts, Account{Namespace: ns, Name: name, Want: &want, Changed: true})
	}
	if Scope(accounts) != "" || Scope(accounts[:1]) != "ns-0" {
		t.Fatalf("Scope = %q, %q", Scope(accounts), Scope(accounts[:1]))
	}
	got := Plan(snap, Auto, accounts)
	if len(got) != 6 {
		t.Fatalf("Plan = %v", summarize(got))
	}
	for i, a := range got {
		if a.Type != Restart || a.Account.Name != accounts[i].Name {
			t.Fatalf("action %d = %s for %s", i, a.Ref(), a.Account.Name)
		}
	}
}

func TestLoadListsOncePerKind(t *testing.T) {
	web := kt.Deployment("ns", "web", "app")
	job := kt.Job("ns", "migrate", "app", "")
	client := fake.NewClientset(web, kt.PodOf(web, "web-1", ""))
	accounts := []Account{{Namespace: "ns", Name: "app", Want: &want}}
	if _, err := Load(context.Background(), client, "ns", accounts); err != nil {
		t.Fatal(err)
	}
	counts := kt.Count(client.Actions())
	wantCounts := kt.Counts{"list pods": 1, "list deployments": 1, "list statefulsets": 1, "list daemonsets": 1}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Fatalf("calls = %v, want %v", counts, wantCounts)
	}
	list := client.Actions()[0].(clienttesting.ListActionImpl)
	if fs := list.GetListOptions().FieldSelector; fs != "status.phase!=Succeeded,status.phase!=Failed,spec.serviceAccountName=app" {
		t.Fatalf("pod field selector = %q", fs)
	}
	if list.GetListOptions().Limit != 500 {
		t.Fatalf("pod LIST limit = %d", list.GetListOptions().Limit)
	}

	// A pod owned by a Job makes Load read the Jobs, once.
	client = fake.NewClientset(job, kt.PodOf(job, "migrate-1", ""))
	snap, err := Load(context.Background(), client, "", append(accounts, Account{Namespace: "ns", Name: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := kt.Count(client.Actions())["list jobs"]; n != 1 || len(snap.Jobs) != 1 {
		t.Fatalf("list jobs = %d, jobs = %d", n, len(snap.Jobs))
	}
	if fs := client.Actions()[0].(clienttesting.ListActionImpl).GetListOptions().FieldSelector; strings.Contains(fs, "serviceAccountName") {
		t.Fatalf("two accounts, but the pod LIST selects one: %q", fs)
	}
}

func TestLoadForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden("deployments")
	})
	_, err := Load(context.Background(), client, "", []Account{{Namespace: "ns", Name: "app"}})
	want := `cannot list deployments.apps at the cluster scope: forbidden; ask for RBAC verb "list" on "deployments.apps"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v", err)
	}
}

func TestDoPatchesOnlyRestartedAt(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, obj := range []runtime.Object{kt.Deployment("ns", "web", "app"), kt.StatefulSet("ns", "db", "app"), kt.DaemonSet("ns", "agent", "app")} {
		client := fake.NewClientset(obj)
		a := &Action{Type: Restart, Namespace: "ns", object: obj}
		a.Name = obj.(metav1.Object).GetName()
		if err := Do(context.Background(), client, a, DefaultRestarter(func() time.Time { return now }), []string{metav1.DryRunAll}); err != nil {
			t.Fatal(err)
		}
		patch := client.Actions()[0].(clienttesting.PatchActionImpl)
		if patch.GetPatchType() != types.StrategicMergePatchType {
			t.Fatalf("patch type %s", patch.GetPatchType())
		}
		if got, want := string(patch.GetPatch()), `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-02T03:04:05Z"}}}}}`; got != want {
			t.Fatalf("patch = %s\nwant    %s", got, want)
		}
		if dr := patch.GetPatchOptions().DryRun; len(dr) != 1 || dr[0] != metav1.DryRunAll {
			t.Fatalf("DryRun = %v", dr)
		}
	}
}

// TestRestarterMatchesKubectl checks that the patch is the one kubectl's own restarter
// produces: plugging polymorphichelpers.ObjectRestarterFn in changes only the timestamp.
func TestRestarterMatchesKubectl(t *testing.T) {
	for _, obj := range []runtime.Object{kt.Deployment("ns", "web", "app"), kt.StatefulSet("ns", "db", "app"), kt.DaemonSet("ns", "agent", "app")} {
		ours, err := restartPatch(obj, DefaultRestarter(time.Now))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := restartPatch(obj, ObjectRestarterFunc(polymorphichelpers.ObjectRestarterFn))
		if err != nil {
			t.Fatal(err)
		}
		if shape(t, ours) != shape(t, theirs) {
			t.Fatalf("%T: ours %s, kubectl's %s", obj, ours, theirs)
		}
	}
	paused := kt.Deployment("ns", "p", "app")
	paused.Spec.Paused = true
	_, errOurs := restartPatch(paused, DefaultRestarter(time.Now))
	_, errTheirs := restartPatch(paused, ObjectRestarterFunc(polymorphichelpers.ObjectRestarterFn))
	if errOurs == nil || errTheirs == nil || errOurs.Error() != errTheirs.Error() {
		t.Fatalf("paused: ours %v, kubectl's %v", errOurs, errTheirs)
	}
}

// shape replaces the timestamp so two patches made a second apart compare equal.
func shape(t *testing.T, patch []byte) string {
	t.Helper()
	var m map[string]map[string]map[string]map[string]map[string]string
	if err := json.Unmarshal(patch, &m); err != nil {
		t.Fatal(err)
	}
	v := m["spec"]["template"]["metadata"]["annotations"][RestartedAtAnnotation]
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		t.Fatalf("restartedAt %q: %v", v, err)
	}
	return strings.Replace(string(patch), v, "T", 1)
}

func TestDefaultRestarterSameSecond(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := kt.Deployment("ns", "web", "app")
	d.Spec.Template.Annotations = map[string]string{RestartedAtAnnotation: now.Format(time.RFC3339)}
	patch, err := restartPatch(d, DefaultRestarter(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(patch), "2026-01-02T03:04:06Z") {
		t.Fatalf("a restart in the same second must move on a second: %s", patch)
	}
}

func TestRolloutStatus(t *testing.T) {
	d := func(mut func(*appsv1.Deployment)) runtime.Object {
		o := kt.Deployment("ns", "web", "app")
		o.Spec.Replicas = ptr.To[int32](3)
		o.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}
		mut(o)
		return o
	}
	s := func(mut func(*appsv1.StatefulSet)) runtime.Object {
		o := kt.StatefulSet("ns", "db", "app")
		o.Spec.Replicas = ptr.To[int32](3)
		o.Status = appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentRevision: "a", UpdateRevision: "a"}
		mut(o)
		return o
	}
	ds := func(mut func(*appsv1.DaemonSet)) runtime.Object {
		o := kt.DaemonSet("ns", "agent", "app")
		mut(o)
		return o
	}
	tests := []struct {
		name    string
		obj     runtime.Object
		done    bool
		msg     string
		wantErr bool
	}{
		{"deployment done", d(func(*appsv1.Deployment) {}), true, "successfully", false},
		{"deployment not observed", d(func(o *appsv1.Deployment) { o.Generation = 2 }), false, "spec update to be observed", false},
		{"deployment updating", d(func(o *appsv1.Deployment) { o.Status.UpdatedReplicas = 1 }), false, "1 out of 3 new replicas", false},
		{"deployment old pending", d(func(o *appsv1.Deployment) { o.Status.Replicas = 4 }), false, "1 old replica is pending", false},
		{"deployment unavailable", d(func(o *appsv1.Deployment) { o.Status.AvailableReplicas = 2 }), false, "2 of 3 updated replicas are available", false},
		{"deployment deadline", d(func(o *appsv1.Deployment) {
			o.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}
		}), false, "", true},
		{"statefulset done", s(func(*appsv1.StatefulSet) {}), true, "successfully", false},
		{"statefulset not ready", s(func(o *appsv1.StatefulSet) { o.Status.ReadyReplicas = 1 }), false, "waiting for 2 pods", false},
		{"statefulset revision", s(func(o *appsv1.StatefulSet) { o.Status.UpdateRevision = "b" }), false, "rolling update to complete", false},
		{"statefulset partition", s(func(o *appsv1.StatefulSet) {
			o.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
			o.Status.UpdatedReplicas = 1
		}), false, "1 out of 2 new pods", false},
		{"daemonset done", ds(func(*appsv1.DaemonSet) {}), true, "successfully", false},
		{"daemonset updating", ds(func(o *appsv1.DaemonSet) { o.Status.DesiredNumberScheduled = 2 }), false, "1 out of 2 new pods", false},
		{"daemonset unavailable", ds(func(o *appsv1.DaemonSet) { o.Status.NumberAvailable = 0 }), false, "0 of 1 updated pods", false},
		{"daemonset on delete", ds(func(o *appsv1.DaemonSet) {
			o.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
			o.Status.NumberAvailable = 0
		}), true, "OnDelete", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, msg, err := rolloutStatus(tt.obj)
			if (err != nil) != tt.wantErr || done != tt.done || !strings.Contains(msg, tt.msg) {
				t.Fatalf("rolloutStatus = %t, %q, %v", done, msg, err)
			}
		})
	}
}

func TestWait(t *testing.T) {
	web := kt.Deployment("ns", "web", "app")
	web.Status.AvailableReplicas = 0
	client := fake.NewClientset(web)
	lists := 0
	client.PrependReactor("list", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		lists++
		d := web.DeepCopy()
		if lists >= 3 {
			d.Status.AvailableReplicas = 1
		}
		return true, &appsv1.DeploymentList{Items: []appsv1.Deployment{*d}}, nil
	})
	a := &Action{Type: Restart, Kind: "deployment.apps", Namespace: "ns", Name: "web", object: web}
	var out, progress bytes.Buffer
	if err := Wait(context.Background(), client, []*Action{a}, time.Millisecond, &out, &progress); err != nil {
		t.Fatal(err)
	}
	if lists != 3 || out.String() != "deployment.apps/web successfully rolled out\n" {
		t.Fatalf("lists = %d, out = %q", lists, out.String())
	}
	if progress.String() != "Waiting for deployment.apps/web rollout to finish: 0 of 1 updated replicas are available...\n" {
		t.Fatalf("progress = %q", progress.String())
	}
	if n := len(client.Actions()); n != 3 {
		t.Fatalf("%d calls, want one LIST per poll", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	stuck := kt.Deployment("ns", "stuck", "app")
	stuck.Status.AvailableReplicas = 0
	client = fake.NewClientset(stuck)
	err := Wait(ctx, client, []*Action{{Type: Restart, Kind: "deployment.apps", Namespace: "ns", Name: "stuck", object: stuck}}, time.Millisecond, &out, &progress)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out waiting for the rollout of deployment.apps/stuck") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"auto", "always", "never"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Fatalf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Fatal("ParseMode(sometimes) accepted")
	}
}

func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("RBAC: access denied"))
}

// TestWaitTimeoutWording: one pending rollout is named alone, several are counted.
func TestWaitTimeoutWording(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	one := map[string]*Action{"a": {Kind: "deployment.apps", Name: "web", Namespace: "ns"}}
	if err := waitTimeout(ctx, one, map[string]string{"a": "1 of 2 updated replicas are available..."}); strings.Contains(err.Error(), "more") {
		t.Errorf("one pending: %v", err)
	}
	two := map[string]*Action{"a": one["a"], "b": {Kind: "statefulset.apps", Name: "db", Namespace: "ns"}}
	if err := waitTimeout(ctx, two, map[string]string{}); !strings.Contains(err.Error(), "deployment.apps/web") || !strings.Contains(err.Error(), " and 1 more;") {
		t.Errorf("two pending: %v", err)
	}
}

// TestWaitTellsRolloutsInTheActionsOrder: rollouts that end in the same poll are told in the
// order of the actions (the plan's), not in a map's; twenty runs of eight make a map's order
// show.
func TestWaitTellsRolloutsInTheActionsOrder(t *testing.T) {
	names := []string{"web", "api", "worker", "db", "cache", "queue", "auth", "search"}
	var objs []runtime.Object
	var actions []*Action
	var want strings.Builder
	for _, n := range names {
		d := kt.Deployment("ns", n, "app")
		objs = append(objs, d)
		actions = append(actions, &Action{Type: Restart, Kind: "deployment.apps", Namespace: "ns", Name: n, object: d})
		fmt.Fprintf(&want, "deployment.apps/%s successfully rolled out\n", n)
	}
	for range 20 {
		var out, progress bytes.Buffer
		if err := Wait(context.Background(), fake.NewClientset(objs...), actions, time.Millisecond, &out, &progress); err != nil {
			t.Fatal(err)
		}
		if out.String() != want.String() {
			t.Fatalf("out:\n%s\nwant:\n%s", out.String(), want.String())
		}
	}
}

package monitorinstall

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

func TestInstallIsIdempotent(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	d := Deps{Client: client}
	c := validConfig()
	first, err := Install(ctx, d, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range first.Applied {
		if a.Action != ActionCreated {
			t.Errorf("first install: %s %s, want created", ObjectName(a.Object), a.Action)
		}
	}
	// Another writer owns an annotation and the replica count's scale (an HPA, kubectl scale):
	// fields install does not own.
	dep, err := client.AppsV1().Deployments(c.Namespace).Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep.Annotations = map[string]string{"team.example.com/owner": "platform"}
	if _, err := client.AppsV1().Deployments(c.Namespace).Update(ctx, dep, metav1.UpdateOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	before, _ := client.AppsV1().Deployments(c.Namespace).Get(ctx, Name, metav1.GetOptions{})
	second, err := Install(ctx, d, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range second.Applied {
		if a.Action != ActionUnchanged {
			t.Errorf("rerun: %s %s, want unchanged", ObjectName(a.Object), a.Action)
		}
	}
	after, _ := client.AppsV1().Deployments(c.Namespace).Get(ctx, Name, metav1.GetOptions{})
	if after.Annotations["team.example.com/owner"] != "platform" || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("rerun changed the Deployment: annotations %v, resourceVersion %s -> %s", after.Annotations, before.ResourceVersion, after.ResourceVersion)
	}
	// A changed flag changes the Deployment alone.
	c.Interval = 5 * time.Minute
	third, err := Install(ctx, d, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range third.Applied {
		want := ActionUnchanged
		if a.Object.GetKind() == "Deployment" {
			want = ActionConfigured
		}
		if a.Action != want {
			t.Errorf("new interval: %s %s, want %s", ObjectName(a.Object), a.Action, want)
		}
	}
	got, _ := client.AppsV1().Deployments(c.Namespace).Get(ctx, Name, metav1.GetOptions{})
	if !strings.Contains(strings.Join(got.Spec.Template.Spec.Containers[0].Args, " "), "--interval=5m0s") {
		t.Errorf("args %q do not carry the new interval", got.Spec.Template.Spec.Containers[0].Args)
	}
	if got.Annotations["team.example.com/owner"] != "platform" {
		t.Errorf("the other writer's annotation is gone: %v", got.Annotations)
	}
}

// A namespace install did not create is neither written nor, later, deleted.
func TestInstallKeepsAnExistingNamespace(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring", Labels: map[string]string{"team": "sre"}}})
	c := validConfig()
	c.Namespace = "monitoring"
	res, err := Install(ctx, Deps{Client: client}, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied[0].Object.GetKind() != "Namespace" || res.Applied[0].Action != ActionKept {
		t.Errorf("namespace: %s %s, want kept", ObjectName(res.Applied[0].Object), res.Applied[0].Action)
	}
	if _, err := Uninstall(ctx, Deps{Client: client}, "monitoring", UninstallOptions{Wait: time.Second, Poll: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ns, err := client.CoreV1().Namespaces().Get(ctx, "monitoring", metav1.GetOptions{})
	if err != nil || ns.Labels[LabelName] != "" {
		t.Errorf("the user's namespace: %v %v, want it kept as it was", ns, err)
	}
}

func TestInstallServerDryRunStoresNothing(t *testing.T) {
	client := fake.NewClientset()
	var patches []metav1.PatchOptions
	client.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patches = append(patches, a.(k8stesting.PatchActionImpl).PatchOptions)
		return false, nil, nil
	})
	if _, err := Install(context.Background(), Deps{Client: client}, validConfig(), Options{DryRunServer: true}); err != nil {
		t.Fatal(err)
	}
	if len(patches) == 0 {
		t.Fatal("no write was sent")
	}
	for _, p := range patches {
		if len(p.DryRun) != 1 || p.DryRun[0] != metav1.DryRunAll || p.FieldManager != FieldManager {
			t.Errorf("patch options %+v: want dryRun All and field manager %s", p, FieldManager)
		}
	}
}

func TestInstallPrometheusRules(t *testing.T) {
	tests := []struct {
		name          string
		served        bool
		wantRulesFile bool
	}{
		{name: "no operator: the rules file", served: false, wantRulesFile: true},
		{name: "the operator's CRD: a PrometheusRule", served: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			disc := client.Discovery().(*fakediscovery.FakeDiscovery)
			if tt.served {
				disc.Resources = []*metav1.APIResourceList{{
					GroupVersion: "monitoring.coreos.com/v1",
					APIResources: []metav1.APIResource{{Name: "prometheusrules", Kind: "PrometheusRule", Namespaced: true}},
				}}
			}
			dyn := newFakeDynamic()
			res, err := Install(context.Background(), Deps{Client: client, Discovery: disc, Dynamic: dyn}, validConfig(), Options{PrometheusRules: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.RulesFile != nil; got != tt.wantRulesFile {
				t.Errorf("rules file printed: %v, want %v", got, tt.wantRulesFile)
			}
			last := res.Applied[len(res.Applied)-1].Object
			if got := last.GetKind() == "PrometheusRule"; got != tt.served {
				t.Errorf("PrometheusRule written: %v, want %v", got, tt.served)
			}
		})
	}
}

func TestUninstall(t *testing.T) {
	ctx := context.Background()
	probe := func(ns, name, manager string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			"app.kubernetes.io/name": "kubectl-wi-probe", "app.kubernetes.io/managed-by": manager,
		}}}
	}
	client := fake.NewClientset(
		probe("shop", "wi-probe-abcde", Name),
		probe("billing", "wi-probe-fghij", Name),
		probe("shop", "wi-probe-users", "kubectl-wi"), // a user's own verify
	)
	c := validConfig()
	c.Namespaces = []string{"shop", "billing"}
	d := Deps{Client: client}
	if _, err := Install(ctx, d, c, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps(c.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: StatusConfigMap}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted, err := Uninstall(ctx, d, c.Namespace, UninstallOptions{Wait: time.Second, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, del := range deleted {
		names = append(names, del.Object+"@"+del.Namespace)
	}
	for _, want := range []string{
		"deployment.apps/kubectl-wi-monitor@kubectl-wi-system", "pod/wi-probe-abcde@shop", "pod/wi-probe-fghij@billing",
		"configmap/kubectl-wi-monitor-status@kubectl-wi-system", "role.rbac.authorization.k8s.io/kubectl-wi-monitor@shop",
		"clusterrole.rbac.authorization.k8s.io/kubectl-wi-monitor@", "namespace/kubectl-wi-system@",
	} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("deleted %q, want %s among them", names, want)
		}
	}
	if _, err := client.CoreV1().Pods("shop").Get(ctx, "wi-probe-users", metav1.GetOptions{}); err != nil {
		t.Errorf("the user's own probe pod was deleted: %v", err)
	}
	for _, check := range []struct {
		what string
		n    func() int
	}{
		{"roles", func() int { l, _ := client.RbacV1().Roles("").List(ctx, metav1.ListOptions{}); return len(l.Items) }},
		{"rolebindings", func() int {
			l, _ := client.RbacV1().RoleBindings("").List(ctx, metav1.ListOptions{})
			return len(l.Items)
		}},
		{"clusterroles", func() int {
			l, _ := client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
			return len(l.Items)
		}},
		{"deployments", func() int {
			l, _ := client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
			return len(l.Items)
		}},
	} {
		if n := check.n(); n != 0 {
			t.Errorf("%d %s left", n, check.what)
		}
	}
	again, err := Uninstall(ctx, d, c.Namespace, UninstallOptions{Wait: time.Second, Poll: time.Millisecond})
	if err != nil || len(again) != 0 {
		t.Errorf("rerun deleted %v (%v), want nothing", again, err)
	}
}

// Uninstall waits for the monitor's pods and fails, naming them, when they stay.
func TestUninstallWaitsForPods(t *testing.T) {
	ctx := context.Background()
	stuck := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: "kubectl-wi-monitor-1", Labels: labels()}}
	client := fake.NewClientset(stuck)
	client.PrependReactor("delete", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &appsv1.Deployment{}, nil // the controller never removes the pod
	})
	_, err := Uninstall(ctx, Deps{Client: client}, DefaultNamespace, UninstallOptions{Wait: 50 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "the monitor's pods are still there") {
		t.Fatalf("Uninstall() = %v, want the monitor's pods still there", err)
	}
}

func TestReadStatus(t *testing.T) {
	status := monitor.Status{Leader: "kubectl-wi-monitor-1", WebhookUp: true, Accounts: []monitor.AccountStatus{{
		Namespace: "shop", ServiceAccount: "cart", Identity: "irsa", FailedChecks: []monitor.Check{{Check: "sts.assume", Fix: "trust it"}},
	}}}
	raw, _ := json.Marshal(status)
	tests := []struct {
		name    string
		objs    []runtime.Object
		want    string
		wantErr string
	}{
		{name: "written", objs: []runtime.Object{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: StatusConfigMap}, Data: map[string]string{monitor.StatusKey: string(raw)}}}, want: "sts.assume"},
		{name: "not installed", wantErr: "no monitor status in namespace kubectl-wi-system"},
		{name: "not JSON", objs: []runtime.Object{&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: StatusConfigMap}, Data: map[string]string{monitor.StatusKey: "{"}}}, wantErr: "is not the monitor's status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadStatus(context.Background(), Deps{Client: fake.NewClientset(tt.objs...)}, DefaultNamespace)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadStatus() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Accounts[0].FailedChecks[0].Check != tt.want {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestPromDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{{30 * time.Minute, "30m"}, {90 * time.Minute, "1h30m"}, {2*time.Hour + 5*time.Second, "2h5s"}, {0, "0s"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := promDuration(tt.in); got != tt.want {
				t.Errorf("promDuration(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

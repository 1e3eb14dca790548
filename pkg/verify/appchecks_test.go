package verify

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// A workload target's run judges the app's own pods, which the probe pod proves nothing about:
// their logs are read, a NetworkPolicy that isolates them from the Pod Identity agent fails
// the run, and an info says what the probe pod leaves unproved. A service account target gets
// none of these, and no STS host is resolved while no NetworkPolicy exists.
func TestRunAppChecks(t *testing.T) {
	web := kt.Deployment("shop", "web", "checkout")
	denyAll := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-egress", Namespace: "shop"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}},
	}
	tests := []struct {
		name       string
		target     checktarget.Target
		policy     bool
		wantPolicy check.Status // "": no NetworkPolicy event
		wantLogs   bool
		wantLookup bool
	}{
		{name: "deployment, no policy", target: checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, wantPolicy: check.StatusPass, wantLogs: true},
		{name: "deployment, egress denied", target: checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, policy: true, wantPolicy: check.StatusFail, wantLogs: true, wantLookup: true},
		{name: "service account", target: checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "checkout"}, policy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{web, kt.OnPodIdentity(web, "web-1", "")}
			if tt.policy {
				objs = append(objs, denyAll)
			}
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, objs...)
			logs, _ := logsFrom(t, "probe-pass.jsonl")
			cfg := testConfig()
			cfg.Target = tt.target
			deps := testDeps(cl, logs)
			looked := false
			deps.Resolve = func(context.Context, string) ([]netip.Addr, error) {
				looked = true
				return []netip.Addr{netip.MustParseAddr("192.0.2.10")}, nil
			}
			rec := &recorder{}
			if _, err := Run(context.Background(), cfg, deps, rec); err != nil {
				t.Fatal(err)
			}
			policy, hasPolicy := rec.first(CheckOutsideNetworkPolicy)
			switch {
			case tt.wantPolicy == "" && hasPolicy:
				t.Errorf("NetworkPolicy event for a %s target: %+v", tt.target.Kind, policy)
			case tt.wantPolicy != "" && (!hasPolicy || policy.Status != tt.wantPolicy):
				t.Errorf("NetworkPolicy event %+v, want %s", policy, tt.wantPolicy)
			case tt.wantPolicy == check.StatusFail && !strings.Contains(policy.Message, "deny-egress"):
				t.Errorf("the failure does not name the policy: %s", policy.Message)
			}
			if _, ok := rec.first(CheckOutsideAppLogs); ok != tt.wantLogs {
				t.Errorf("app log check present %v, want %v", ok, tt.wantLogs)
			}
			if _, ok := rec.first(CheckNotProved); ok != tt.wantLogs {
				t.Errorf("not-proved info present %v, want %v", ok, tt.wantLogs)
			}
			if looked != tt.wantLookup {
				t.Errorf("STS host resolved %v, want %v", looked, tt.wantLookup)
			}
		})
	}
}

// newestPod and containerEnv read the pod that runs the current template, and its literal env.
func TestNewestPodEnv(t *testing.T) {
	web := kt.Deployment("shop", "web", "checkout")
	old, cur := kt.PodOf(web, "web-1", ""), kt.OnPodIdentity(web, "web-2", "")
	old.CreationTimestamp = metav1.Unix(100, 0)
	cur.CreationTimestamp = metav1.Unix(200, 0)
	cur.Spec.Containers[0].Env = append(cur.Spec.Containers[0].Env, corev1.EnvVar{Name: "FROM", ValueFrom: &corev1.EnvVarSource{}})
	got := newestPod([]*corev1.Pod{old, cur})
	if got.Name != "web-2" {
		t.Fatalf("newest = %s", got.Name)
	}
	env := containerEnv(got, "")
	if env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "" || env["FROM"] != "" {
		t.Fatalf("env = %v", env)
	}
}

// first is the first event of the check named name, if any.
func (r *recorder) first(name string) (check.Event, bool) {
	for _, ev := range r.events {
		if ev.Check == name {
			return ev, true
		}
	}
	return check.Event{}, false
}

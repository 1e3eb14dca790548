package inventory

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

const testRole = "arn:aws:iam::111122223333:role/app"

func sa(ns, name string, kv ...string) *corev1.ServiceAccount {
	a := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: a}}
}

func pod(ns, name, account string, injected bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{ServiceAccountName: account, Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if injected {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: identity.EnvRoleARN, Value: testRole}, {Name: identity.EnvTokenFile, Value: identity.TokenFile}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath}}
		p.Spec.Volumes = []corev1.Volume{{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: identity.DefaultAudience, ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
		}}}}
	}
	return p
}

// TestCollectPaginates serves pods in three pages and checks every page is read, with the
// page size and the continue tokens, and that the counts cover all pages.
func TestCollectPaginates(t *testing.T) {
	client := fake.NewClientset(sa("ns", "app", identity.AnnotationRoleARN, testRole))
	var pages []metav1.ListOptions
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		pages = append(pages, opts)
		l := &corev1.PodList{}
		page := map[string]int{"": 0, "c1": 1, "c2": 2}[opts.Continue]
		for i := range 3 {
			l.Items = append(l.Items, *pod("ns", fmt.Sprintf("p%d-%d", page, i), "app", i != 0))
		}
		if page < 2 {
			l.Continue = fmt.Sprintf("c%d", page+1)
		}
		return true, l, nil
	})
	r, err := Collect(context.Background(), client, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 {
		t.Fatalf("%d pod pages read, want 3", len(pages))
	}
	for i, p := range pages {
		if p.Limit != PageSize {
			t.Errorf("page %d limit %d, want %d", i, p.Limit, PageSize)
		}
	}
	if pages[1].Continue != "c1" || pages[2].Continue != "c2" {
		t.Errorf("continue tokens %q, %q", pages[1].Continue, pages[2].Continue)
	}
	if got, want := r.ServiceAccounts[0].Pods, (PodCounts{Total: 9, Injected: 6, Stale: 3}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	// The three stale pods are bare pods: three findings of one pod each.
	stale := 0
	for _, f := range r.Findings {
		if f.Check == CheckStalePods {
			stale += f.Pods
		}
	}
	if stale != 3 {
		t.Errorf("stale findings cover %d pods, want 3", stale)
	}
}

func TestRuleMatchesPodCreate(t *testing.T) {
	rule := func(ops []admissionregistrationv1.OperationType, groups, versions, resources []string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: groups, APIVersions: versions, Resources: resources}}
	}
	create := []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	tests := []struct {
		name string
		rule admissionregistrationv1.RuleWithOperations
		want bool
	}{
		{"pods create", rule(create, []string{""}, []string{"v1"}, []string{"pods"}), true},
		{"all operations", rule([]admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll}, []string{""}, []string{"v1"}, []string{"pods"}), true},
		{"wildcards", rule(create, []string{"*"}, []string{"*"}, []string{"*"}), true},
		{"all resources and subresources", rule(create, []string{"*"}, []string{"*"}, []string{"*/*"}), true},
		{"update only", rule([]admissionregistrationv1.OperationType{admissionregistrationv1.Update}, []string{""}, []string{"v1"}, []string{"pods"}), false},
		{"subresource only", rule(create, []string{""}, []string{"v1"}, []string{"pods/binding"}), false},
		{"other group", rule(create, []string{"apps"}, []string{"v1"}, []string{"pods"}), false},
		{"deployments", rule(create, []string{"apps"}, []string{"v1"}, []string{"deployments"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleMatchesPodCreate(tt.rule); got != tt.want {
				t.Fatalf("ruleMatchesPodCreate = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestOwnerOf(t *testing.T) {
	owned := func(kind, name string, labels map[string]string) *corev1.Pod {
		p := pod("ns", "p", "app", false)
		p.Labels = labels
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: ptr.To(true)}}
		return p
	}
	tests := []struct {
		pod  *corev1.Pod
		want string
	}{
		{pod("ns", "bare", "app", false), "pod/bare"},
		{owned("ReplicaSet", "web-7d9c", map[string]string{"pod-template-hash": "7d9c"}), "deployment/web"},
		{owned("ReplicaSet", "web-7d9c", nil), "replicaset/web-7d9c"},
		{owned("ReplicaSet", "web-7d9c", map[string]string{"pod-template-hash": "other"}), "replicaset/web-7d9c"},
		{owned("StatefulSet", "db", nil), "statefulset/db"},
		{owned("DaemonSet", "agent", nil), "daemonset/agent"},
		{owned("Job", "migrate", nil), "job/migrate"},
	}
	for _, tt := range tests {
		if got := ownerOf(tt.pod); got != tt.want {
			t.Errorf("ownerOf(%s) = %s, want %s", tt.pod.Name, got, tt.want)
		}
	}
	// A non-controller owner reference does not count.
	p := pod("ns", "p", "app", false)
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "ConfigMap", Name: "x"}}
	if got := ownerOf(p); got != "pod/p" {
		t.Errorf("non-controller owner: %s", got)
	}
}

func TestTokenReadability(t *testing.T) {
	withSC := func(podSC *corev1.PodSecurityContext, ctSC *corev1.SecurityContext, mode *int32) *corev1.Pod {
		p := pod("ns", "p", "app", true)
		p.Spec.SecurityContext = podSC
		p.Spec.Containers[0].SecurityContext = ctSC
		p.Spec.Volumes[0].Projected.DefaultMode = mode
		return p
	}
	twoUsers := withSC(nil, &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000)}, ptr.To[int32](0o600))
	twoUsers.Spec.Containers = append(twoUsers.Spec.Containers, corev1.Container{Name: "side", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](2000)}})
	sidecarRoot := withSC(nil, &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}, ptr.To[int32](0o600))
	sidecarRoot.Spec.Containers = append(sidecarRoot.Spec.Containers, corev1.Container{Name: "side"})

	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantSev Severity
		want    string
	}{
		{name: "root", pod: withSC(nil, nil, nil)},
		{name: "explicit root", pod: withSC(&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}, nil, ptr.To[int32](0o600))},
		{name: "fsGroup", pod: withSC(&corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), FSGroup: ptr.To[int64](1)}, nil, ptr.To[int32](0o600))},
		{name: "runAsNonRoot, default mode", pod: withSC(&corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, nil, nil), wantSev: SeverityInfo, want: "mode 0644"},
		{name: "container runAsNonRoot false overrides pod", pod: withSC(&corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}, ptr.To[int32](0o600))},
		{name: "one user for the pod", pod: withSC(&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, nil, ptr.To[int32](0o600)), wantSev: SeverityInfo, want: "user 1000"},
		{name: "container user overrides pod root", pod: withSC(&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}, &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000)}, ptr.To[int32](0o600)), wantSev: SeverityInfo, want: "user 1000"},
		{name: "two users, mode 0600", pod: twoUsers, wantSev: SeverityWarning, want: "cannot read it"},
		{name: "non-root without a user, mode 0600", pod: sidecarRoot, wantSev: SeverityWarning, want: `"app"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev, msg := tokenReadability(tt.pod)
			if sev != tt.wantSev || !strings.Contains(msg, tt.want) || (tt.want == "") != (msg == "") {
				t.Fatalf("tokenReadability = %q, %q; want %q containing %q", sev, msg, tt.wantSev, tt.want)
			}
		})
	}
}

func TestExpirationProblem(t *testing.T) {
	for v, want := range map[string]string{"600": "", "86400": "", "3600": "", "599": "below 600", "86401": "above 86400", "1h": "not a number", "": "not a number"} {
		got := expirationProblem(v)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("expirationProblem(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestFindingsGroupByWorkload(t *testing.T) {
	c := newCollector()
	c.addServiceAccount(sa("ns", "app", identity.AnnotationRoleARN, testRole))
	for i := range 5 {
		p := pod("ns", fmt.Sprintf("web-abc-%d", i), "app", false)
		p.Labels["pod-template-hash"] = "abc"
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-abc", Controller: ptr.To(true)}}
		c.addPod(p)
	}
	r := c.report()
	if len(r.Findings) != 1 || r.Findings[0].Pods != 5 || r.Findings[0].Object != "deployment/web" {
		t.Fatalf("findings = %+v, want one stale-pods finding for deployment/web covering 5 pods", r.Findings)
	}
	if !strings.Contains(r.Findings[0].Fix, "kubectl rollout restart deployment/web -n ns") {
		t.Fatalf("fix = %q", r.Findings[0].Fix)
	}
}

func TestWebhookFinding(t *testing.T) {
	withRole := sa("ns", "app", identity.AnnotationRoleARN, testRole)
	hook := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "x", Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}}},
	}
	tests := []struct {
		name string
		objs []runtime.Object
		want bool
	}{
		{"role, no webhook", []runtime.Object{withRole}, true},
		{"role, webhook", []runtime.Object{withRole, hook}, false},
		{"no role, no webhook: nothing asks for one", []runtime.Object{sa("ns", "plain")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Collect(context.Background(), fake.NewClientset(tt.objs...), "")
			if err != nil {
				t.Fatal(err)
			}
			got := len(r.Findings) > 0 && r.Findings[0].Check == CheckWebhookMissing
			if got != tt.want {
				t.Fatalf("webhook-missing reported = %t, want %t: %+v", got, tt.want, r.Findings)
			}
		})
	}
}

func TestEmptyReportJSONHasNoNulls(t *testing.T) {
	r, err := Collect(context.Background(), fake.NewClientset(), "ns")
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceAccounts == nil || r.Findings == nil {
		t.Fatalf("nil slices in %+v", r)
	}
}

// BenchmarkAddPods measures the classification of the benchmark's scale: 5,000 pods over
// 1,000 service accounts (the LIST itself is the apiserver's part).
func BenchmarkAddPods(b *testing.B) {
	pods := make([]*corev1.Pod, 5000)
	for i := range pods {
		pods[i] = pod("ns", fmt.Sprintf("p%d", i), fmt.Sprintf("sa%d", i%1000), i%3 != 0)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := newCollector()
		for i := range 1000 {
			c.addServiceAccount(sa("ns", fmt.Sprintf("sa%d", i), identity.AnnotationRoleARN, testRole))
		}
		for _, p := range pods {
			c.addPod(p)
		}
		_ = c.report()
	}
}

// TestWebhookAsOnEKS: pods as EKS's webhook leaves them are not stale. Regional STS from its
// flag, a container that keeps its own AWS_ROLE_ARN (reported, with the fix in the workload's
// env), Pod Identity winning over role-arn (reported as such).
func TestWebhookAsOnEKS(t *testing.T) {
	c := newCollector()
	c.addServiceAccount(sa("ns", "app", identity.AnnotationRoleARN, testRole))
	c.addServiceAccount(sa("ns", "both", identity.AnnotationRoleARN, testRole))

	regional := pod("ns", "web-abc-1", "app", true)
	regional.Labels["pod-template-hash"] = "abc"
	regional.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-abc", Controller: ptr.To(true)}}
	ctr := &regional.Spec.Containers[0]
	ctr.Env = append([]corev1.EnvVar{{Name: identity.EnvSTSRegional, Value: "regional"}}, ctr.Env...)
	own := corev1.Container{Name: "sidecar", Env: []corev1.EnvVar{{Name: identity.EnvRoleARN, Value: "arn:aws:iam::444455556666:role/own"}},
		VolumeMounts: []corev1.VolumeMount{{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath}}}
	regional.Spec.Containers = append(regional.Spec.Containers, own)
	c.addPod(regional)

	pi := pod("ns", "pi", "both", false)
	pi.Spec.Containers[0].Env = []corev1.EnvVar{{Name: identity.EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"}, {Name: identity.EnvPodIdentityToken, Value: "/t"}}
	c.addPod(pi)

	r := c.report()
	counts := map[string]PodCounts{}
	for _, a := range r.ServiceAccounts {
		counts[a.Name] = a.Pods
	}
	if counts["app"] != (PodCounts{Total: 1, Injected: 1}) || counts["both"] != (PodCounts{Total: 1, PodIdentity: 1}) {
		t.Fatalf("counts = %+v", counts)
	}
	checks := map[Check]Finding{}
	for _, f := range r.Findings {
		checks[f.Check] = f
	}
	if len(checks) != 2 {
		t.Fatalf("findings = %+v, want self-set-env and pod-identity-wins only", r.Findings)
	}
	if f := checks[CheckSelfSetEnv]; f.Object != "deployment/web" || !strings.Contains(f.Fix, "kubectl set env deployment/web -n ns -c sidecar AWS_ROLE_ARN- AWS_WEB_IDENTITY_TOKEN_FILE-") {
		t.Errorf("self-set finding %+v", f)
	}
	if f := checks[CheckPodIdentityWins]; !strings.Contains(f.Message, "Pod Identity") {
		t.Errorf("pod identity finding %+v", f)
	}
}

// Each account says how its pods get a role, and which pods a restart would change: pods of
// an account on Pod Identity that predate its association are stale for Pod Identity (their
// IRSA state no longer matters); an account with only an association is listed too.
func TestIdentityPerAccount(t *testing.T) {
	c := newCollector()
	c.addServiceAccount(sa("ns", "irsa", identity.AnnotationRoleARN, testRole))
	c.addServiceAccount(sa("ns", "both", identity.AnnotationRoleARN, testRole))
	c.addServiceAccount(sa("ns", "pi", "team", "a"))
	onPodIdentity := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: identity.EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"}, {Name: identity.EnvPodIdentityToken, Value: "/t"}}
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: identity.PodIdentityVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: identity.PodIdentityAudience, Path: identity.PodIdentityVolumeName}}}}}})
		return p
	}
	c.addPod(pod("ns", "irsa-1", "irsa", true))
	c.addPod(pod("ns", "irsa-old", "irsa", false))
	c.addPod(onPodIdentity(pod("ns", "both-new", "both", false)))
	c.addPod(pod("ns", "both-old", "both", true)) // IRSA current, but Pod Identity wins now
	c.addPod(onPodIdentity(pod("ns", "pi-1", "pi", false)))
	r := c.report()
	got := map[string]ServiceAccount{}
	for _, a := range r.ServiceAccounts {
		got[a.Name] = a
	}
	for name, want := range map[string]struct {
		identity string
		pods     PodCounts
	}{
		"irsa": {IdentityIRSA, PodCounts{Total: 2, Injected: 1, Stale: 1}},
		"both": {IdentityBoth, PodCounts{Total: 2, Injected: 1, PodIdentity: 1, PodIdentityStale: 1}},
		"pi":   {IdentityPodIdentity, PodCounts{Total: 1, PodIdentity: 1}},
	} {
		if a := got[name]; a.Identity != want.identity || a.Pods != want.pods {
			t.Errorf("%s: %s %+v, want %s %+v", name, a.Identity, a.Pods, want.identity, want.pods)
		}
	}
	var stale []Finding
	for _, f := range r.Findings {
		if f.Check == CheckPodIdentityStale {
			stale = append(stale, f)
		}
	}
	if len(stale) != 1 || !strings.Contains(stale[0].Message, "created before its association") || !strings.Contains(stale[0].Fix, "both-old") {
		t.Errorf("pod-identity-stale findings %+v", stale)
	}
}

// An account with an association read from EKS is reported whatever its pods carry: its pods
// without the credentials, its lack of pods, its missing service account.
func TestCollectScopeAssociations(t *testing.T) {
	piRole := "arn:aws:iam::111122223333:role/pi"
	assoc := func(name string) Association {
		return Association{ID: "a-" + name, Namespace: "ns", ServiceAccount: name, RoleARN: piRole}
	}
	labelled := sa("ns", "picked")
	labelled.Labels = map[string]string{"team": "x"}
	tests := []struct {
		name         string
		objs         []runtime.Object
		selector     string
		associations []Association
		wantRows     map[string]string // name -> identity podIdentityRoleARN pods piStale
		wantChecks   map[Check]string  // check -> object
		wantFix      map[Check]string  // check -> a part of its fix
	}{
		{
			name:         "not read: an account whose pods lack the credentials is invisible",
			objs:         []runtime.Object{sa("ns", "app"), pod("ns", "p1", "app", false)},
			associations: nil,
			wantRows:     map[string]string{},
			wantChecks:   map[Check]string{},
		},
		{
			name:         "read: pods without the credentials",
			objs:         []runtime.Object{sa("ns", "app"), pod("ns", "p1", "app", false)},
			associations: []Association{assoc("app")},
			wantRows:     map[string]string{"app": "PodIdentity " + piRole + " pods=1 piStale=1"},
			wantChecks:   map[Check]string{CheckPodIdentityUninjected: "pod/p1"},
			wantFix:      map[Check]string{CheckPodIdentityUninjected: "kubectl wi verify serviceaccount/app -n ns; once it passes, "},
		},
		{
			name:         "read: no pod",
			objs:         []runtime.Object{sa("ns", "idle")},
			associations: []Association{assoc("idle")},
			wantRows:     map[string]string{"idle": "PodIdentity " + piRole + " pods=0 piStale=0"},
			wantChecks:   map[Check]string{CheckPodIdentityNoPods: "serviceaccount/idle"},
			wantFix:      map[Check]string{CheckPodIdentityNoPods: "kubectl wi verify serviceaccount/idle -n ns"},
		},
		{
			name:         "read: no service account",
			associations: []Association{assoc("gone")},
			wantRows:     map[string]string{"gone": "PodIdentity " + piRole + " pods=0 piStale=0"},
			wantChecks:   map[Check]string{CheckPodIdentityNoAccount: "serviceaccount/gone"},
			wantFix:      map[Check]string{CheckPodIdentityNoAccount: "aws eks delete-pod-identity-association --cluster-name prod --association-id a-gone"},
		},
		{
			name:         "read, with IRSA too: both",
			objs:         []runtime.Object{sa("ns", "both", identity.AnnotationRoleARN, testRole), pod("ns", "p1", "both", true)},
			associations: []Association{assoc("both")},
			wantRows:     map[string]string{"both": "IRSA+PodIdentity " + piRole + " pods=1 piStale=1"},
			wantChecks:   map[Check]string{CheckPodIdentityUninjected: "pod/p1"},
		},
		{
			name:         "-l leaves out the associations of accounts it does not select",
			objs:         []runtime.Object{labelled, sa("ns", "other")},
			selector:     "team=x",
			associations: []Association{assoc("picked"), assoc("other"), assoc("gone")},
			wantRows:     map[string]string{"picked": "PodIdentity " + piRole + " pods=0 piStale=0"},
			wantChecks:   map[Check]string{CheckPodIdentityNoPods: "serviceaccount/picked"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objs...)
			r, err := CollectScope(context.Background(), client, Scope{Namespace: "ns", Selector: tt.selector, Cluster: "prod", Associations: tt.associations})
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]string{}
			for _, a := range r.ServiceAccounts {
				rows[a.Name] = fmt.Sprintf("%s %s pods=%d piStale=%d", a.Identity, a.PodIdentityRoleARN, a.Pods.Total, a.Pods.PodIdentityStale)
			}
			if fmt.Sprint(rows) != fmt.Sprint(tt.wantRows) {
				t.Errorf("rows %v, want %v", rows, tt.wantRows)
			}
			checks := map[Check]string{}
			for _, f := range r.Findings {
				if f.Check == CheckWebhookMissing {
					continue
				}
				checks[f.Check] = f.Object
				if want := tt.wantFix[f.Check]; want != "" && !strings.Contains(f.Fix, want) {
					t.Errorf("%s fix %q lacks %q", f.Check, f.Fix, want)
				}
			}
			if fmt.Sprint(checks) != fmt.Sprint(tt.wantChecks) {
				t.Errorf("findings %v, want %v", checks, tt.wantChecks)
			}
		})
	}
}

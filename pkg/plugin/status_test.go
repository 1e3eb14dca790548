package plugin

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/spf13/cobra"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
)

const (
	stRole    = "arn:aws:iam::111122223333:role/app"
	stOldRole = "arn:aws:iam::111122223333:role/old"
)

// stPod is a pod builder for the seeded namespace.
type stPod struct{ *corev1.Pod }

func newStPod(ns, name, sa string) stPod {
	return stPod{&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}}
}

// injected makes the pod look as the webhook leaves it, for its first container.
//
//nolint:unparam // the audience is the webhook's to choose; the fixtures use its default
func (p stPod) injected(role, aud string, exp int64) stPod {
	c := &p.Spec.Containers[0]
	c.Env = append(c.Env, corev1.EnvVar{Name: identity.EnvRoleARN, Value: role}, corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: aud, ExpirationSeconds: ptr.To(exp), Path: "token"}}},
	}}})
	return p
}

func (p stPod) ownedBy(kind, name string) stPod {
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: ptr.To(true)}}
	return p
}

//nolint:unparam // any deployment's replica; the fixtures have one deployment
func (p stPod) replicaOf(deployment, hash string) stPod {
	p.Labels["pod-template-hash"] = hash
	return p.ownedBy("ReplicaSet", deployment+"-"+hash)
}

func (p stPod) with(f func(*corev1.Pod)) stPod { f(p.Pod); return p }

func stSA(ns, name string, kv ...string) *corev1.ServiceAccount {
	return tpServiceAccount(ns, name, kv...)
}

func stTemplate(sa string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: sa}}
}

// statusSeed is a namespace with injected, stale, skipped and misconfigured pods: one of each
// finding, plus a second namespace for -A.
func statusSeed() []runtime.Object {
	const ns = "team"
	nonRoot := func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
	}
	objs := []runtime.Object{
		stSA(ns, "app", identity.AnnotationRoleARN, stRole),
		stSA(ns, "legacy", identity.AnnotationRoleARN, "arn:aws:iam::1234:role/legacy"),
		stSA(ns, "short", identity.AnnotationRoleARN, stRole, identity.AnnotationTokenExpiration, "60", identity.AnnotationAudience, "custom"),
		stSA(ns, "plain"),
		stSA(ns, "retired"),
		stSA(ns, "pi"),
		stSA("other", "app", identity.AnnotationRoleARN, stRole),

		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: appsv1.DeploymentSpec{Template: stTemplate("app")}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unrelated"}, Spec: appsv1.DeploymentSpec{Template: stTemplate("plain")}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: appsv1.StatefulSetSpec{Template: stTemplate("app")}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"}, Spec: appsv1.DaemonSetSpec{Template: stTemplate("legacy")}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly"}, Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: stTemplate("app")}}}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly-29000000", OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", Controller: ptr.To(true)}}},
			Spec: batchv1.JobSpec{Template: stTemplate("app")}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"}, Spec: batchv1.JobSpec{Template: stTemplate("app")}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: stTemplate("app")}},
	}
	pods := []stPod{
		// Current, non-root with no fsGroup: readable today through mode 0644 (info).
		newStPod(ns, "web-7d9c-aaaaa", "app").replicaOf("web", "7d9c").injected(stRole, identity.DefaultAudience, 86400).with(nonRoot),
		newStPod(ns, "web-7d9c-bbbbb", "app").replicaOf("web", "7d9c").injected(stRole, identity.DefaultAudience, 86400).with(nonRoot),
		// Created before the annotation.
		newStPod(ns, "web-7d9c-ccccc", "app").replicaOf("web", "7d9c"),
		// Injected with the role the account had before.
		newStPod(ns, "db-0", "app").ownedBy("StatefulSet", "db").injected(stOldRole, identity.DefaultAudience, 86400),
		// Opted out.
		newStPod(ns, "skip-1", "app").with(func(p *corev1.Pod) { p.Labels[identity.LabelSkipPodIdentityWebhook] = "true" }),
		// A container that sets AWS_ROLE_ARN itself.
		newStPod(ns, "selfset-1", "app").injected(stRole, identity.DefaultAudience, 86400).with(func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Env: []corev1.EnvVar{{Name: identity.EnvRoleARN, Value: stOldRole}}})
		}),
		// A container left out with skip-containers.
		newStPod(ns, "skipc-1", "app").injected(stRole, identity.DefaultAudience, 86400).with(func(p *corev1.Pod) {
			p.Annotations[identity.AnnotationSkipContainers] = "debug"
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "debug"})
		}),
		// A pod annotation above 86400, which the webhook keeps.
		newStPod(ns, "migrate-x1", "app").ownedBy("Job", "migrate").injected(stRole, identity.DefaultAudience, 999999).with(func(p *corev1.Pod) {
			p.Annotations[identity.AnnotationTokenExpiration] = "999999"
		}),
		// Non-root containers with different users, and a token mode only root can read.
		newStPod(ns, "strict-1", "app").injected(stRole, identity.DefaultAudience, 86400).with(func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000)}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](2000)}}}
			p.Spec.Volumes[0].Projected.DefaultMode = ptr.To[int32](0o600)
		}),
		// Non-root with one user for the whole pod: the kubelet gives it the token (info).
		newStPod(ns, "sameuser-1", "app").injected(stRole, identity.DefaultAudience, 86400).with(func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}
		}),
		// Non-root with an fsGroup: nothing to say.
		newStPod(ns, "fsgroup-1", "app").injected(stRole, identity.DefaultAudience, 86400).with(func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), FSGroup: ptr.To[int64](65534)}
		}),
		// A finished pod is not counted.
		newStPod(ns, "done-1", "app").with(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		// The account with an invalid role.
		newStPod(ns, "agent-x1", "legacy").ownedBy("DaemonSet", "agent"),
		// The account lost its role; the pod still has it.
		newStPod(ns, "retired-1", "retired").injected(stRole, identity.DefaultAudience, 86400),
		// An account with no role and a pod with none.
		newStPod(ns, "plain-1", "plain"),
		// EKS Pod Identity with hostNetwork.
		newStPod(ns, "pi-1", "pi").with(func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: identity.EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"},
				{Name: identity.EnvPodIdentityToken, Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
			}
		}),
		newStPod("other", "web-5f6g-aaaaa", "app").replicaOf("web", "5f6g").injected(stRole, identity.DefaultAudience, 86400),
	}
	for _, p := range pods {
		objs = append(objs, p.Pod)
	}
	return objs
}

func stPodWebhook() *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "iam-for-pods.amazonaws.com",
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
}

func runStatus(t *testing.T, client kubernetes.Interface, args ...string) tpResult {
	t.Helper()
	return runSubcommand(t, func(cf *genericclioptions.ConfigFlags, s genericiooptions.IOStreams) *cobra.Command {
		return newCmdStatus(newStatusOptions(cf, s, fakeDeps(client))) // custom resources: status_custom_test.go
	}, append([]string{"status"}, args...)...)
}

func TestStatusGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "table", args: []string{"-n", "team"}},
		{name: "wide", args: []string{"-n", "team", "-o", "wide"}},
		{name: "all-namespaces", args: []string{"-A"}},
		{name: "json", args: []string{"-n", "team", "-o", "json"}},
		{name: "empty-namespace", args: []string{"-n", "nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(statusSeed()...)
			res := runStatus(t, client, tt.args...)
			if res.code != ExitOK {
				t.Fatalf("exit %d (status is a report: findings do not fail it); stderr:\n%s", res.code, res.errOut)
			}
			golden.RequireEqual(t, res.out)
			if tt.name == "empty-namespace" && withoutAssociationsNote(res.errOut) != "No resources found in nobody namespace.\n" {
				t.Errorf("stderr = %q", res.errOut)
			}
			stAssertOnlyLists(t, client)
		})
	}
}

// stAssertOnlyLists checks the API calls: one LIST per kind, nothing else.
func stAssertOnlyLists(t *testing.T, client *fake.Clientset) {
	t.Helper()
	seen := map[string]int{}
	for _, a := range client.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("status made a %s %s call; it must only LIST", a.GetVerb(), a.GetResource().Resource)
			continue
		}
		if la, ok := a.(k8stesting.ListActionImpl); ok && la.ListOptions.Limit != inventory.PageSize {
			t.Errorf("list %s without the page size: limit %d", a.GetResource().Resource, la.ListOptions.Limit)
		}
		seen[a.GetResource().Resource]++
	}
	var kinds []string
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", k, n)
		}
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	want := "cronjobs,daemonsets,deployments,jobs,mutatingwebhookconfigurations,pods,serviceaccounts,statefulsets"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
}

func TestStatusJSONDocument(t *testing.T) {
	client := fake.NewClientset(append(statusSeed(), stPodWebhook())...)
	res := runStatus(t, client, "-n", "team", "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.errOut)
	}
	var r inventory.Report
	if err := json.Unmarshal([]byte(res.out), &r); err != nil {
		t.Fatalf("not a report: %v\n%s", err, res.out)
	}
	byName := map[string]inventory.ServiceAccount{}
	for _, sa := range r.ServiceAccounts {
		byName[sa.Name] = sa
	}
	app := byName["app"]
	if want := (inventory.PodCounts{Total: 11, Injected: 8, Stale: 2, Skipped: 1}); app.Pods != want {
		t.Errorf("app pods = %+v, want %+v", app.Pods, want)
	}
	if got := strings.Join(app.Workloads, ","); got != "cronjob/nightly,deployment/web,job/migrate,statefulset/db" {
		t.Errorf("app workloads = %s", got)
	}
	if _, ok := byName["plain"]; ok {
		t.Error("an account without a role and without injected pods is listed")
	}
	if r := byName["retired"]; r.RoleARN != "" || r.Pods.Stale != 1 {
		t.Errorf("retired = %+v, want no role and one stale pod", r)
	}
	if s := byName["short"]; s.TokenExpiration != 600 || s.Audience != "custom" {
		t.Errorf("short = %+v, want expiration raised to 600 and audience custom", s)
	}

	checks := map[inventory.Check]int{}
	for _, f := range r.Findings {
		checks[f.Check]++
		if f.Fix == "" || f.Message == "" {
			t.Errorf("finding without message or fix: %+v", f)
		}
	}
	if checks[inventory.CheckWebhookMissing] != 0 {
		t.Error("webhook reported missing although one is registered for pods CREATE")
	}
	for _, c := range []inventory.Check{
		inventory.CheckRoleARNInvalid, inventory.CheckTokenExpiration, inventory.CheckStalePods, inventory.CheckSelfSetEnv,
		inventory.CheckSkippedContainers, inventory.CheckTokenReadability, inventory.CheckHostNetworkIdentity,
	} {
		if checks[c] == 0 {
			t.Errorf("no %s finding", c)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	forbid := func(resource string) k8stesting.ReactionFunc {
		return func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New(`User "jane" cannot list resource "`+resource+`"`))
		}
	}
	tests := []struct {
		name      string
		resource  string // whose list fails
		args      []string
		wantCode  int
		wantErr   string
		wantTable bool
	}{
		{name: "pods forbidden", resource: "pods", args: []string{"-n", "team"}, wantCode: ExitEnvironment, wantErr: `cannot list pods in namespace "team": forbidden; ask for RBAC verb "list" on "pods"`},
		{name: "service accounts forbidden everywhere", resource: "serviceaccounts", args: []string{"-A"}, wantCode: ExitEnvironment, wantErr: "cannot list serviceaccounts at the cluster scope: forbidden"},
		{name: "webhooks forbidden is a warning", resource: "mutatingwebhookconfigurations", args: []string{"-n", "team"}, wantCode: ExitOK,
			wantErr: "Warning: cannot list mutatingwebhookconfigurations.admissionregistration.k8s.io at the cluster scope: forbidden", wantTable: true},
		{name: "cronjobs forbidden is a warning", resource: "cronjobs", args: []string{"-n", "team"}, wantCode: ExitOK, wantErr: "Warning: cannot list cronjobs.batch", wantTable: true},
		{name: "bad output", args: []string{"-o", "table"}, wantCode: ExitUsage, wantErr: `--output "table" is not supported: allowed formats are `},
		{name: "an argument", args: []string{"app"}, wantCode: ExitUsage, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(statusSeed()...)
			if tt.resource != "" {
				client.PrependReactor("list", tt.resource, forbid(tt.resource))
			}
			res := runStatus(t, client, tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", res.code, tt.wantCode, res.errOut)
			}
			if !strings.Contains(res.errOut, tt.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantErr, res.errOut)
			}
			if got := strings.Contains(res.out, "SERVICEACCOUNT"); got != tt.wantTable {
				t.Errorf("table printed = %t, want %t:\n%s", got, tt.wantTable, res.out)
			}
		})
	}
}

func TestStatusWebhookForbiddenSkipsTheWebhookFinding(t *testing.T) {
	client := fake.NewClientset(statusSeed()...)
	client.PrependReactor("list", "mutatingwebhookconfigurations", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "mutatingwebhookconfigurations"}, "", errors.New(`User "jane" cannot list resource "mutatingwebhookconfigurations"`))
	})
	res := runStatus(t, client, "-n", "team", "-o", "json")
	if strings.Contains(res.out, string(inventory.CheckWebhookMissing)) {
		t.Fatalf("webhook reported missing although it could not be checked:\n%s", res.out)
	}
}

// TestStatusEmptyIsAListing: status over nothing says so in kubectl get's words, on stderr,
// and exits 0: it is a listing, not a gate.
func TestStatusEmptyIsAListing(t *testing.T) {
	tests := []struct {
		name, wantErrOut string
		args             []string
	}{
		{name: "a namespace", args: []string{"-n", "team", "-l", "x=y"}, wantErrOut: "No resources found in team namespace.\n"},
		{name: "every namespace", args: []string{"-A", "-l", "x=y"}, wantErrOut: "No resources found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runStatus(t, fake.NewClientset(statusSeed()...), tt.args...)
			if res.code != ExitOK || res.out != "" || withoutAssociationsNote(res.errOut) != tt.wantErrOut {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0, nothing, %q", res.code, res.out, res.errOut, tt.wantErrOut)
			}
		})
	}
}

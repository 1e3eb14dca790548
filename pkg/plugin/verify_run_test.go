package plugin

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// vfCluster is a fake cluster with the service account shop/checkout (annotated with
// annotations), the pod identity webhook's registration, a webhook that mutates created pods
// when the account names a role, and a kubelet that runs them to completion at once. A cluster
// without the webhook is pkg/verify's to test.
func vfCluster(annotations map[string]string) *fake.Clientset {
	c := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", Annotations: annotations}},
		&admissionv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
			Webhooks: []admissionv1.MutatingWebhook{{Name: "iam-for-pods.amazonaws.com", Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}}}},
		},
	)
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if role := annotations[identity.AnnotationRoleARN]; role != "" {
			ctr := &pod.Spec.Containers[0]
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: identity.EnvRoleARN, Value: role}, corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
			}}})
		}
		pod.UID = "uid-1"
		pod.Spec.NodeName = "node-1"
		pod.Status.Phase = corev1.PodSucceeded
		return false, nil, nil
	})
	return c
}

func vfRun(t *testing.T, o *VerifyOptions, args ...string) error {
	t.Helper()
	cmd := newCmdVerify(o, nil)
	cmd.SetArgs(args)
	cmd.SetOut(o.Out)
	cmd.SetErr(o.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

func TestVerifyText(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, out, errOut := vfOptions(c, false, "probe-pass.jsonl")

	if err := vfRun(t, o, "checkout", "--image", "wi.local/kubectl-wi:dev"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PASS outside.serviceaccount  the service account shop/checkout names the role " + vfRole + "\n",
		"PASS pod.mutation  IRSA: the webhook injected",
		"PASS token.audience  aud contains sts.amazonaws.com\n",
		"INFO sts.endpoint  ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(out.String(), "\nPASS all 22 checks passed\n") {
		t.Errorf("the verdict is not last:\n%s", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("error stream: %q", errOut.String())
	}
	if _, err := c.CoreV1().Pods("shop").Get(context.Background(), "wi-probe-abcde", metav1.GetOptions{}); err == nil {
		t.Error("the probe pod was not deleted")
	}
}

func TestVerifyJSON(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, out, _ := vfOptions(c, false, "probe-trust-policy.jsonl")

	err := vfRun(t, o, "checkout", "-o", "json")
	var failed *ChecksFailedError
	if !errors.As(err, &failed) || failed.Failed != 1 || ExitCode(err) != ExitCheckFailed {
		t.Fatalf("error %v, want 1 failed check (exit 1)", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, l := range lines {
		d := check.DecodeLine([]byte(l))
		if d.Event == nil {
			t.Fatalf("line %d is not an event: %q", i, l)
		}
		if (d.Event.Type == check.TypeResult) != (i == len(lines)-1) {
			t.Errorf("line %d: a result not last, or the last not a result: %q", i, l)
		}
	}
	last := check.DecodeLine([]byte(lines[len(lines)-1])).Event
	if last.Status != check.StatusFail || !strings.Contains(last.Fix, "kubectl wi trust-policy serviceaccount/audit -n shop") {
		t.Errorf("verdict %+v", last)
	}
}

// The account names no role: exit 1 from the stored pod alone.
func TestVerifyNoRole(t *testing.T) {
	c := vfCluster(nil)
	o, out, _ := vfOptions(c, false, "probe-pass.jsonl")

	err := vfRun(t, o, "serviceaccount/checkout")
	if ExitCode(err) != ExitCheckFailed {
		t.Fatalf("error %v, want exit 1", err)
	}
	if !strings.Contains(out.String(), "FAIL pod.mutation  the probe pod was not mutated") || strings.Contains(out.String(), "pod.start") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestVerifyKeepAndTimings(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, _, errOut := vfOptions(c, false, "probe-pass.jsonl")

	if err := vfRun(t, o, "checkout", "--keep", "--timings", "--image", "registry.example.com/kubectl-wi:v1.0.0"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 2 || lines[0] != "kept the probe pod shop/wi-probe-abcde: kubectl delete pod -n shop wi-probe-abcde" ||
		!strings.HasPrefix(lines[1], "timings outside_ms=") || !strings.Contains(lines[1], " overhead_after_running_ms=") {
		t.Errorf("error stream:\n%s", errOut.String())
	}
	if _, err := c.CoreV1().Pods("shop").Get(context.Background(), "wi-probe-abcde", metav1.GetOptions{}); err != nil {
		t.Errorf("the kept pod is gone: %v", err)
	}
}

// A development build says which image its probe runs and how to run another; a release
// build, or an --image of the user's, says nothing.
func TestVerifyDevelopmentBuildNote(t *testing.T) {
	tests := []struct {
		name, version string
		args          []string
		want          string
	}{
		{"development build", "dev", nil, "note: kubectl-wi dev is a development build; the probe runs the image " + ImageRepository + ":dev, which no release publishes"},
		{"a commit", "v1.2.3-4-gabcdef0-dirty", nil, "the probe runs the image " + ImageRepository + ":v1.2.3-4-gabcdef0-dirty"},
		{"release", "v1.2.3", nil, ""},
		{"--image given", "dev", []string{"--image", "registry.example.com/kubectl-wi:v1.0.0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(v string) { version = v }(version)
			version = tt.version
			o, _, errOut := vfOptions(vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole}), false, "probe-pass.jsonl")
			o.Image = ProbeImage()
			if err := vfRun(t, o, append([]string{"checkout"}, tt.args...)...); err != nil {
				t.Fatal(err)
			}
			got := errOut.String()
			if tt.want == "" && got != "" || tt.want != "" && (!strings.Contains(got, tt.want) || !strings.Contains(got, "--image")) {
				t.Errorf("error stream %q, want %q", got, tt.want)
			}
		})
	}
}

// A missing service account named by the target is bad input: exit 2, nothing created.
func TestVerifyMissingServiceAccount(t *testing.T) {
	c := vfCluster(nil)
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	if err := vfRun(t, o, "nope"); ExitCode(err) != ExitUsage {
		t.Fatalf("error %v, want exit 2", err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("created %s", a.GetResource().Resource)
		}
	}
}

// A misspelt workload is refused as enable refuses it, with the name that exists.
func TestVerifyMissingWorkload(t *testing.T) {
	c := vfCluster(nil)
	if err := c.Tracker().Add(kt.Deployment("shop", "checkout", "checkout")); err != nil {
		t.Fatal(err)
	}
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	err := vfRun(t, o, "deploy/chekout")
	if ExitCode(err) != ExitUsage || err.Error() != `deployment.apps "chekout" not found in namespace "shop"; did you mean deployment/checkout?` {
		t.Fatalf("error %v (exit %d), want exit 2 and a suggestion", err, ExitCode(err))
	}
}

// A misspelt service account, or a missing namespace, is named as enable names it.
func TestVerifyMissingAccountOrNamespace(t *testing.T) {
	c := vfCluster(nil)
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	if err := vfRun(t, o, "chekout"); ExitCode(err) != ExitUsage || err.Error() != `serviceaccount "chekout" not found in namespace "shop"; did you mean serviceaccount/checkout?` {
		t.Fatalf("error %v (exit %d)", err, ExitCode(err))
	}
	o, _, _ = vfOptions(c, false, "probe-pass.jsonl")
	o.configFlags.Namespace = ptr.To("nowhere")
	if err := vfRun(t, o, "checkout"); ExitCode(err) != ExitUsage || err.Error() != `namespace "nowhere" not found: check -n or the kubeconfig's context` {
		t.Fatalf("error %v (exit %d)", err, ExitCode(err))
	}
}

func TestWriteTimings(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var buf bytes.Buffer
	writeTimings(&buf, verify.Timings{
		Start: t0, OutsideDone: at(30), Created: at(50), Scheduled: at(60), Running: at(1500),
		FirstEvent: at(1520), Verdict: at(1540), Gone: at(1570),
		// The probe ran from 1100 to 1130 on its own clock: before the kubelet said it runs.
		ProbeFirst: at(1100), ProbeLast: at(1130),
	})
	want := "timings outside_ms=30.0 create_ms=20.0 scheduled_ms=10.0 running_ms=1440.0 first_event_ms=20.0 verdict_ms=20.0 gone_ms=30.0 total_ms=1570.0 probe_ms=30.0 overhead_after_running_ms=40.0 log_latency_ms=410.0\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	// In-pod: nothing is deleted, so the total ends at the verdict.
	buf.Reset()
	writeTimings(&buf, verify.Timings{
		Start: t0, OutsideDone: at(30), Created: at(50), Scheduled: at(50), Running: at(900),
		FirstEvent: at(920), Verdict: at(940), ProbeFirst: at(910), ProbeLast: at(930),
	})
	want = "timings outside_ms=30.0 create_ms=20.0 scheduled_ms=0.0 running_ms=850.0 first_event_ms=20.0 verdict_ms=20.0 gone_ms=- total_ms=940.0 probe_ms=20.0 overhead_after_running_ms=10.0 log_latency_ms=10.0\n"
	if buf.String() != want {
		t.Errorf("in-pod: got\n%s\nwant\n%s", buf.String(), want)
	}
}

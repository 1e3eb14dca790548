//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/hack/logapp"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// TestVerifyAppLogs: the app's containers already log the AWS SDKs' credential failures, one
// class per container (the test bed's log app prints the documented lines, some carrying fake
// secrets). The probe pod passes; verify's check of the app's logs fails the run and names
// every container with its failure, and none of the fake secrets is printed. An app that logs
// nothing of the kind passes the check, which says what that does not prove.
func TestVerifyAppLogs(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	image := requireEnv(t, "WI_APP_IMAGE_LOGAPP")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "logs-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})

	var containers []corev1.Container
	for _, class := range logapp.Classes() {
		containers = append(containers, corev1.Container{
			Name: string(class), Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
			Env: []corev1.EnvVar{{Name: "WI_LOGAPP_CLASSES", Value: string(class)}, {Name: "AWS_EC2_METADATA_DISABLED", Value: "true"}},
		})
	}
	labels := map[string]string{"app": "logs"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "logs"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ServiceAccountName: "app", TerminationGracePeriodSeconds: ptr.To[int64](0), Containers: containers,
			}},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitRollout(t, c, ns, "logs")

	r := e.wi(t, e.verifyArgs(ns, "deployment/logs", e.stsEndpoint, "-o", "json")...)
	for _, secret := range logapp.FakeSecrets() {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("verify printed a secret the app logged: %.12s...", secret)
		}
	}
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var found []check.Event
	for _, ev := range explainEvents(t, r.stdout) {
		if ev.Check == "outside.app_logs" && (ev.Status == check.StatusFail || ev.Status == check.StatusWarn) {
			found = append(found, ev)
		}
		if ev.Check == "sts.caller_identity" && ev.Status != check.StatusPass {
			t.Errorf("the probe pod did not pass: %s", ev.Message)
		}
	}
	for _, class := range logapp.Classes() {
		named := false
		for _, ev := range found {
			named = named || strings.Contains(ev.Message+"\n"+ev.Detail, "container "+string(class)) || strings.Contains(ev.Message+"\n"+ev.Detail, "/"+string(class))
		}
		if !named {
			t.Errorf("no app_logs finding names container %s", class)
		}
	}
	if t.Failed() {
		t.Logf("app_logs findings: %+v", found)
	}

	// An app that logs nothing of the kind: the check passes and says what that leaves open.
	e.idleDeployment(t, c, ns, "quiet", "app")
	q := e.wi(t, e.verifyArgs(ns, "deployment/quiet", e.stsEndpoint, "-o", "text")...)
	l := lineOf(q.stdout, "outside.app_logs")
	if q.code != 0 || !strings.HasPrefix(l, "PASS") || !strings.Contains(l, "does not prove") {
		t.Errorf("exit %d, app_logs %q; want 0 and a PASS saying what it does not prove\n%s", q.code, l, q.stdout)
	}
	noProbePods(t, c, ns)
}

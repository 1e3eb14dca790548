//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestVerifyInPodNoRunningPod: a deployment scaled to zero has no pod to join. --in-pod says
// so, with the fix, proves the account with a probe pod instead (which passes) and exits 3,
// since the app's own pod was not proven; no probe pod is left.
func TestVerifyInPodNoRunningPod(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	e.idleDeployment(t, c, ns, "web", "app")
	ctx := context.Background()
	scale, err := c.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 0
	if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the pods of web gone", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(pods.Items) == 0, err
	})

	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (the app's pod was not proven)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if out := r.stdout + r.stderr; !strings.Contains(out, "deployment/web has no pods") && !strings.Contains(out, "deployment/web has no running pod") {
		t.Errorf("the run does not say the deployment has no running pod:\n%s", out)
	}
	if l := lineOf(r.stdout, "sts.caller_identity"); !strings.HasPrefix(l, "PASS") {
		t.Errorf("the probe pod it ran instead did not pass: %q", l)
	}
	noProbePods(t, c, ns)
}

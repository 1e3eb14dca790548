package verify

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// Each container of the workload's live pods is judged by the source the default chain picks
// there: the account's role passes; the node's role, static keys and a role of the
// container's own are findings whose fix names the command.
func TestCheckWorkloadPodsCredentials(t *testing.T) {
	cfg := identity.Config{RoleARN: testRole}
	const own = "arn:aws:iam::111122223333:role/own"
	withEnv := func(p *corev1.Pod, env ...corev1.EnvVar) *corev1.Pod {
		p.Spec.Containers[0].Env = append(env, p.Spec.Containers[0].Env...)
		return p
	}
	for _, tc := range []struct {
		name     string
		pods     func(owner any) []*corev1.Pod
		status   check.Status
		msg, fix string
	}{
		{name: "injected", status: check.StatusPass, msg: "container app: web identity with the role " + testRole + ", injected by the webhook",
			pods: func(o any) []*corev1.Pod { return []*corev1.Pod{kt.Injected(o, "web-1", "", cfg)} }},
		{name: "created before the annotation", status: check.StatusFail,
			msg:  "container app: no credentials in its env: the AWS SDKs fall back to the node's instance role through instance metadata (IMDS), where it is reachable, not the role " + testRole,
			fix:  "kubectl rollout restart deployment/web -n shop",
			pods: func(o any) []*corev1.Pod { return []*corev1.Pod{kt.PodOf(o, "web-1", "")} }},
		{name: "half stale", status: check.StatusFail, msg: "(1 of 2 pods: web-2)",
			pods: func(o any) []*corev1.Pod {
				return []*corev1.Pod{kt.Injected(o, "web-1", "", cfg), kt.PodOf(o, "web-2", "")}
			}},
		{name: "own role", status: check.StatusWarn,
			msg: "container app: web identity with the role " + own + ", which the container sets itself in AWS_ROLE_ARN; the service account names " + testRole,
			fix: "kubectl set env deployment/web -n shop -c app AWS_ROLE_ARN- AWS_WEB_IDENTITY_TOKEN_FILE-",
			pods: func(o any) []*corev1.Pod {
				return []*corev1.Pod{withEnv(kt.PodOf(o, "web-1", ""), corev1.EnvVar{Name: identity.EnvRoleARN, Value: own}, corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})}
			}},
		{name: "static keys", status: check.StatusWarn, msg: "static keys in its env (AWS_ACCESS_KEY_ID), which the AWS SDKs use first, ahead of web identity",
			fix: "kubectl set env deployment/web -n shop -c app AWS_ACCESS_KEY_ID- AWS_SECRET_ACCESS_KEY- AWS_SESSION_TOKEN-",
			pods: func(o any) []*corev1.Pod {
				return []*corev1.Pod{kt.Inject(withEnv(kt.PodOf(o, "web-1", ""), corev1.EnvVar{Name: identity.EnvAccessKeyID, Value: "AKIAEXAMPLE"}, corev1.EnvVar{Name: identity.EnvSecretAccessKey, Value: "example-secret"}), cfg)}
			}},
		{name: "skipped container", status: check.StatusFail, fix: "the pod's eks.amazonaws.com/skip-containers annotation names the container app",
			pods: func(o any) []*corev1.Pod {
				p := kt.PodOf(o, "web-1", "")
				p.Annotations[identity.AnnotationSkipContainers] = "app"
				return []*corev1.Pod{p}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := kt.Deployment("shop", "web", "checkout")
			objs := []runtime.Object{d, kt.ServiceAccount("shop", "checkout", map[string]string{roleAnnotation: testRole})}
			for _, p := range tc.pods(d) {
				objs = append(objs, p)
			}
			c := fake.NewClientset(objs...)
			evs, _ := CheckWorkloadPods(context.Background(), c, "shop", checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, "checkout", cfg, true)
			var got *check.Event
			for i := range evs {
				if evs[i].Check == CheckOutsideCredentials {
					got = &evs[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s event in %+v", CheckOutsideCredentials, evs)
			}
			if got.Status != tc.status || !strings.Contains(got.Message, tc.msg) || !strings.Contains(got.Fix, tc.fix) {
				t.Errorf("got %s %q fix %q\nwant %s %q fix %q", got.Status, got.Message, got.Fix, tc.status, tc.msg, tc.fix)
			}
			if strings.Contains(got.Message+got.Fix, "example-secret") || strings.Contains(got.Message+got.Fix, "AKIAEXAMPLE") {
				t.Errorf("a credential value is shown: %q %q", got.Message, got.Fix)
			}
		})
	}
}

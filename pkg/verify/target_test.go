package verify

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
)

func TestResolve(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"app": "web", "eks.amazonaws.com/skip-pod-identity-webhook": "true"},
			Annotations: map[string]string{"eks.amazonaws.com/token-expiration": "3600", "other": "x"},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: "web-sa",
			SecurityContext:    &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)},
			NodeSelector:       map[string]string{"pool": "apps"},
			Tolerations:        []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "apps", Effect: corev1.TaintEffectNoSchedule}},
			HostNetwork:        true,
		},
	}
	noSA := tmpl.DeepCopy()
	noSA.Spec.ServiceAccountName = ""
	c := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Template: tmpl}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}, Spec: appsv1.StatefulSetSpec{Template: *noSA}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop"}, Spec: appsv1.DaemonSetSpec{Template: tmpl}},
	)
	ctx := context.Background()

	w, err := Resolve(ctx, c, "shop", checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.ServiceAccount != "web-sa" || *w.SecurityContext.RunAsUser != 1000 || w.NodeSelector["pool"] != "apps" ||
		len(w.Tolerations) != 1 || !w.HostNetwork {
		t.Errorf("deployment: %+v", w)
	}
	if len(w.Annotations) != 1 || w.Annotations["eks.amazonaws.com/token-expiration"] != "3600" {
		t.Errorf("annotations %v, want only token-expiration", w.Annotations)
	}
	if len(w.Labels) != 1 || w.Labels["eks.amazonaws.com/skip-pod-identity-webhook"] != "true" {
		t.Errorf("labels %v, want only the skip label", w.Labels)
	}
	if w, err := Resolve(ctx, c, "shop", checktarget.Target{Kind: checktarget.KindStatefulSet, Name: "db"}, ""); err != nil || w.ServiceAccount != "default" {
		t.Errorf("statefulset without serviceAccountName: %q, %v; want default", w.ServiceAccount, err)
	}
	if w, err := Resolve(ctx, c, "shop", checktarget.Target{Kind: checktarget.KindDaemonSet, Name: "agent"}, ""); err != nil || w.ServiceAccount != "web-sa" {
		t.Errorf("daemonset: %q, %v", w.ServiceAccount, err)
	}
	if w, err := Resolve(ctx, c, "shop", checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "app"}, ""); err != nil || w.ServiceAccount != "app" || w.SecurityContext != nil {
		t.Errorf("service account: %+v, %v", w, err)
	}
	if _, err := Resolve(ctx, c, "shop", checktarget.Target{Kind: checktarget.KindDeployment, Name: "missing"}, ""); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `deployments.apps "missing" in namespace "shop"`) {
		t.Errorf("missing deployment: %v, want a NotFound naming it", err)
	}
}

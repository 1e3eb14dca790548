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
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		arg     string
		want    Target
		wantErr string
	}{
		{arg: "checkout", want: Target{KindServiceAccount, "checkout"}},
		{arg: "serviceaccount/checkout", want: Target{KindServiceAccount, "checkout"}},
		{arg: "sa/checkout", want: Target{KindServiceAccount, "checkout"}},
		{arg: "deployment/web", want: Target{KindDeployment, "web"}},
		{arg: "deploy/web", want: Target{KindDeployment, "web"}},
		{arg: "Deployment.apps/web", want: Target{KindDeployment, "web"}},
		{arg: "statefulset/db", want: Target{KindStatefulSet, "db"}},
		{arg: "sts/db", want: Target{KindStatefulSet, "db"}},
		{arg: "daemonset/agent", want: Target{KindDaemonSet, "agent"}},
		{arg: "ds/agent", want: Target{KindDaemonSet, "agent"}},
		{arg: "pod/web-5d8f-x2x7q", want: Target{KindPod, "web-5d8f-x2x7q"}},
		{arg: "po/web", want: Target{KindPod, "web"}},
		{arg: "Pods/web", want: Target{KindPod, "web"}},
		{arg: "pod/", wantErr: "has no name"},
		{arg: "pod/Web_1", wantErr: "not a valid object name"},
		{arg: "pod/a/b", wantErr: "more than one slash"},
		{arg: "podx/web", wantErr: `unknown kind "podx"`},
		{arg: "deployment/", wantErr: "has no name"},
		{arg: "", wantErr: "has no name"},
		{arg: "Web_1", wantErr: "not a valid object name"},
		{arg: "deployment/a/b", wantErr: "more than one slash"},
		{arg: "storagecluster/px", wantErr: "verify their service account instead"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := ParseTarget(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

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

	w, err := Resolve(ctx, c, "shop", Target{KindDeployment, "web"}, "")
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
	if w, err := Resolve(ctx, c, "shop", Target{KindStatefulSet, "db"}, ""); err != nil || w.ServiceAccount != "default" {
		t.Errorf("statefulset without serviceAccountName: %q, %v; want default", w.ServiceAccount, err)
	}
	if w, err := Resolve(ctx, c, "shop", Target{KindDaemonSet, "agent"}, ""); err != nil || w.ServiceAccount != "web-sa" {
		t.Errorf("daemonset: %q, %v", w.ServiceAccount, err)
	}
	if w, err := Resolve(ctx, c, "shop", Target{KindServiceAccount, "app"}, ""); err != nil || w.ServiceAccount != "app" || w.SecurityContext != nil {
		t.Errorf("service account: %+v, %v", w, err)
	}
	if _, err := Resolve(ctx, c, "shop", Target{KindDeployment, "missing"}, ""); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `deployments.apps "missing" in namespace "shop"`) {
		t.Errorf("missing deployment: %v, want a NotFound naming it", err)
	}
}

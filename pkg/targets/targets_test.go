package targets

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestParse(t *testing.T) {
	tests := []struct {
		arg      string
		wantKind string
		wantName string
		wantErr  string
	}{
		{arg: "app", wantKind: "serviceaccount", wantName: "app"},
		{arg: "serviceaccount/app", wantKind: "serviceaccount", wantName: "app"},
		{arg: "sa/app", wantKind: "serviceaccount", wantName: "app"},
		{arg: "ServiceAccounts/app", wantKind: "serviceaccount", wantName: "app"},
		{arg: "deployment/web", wantKind: "deployment.apps", wantName: "web"},
		{arg: "deploy/web", wantKind: "deployment.apps", wantName: "web"},
		{arg: "deployments.apps/web", wantKind: "deployment.apps", wantName: "web"},
		{arg: "statefulset/db", wantKind: "statefulset.apps", wantName: "db"},
		{arg: "sts/db", wantKind: "statefulset.apps", wantName: "db"},
		{arg: "daemonset/agent", wantKind: "daemonset.apps", wantName: "agent"},
		{arg: "ds/agent", wantKind: "daemonset.apps", wantName: "agent"},
		{arg: "a.b-c", wantKind: "serviceaccount", wantName: "a.b-c"},
		{arg: "pod/web", wantErr: `unknown kind "pod"`},
		{arg: "job/x", wantErr: `unknown kind "job"`},
		{arg: "deployment/", wantErr: "has no name"},
		{arg: "", wantErr: "has no name"},
		{arg: "deployment/a/b", wantErr: "more than one slash"},
		{arg: "App", wantErr: "not a valid object name"},
		{arg: "-app", wantErr: "not a valid object name"},
		{arg: "app_1", wantErr: "not a valid object name"},
		{arg: strings.Repeat("a", 254), wantErr: "253 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := Parse(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.arg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind.Name != tt.wantKind || got.Name != tt.wantName {
				t.Fatalf("Parse(%q) = %s", tt.arg, got)
			}
		})
	}
}

func TestUnknownKindListsKinds(t *testing.T) {
	_, err := Parse("service/x")
	want := "serviceaccount (sa), deployment (deploy), statefulset (sts), daemonset (ds)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to list %q", err, want)
	}
}

func TestServiceAccountName(t *testing.T) {
	client := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: "web-sa"}}}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: "agent"}}}},
	)
	tests := []struct {
		arg, want string
	}{
		{"app", "app"}, {"deploy/web", "web-sa"}, {"sts/db", "default"}, {"ds/agent", "agent"},
	}
	for _, tt := range tests {
		ref, err := Parse(tt.arg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ServiceAccountName(context.Background(), client, "ns", ref)
		if err != nil || got != tt.want {
			t.Fatalf("ServiceAccountName(%s) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
	if n := len(client.Actions()); n != 3 {
		t.Fatalf("%d calls, want one GET per workload", n)
	}
	ref, _ := Parse("deploy/missing")
	_, err := ServiceAccountName(context.Background(), client, "ns", ref)
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `get deployments.apps "missing" in namespace "ns"`) {
		t.Fatalf("err = %v", err)
	}
}

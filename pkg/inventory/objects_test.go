package inventory

import (
	"context"
	"encoding/json"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// FromObjects reports what CollectScope reports from the same objects: the monitor's
// inventory from its informers' caches is status's.
func TestFromObjectsIsCollectScope(t *testing.T) {
	hook := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "x", Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}}},
	}
	tests := []struct {
		name  string
		scope Scope
		sas   []*corev1.ServiceAccount
		pods  []*corev1.Pod
		hooks []*admissionregistrationv1.MutatingWebhookConfiguration
	}{
		{
			name:  "stale and injected pods, a webhook",
			sas:   []*corev1.ServiceAccount{sa("ns", "app", identity.AnnotationRoleARN, testRole), sa("ns", "plain")},
			pods:  []*corev1.Pod{pod("ns", "a", "app", true), pod("ns", "b", "app", false), pod("ns", "c", "plain", false)},
			hooks: []*admissionregistrationv1.MutatingWebhookConfiguration{hook},
		},
		{
			name: "no webhook: its finding",
			sas:  []*corev1.ServiceAccount{sa("ns", "app", identity.AnnotationRoleARN, testRole)},
		},
		{
			name:  "one namespace of two, with an association",
			scope: Scope{Namespace: "ns", Cluster: "c", Associations: []Association{{ID: "a-1", Namespace: "ns", ServiceAccount: "pi", RoleARN: testRole}, {ID: "a-2", Namespace: "other", ServiceAccount: "x", RoleARN: testRole}}},
			sas:   []*corev1.ServiceAccount{sa("ns", "app", identity.AnnotationRoleARN, testRole), sa("other", "app", identity.AnnotationRoleARN, testRole), sa("ns", "pi")},
			pods:  []*corev1.Pod{pod("ns", "a", "app", false), pod("other", "b", "app", false), pod("ns", "p", "pi", false)},
			hooks: []*admissionregistrationv1.MutatingWebhookConfiguration{hook},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, o := range tt.sas {
				objs = append(objs, o)
			}
			for _, o := range tt.pods {
				objs = append(objs, o)
			}
			for _, o := range tt.hooks {
				objs = append(objs, o)
			}
			want, err := CollectScope(context.Background(), fake.NewClientset(objs...), tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			got := FromObjects(tt.scope, Objects{ServiceAccounts: tt.sas, Pods: tt.pods, Webhooks: tt.hooks, WebhooksRead: true})
			wantJSON, _ := json.Marshal(want)
			gotJSON, _ := json.Marshal(got)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("FromObjects:\n%s\nCollectScope:\n%s", gotJSON, wantJSON)
			}
			if len(got.ServiceAccounts) == 0 {
				t.Error("no account reported: the case tests nothing")
			}
		})
	}
}

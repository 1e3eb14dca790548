package verify

import (
	"errors"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// identityWebhook is the pod identity webhook's registration as EKS and the local cluster have
// it.
func identityWebhook() admissionv1.MutatingWebhookConfiguration {
	return admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name: "iam-for-pods.amazonaws.com",
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "eks.amazonaws.com/skip-pod-identity-webhook", Operator: metav1.LabelSelectorOpDoesNotExist,
			}}},
		}},
	}
}

func TestCheckWebhooks(t *testing.T) {
	sidecar := admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-sidecar-injector"},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:  "sidecar-injector.istio.io",
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.OperationAll}, Rule: admissionv1.Rule{APIGroups: []string{"*"}, Resources: []string{"*"}}}},
		}},
	}
	updateOnly := identityWebhook()
	updateOnly.Webhooks[0].Rules[0].Operations = []admissionv1.OperationType{admissionv1.Update}
	onlyLabelled := identityWebhook()
	onlyLabelled.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"irsa": "enabled"}}
	probeLabels := map[string]string{LabelName: LabelValue}

	tests := []struct {
		name      string
		items     []admissionv1.MutatingWebhookConfiguration
		listErr   error
		nsLabels  map[string]string
		podLabels map[string]string
		want      check.Status
		wantMsg   string
		wantHooks []string
	}{
		{name: "pod identity webhook", items: []admissionv1.MutatingWebhookConfiguration{sidecar, identityWebhook()}, podLabels: probeLabels,
			want: check.StatusPass, wantMsg: "pod-identity-webhook/iam-for-pods.amazonaws.com mutates pods on CREATE",
			wantHooks: []string{"istio-sidecar-injector/sidecar-injector.istio.io", "pod-identity-webhook/iam-for-pods.amazonaws.com"}},
		{name: "none registered", want: check.StatusFail, wantMsg: "no mutating webhook on pods CREATE is registered"},
		{name: "only on UPDATE", items: []admissionv1.MutatingWebhookConfiguration{updateOnly}, want: check.StatusFail, wantMsg: "is registered"},
		{name: "another webhook only", items: []admissionv1.MutatingWebhookConfiguration{sidecar}, want: check.StatusWarn,
			wantMsg: "no webhook on pods CREATE looks like the pod identity webhook", wantHooks: []string{"istio-sidecar-injector/sidecar-injector.istio.io"}},
		{name: "namespace not selected", items: []admissionv1.MutatingWebhookConfiguration{onlyLabelled}, nsLabels: map[string]string{"kubernetes.io/metadata.name": "shop"},
			want: check.StatusFail, wantMsg: "(pod-identity-webhook/iam-for-pods.amazonaws.com) do not select this namespace or pod"},
		{name: "namespace selected", items: []admissionv1.MutatingWebhookConfiguration{onlyLabelled}, nsLabels: map[string]string{"irsa": "enabled"},
			want: check.StatusPass, wantHooks: []string{"pod-identity-webhook/iam-for-pods.amazonaws.com"}},
		{name: "pod opted out", items: []admissionv1.MutatingWebhookConfiguration{identityWebhook()},
			podLabels: map[string]string{LabelName: LabelValue, "eks.amazonaws.com/skip-pod-identity-webhook": "true"},
			want:      check.StatusFail, wantMsg: "do not select this namespace or pod"},
		{name: "forbidden", listErr: apierrors.NewForbidden(schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}, "", errors.New("no")),
			want: check.StatusSkip, wantMsg: "cannot list mutatingwebhookconfigurations (forbidden)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, cl := CheckWebhooks(&admissionv1.MutatingWebhookConfigurationList{Items: tt.items}, tt.listErr, tt.nsLabels, tt.podLabels)
			if ev.Check != CheckOutsideWebhook || ev.Status != tt.want || !strings.Contains(ev.Message, tt.wantMsg) {
				t.Errorf("got %s %s %q, want %s containing %q", ev.Check, ev.Status, ev.Message, tt.want, tt.wantMsg)
			}
			if ev.Status == check.StatusFail && ev.Fix == "" {
				t.Error("a failure without a fix")
			}
			if cl.WebhooksKnown != (tt.listErr == nil) || strings.Join(cl.Webhooks, ",") != strings.Join(tt.wantHooks, ",") {
				t.Errorf("cluster %+v, want webhooks %v", cl, tt.wantHooks)
			}
		})
	}
}

func TestCheckServiceAccount(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/checkout"
	sa := func(ann map[string]string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", Annotations: ann}}
	}
	tests := []struct {
		name     string
		sa       *corev1.ServiceAccount
		wantRole string
		want     check.Status
		wantMsg  string
		hasRole  bool
	}{
		{name: "role", sa: sa(map[string]string{"eks.amazonaws.com/role-arn": role}), want: check.StatusPass, hasRole: true,
			wantMsg: "the service account shop/checkout names the role " + role},
		{name: "role with audience and expiration", sa: sa(map[string]string{"eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/audience": "other", "eks.amazonaws.com/token-expiration": "3600"}),
			want: check.StatusPass, hasRole: true, wantMsg: role + ", audience other, token expiration 3600s"},
		{name: "MinIO role", sa: sa(map[string]string{"eks.amazonaws.com/role-arn": "arn:minio:iam:::role/abc"}), wantRole: "arn:minio:iam:::role/abc",
			want: check.StatusPass, hasRole: true},
		{name: "other role expected", sa: sa(map[string]string{"eks.amazonaws.com/role-arn": role}), wantRole: "arn:aws:iam::111122223333:role/other",
			want: check.StatusFail, hasRole: true, wantMsg: "names the role " + role + ", expected arn:aws:iam::111122223333:role/other"},
		{name: "not an ARN", sa: sa(map[string]string{"eks.amazonaws.com/role-arn": "checkout"}), want: check.StatusFail, hasRole: true, wantMsg: "not an ARN"},
		{name: "no role", sa: sa(nil), want: check.StatusSkip, wantMsg: "has no eks.amazonaws.com/role-arn annotation: no IRSA; an EKS Pod Identity association, if any, cannot be seen"},
		{name: "missing", want: check.StatusFail, wantMsg: "the service account shop/checkout does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, _, hasRole := CheckServiceAccount(tt.sa, "shop", "checkout", tt.wantRole)
			if ev.Status != tt.want || !strings.Contains(ev.Message, tt.wantMsg) || hasRole != tt.hasRole {
				t.Errorf("got %s %q hasRole=%v, want %s containing %q hasRole=%v", ev.Status, ev.Message, hasRole, tt.want, tt.wantMsg, tt.hasRole)
			}
		})
	}
}

func TestCheckIssuer(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		err        error
		want       check.Status
		wantIssuer string
	}{
		{name: "https", doc: `{"issuer":"https://oidc.example.com/id/ABC","jwks_uri":"https://oidc.example.com/id/ABC/keys"}`, want: check.StatusPass, wantIssuer: "https://oidc.example.com/id/ABC"},
		{name: "http", doc: `{"issuer":"http://10.0.0.1"}`, want: check.StatusWarn, wantIssuer: "http://10.0.0.1"},
		{name: "no issuer", doc: `{}`, want: check.StatusSkip},
		{name: "not JSON", doc: `<html>`, want: check.StatusSkip},
		{name: "forbidden", err: apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("no")), want: check.StatusSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, issuer := CheckIssuer([]byte(tt.doc), tt.err)
			if ev.Check != CheckOutsideIssuer || ev.Status != tt.want || issuer != tt.wantIssuer {
				t.Errorf("got %s %q issuer %q, want %s issuer %q", ev.Status, ev.Message, issuer, tt.want, tt.wantIssuer)
			}
		})
	}
}

// What the annotations ask that the webhook will not give as asked: a raised lifetime names
// both values; an audience a typo away from AWS's gets "did you mean".
func TestCheckTokenRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  identity.Config
		pod  map[string]string
		want []string
	}{
		{name: "nothing asked", cfg: identity.Config{RoleARN: testRole}},
		{name: "raised", cfg: identity.Config{RoleARN: testRole, TokenExpiration: 60},
			want: []string{"the service account's eks.amazonaws.com/token-expiration asks 60 s; the webhook raises any value below 600 s, so the token lives 600 s, not 60 s"}},
		{name: "pod template wins", cfg: identity.Config{RoleARN: testRole, TokenExpiration: 3600}, pod: map[string]string{identity.AnnotationTokenExpiration: "300"},
			want: []string{"the pod template's eks.amazonaws.com/token-expiration asks 300 s"}},
		{name: "at the floor", cfg: identity.Config{RoleARN: testRole, TokenExpiration: 600}},
		{name: "typo", cfg: identity.Config{RoleARN: testRole, Audience: "sts.amazon.com", AudienceSet: true},
			want: []string{`the service account's eks.amazonaws.com/audience is "sts.amazon.com": did you mean sts.amazonaws.com?`}},
		{name: "custom audience", cfg: identity.Config{RoleARN: testRole, Audience: "my-cluster", AudienceSet: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := CheckTokenRequest("shop", "checkout", tc.cfg, tc.pod)
			if len(evs) != len(tc.want) {
				t.Fatalf("got %+v, want %d events", evs, len(tc.want))
			}
			for i, ev := range evs {
				if ev.Status != check.StatusWarn || !strings.Contains(ev.Message, tc.want[i]) || !strings.Contains(ev.Fix, "kubectl wi enable serviceaccount/checkout -n shop") {
					t.Errorf("got %s %q fix %q, want a warning %q", ev.Status, ev.Message, ev.Fix, tc.want[i])
				}
			}
		})
	}
}

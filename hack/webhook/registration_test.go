package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

func TestRegistration(t *testing.T) {
	reg := Registration("pod-identity-webhook", "https://127.0.0.1:9443/mutate", []byte("CA"))
	out, err := yaml.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	// The parts that matter on loopback, as YAML the harness could apply.
	want := []string{
		"apiVersion: admissionregistration.k8s.io/v1",
		"kind: MutatingWebhookConfiguration",
		"name: pod-identity-webhook",
		"name: iam-for-pods.amazonaws.com",
		"url: https://127.0.0.1:9443/mutate",
		"caBundle: Q0E=",
		"failurePolicy: Ignore",
		"reinvocationPolicy: IfNeeded",
		"sideEffects: None",
		"admissionReviewVersions:\n  - v1\n",
		"- key: eks.amazonaws.com/skip-pod-identity-webhook\n      operator: DoesNotExist",
		"operations:\n    - CREATE",
		"resources:\n    - pods",
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("registration lacks %q:\n%s", w, out)
		}
	}
	wh := reg.Webhooks[0]
	if r := wh.Rules[0]; len(r.APIGroups) != 1 || r.APIGroups[0] != "" || len(r.APIVersions) != 1 || r.APIVersions[0] != "v1" {
		t.Errorf("rule = %+v, want core v1 pods", r)
	}

	cfg := DefaultConfig()
	cfg.AnnotationPrefix = "example.com"
	if key := RegistrationFor(cfg, "x", "u", nil).Webhooks[0].ObjectSelector.MatchExpressions[0].Key; key != "example.com/skip-pod-identity-webhook" {
		t.Errorf("skip label with prefix example.com = %q", key)
	}
}

func TestRegisterCreatesThenUpdates(t *testing.T) {
	ctx := t.Context()
	client := fake.NewClientset()
	if err := Register(ctx, client, Registration("wh", "https://127.0.0.1:1/mutate", []byte("one"))); err != nil {
		t.Fatal(err)
	}
	if err := Register(ctx, client, Registration("wh", "https://127.0.0.1:2/mutate", []byte("two"))); err != nil {
		t.Fatal(err)
	}
	got, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "wh", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cc := got.Webhooks[0].ClientConfig; *cc.URL != "https://127.0.0.1:2/mutate" || string(cc.CABundle) != "two" {
		t.Errorf("client config = %s %s, want the second registration", *cc.URL, cc.CABundle)
	}
	var verbs []string
	for _, a := range client.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if strings.Join(verbs, ",") != "get,create,get,update,get" {
		t.Errorf("actions = %v, want get,create then get,update", verbs)
	}
}

func TestRegisterError(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "mutatingwebhookconfigurations", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	err := Register(t.Context(), client, Registration("wh", "u", nil))
	if err == nil || err.Error() != "failed to register mutatingwebhookconfiguration wh: forbidden" {
		t.Errorf("err = %v", err)
	}
}

func TestUnregister(t *testing.T) {
	ctx := t.Context()
	client := fake.NewClientset(Registration("wh", "u", nil))
	if err := Unregister(ctx, client, "wh"); err != nil {
		t.Fatal(err)
	}
	list, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("configurations left: %v", list.Items)
	}
	if err := Unregister(ctx, client, "wh"); err != nil {
		t.Errorf("unregistering a missing configuration: %v, want nil", err)
	}
}

// apiserverCalling makes the fake clientset behave like an apiserver with the webhook
// registered: a pod create is sent to h, from the call number from on. h must have a client of
// its own: the fake clientset holds its lock while a reactor runs.
func apiserverCalling(t *testing.T, client *fake.Clientset, h *Handler, from int) *int {
	t.Helper()
	calls := 0
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		create := a.(k8stesting.CreateActionImpl)
		if calls < from {
			return true, nil, errors.New(`serviceaccount "default" not found`)
		}
		pod := create.GetObject().(*corev1.Pod)
		h.Admit(context.Background(), podRequest(t, create.GetNamespace(), pod))
		return true, pod, nil
	})
	return &calls
}

func TestWaitUntilCalled(t *testing.T) {
	client := fake.NewClientset()
	h := NewHandler(NewCache(DefaultConfig(), 0), DefaultConfig(), nil)
	calls := apiserverCalling(t, client, h, 3)
	if err := WaitUntilCalled(t.Context(), client, "default", time.Millisecond, func() bool { return h.Admissions() > 0 }); err != nil {
		t.Fatal(err)
	}
	if *calls != 3 {
		t.Errorf("dry-run creates = %d, want 3", *calls)
	}
	for _, a := range client.Actions() {
		if c, ok := a.(k8stesting.CreateActionImpl); ok {
			if dr := c.CreateOptions.DryRun; len(dr) != 1 || dr[0] != metav1.DryRunAll {
				t.Errorf("create without dry-run: %+v", c.CreateOptions)
			}
		}
	}
}

func TestWaitUntilCalledGivesUp(t *testing.T) {
	client := fake.NewClientset()
	h := NewHandler(NewCache(DefaultConfig(), 0), DefaultConfig(), nil)
	apiserverCalling(t, client, h, 1<<30)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := WaitUntilCalled(ctx, client, "default", time.Millisecond, func() bool { return h.Admissions() > 0 })
	if err == nil || !strings.Contains(err.Error(), `the apiserver did not call the webhook: last dry-run pod create: serviceaccount "default" not found`) {
		t.Errorf("err = %v", err)
	}
}

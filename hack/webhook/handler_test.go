package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// testNamespace is the namespace of every admission request in the fixtures.
const testNamespace = "whtest"

// fixture is one case: the inputs and the expected result (testdata/*.yaml).
type fixture struct {
	Config struct {
		DefaultRegion string `json:"defaultRegion"`
	} `json:"config"`
	// ServiceAccount exists before the pod is admitted.
	ServiceAccount *corev1.ServiceAccount `json:"serviceAccount"`
	// ServiceAccountCreatedWithPod is created after the handler has started, just before the
	// pod is admitted, as `kubectl apply` of both in one file does.
	ServiceAccountCreatedWithPod *corev1.ServiceAccount `json:"serviceAccountCreatedWithPod"`
	// Pod is the object of the admission request, in namespace whtest.
	Pod corev1.Pod `json:"pod"`
	// Want is the pod after the returned patch is applied; nil means no patch at all.
	Want *corev1.Pod `json:"want"`
	// WantLog is a substring of the handler's log line.
	WantLog string `json:"wantLog"`
}

func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// podRequest is the AdmissionRequest the apiserver sends for creating pod in ns.
func podRequest(t *testing.T, ns string, pod *corev1.Pod) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       types.UID("uid-" + pod.Name + pod.GenerateName),
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Name:      pod.Name,
		Namespace: ns,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

// applyPatch applies the response's JSONPatch to pod, as the apiserver does, and returns the
// result. A patch that does not apply (a path that does not exist) fails the test.
func applyPatch(t *testing.T, pod *corev1.Pod, resp *admissionv1.AdmissionResponse) *corev1.Pod {
	t.Helper()
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patchType = %v, want JSONPatch", resp.PatchType)
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("the patch is not a JSON patch: %v\n%s", err, resp.Patch)
	}
	patched, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("the patch does not apply: %v\n%s", err, resp.Patch)
	}
	var out corev1.Pod
	dec := json.NewDecoder(bytes.NewReader(patched))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("the patched pod does not decode: %v\n%s", err, patched)
	}
	return &out
}

func assertPodEqual(t *testing.T, got, want *corev1.Pod) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("patched pod differs from want (-want +got):\n%s", diff.Diff(want, got))
	}
}

func assertNoPatch(t *testing.T, resp *admissionv1.AdmissionResponse) {
	t.Helper()
	if !resp.Allowed {
		t.Errorf("allowed = false (%v), want true", resp.Result)
	}
	if resp.Patch != nil || resp.PatchType != nil {
		t.Errorf("got a patch %s, want none", resp.Patch)
	}
}

// TestAdmit has one row per row of the behaviour table of the real webhook in
// shared/reference/local-cluster/README.md, then the extra cases.
func TestAdmit(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
	}{
		{"SA role-arn set", "role-arn.yaml"},
		{"SA audience=my-aud", "audience.yaml"},
		{"SA token-expiration=3600", "sa-token-expiration.yaml"},
		{"SA token-expiration=999999 not capped", "sa-token-expiration-not-capped.yaml"},
		{"SA sts-regional-endpoints=true", "sts-regional-endpoints.yaml"},
		{"pod token-expiration=7200 wins", "pod-token-expiration.yaml"},
		{"pod token-expiration=60 raised to 600", "pod-token-expiration-raised.yaml"},
		{"pod skip-containers=init,sidecar", "skip-containers.yaml"},
		{"SA without role-arn", "no-role-arn.yaml"},
		{"container already sets AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE", "container-sets-env.yaml"},
		{"pod label skip-pod-identity-webhook", "skip-label.yaml"},
		{"SA and pod created in one apply", "created-together.yaml"},

		{"default region injected", "region.yaml"},
		{"init containers and existing volumes", "init-containers.yaml"},
		{"already mutated pod not mutated again", "already-mutated.yaml"},
		{"unparseable token-expiration ignored", "unparseable-expiration.yaml"},
		{"no serviceAccountName uses default", "default-service-account.yaml"},
		{"SA in another namespace", "other-namespace.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFixture(t, tt.fixture)
			var objs []runtime.Object
			if f.ServiceAccount != nil {
				objs = append(objs, f.ServiceAccount)
			}
			client := fake.NewClientset(objs...)
			cfg := DefaultConfig()
			cfg.DefaultRegion = f.Config.DefaultRegion
			var log bytes.Buffer
			h := NewHandler(client, cfg, &log)
			ctx := t.Context()

			if f.ServiceAccountCreatedWithPod != nil {
				// The pod arrives before the service account: nothing to do, and nothing is
				// remembered, so the admission after the service account exists sees it.
				resp := h.Admit(ctx, podRequest(t, testNamespace, &f.Pod))
				assertNoPatch(t, resp)
				if !strings.Contains(log.String(), "service account not found") {
					t.Errorf("log = %q, want it to say the service account was not found", log.String())
				}
				log.Reset()
				if _, err := client.CoreV1().ServiceAccounts(testNamespace).Create(ctx, f.ServiceAccountCreatedWithPod, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			req := podRequest(t, testNamespace, &f.Pod)
			resp := h.Admit(ctx, req)
			if resp.UID != req.UID {
				t.Errorf("uid = %q, want %q", resp.UID, req.UID)
			}
			if f.Want == nil {
				assertNoPatch(t, resp)
			} else {
				if !resp.Allowed {
					t.Fatalf("allowed = false (%v), want true", resp.Result)
				}
				assertPodEqual(t, applyPatch(t, &f.Pod, resp), f.Want)
			}

			lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("log has %d lines, want 1 per admission:\n%s", len(lines), log.String())
			}
			if !strings.Contains(log.String(), f.WantLog) {
				t.Errorf("log = %q, want it to contain %q", log.String(), f.WantLog)
			}
		})
	}
}

// TestAdmitReadsServiceAccountEveryTime checks that there is no cache: a role annotation added
// to an existing service account applies to the next pod.
func TestAdmitReadsServiceAccountEveryTime(t *testing.T) {
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: testNamespace}}
	client := fake.NewClientset(sa)
	h := NewHandler(client, DefaultConfig(), nil)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	assertNoPatch(t, h.Admit(ctx, podRequest(t, testNamespace, pod)))

	sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/later"}
	if _, err := client.CoreV1().ServiceAccounts(testNamespace).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := applyPatch(t, pod, h.Admit(ctx, podRequest(t, testNamespace, pod)))
	if env := got.Spec.Containers[0].Env; len(env) != 2 || env[0].Value != "arn:aws:iam::111122223333:role/later" {
		t.Errorf("env = %v, want the role added after the first pod", env)
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.Matches("get", "serviceaccounts") {
			gets++
		}
	}
	if gets != 2 {
		t.Errorf("service account read %d times, want once per admission (2)", gets)
	}
	if h.Admissions() != 2 {
		t.Errorf("Admissions() = %d, want 2", h.Admissions())
	}
}

// TestAdmitConfig checks the flags: prefix, default audience, mount path, default expiration.
func TestAdmitConfig(t *testing.T) {
	cfg := Config{
		AnnotationPrefix:  "example.com",
		DefaultAudience:   "aud.example.com",
		MountPath:         "/var/run/secrets/example/",
		DefaultExpiration: 1200,
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "default", Namespace: testNamespace,
		Annotations: map[string]string{"example.com/role-arn": "arn:aws:iam::111122223333:role/x"},
	}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	h := NewHandler(fake.NewClientset(sa), cfg, nil)
	got := applyPatch(t, pod, h.Admit(t.Context(), podRequest(t, testNamespace, pod)))

	c := got.Spec.Containers[0]
	if len(c.Env) != 2 || c.Env[1] != (corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/example/token"}) {
		t.Errorf("env = %v", c.Env)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/var/run/secrets/example/" {
		t.Errorf("mounts = %v", c.VolumeMounts)
	}
	tok := got.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	if tok.Audience != "aud.example.com" || *tok.ExpirationSeconds != 1200 {
		t.Errorf("token = %+v, want audience aud.example.com, expiration 1200", tok)
	}

	// The eks.amazonaws.com annotations mean nothing under another prefix.
	pod.Labels = map[string]string{"eks.amazonaws.com/skip-pod-identity-webhook": "true"}
	if resp := h.Admit(t.Context(), podRequest(t, testNamespace, pod)); resp.Patch == nil {
		t.Error("the eks.amazonaws.com skip label skipped a webhook with prefix example.com")
	}
	pod.Labels = map[string]string{"example.com/skip-pod-identity-webhook": ""}
	assertNoPatch(t, h.Admit(t.Context(), podRequest(t, testNamespace, pod)))
}

func TestAdmitNotMutated(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "default", Namespace: testNamespace,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/x"},
	}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	tests := []struct {
		name    string
		req     func(*admissionv1.AdmissionRequest)
		client  func(*fake.Clientset)
		wantLog string
	}{
		{
			name:    "update",
			req:     func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Update },
			wantLog: "not mutated: operation UPDATE, only CREATE is mutated",
		},
		{
			name: "not a pod",
			req: func(r *admissionv1.AdmissionRequest) {
				r.Resource = metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
			},
			wantLog: "not mutated: not a pod",
		},
		{
			name:    "pod subresource",
			req:     func(r *admissionv1.AdmissionRequest) { r.SubResource = "ephemeralcontainers" },
			wantLog: "not mutated: not a pod",
		},
		{
			name: "service account lookup fails",
			client: func(c *fake.Clientset) {
				c.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("connection refused")
				})
			},
			wantLog: "not mutated: failed to get service account whtest/default: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(sa)
			if tt.client != nil {
				tt.client(client)
			}
			var log bytes.Buffer
			h := NewHandler(client, DefaultConfig(), &log)
			req := podRequest(t, testNamespace, pod)
			if tt.req != nil {
				tt.req(req)
			}
			assertNoPatch(t, h.Admit(t.Context(), req))
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log = %q, want it to contain %q", log.String(), tt.wantLog)
			}
		})
	}
}

func TestAdmitRefusesUndecodablePod(t *testing.T) {
	var log bytes.Buffer
	h := NewHandler(fake.NewClientset(), DefaultConfig(), &log)
	req := podRequest(t, testNamespace, &corev1.Pod{})
	req.Object.Raw = []byte(`{"spec":{"containers":"nope"}}`)
	resp := h.Admit(context.Background(), req)
	if resp.Allowed || resp.Result == nil || resp.Result.Code != 400 {
		t.Errorf("response = %+v, want refused with code 400", resp)
	}
	if !strings.Contains(log.String(), "refused: failed to decode pod") {
		t.Errorf("log = %q", log.String())
	}
}

// TestMutateAllContainersSkipped checks that the volume is added even when no container gets
// the env, as the real webhook does.
func TestMutateAllContainersSkipped(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "default", Namespace: testNamespace,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/x"},
	}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{"eks.amazonaws.com/skip-containers": " a , b "}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "i"}, {Name: "b", Image: "i"}}},
	}
	h := NewHandler(fake.NewClientset(sa), DefaultConfig(), nil)
	got := applyPatch(t, pod, h.Admit(t.Context(), podRequest(t, testNamespace, pod)))
	for _, c := range got.Spec.Containers {
		if len(c.Env) != 0 || len(c.VolumeMounts) != 0 {
			t.Errorf("container %s was mutated: %+v", c.Name, c)
		}
	}
	if len(got.Spec.Volumes) != 1 || got.Spec.Volumes[0].Name != VolumeName {
		t.Errorf("volumes = %+v, want %s", got.Spec.Volumes, VolumeName)
	}
}

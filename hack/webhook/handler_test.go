package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

// testNamespace is the namespace of every admission request in the fixtures.
const testNamespace = "whtest"

// fixture is one case: the inputs and the expected result (testdata/*.yaml).
type fixture struct {
	// Config sets the webhook's flags; Associated gives the pod's account a Pod Identity
	// association.
	Config struct {
		DefaultRegion   string `json:"defaultRegion"`
		RegionalSTS     bool   `json:"regionalSTS"`
		TokenAudience   string `json:"tokenAudience"`
		TokenExpiration int64  `json:"tokenExpiration"`
		Associated      bool   `json:"associated"`
	} `json:"config"`
	// ServiceAccount is in the webhook's cache when the pod is admitted.
	ServiceAccount *corev1.ServiceAccount `json:"serviceAccount"`
	// ServiceAccountNotInCache exists in the apiserver, but the cache has not seen it yet.
	ServiceAccountNotInCache *corev1.ServiceAccount `json:"serviceAccountNotInCache"`
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

// fixedJitter stands for the random lifetime of a default container credentials token.
func fixedJitter() int64 { return 80000 }

// accountsOf is a cache that holds exactly sas, parsed with cfg.
func accountsOf(cfg Config, sas ...*corev1.ServiceAccount) *Cache {
	c := NewCache(cfg, 0)
	for _, sa := range sas {
		c.Add(sa)
	}
	return c
}

// TestAdmit has one row per row of the real webhook's behaviour ("Reference row" in the
// fixture's comment), then the extra cases.
func TestAdmit(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
	}{
		{"SA role-arn set", "role-arn.yaml"},
		{"role-arn neither trimmed nor validated", "role-arn-untrimmed.yaml"},
		{"SA audience=my-aud", "audience.yaml"},
		{"SA audience present but empty", "audience-empty.yaml"},
		{"SA token-expiration=3600", "sa-token-expiration.yaml"},
		{"SA token-expiration=999999 not capped", "sa-token-expiration-not-capped.yaml"},
		{"SA token-expiration=60 raised to 600", "sa-token-expiration-raised.yaml"},
		{"SA token-expiration not trimmed", "sa-token-expiration-untrimmed.yaml"},
		{"SA sts-regional-endpoints=true", "sts-regional-endpoints.yaml"},
		{"SA sts-regional-endpoints read as a Go bool", "sts-regional-endpoints-gobool.yaml"},
		{"--sts-regional-endpoint on", "regional-flag.yaml"},
		{"--token-audience and --token-expiration", "token-flags.yaml"},
		{"--aws-default-region only where the container sets no region", "region.yaml"},
		{"pod token-expiration=7200 wins", "pod-token-expiration.yaml"},
		{"pod token-expiration=60 raised to 600", "pod-token-expiration-raised.yaml"},
		{"pod skip-containers=init,sidecar", "skip-containers.yaml"},
		{"pod skip-containers not trimmed", "skip-containers-untrimmed.yaml"},
		{"SA without role-arn", "no-role-arn.yaml"},
		{"container sets AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE", "container-sets-env.yaml"},
		{"init containers mutated like containers", "init-containers.yaml"},
		{"volume already present: checked by name, other containers still patched", "already-mutated.yaml"},
		{"service account not in the cache yet", "cache-lag.yaml"},
		{"skip label ignored by the handler", "skip-label.yaml"},
		{"Windows pod", "windows.yaml"},
		{"Pod Identity association", "pod-identity.yaml"},
		{"Pod Identity wins over role-arn", "pod-identity-wins.yaml"},

		{"container sets identity, region and regional STS: untouched", "container-sets-everything.yaml"},
		{"sts-regional-endpoints=false overrides the flag", "regional-flag-annotation-false.yaml"},
		{"unparseable token-expiration ignored", "unparseable-expiration.yaml"},
		{"no serviceAccountName uses default", "default-service-account.yaml"},
		{"SA in another namespace", "other-namespace.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadFixture(t, tt.fixture)
			cfg := DefaultConfig()
			cfg.DefaultRegion = f.Config.DefaultRegion
			cfg.RegionalSTS = f.Config.RegionalSTS
			if f.Config.TokenAudience != "" {
				cfg.DefaultAudience = f.Config.TokenAudience
			}
			if f.Config.TokenExpiration != 0 {
				cfg.DefaultExpiration = f.Config.TokenExpiration
			}
			var cached []*corev1.ServiceAccount
			if f.ServiceAccount != nil {
				cached = append(cached, f.ServiceAccount)
			}
			var log bytes.Buffer
			h := NewHandler(accountsOf(cfg, cached...), cfg, &log)
			h.Jitter = fixedJitter
			if f.Config.Associated {
				h.Associations = &Associations{}
				sa := identitySA(f)
				if err := h.Associations.Load([]byte(`{"identities":[{"namespace":"` + testNamespace + `","serviceAccount":"` + sa + `"}]}`)); err != nil {
					t.Fatal(err)
				}
			}

			req := podRequest(t, testNamespace, &f.Pod)
			resp := h.Admit(t.Context(), req)
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

// identitySA is the service account name of the fixture's pod, "default" when unset.
func identitySA(f fixture) string {
	if f.Pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return f.Pod.Spec.ServiceAccountName
}

// TestCacheLag checks that the informer-fed cache sees a new annotation only once the lag has
// passed, and that changes to one account apply in order.
func TestCacheLag(t *testing.T) {
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: testNamespace}}
	client := fake.NewClientset(sa)
	const lag = time.Second
	c := NewCache(DefaultConfig(), lag)
	if err := c.Run(ctx, client, 0); err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Lookup(testNamespace, "app"); !ok || e.RoleARN != "" {
		t.Fatalf("after Run: %+v, %v; want the account, with no role", e, ok)
	}
	h := NewHandler(c, DefaultConfig(), nil)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}

	sa = sa.DeepCopy()
	sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/first"}
	if _, err := client.CoreV1().ServiceAccounts(testNamespace).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa.Annotations["eks.amazonaws.com/role-arn"] = "arn:aws:iam::111122223333:role/second"
	if _, err := client.CoreV1().ServiceAccounts(testNamespace).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Right after the annotation, within the lag: admitted unmutated.
	assertNoPatch(t, h.Admit(ctx, podRequest(t, testNamespace, pod)))

	var got *corev1.Pod
	deadline := time.Now().Add(10 * lag)
	for time.Now().Before(deadline) {
		if resp := h.Admit(ctx, podRequest(t, testNamespace, pod)); resp.Patch != nil {
			got = applyPatch(t, pod, resp)
			if got.Spec.Containers[0].Env[0].Value == "arn:aws:iam::111122223333:role/second" {
				break
			}
		}
		time.Sleep(lag / 10)
	}
	if got == nil || got.Spec.Containers[0].Env[0].Value != "arn:aws:iam::111122223333:role/second" {
		t.Fatalf("the cache never settled on the last annotation: %+v", got)
	}
}

// TestLookupGrace checks --service-account-lookup-grace-period: an account the cache does not
// hold is fetched, and then kept.
func TestLookupGrace(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "late", Namespace: testNamespace,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/late"},
	}}
	c := NewCache(DefaultConfig(), 0)
	h := NewHandler(c, DefaultConfig(), nil)
	h.Grace = time.Second
	fetches := 0
	h.Fetch = func(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
		fetches++
		if ns != testNamespace || name != "late" {
			t.Errorf("fetched %s/%s", ns, name)
		}
		c.Add(sa)
		return sa, nil
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{ServiceAccountName: "late", Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	for range 2 {
		if resp := h.Admit(t.Context(), podRequest(t, testNamespace, pod)); resp.Patch == nil {
			t.Fatal("not mutated within the grace period")
		}
	}
	if fetches != 1 {
		t.Errorf("fetched %d times, want once (then cached)", fetches)
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
	h := NewHandler(accountsOf(cfg, sa), cfg, nil)
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
	sa.Annotations["eks.amazonaws.com/audience"] = "ignored"
	h = NewHandler(accountsOf(cfg, sa), cfg, nil)
	got = applyPatch(t, pod, h.Admit(t.Context(), podRequest(t, testNamespace, pod)))
	if aud := got.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.Audience; aud != "aud.example.com" {
		t.Errorf("audience = %q: an eks.amazonaws.com annotation counted under prefix example.com", aud)
	}
	if reg := RegistrationFor(cfg, "x", "https://127.0.0.1/mutate", nil); reg.Webhooks[0].ObjectSelector.MatchExpressions[0].Key != "example.com/skip-pod-identity-webhook" {
		t.Errorf("registration's objectSelector = %+v, want the prefix's skip label", reg.Webhooks[0].ObjectSelector)
	}
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			h := NewHandler(accountsOf(DefaultConfig(), sa), DefaultConfig(), &log)
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
	h := NewHandler(NewCache(DefaultConfig(), 0), DefaultConfig(), &log)
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
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{"eks.amazonaws.com/skip-containers": "a,b"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "i"}, {Name: "b", Image: "i"}}},
	}
	h := NewHandler(accountsOf(DefaultConfig(), sa), DefaultConfig(), nil)
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

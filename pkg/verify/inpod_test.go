package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// webDeployment is deployment/web (uid d-web) with its ReplicaSet web-abc (uid rs-web), and a
// ReplicaSet of another deployment whose pods carry the same labels.
func webDeployment() []runtime.Object {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d-web"},
		Spec: appsv1.DeploymentSpec{Selector: sel, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{ServiceAccountName: "checkout", Containers: []corev1.Container{
				{Name: "sidecar", Image: "envoy"}, {Name: "app", Image: "shop/web:1"},
			}},
		}},
	}
	d.Spec.Template.Annotations = map[string]string{DefaultContainerAnnotation: "app"}
	rs := func(name, uid, owner string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID(uid), Labels: map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: owner, UID: types.UID("d-" + owner), Controller: ptr.To(true)}},
		}}
	}
	return []runtime.Object{d, rs("web-abc", "rs-web", "web"), rs("canary-xyz", "rs-canary", "canary")}
}

// appPodOf is a pod of a ReplicaSet as the webhook left it (irsaAppPod), created minutes ago.
func appPodOf(name, rsUID string, minutes int, ready bool, phase corev1.PodPhase) *corev1.Pod {
	p := irsaAppPod()
	p.Name, p.UID = name, types.UID("uid-"+name)
	p.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute))
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: types.UID(rsUID), Controller: ptr.To(true)}}
	p.Annotations = map[string]string{DefaultContainerAnnotation: "app"}
	p.Status.Phase = phase
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

// webPods: web-abc-1 Ready, web-abc-2 Ready and newer, web-abc-3 newest but not Ready, and the
// canary's pod, newest of all and Ready, which is not the deployment's.
func webPods() []runtime.Object {
	return []runtime.Object{
		appPodOf("web-abc-1", "rs-web", 1, true, corev1.PodRunning),
		appPodOf("web-abc-2", "rs-web", 2, true, corev1.PodRunning),
		appPodOf("web-abc-3", "rs-web", 3, false, corev1.PodRunning),
		appPodOf("canary-xyz-1", "rs-canary", 4, true, corev1.PodRunning),
	}
}

func inPodConfig() Config {
	cfg := testConfig()
	cfg.Target, cfg.InPod = checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, true
	return cfg
}

// kubelet plays the apiserver and the kubelet for the ephemeralcontainers subresource: the
// patch is applied to the stored pod, and the added container gets the status state.
// patched counts the patches and records how many events the run had reported before each.
type kubelet struct {
	state   corev1.ContainerState
	patches []string // the pod each patch was for
	before  []int    // events reported before each patch
}

func (k *kubelet) install(cl *cluster, rec *recorder) {
	cl.client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		if pa.GetSubresource() != EphemeralSubresource {
			return false, nil, nil
		}
		rec.mu.Lock()
		k.before = append(k.before, len(rec.events))
		rec.mu.Unlock()
		k.patches = append(k.patches, pa.GetName())
		obj, err := cl.client.Tracker().Get(podsResource, pa.GetNamespace(), pa.GetName())
		if err != nil {
			return true, nil, err
		}
		old, _ := json.Marshal(obj)
		merged, err := strategicpatch.StrategicMergePatch(old, pa.GetPatch(), &corev1.Pod{})
		if err != nil {
			return true, nil, err
		}
		pod := &corev1.Pod{}
		if err := json.Unmarshal(merged, pod); err != nil {
			return true, nil, err
		}
		for _, ec := range pod.Spec.EphemeralContainers {
			if !slices.ContainsFunc(pod.Status.EphemeralContainerStatuses, func(s corev1.ContainerStatus) bool { return s.Name == ec.Name }) {
				pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses, corev1.ContainerStatus{Name: ec.Name, State: k.state})
			}
		}
		if err := cl.client.Tracker().Update(podsResource, pod, pod.Namespace); err != nil {
			return true, nil, err
		}
		return true, pod, nil
	})
}

func terminatedWith(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed"}}
}

// inPodLogs serves a recorded probe log for the ephemeral probe in pod web-abc-2 only.
func inPodLogs(t *testing.T, stream string) LogFunc {
	t.Helper()
	b, err := os.ReadFile("../../testdata/streams/" + stream)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, ns, pod, container string, _ bool) (io.ReadCloser, error) {
		if ns != "shop" || pod != "web-abc-2" || container != testPod {
			return nil, fmt.Errorf("logs of %s/%s container %s, want the ephemeral probe %s of shop/web-abc-2", ns, pod, container, testPod)
		}
		return io.NopCloser(strings.NewReader(string(b))), nil
	}
}

// writes are the actions of the run that change something.
func writes(cl *cluster) []string {
	var out []string
	for _, a := range cl.client.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+"/"+a.GetSubresource())
		}
	}
	return out
}

func TestRunInPodPasses(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, append(webDeployment(), webPods()...)...)
	rec := &recorder{}
	k := &kubelet{state: terminatedWith(0)}
	k.install(cl, rec)

	out, err := Run(context.Background(), inPodConfig(), testDeps(cl, inPodLogs(t, "probe-pass.jsonl")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != check.StatusPass || out.Failed != 0 || out.Pod != "" || out.Deleted || out.InPod.Refusal != nil {
		t.Errorf("outcome %+v: want a pass, no probe pod", out)
	}
	if out.InPod.Pod != "web-abc-2" || out.InPod.Container != "app" || out.InPod.Ephemeral != testPod {
		t.Errorf("in-pod outcome %+v: want the newest Ready pod web-abc-2, container app, the ephemeral %s", out.InPod, testPod)
	}
	// The only write: the one patch of the subresource. Nothing deleted, no probe pod.
	if w := writes(cl); !slices.Equal(w, []string{"patch pods/ephemeralcontainers"}) {
		t.Errorf("writes %q, want the one patch", w)
	}
	// The footprint is said before the write.
	footprint := slices.IndexFunc(rec.events, func(ev check.Event) bool { return ev.Check == CheckInPodFootprint })
	if footprint < 0 || len(k.before) != 1 || footprint >= k.before[0] {
		t.Errorf("footprint at event %d, patch after %v events: want the footprint before the patch", footprint, k.before)
	}
	fp := rec.events[footprint]
	for _, want := range []string{"adding the ephemeral container " + testPod, "to the pod shop/web-abc-2", "targeting its container app", "running as user 1001 group 3000 as the app does",
		"mounts of aws-iam-token", "it cannot be removed: it stays in the pod's spec", "kubectl rollout restart deployment/web -n shop"} {
		if !strings.Contains(fp.Message, want) {
			t.Errorf("footprint %q lacks %q", fp.Message, want)
		}
	}
	// The probe's checks come from the ephemeral container's log, then it is said to remain.
	wantOrder := []string{"check:outside.serviceaccount", "check:outside.webhook", "check:outside.issuer", "check:outside.workload_pods"}
	if got := rec.names(); !slices.Equal(got[:len(wantOrder)], wantOrder) {
		t.Errorf("events start %v", got[:len(wantOrder)])
	}
	names := rec.names()
	for _, pair := range [][2]string{
		{"info:" + CheckInPodPod, "check:" + CheckInPodIdentity}, {"check:" + CheckInPodIdentity, "info:" + CheckInPodFootprint},
		{"info:" + CheckInPodFootprint, "check:" + CheckInPodStart}, {"check:" + CheckInPodStart, "check:env.path"},
		{"check:sts.caller_identity", "info:" + CheckInPodRemains},
	} {
		if a, b := slices.Index(names, pair[0]), slices.Index(names, pair[1]); a < 0 || b < 0 || a > b {
			t.Errorf("%s (at %d) not before %s (at %d) in %v", pair[0], a, pair[1], b, names)
		}
	}
	if names[len(names)-2] != "info:"+CheckInPodRemains {
		t.Errorf("the last event before the verdict is %s, want %s", names[len(names)-2], CheckInPodRemains)
	}
	if ev := rec.find(t, CheckInPodRemains); !strings.Contains(ev.Message, "stays in the spec of the pod shop/web-abc-2, terminated (exit code 0), until the pod is replaced") {
		t.Errorf("remains %q", ev.Message)
	}
	if v := rec.verdict(t); v.Status != check.StatusPass {
		t.Errorf("verdict %+v", v)
	}
	for _, c := range []string{CheckPodMutation, CheckPodStart, CheckPodCreate, CheckNotProved} {
		if slices.Contains(names, "check:"+c) || slices.Contains(names, "info:"+c) {
			t.Errorf("%s, of a probe pod's run, in an in-pod run", c)
		}
	}
	// The ephemeral container as stored: the probe's command and the app's identity.
	p, err := cl.client.CoreV1().Pods("shop").Get(context.Background(), "web-abc-2", metav1.GetOptions{})
	if err != nil || len(p.Spec.EphemeralContainers) != 1 {
		t.Fatalf("pod %v, %v", p, err)
	}
	ec := p.Spec.EphemeralContainers[0]
	cmd := strings.Join(ec.Command, " ")
	for _, want := range []string{"/wi-probe --in-pod", "--expected-role-arn " + testRole, "--expected-issuer " + testIssuer, "--expected-expiration 86400"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	if ec.TargetContainerName != "app" || envOf(ec.Env, "AWS_ROLE_ARN") == nil || envOf(ec.Env, EnvSTSEndpoint).Value != "http://10.244.0.1:8900" {
		t.Errorf("ephemeral container %+v", ec)
	}
	var ends []report.StepID
	for _, s := range rec.steps {
		if s.State != report.StepRunning {
			ends = append(ends, s.ID)
		}
	}
	if want := []report.StepID{StepOutside, StepAttach, StepStart, StepProbe, StepCleanup}; !slices.Equal(ends, want) {
		t.Errorf("steps ended %v, want %v", ends, want)
	}
}

// How the pod is chosen: --pod, -c, a pod target; and what is refused before any write.
func TestRunInPodChoice(t *testing.T) {
	tests := []struct {
		name          string
		edit          func(*Config)
		objs          []runtime.Object
		wantPod       string
		wantContainer string
		wantErr       error
		wantRefusal   RefusalReason
	}{
		{name: "the newest Ready pod of the deployment, not the canary's", wantPod: "web-abc-2", wantContainer: "app"},
		{name: "--pod", edit: func(c *Config) { c.Pod = "web-abc-1" }, wantPod: "web-abc-1", wantContainer: "app"},
		{name: "-c", edit: func(c *Config) { c.Container = "sidecar" }, wantPod: "web-abc-2", wantContainer: "sidecar"},
		{name: "a pod target", edit: func(c *Config) { c.Target = checktarget.Target{Kind: checktarget.KindPod, Name: "web-abc-3"} }, wantPod: "web-abc-3", wantContainer: "app"},
		{name: "--pod of another deployment", edit: func(c *Config) { c.Pod = "canary-xyz-1" }, wantErr: ErrNotTargetPod},
		{name: "--pod that does not exist", edit: func(c *Config) { c.Pod = "web-abc-9" }, wantErr: ErrNotTargetPod},
		{name: "-c naming no container", edit: func(c *Config) { c.Container = "worker" }, wantErr: ErrNoSuchContainer},
		{
			name: "--pod that is not running", edit: func(c *Config) { c.Pod = "web-abc-4" },
			objs:        []runtime.Object{appPodOf("web-abc-4", "rs-web", 5, false, corev1.PodPending)},
			wantRefusal: RefusedNotRunning,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append(append(webDeployment(), webPods()...), tt.objs...)
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, objs...)
			rec := &recorder{}
			k := &kubelet{state: terminatedWith(0)}
			k.install(cl, rec)
			cfg := inPodConfig()
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			logs := func(_ context.Context, _, _, _ string, _ bool) (io.ReadCloser, error) {
				b, err := os.ReadFile("../../testdata/streams/probe-pass.jsonl")
				return io.NopCloser(strings.NewReader(string(b))), err
			}
			out, err := Run(context.Background(), cfg, testDeps(cl, logs), rec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if w := writes(cl); len(w) > 0 {
					t.Errorf("wrote %q before refusing the input", w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantRefusal != "" {
				if out.InPod.Refusal == nil || out.InPod.Refusal.Reason != tt.wantRefusal || len(k.patches) > 0 {
					t.Errorf("refusal %+v after %d patches, want %s and none", out.InPod.Refusal, len(k.patches), tt.wantRefusal)
				}
				return
			}
			if !slices.Equal(k.patches, []string{tt.wantPod}) || out.InPod.Container != tt.wantContainer {
				t.Errorf("patched %v, container %s; want %s, %s", k.patches, out.InPod.Container, tt.wantPod, tt.wantContainer)
			}
			p, err := cl.client.CoreV1().Pods("shop").Get(context.Background(), tt.wantPod, metav1.GetOptions{})
			if err != nil || len(p.Spec.EphemeralContainers) != 1 || p.Spec.EphemeralContainers[0].TargetContainerName != tt.wantContainer {
				t.Errorf("pod %s: %v", tt.wantPod, err)
			}
		})
	}
}

// The cluster refuses the ephemeral container: the run says why, names the fix, and falls back
// to a probe pod, whose result follows; the probe pod is deleted as always.
func TestRunInPodRefused(t *testing.T) {
	podGR := schema.GroupResource{Resource: "pods"}
	rbac := apierrors.NewForbidden(podGR, "web-abc-2",
		errors.New(`User "system:serviceaccount:shop:viewer" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "shop"`))
	notServed := apierrors.NewNotFound(schema.GroupResource{}, "")
	notServed.ErrStatus.Message = "the server could not find the requested resource"
	psa := apierrors.NewForbidden(podGR, "web-abc-2",
		errors.New(`violates PodSecurity "restricted:latest": runAsNonRoot != true (container "wi-probe-abcde" must not set securityContext.runAsNonRoot=false)`))
	webhook := apierrors.NewBadRequest(`admission webhook "validate.kyverno.svc-fail" denied the request: ephemeral containers are not allowed`)
	tests := []struct {
		name    string
		err     error
		want    RefusalReason
		wantMsg []string
		wantFix string
	}{
		{name: "RBAC", err: rbac, want: RefusedForbidden, wantMsg: []string{`ask for RBAC verb "patch" on "pods/ephemeralcontainers"`}, wantFix: "deploy/rbac/verify.yaml"},
		{name: "not served", err: notServed, want: RefusedNotServed, wantMsg: []string{"does not serve pods/ephemeralcontainers"}, wantFix: "enable ephemeral containers"},
		{name: "method not allowed", err: apierrors.NewMethodNotSupported(podGR, "patch"), want: RefusedNotServed},
		{name: "Pod Security", err: psa, want: RefusedAdmission, wantMsg: []string{"Pod Security admission refused", "restricted:latest"}},
		{name: "a webhook", err: webhook, want: RefusedAdmission, wantMsg: []string{"an admission policy refused", "kyverno"}, wantFix: "named wi-probe-*"},
		{name: "invalid", err: apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "web-abc-2", nil), want: RefusedInvalid},
		{name: "the pod went away", err: apierrors.NewNotFound(podGR, "web-abc-2"), want: RefusedNotRunning, wantMsg: []string{"was deleted before the probe could join it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, append(webDeployment(), webPods()...)...)
			cl.client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() == EphemeralSubresource {
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			logs, _ := logsFrom(t, "probe-pass.jsonl")
			rec := &recorder{}

			out, err := Run(context.Background(), inPodConfig(), testDeps(cl, logs), rec)
			if err != nil {
				t.Fatal(err)
			}
			r := out.InPod.Refusal
			if r == nil || r.Reason != tt.want {
				t.Fatalf("refusal %+v, want %s", r, tt.want)
			}
			ev := rec.find(t, CheckInPodRefused)
			if ev.Status != check.StatusWarn || !strings.Contains(ev.Message, "a probe pod runs instead") || !strings.Contains(ev.Fix, tt.wantFix) {
				t.Errorf("inpod.refused %s %q fix %q", ev.Status, ev.Message, ev.Fix)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("inpod.refused %q lacks %q", ev.Message, s)
				}
			}
			// The probe pod's run follows, and ends as always.
			if out.Pod != testPod || out.Status != check.StatusWarn || rec.find(t, CheckPodStart).Status != check.StatusPass {
				t.Errorf("outcome %+v: want the probe pod's pass, warned by the refusal", out)
			}
			if slices.Contains(rec.names(), "info:"+CheckInPodRemains) {
				t.Error("said an ephemeral container remains, though none was added")
			}
			podGone(t, cl)
		})
	}
}

// An app container without identity: nothing is added, since the probe would only find the
// env missing; the check says what the app's SDK falls back to.
func TestRunInPodNoIdentity(t *testing.T) {
	pod := appPodOf("web-abc-2", "rs-web", 2, true, corev1.PodRunning)
	pod.Spec.Containers[1].Env = pod.Spec.Containers[1].Env[:5] // the app's own env, no injection
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, append(webDeployment(), pod)...)
	rec := &recorder{}
	k := &kubelet{state: terminatedWith(0)}
	k.install(cl, rec)

	out, err := Run(context.Background(), inPodConfig(), testDeps(cl, nil), rec)
	if err != nil {
		t.Fatal(err)
	}
	ev := rec.find(t, CheckInPodIdentity)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Message, "fall back to the node's instance role") || !strings.Contains(ev.Message, "the probe is not added") {
		t.Errorf("inpod.identity %s %q", ev.Status, ev.Message)
	}
	if len(k.patches) > 0 || out.Status != check.StatusFail || len(writes(cl)) > 0 {
		t.Errorf("patches %v, writes %v, outcome %+v: want nothing written and a failure", k.patches, writes(cl), out)
	}
}

// The node cannot pull the probe image: the check says so, and that the container stays.
func TestRunInPodImagePull(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, append(webDeployment(), webPods()...)...)
	rec := &recorder{}
	k := &kubelet{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}}}
	k.install(cl, rec)

	_, err := Run(context.Background(), inPodConfig(), testDeps(cl, nil), rec)
	if err == nil || !strings.Contains(err.Error(), "the probe "+testPod+" in the pod shop/web-abc-2 did not run: the node cannot pull the probe image wi.local/kubectl-wi:dev") {
		t.Fatalf("error %v", err)
	}
	ev := rec.find(t, CheckInPodStart)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Fix, "--image") || !strings.Contains(ev.Fix, "stays in the pod's spec, never started") {
		t.Errorf("inpod.start %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	rem := rec.find(t, CheckInPodRemains)
	if !strings.Contains(rem.Message, "stays in the spec of the pod shop/web-abc-2") {
		t.Errorf("remains %q", rem.Message)
	}
	rec.verdict(t)
}

// --dry-run=client: PlanInPod reads and builds the patch, and writes nothing.
func TestPlanInPodWritesNothing(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole, "eks.amazonaws.com/audience": "sts.example.com"}, true, append(webDeployment(), webPods()...)...)
	cfg := inPodConfig()
	cfg.CABundle = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

	plan, err := PlanInPod(context.Background(), cfg, testDeps(cl, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cl.client.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" {
			t.Errorf("a dry run did %s %s/%s", v, a.GetResource().Resource, a.GetSubresource())
		}
	}
	if plan.Pod.Pod.Name != "web-abc-2" || plan.Container.TargetContainerName != "app" || plan.Container.Name != testPod {
		t.Errorf("plan %+v", plan)
	}
	var patch map[string]map[string][]corev1.EphemeralContainer
	if err := json.Unmarshal(plan.Patch, &patch); err != nil {
		t.Fatal(err)
	}
	ec := patch["spec"]["ephemeralContainers"][0]
	if cmd := strings.Join(ec.Command, " "); !strings.Contains(cmd, "--expected-audience sts.example.com") || !strings.Contains(cmd, "--expected-issuer "+testIssuer) {
		t.Errorf("command %q", cmd)
	}
	if envOf(ec.Env, probe.EnvCABundlePEM) == nil {
		t.Error("no CA bundle in the env")
	}
}

// Ctrl-C while the ephemeral probe waits to start: the error is context.Canceled, nothing is
// deleted (nothing can be), and the run still says the container stays in the pod's spec.
func TestRunInPodInterrupted(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, append(webDeployment(), webPods()...)...)
	rec := &recorder{}
	k := &kubelet{state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	k.install(cl, rec)
	cl.watcher = watch.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-cl.watched
		cancel()
	}()

	out, err := Run(ctx, inPodConfig(), testDeps(cl, nil), rec)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while waiting for the probe "+testPod+" in the pod shop/web-abc-2 to run") {
		t.Fatalf("error %v", err)
	}
	if out.InPod.Ephemeral != testPod {
		t.Errorf("outcome %+v: the ephemeral container was added", out.InPod)
	}
	if w := writes(cl); !slices.Equal(w, []string{"patch pods/ephemeralcontainers"}) {
		t.Errorf("writes %q: want the patch alone", w)
	}
	ev := rec.find(t, CheckInPodRemains)
	if !strings.Contains(ev.Message, "the ephemeral container "+testPod+" stays in the spec of the pod shop/web-abc-2, terminated once the probe ends") {
		t.Errorf("inpod.remains %q", ev.Message)
	}
	for _, ev := range rec.events {
		if ev.Type == check.TypeResult {
			t.Error("a verdict after an interruption")
		}
	}
}

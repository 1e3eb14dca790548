package verify

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

const (
	testRole   = "arn:aws:iam::111122223333:role/checkout"
	testIssuer = "https://127.0.0.1:6443"
	testPod    = "wi-probe-abcde"
)

// recorder is a Reporter that keeps everything, in order.
type recorder struct {
	mu     sync.Mutex
	steps  []report.Step
	events []check.Event
	raw    []string
}

func (r *recorder) Step(s report.Step) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() }
func (r *recorder) Event(ev check.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ev.Valid(); err != nil {
		panic(err)
	}
	r.events = append(r.events, ev)
}
func (r *recorder) Raw(l string) { r.mu.Lock(); r.raw = append(r.raw, l); r.mu.Unlock() }

func (r *recorder) checks() map[string]check.Status {
	out := map[string]check.Status{}
	for _, ev := range r.events {
		if ev.Type == check.TypeCheck {
			out[ev.Check] = ev.Status
		}
	}
	return out
}

func (r *recorder) find(t *testing.T, name string) check.Event {
	t.Helper()
	for _, ev := range r.events {
		if ev.Check == name {
			return ev
		}
	}
	t.Fatalf("no %s event in %v", name, r.names())
	return check.Event{}
}

func (r *recorder) names() []string {
	var out []string
	for _, ev := range r.events {
		out = append(out, string(ev.Type)+":"+ev.Check)
	}
	return out
}

// verdict is the result event, which must be the last event and the only result.
func (r *recorder) verdict(t *testing.T) check.Event {
	t.Helper()
	n := 0
	for _, ev := range r.events {
		if ev.Type == check.TypeResult {
			n++
		}
	}
	if n != 1 || r.events[len(r.events)-1].Type != check.TypeResult {
		t.Fatalf("want exactly one result, last; got %d in %v", n, r.names())
	}
	return r.events[len(r.events)-1]
}

// cluster is a fake cluster: the service account, the namespace, the webhook registration,
// a webhook that mutates created pods, and a kubelet that sets the status the test asks.
type cluster struct {
	client *fake.Clientset
	// mutate plays the webhook on each created pod; nil leaves pods as sent.
	mutate func(*corev1.Pod)
	// status is the status a created pod gets.
	status corev1.PodStatus
	// watcher, when set, serves pod watches, so a test can drive the pod's status.
	watcher *watch.FakeWatcher
	watched chan struct{}
	created *corev1.Pod
}

func newCluster(t *testing.T, saAnnotations map[string]string, webhooks bool, objs ...runtime.Object) *cluster {
	t.Helper()
	objs = append(objs,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"kubernetes.io/metadata.name": "shop"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", Annotations: saAnnotations}},
	)
	if webhooks {
		wh := identityWebhook()
		objs = append(objs, &wh)
	}
	cl := &cluster{
		client:  fake.NewClientset(objs...),
		status:  succeeded(),
		watched: make(chan struct{}, 1),
	}
	if webhooks && saAnnotations[roleAnnotation] != "" {
		cl.mutate = webhookMutation(saAnnotations[roleAnnotation])
	}
	cl.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if cl.mutate != nil {
			cl.mutate(pod)
		}
		pod.UID = "uid-1"
		pod.Spec.NodeName = "node-1"
		pod.Status = cl.status
		cl.created = pod.DeepCopy()
		return false, nil, nil
	})
	cl.client.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		select {
		case cl.watched <- struct{}{}:
		default:
		}
		if cl.watcher != nil {
			return true, cl.watcher, nil
		}
		return false, nil, nil
	})
	return cl
}

const roleAnnotation = "eks.amazonaws.com/role-arn"

func succeeded() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
	}}}
}

// webhookMutation injects IRSA as the pod identity webhook does.
func webhookMutation(role string) func(*corev1.Pod) {
	return func(pod *corev1.Pod) {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
		}}})
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			c.Env = append(c.Env,
				corev1.EnvVar{Name: "AWS_ROLE_ARN", Value: role},
				corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"})
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "aws-iam-token", MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", ReadOnly: true})
		}
	}
}

// logsFrom serves a recorded probe log (testdata/streams at the repository's root).
func logsFrom(t *testing.T, stream string) (LogFunc, *int) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/streams/" + stream)
	if err != nil {
		t.Fatal(err)
	}
	calls := new(int)
	return func(_ context.Context, ns, pod, container string, _ bool) (io.ReadCloser, error) {
		*calls++
		if ns != "shop" || pod != testPod || container != ContainerName {
			t.Errorf("logs of %s/%s container %s", ns, pod, container)
		}
		return io.NopCloser(strings.NewReader(string(b))), nil
	}, calls
}

// clock advances a millisecond at each reading.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func testDeps(cl *cluster, logs LogFunc) Deps {
	return Deps{
		Client:    cl.client,
		Logs:      logs,
		Discovery: func(context.Context) ([]byte, error) { return []byte(`{"issuer":"` + testIssuer + `"}`), nil },
		Now:       clock(),
		PodName:   func() string { return testPod },
	}
}

func testConfig() Config {
	return Config{
		Namespace: "shop", Target: checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "checkout"}, Image: "wi.local/kubectl-wi:dev",
		PullPolicy: corev1.PullIfNotPresent, Timeout: time.Minute, STSEndpoint: "http://10.244.0.1:8900",
	}
}

func podGone(t *testing.T, cl *cluster) {
	t.Helper()
	if _, err := cl.client.CoreV1().Pods("shop").Get(context.Background(), testPod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the probe pod is still there (err %v)", err)
	}
	deleted := false
	for _, a := range cl.client.Actions() {
		if a.Matches("delete", "pods") {
			deleted = true
			if o := a.(k8stesting.DeleteAction).GetDeleteOptions(); o.Preconditions == nil || ptr.Deref(o.Preconditions.UID, "") != "uid-1" || ptr.Deref(o.GracePeriodSeconds, -1) != 0 {
				t.Errorf("delete options %+v: want grace 0 and the created pod's UID", o)
			}
		}
	}
	if !deleted {
		t.Error("no delete")
	}
}

func TestRunPasses(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	logs, calls := logsFrom(t, "probe-pass.jsonl")
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != check.StatusPass || out.Failed != 0 || out.Warned != 0 || out.Checks != 22 || out.Pod != testPod || !out.Deleted {
		t.Errorf("outcome %+v, want 22 passing checks and the pod deleted", out)
	}
	v := rec.verdict(t)
	if v.Status != check.StatusPass || v.Message != "all 22 checks passed" || v.Fix != "" || v.Data["path"] != "irsa" || v.Data["probe"] != "0 of 12 checks failed" {
		t.Errorf("verdict %+v", v)
	}
	// Events come in the order of the steps; the probe's result is folded into the verdict.
	wantOrder := []string{"check:outside.serviceaccount", "check:outside.webhook", "check:outside.issuer", "info:pod.create",
		"check:pod.mutation", "check:pod.role_arn", "check:pod.token_file", "check:pod.token_mount", "check:pod.token_audience", "check:pod.token_expiration",
		"check:pod.start", "check:env.path"}
	if got := rec.names(); !slices.Equal(got[:len(wantOrder)], wantOrder) {
		t.Errorf("events start\n %v\nwant\n %v", got[:len(wantOrder)], wantOrder)
	}
	for c, s := range rec.checks() {
		if s != check.StatusPass {
			t.Errorf("%s is %s", c, s)
		}
	}
	if *calls != 1 {
		t.Errorf("%d log streams, want 1", *calls)
	}
	// The probe was told what to expect: the issuer from discovery, the account's role.
	cmd := strings.Join(cl.created.Spec.Containers[0].Command, " ")
	for _, want := range []string{"--expected-issuer " + testIssuer, "--expected-role-arn " + testRole, "--expected-subject system:serviceaccount:shop:checkout", "--expected-expiration 86400"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	// Steps: each started and ended, cleanup last.
	var ends []report.StepID
	for _, s := range rec.steps {
		if s.State != report.StepRunning {
			ends = append(ends, s.ID)
		}
	}
	if !slices.Equal(ends, Steps) {
		t.Errorf("steps ended %v, want %v", ends, Steps)
	}
	podGone(t, cl)
	tm := out.Timings
	for name, at := range map[string]time.Time{"created": tm.Created, "scheduled": tm.Scheduled, "running": tm.Running, "first event": tm.FirstEvent, "verdict": tm.Verdict, "gone": tm.Gone} {
		if at.IsZero() {
			t.Errorf("timing %s not recorded", name)
		}
	}
}

// The account names no role: the stored pod says so, and verify neither waits nor reads logs.
func TestRunNotMutated(t *testing.T) {
	cl := newCluster(t, nil, true)
	logs, calls := logsFrom(t, "probe-pass.jsonl")
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Failed != 1 || out.Warned != 0 || out.Status != check.StatusFail {
		t.Errorf("outcome %+v, want 1 failed (pod.mutation), outside.serviceaccount skipped", out)
	}
	ev := rec.find(t, CheckPodMutation)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Message, "the service account shop/checkout has no eks.amazonaws.com/role-arn annotation") {
		t.Errorf("pod.mutation %s %q", ev.Status, ev.Message)
	}
	if v := rec.verdict(t); v.Status != check.StatusFail || !strings.Contains(v.Fix, "kubectl wi enable serviceaccount/checkout -n shop") {
		t.Errorf("verdict %+v", v)
	}
	if *calls != 0 {
		t.Error("read the logs of a pod that could not help")
	}
	for _, a := range cl.client.Actions() {
		if a.GetVerb() == "watch" {
			t.Error("waited for a pod that could not help")
		}
	}
	podGone(t, cl)
}

// An account with no role-arn annotation whose probe pod comes back unmutated: what verify
// says depends on what it knows of the account's association. With one, the webhook is at
// fault, and enable (which the user already ran) is not proposed; read and none, enable; not
// read, both causes and the command that tells them apart.
func TestRunNotMutatedAssociation(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/pi"
	tests := []struct {
		name        string
		lookup      *AssociationLookup // nil: Deps.Association unset
		wantSA      check.Status
		wantSAMsg   string
		wantCause   []string
		wantFix     []string
		wantNoFix   string
		wantAssocID string
	}{
		{
			name:        "association exists: the webhook",
			lookup:      &AssociationLookup{Read: true, Cluster: "prod", ID: "a-1", RoleARN: role},
			wantSA:      check.StatusPass,
			wantSAMsg:   "its EKS Pod Identity association a-1 in cluster prod gives the role " + role,
			wantCause:   []string{"has the EKS Pod Identity association a-1 (cluster prod, role " + role + "), yet the pod identity webhook did not inject its container credentials"},
			wantFix:     []string{"aws eks describe-addon --cluster-name prod --addon-name eks-pod-identity-agent", "--watch-container-credentials-config"},
			wantNoFix:   "kubectl wi enable serviceaccount/checkout",
			wantAssocID: "a-1",
		},
		{
			name:      "read, none: enable",
			lookup:    &AssociationLookup{Read: true, Cluster: "prod"},
			wantSA:    check.StatusSkip,
			wantSAMsg: "no eks.amazonaws.com/role-arn annotation and no EKS Pod Identity association in cluster prod",
			wantCause: []string{"no eks.amazonaws.com/role-arn annotation and no EKS Pod Identity association in cluster prod"},
			wantFix:   []string{"kubectl wi enable serviceaccount/checkout -n shop --pod-identity --role-arn <role ARN>"},
			wantNoFix: "eks-pod-identity-agent",
		},
		{
			name:      "not read: both causes, and how to tell them apart",
			lookup:    &AssociationLookup{NotRead: "no AWS credentials at hand"},
			wantSA:    check.StatusSkip,
			wantSAMsg: "its EKS Pod Identity association, if any, was not read (no AWS credentials at hand)",
			wantCause: []string{"was not read (no AWS credentials at hand): either it has none, or it has one and the pod identity webhook does not inject Pod Identity"},
			wantFix: []string{"aws eks list-pod-identity-associations --cluster-name <EKS cluster> --namespace shop --service-account checkout",
				"kubectl wi enable serviceaccount/checkout -n shop --pod-identity", "eks-pod-identity-agent"},
		},
		{
			name:      "no lookup at all: both causes",
			wantSA:    check.StatusSkip,
			wantSAMsg: "was not read",
			wantCause: []string{"either it has none, or it has one"},
			wantFix:   []string{"aws eks list-pod-identity-associations"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t, nil, true)
			logs, _ := logsFrom(t, "probe-pass.jsonl")
			deps := testDeps(cl, logs)
			var asked []string
			if tt.lookup != nil {
				deps.Association = func(_ context.Context, ns, sa string) AssociationLookup {
					asked = append(asked, ns+"/"+sa)
					return *tt.lookup
				}
			}
			rec := &recorder{}
			out, err := Run(context.Background(), testConfig(), deps, rec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.lookup != nil && (len(asked) != 1 || asked[0] != "shop/checkout") {
				t.Errorf("association looked up for %v, want once for shop/checkout", asked)
			}
			if out.Status != check.StatusFail {
				t.Errorf("outcome %+v, want a failure", out)
			}
			sa := rec.find(t, CheckOutsideServiceAccount)
			if sa.Status != tt.wantSA || !strings.Contains(sa.Message, tt.wantSAMsg) {
				t.Errorf("outside.serviceaccount %s %q, want %s with %q", sa.Status, sa.Message, tt.wantSA, tt.wantSAMsg)
			}
			ev := rec.find(t, CheckPodMutation)
			for _, c := range tt.wantCause {
				if !strings.Contains(ev.Message, c) {
					t.Errorf("pod.mutation %q lacks %q", ev.Message, c)
				}
			}
			for _, f := range tt.wantFix {
				if !strings.Contains(ev.Fix, f) {
					t.Errorf("pod.mutation's fix %q lacks %q", ev.Fix, f)
				}
			}
			if tt.wantNoFix != "" && strings.Contains(ev.Fix, tt.wantNoFix) {
				t.Errorf("pod.mutation's fix %q proposes %q", ev.Fix, tt.wantNoFix)
			}
			if got, _ := ev.Data["association_id"].(string); got != tt.wantAssocID {
				t.Errorf("association_id %q, want %q", got, tt.wantAssocID)
			}
		})
	}
}

// No webhook is registered at all: both the outside check and the stored pod say so.
func TestRunNoWebhook(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, false)
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), testDeps(cl, nil), rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Failed != 2 {
		t.Errorf("%d failed, want 2: outside.webhook and pod.mutation (%v)", out.Failed, rec.checks())
	}
	if ev := rec.find(t, CheckOutsideWebhook); ev.Status != check.StatusFail || !strings.Contains(ev.Message, "no mutating webhook on pods CREATE is registered") {
		t.Errorf("outside.webhook %s %q", ev.Status, ev.Message)
	}
	ev := rec.find(t, CheckPodMutation)
	if !strings.Contains(ev.Message, "the pod identity webhook is not registered") || strings.Contains(ev.Message, "role-arn annotation") {
		t.Errorf("pod.mutation %q: want the webhook named, not the annotation", ev.Message)
	}
	podGone(t, cl)
}

// The node cannot pull the image: verify says which image and the flag, then stops.
func TestRunImagePullBackOff(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
	}}}
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), testDeps(cl, nil), rec)
	if err == nil || !strings.Contains(err.Error(), "did not run: the node cannot pull the probe image wi.local/kubectl-wi:dev") {
		t.Fatalf("error %v", err)
	}
	ev := rec.find(t, CheckPodStart)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Fix, "--image") {
		t.Errorf("pod.start %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	rec.verdict(t)
	podGone(t, cl)
}

// The pod starts Pending; a watch event says it runs; verify follows its log.
func TestRunWaitsForTheWatch(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending}
	cl.watcher = watch.NewFake()
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	go func() {
		<-cl.watched
		p := cl.created.DeepCopy()
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
		cl.watcher.Modify(p)
		p = p.DeepCopy()
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		cl.watcher.Modify(p)
	}()
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err != nil || out.Status != check.StatusPass {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	var details []string
	for _, s := range rec.steps {
		if s.ID == StepStart {
			details = append(details, string(s.State)+" "+s.Detail)
		}
	}
	want := []string{"running Pending", "running Pending: on node node-1", "running Pending: ContainerCreating", "done on node node-1"}
	if !slices.Equal(details, want) {
		t.Errorf("start steps %q, want %q", details, want)
	}
}

// Ctrl-C while the pod is pending: no verdict, the pod deleted on a fresh context, an error
// that is context.Canceled.
func TestRunInterrupted(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending}
	cl.watcher = watch.NewFake()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-cl.watched
		cancel()
	}()
	rec := &recorder{}

	_, err := Run(ctx, testConfig(), testDeps(cl, nil), rec)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while waiting for the probe pod shop/wi-probe-abcde to run") {
		t.Fatalf("error %v", err)
	}
	for _, ev := range rec.events {
		if ev.Type == check.TypeResult {
			t.Error("a verdict after an interruption")
		}
	}
	podGone(t, cl)
	if last := rec.steps[len(rec.steps)-1]; last.ID != StepCleanup || last.State != report.StepDone || last.Detail != "deleted shop/wi-probe-abcde" {
		t.Errorf("last step %+v", last)
	}
}

// --timeout passes while the pod is pending: the check fails with the timeout, the error wraps
// context.DeadlineExceeded (exit 3), the pod is deleted.
func TestRunTimeout(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}}}
	cl.watcher = watch.NewFake()
	cfg := testConfig()
	cfg.Timeout = 50 * time.Millisecond
	rec := &recorder{}

	_, err := Run(context.Background(), cfg, testDeps(cl, nil), rec)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	ev := rec.find(t, CheckPodStart)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Message, "did not run within --timeout 50ms (Pending: ContainerCreating)") {
		t.Errorf("pod.start %s %q", ev.Status, ev.Message)
	}
	rec.verdict(t)
	podGone(t, cl)
}

// A pod no node fits, when --timeout ends before the grace for an autoscaler does, is told
// what to make fit, not to wait longer.
func TestRunTimeoutUnschedulable(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
	}}}
	cl.watcher = watch.NewFake()
	cfg := testConfig()
	cfg.Timeout = 50 * time.Millisecond
	rec := &recorder{}

	_, err := Run(context.Background(), cfg, testDeps(cl, nil), rec)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	ev := rec.find(t, CheckPodStart)
	if !strings.Contains(ev.Message, "didn't match Pod's node affinity/selector") || strings.Contains(ev.Fix, "--timeout") || !strings.Contains(ev.Fix, "nodeSelector") {
		t.Errorf("pod.start %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	podGone(t, cl)
}

func TestRunKeep(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	cfg := testConfig()
	cfg.Keep = true
	rec := &recorder{}

	out, err := Run(context.Background(), cfg, testDeps(cl, logs), rec)
	if err != nil || !out.Kept || out.Deleted {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if _, err := cl.client.CoreV1().Pods("shop").Get(context.Background(), testPod, metav1.GetOptions{}); err != nil {
		t.Errorf("the kept pod is gone: %v", err)
	}
	if last := rec.steps[len(rec.steps)-1]; last.Detail != "kept shop/wi-probe-abcde" {
		t.Errorf("last step %+v", last)
	}
}

// The recorded streams of failing runs fail the run with the probe's diagnosis in the verdict.
func TestRunProbeFailures(t *testing.T) {
	tests := []struct {
		stream, check, fix string
		status             check.Status
	}{
		{stream: "probe-trust-policy.jsonl", check: "sts.assume_role", status: check.StatusFail, fix: "127.0.0.1:6443:sub = system:serviceaccount:shop:audit"},
		{stream: "probe-audience.jsonl", check: "sts.assume_role", status: check.StatusFail, fix: "aws iam add-client-id-to-open-id-connect-provider"},
		{stream: "probe-minio.jsonl", check: "sts.caller_identity", status: check.StatusWarn},
	}
	for _, tt := range tests {
		t.Run(tt.stream, func(t *testing.T) {
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
			logs, _ := logsFrom(t, tt.stream)
			rec := &recorder{}
			out, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.checks()[tt.check]; got != tt.status {
				t.Errorf("%s is %s, want %s", tt.check, got, tt.status)
			}
			v := rec.verdict(t)
			if v.Status != tt.status || out.Status != tt.status || !strings.Contains(v.Fix, tt.fix) {
				t.Errorf("verdict %s %q fix %q, want %s with a fix containing %q", v.Status, v.Message, v.Fix, tt.status, tt.fix)
			}
		})
	}
}

// A probe that ends without a result: its raw output is kept and the run stops with an error.
func TestRunProbeWithoutVerdict(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	st := succeeded()
	st.Phase = corev1.PodFailed
	st.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}
	cl.status = st
	logs := func(context.Context, string, string, string, bool) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("Error: unknown flag: --expected-issuer\n{\"v\":1,\"type\":\"check\",\"check\":\"env.path\",\"status\":\"pass\",\"message\":\"ok\"}\n")), nil
	}
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err == nil || !strings.Contains(err.Error(), "ended without a verdict (image wi.local/kubectl-wi:dev)") {
		t.Fatalf("error %v", err)
	}
	if !slices.Equal(rec.raw, []string{"Error: unknown flag: --expected-issuer"}) {
		t.Errorf("raw %q", rec.raw)
	}
	if ev := rec.find(t, CheckProbeExit); ev.Status != check.StatusFail || !strings.Contains(ev.Message, "exited with code 2 (Error)") {
		t.Errorf("probe.exit %s %q", ev.Status, ev.Message)
	}
	rec.verdict(t)
	podGone(t, cl)
}

func TestRunServiceAccountMissing(t *testing.T) {
	t.Run("the target", func(t *testing.T) {
		cl := newCluster(t, nil, true)
		cfg := testConfig()
		cfg.Target.Name = "nope"
		_, err := Run(context.Background(), cfg, testDeps(cl, nil), &recorder{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("error %v, want NotFound (exit 2)", err)
		}
		if cl.created != nil {
			t.Error("created a pod")
		}
	})
	t.Run("a workload's", func(t *testing.T) {
		cl := newCluster(t, nil, true, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: "gone"}}},
		})
		cfg := testConfig()
		cfg.Target = checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}
		rec := &recorder{}
		out, err := Run(context.Background(), cfg, testDeps(cl, nil), rec)
		if err != nil || out.Failed != 1 {
			t.Fatalf("outcome %+v, %v", out, err)
		}
		if ev := rec.find(t, CheckOutsideServiceAccount); !strings.Contains(ev.Message, "shop/gone does not exist") {
			t.Errorf("message %q", ev.Message)
		}
		rec.verdict(t)
		if cl.created != nil {
			t.Error("created a pod")
		}
	})
}

// A deployment's pod settings reach the probe pod, and its token-expiration annotation the
// expectation.
func TestRunDeployment(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"eks.amazonaws.com/token-expiration": "3600"}},
			Spec: corev1.PodSpec{
				ServiceAccountName: "checkout",
				SecurityContext:    &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)},
				NodeSelector:       map[string]string{"pool": "apps"},
			},
		}},
	})
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	cfg := testConfig()
	cfg.Target = checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}

	if _, err := Run(context.Background(), cfg, testDeps(cl, logs), &recorder{}); err != nil {
		t.Fatal(err)
	}
	p := cl.created
	if *p.Spec.SecurityContext.RunAsUser != 1000 || p.Spec.NodeSelector["pool"] != "apps" || p.Annotations["eks.amazonaws.com/token-expiration"] != "3600" {
		t.Errorf("probe pod does not copy the deployment: %+v %v", p.Spec.SecurityContext, p.Annotations)
	}
	if cmd := strings.Join(p.Spec.Containers[0].Command, " "); !strings.Contains(cmd, "--expected-expiration 3600") {
		t.Errorf("command %q does not expect the pod's token-expiration", cmd)
	}
}

// A workload target's own pods that predate the role are a warning whose fix is the command
// enable and status give: for a paused deployment, resume then restart.
func TestRunWorkloadPods(t *testing.T) {
	paused := kt.Deployment("shop", "web", "checkout")
	paused.Spec.Paused = true
	fresh := kt.Deployment("shop", "api", "checkout")
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, paused, fresh, kt.PodOf(paused, "web-1", ""),
		kt.Injected(fresh, "api-1", "", identity.Config{RoleARN: testRole}))
	for target, want := range map[string]struct {
		status check.Status
		fix    string
	}{
		"web": {check.StatusWarn, "kubectl rollout resume deployment/web -n shop && kubectl rollout restart deployment/web -n shop"},
		"api": {check.StatusPass, ""},
	} {
		logs, _ := logsFrom(t, "probe-pass.jsonl")
		cfg := testConfig()
		cfg.Target = checktarget.Target{Kind: checktarget.KindDeployment, Name: target}
		rec := &recorder{}
		if _, err := Run(context.Background(), cfg, testDeps(cl, logs), rec); err != nil {
			t.Fatal(err)
		}
		ev := rec.find(t, CheckOutsideWorkloadPods)
		if ev.Status != want.status || ev.Fix != want.fix {
			t.Errorf("%s: %s %q fix %q, want %s %q", target, ev.Status, ev.Message, ev.Fix, want.status, want.fix)
		}
	}
}

// A failed Create leaves nothing to delete and is an error naming the pod.
func TestRunCreateFails(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), testPod, errors.New(`violates PodSecurity "restricted:latest"`))
	})
	rec := &recorder{}
	_, err := Run(context.Background(), testConfig(), testDeps(cl, nil), rec)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "failed to create the probe pod shop/wi-probe-abcde") {
		t.Fatalf("error %v", err)
	}
	if last := rec.steps[len(rec.steps)-1]; last.ID != StepCleanup || last.Detail != "nothing to delete" {
		t.Errorf("last step %+v", last)
	}
}

// blockingReader serves data, then blocks until closed: a followed log whose last lines the
// kubelet holds back.
type blockingReader struct {
	r      io.Reader
	closed chan struct{}
	once   sync.Once
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if n, err := b.r.Read(p); err != io.EOF {
		return n, err
	}
	<-b.closed
	return 0, io.ErrClosedPipe
}

func (b *blockingReader) Close() error { b.once.Do(func() { close(b.closed) }); return nil }

// The followed log stalls before the result (the kubelet holds the last line of a container
// that just exited): after a quiet spell verify reads the log as it is, takes the lines it has
// not seen, each once, and stops following.
func TestRunQuietLogIsReadAgain(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	full, err := os.ReadFile("../../testdata/streams/probe-pass.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(full), "\n")
	held := strings.Join(lines[:len(lines)-3], "") // without the last two lines and the empty tail
	follow := &blockingReader{r: strings.NewReader(held), closed: make(chan struct{})}
	var snapshots int
	logs := func(_ context.Context, _, _, _ string, followed bool) (io.ReadCloser, error) {
		if followed {
			return follow, nil
		}
		snapshots++
		return io.NopCloser(strings.NewReader(string(full))), nil
	}
	deps := testDeps(cl, logs)
	deps.QuietPoll = 20 * time.Millisecond
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), deps, rec)
	if err != nil || out.Status != check.StatusPass || out.Checks != 22 {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if snapshots != 1 {
		t.Errorf("%d reads without follow, want 1", snapshots)
	}
	select {
	case <-follow.closed:
	default:
		t.Error("the followed stream was left open")
	}
	seen := map[string]int{}
	for _, ev := range rec.events {
		seen[ev.Check]++
	}
	for c, n := range seen {
		if n != 1 && c != "" {
			t.Errorf("%s reported %d times", c, n)
		}
	}
}

// lagging makes cl's webhook admit the first real pod unmutated and mutate every pod after
// afterDryRuns dry runs (never when negative), as a webhook whose service account cache lags
// behind the annotation does. Dry runs store nothing.
func lagging(cl *cluster, role string, afterDryRuns int) (dryRuns *int) {
	dryRuns = new(int)
	mutate := webhookMutation(role)
	cl.mutate = nil
	cl.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		create := a.(k8stesting.CreateActionImpl)
		pod := create.GetObject().(*corev1.Pod)
		caughtUp := afterDryRuns >= 0 && *dryRuns >= afterDryRuns
		if len(create.GetCreateOptions().DryRun) > 0 {
			*dryRuns++
			out := pod.DeepCopy()
			if caughtUp {
				mutate(out)
			}
			return true, out, nil
		}
		if caughtUp {
			mutate(pod)
		}
		return false, nil, nil // on to the cluster's reactor, which stores it
	})
	return dryRuns
}

// The webhook's cache had not seen the role when the probe pod was created: verify asks again
// with dry runs, and once a pod of the account comes back mutated, creates the probe pod again
// and proves it, saying what happened.
func TestRunWebhookCacheLag(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	dryRuns := lagging(cl, testRole, 3)
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	rec := &recorder{}
	deps := testDeps(cl, logs)
	deps.LagPoll = time.Millisecond
	out, err := Run(context.Background(), testConfig(), deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != check.StatusPass || out.Failed != 0 {
		t.Errorf("outcome %+v, want a pass on the second probe pod", out)
	}
	if *dryRuns != 4 {
		t.Errorf("dry runs = %d, want 4 (3 unmutated, then mutated)", *dryRuns)
	}
	ev := rec.find(t, CheckWebhookLag)
	if ev.Type != check.TypeInfo || !strings.Contains(ev.Message, "its service account cache had not yet seen the account's annotation") {
		t.Errorf("lag event %+v", ev)
	}
	if rec.find(t, CheckPodMutation).Status != check.StatusPass {
		t.Error("the second probe pod's mutation did not pass")
	}
	deletes := 0
	for _, a := range cl.client.Actions() {
		if a.Matches("delete", "pods") {
			deletes++
		}
	}
	if deletes != 2 {
		t.Errorf("deletes = %d, want 2: the unmutated pod, then the proven one", deletes)
	}
	podGone(t, cl)
}

// A registered webhook that mutates nothing for longer than a cache lags is named as down or
// failing, not lagging.
func TestRunWebhookNotMutating(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	dryRuns := lagging(cl, testRole, -1)
	rec := &recorder{}
	deps := testDeps(cl, nil)
	deps.LagBound, deps.LagPoll = 50*time.Millisecond, time.Millisecond
	out, err := Run(context.Background(), testConfig(), deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != check.StatusFail || *dryRuns == 0 {
		t.Errorf("outcome %+v after %d dry runs, want a failure after some", out, *dryRuns)
	}
	ev := rec.find(t, CheckPodMutation)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Message, "it is down or failing, not lagging") {
		t.Errorf("pod.mutation %s %q", ev.Status, ev.Message)
	}
	podGone(t, cl)
}

// EKS Auth refusing the association's role (missing, or its trust refuses) with Deps.Explain
// set: explain is asked about the account in the cluster its association was read from, and
// its finding decides what the probe could only hedge. Without the association's cluster, it
// is asked about IRSA's side only ("").
func TestRunExplainsPodIdentityRefusal(t *testing.T) {
	for _, tt := range []struct {
		name        string
		lookup      AssociationLookup
		wantCluster string
	}{
		{name: "association read", lookup: AssociationLookup{Read: true, Cluster: "prod", ID: "a-1", RoleARN: testRole}, wantCluster: "prod"},
		{name: "association not read", lookup: AssociationLookup{NotRead: "no AWS credentials at hand"}, wantCluster: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t, nil, true)
			cl.mutate = func(pod *corev1.Pod) { kt.InjectPodIdentity(pod) }
			logs, _ := logsFrom(t, "probe-podidentity-role-refused.jsonl")
			deps := testDeps(cl, logs)
			deps.Association = func(context.Context, string, string) AssociationLookup { return tt.lookup }
			var asked []string
			deps.Explain = func(_ context.Context, ns, sa, cluster string) []check.Event {
				asked = append(asked, ns+"/"+sa+"@"+cluster)
				return []check.Event{{Type: check.TypeCheck, Check: "iam.podidentity_trust", Status: check.StatusFail,
					Message: "shop/checkout: the role checkout does not exist", Fix: "create the role"}}
			}
			rec := &recorder{}
			if _, err := Run(context.Background(), testConfig(), deps, rec); err != nil {
				t.Fatal(err)
			}
			if want := []string{"shop/checkout@" + tt.wantCluster}; !slices.Equal(asked, want) {
				t.Fatalf("explain asked %v, want %v; checks %v", asked, want, rec.checks())
			}
			if rec.checks()["iam.podidentity_trust"] != check.StatusFail {
				t.Fatalf("explain's finding is not reported: %v", rec.checks())
			}
		})
	}
}

// An STS refusal with Deps.Explain set: its IAM findings come before the verdict, and count;
// a pass asks for none.
func TestRunExplainsRefusal(t *testing.T) {
	for _, stream := range []string{"probe-trust-policy.jsonl", "probe-pass.jsonl"} {
		t.Run(stream, func(t *testing.T) {
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
			logs, _ := logsFrom(t, stream)
			deps := testDeps(cl, logs)
			var asked []string
			deps.Explain = func(_ context.Context, ns, sa, _ string) []check.Event {
				asked = append(asked, ns+"/"+sa)
				return []check.Event{{Type: check.TypeCheck, Check: "iam.trust", Status: check.StatusFail,
					Message: "shop/checkout: statement 0: a * inside StringEquals", Fix: "aws iam update-assume-role-policy --role-name checkout"}}
			}
			rec := &recorder{}
			if _, err := Run(context.Background(), testConfig(), deps, rec); err != nil {
				t.Fatal(err)
			}
			v := rec.verdict(t)
			if stream == "probe-pass.jsonl" {
				if len(asked) != 0 {
					t.Fatalf("explain asked after a pass: %v", asked)
				}
				return
			}
			if !slices.Equal(asked, []string{"shop/checkout"}) || rec.checks()["iam.trust"] != check.StatusFail || !strings.Contains(v.Fix, "aws iam update-assume-role-policy") {
				t.Fatalf("asked %v, checks %v, verdict fix %q", asked, rec.checks(), v.Fix)
			}
		})
	}
}

package verify

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

func TestDisruption(t *testing.T) {
	now := metav1.Now()
	disrupted := func(reason, msg string) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "node-1"}}
		p.DeletionTimestamp = &now
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: msg}}
		return p
	}
	deleted := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "node-1"}}
	deleted.DeletionTimestamp = &now
	kubeletEvicted := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "node-1"}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantMsg string
		wantFix string
	}{
		{"gone", nil, "shop/wi-probe-abcde was deleted before the probe finished (not by verify)", "kubectl get events -n shop"},
		{"eviction API", disrupted("EvictionByEvictionAPI", "Eviction API: evicting"), "was evicted through the Eviction API before the probe finished (Eviction API: evicting)", "node drain"},
		{"taint manager", disrupted("DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"), "deleted by the taint manager: node node-1 has a NoExecute taint", "kubectl describe node node-1"},
		{"preempted", disrupted(corev1.PodReasonPreemptionByScheduler, "preempted by pod x"), "preempted by a pod of higher priority (preempted by pod x)", "free capacity"},
		{"kubelet", disrupted(corev1.PodReasonTerminationByKubelet, "node shutdown"), "the kubelet on node node-1 terminated the probe pod shop/wi-probe-abcde (node shutdown)", "kubectl describe node node-1"},
		{"another reason", disrupted("SomethingNew", "why"), "is being disrupted (SomethingNew: why)", "rerun verify"},
		{"kubelet eviction", kubeletEvicted, "the kubelet on node node-1 evicted the probe pod shop/wi-probe-abcde (The node was low on resource: memory.)", "memory or disk pressure"},
		{"deleted", deleted, "was deleted before the probe finished (not by verify)", "a policy engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, fix, ok := Disruption(tt.pod, "shop", testPod)
			if !ok || !strings.Contains(msg, tt.wantMsg) || !strings.Contains(fix, tt.wantFix) {
				t.Errorf("Disruption = %q, %q, %v; want a message with %q and a fix with %q", msg, fix, ok, tt.wantMsg, tt.wantFix)
			}
		})
	}
	running := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse}}}}
	if msg, _, ok := Disruption(running, "shop", testPod); ok {
		t.Errorf("a running pod is disrupted: %q", msg)
	}
}

func TestKilled(t *testing.T) {
	if _, _, ok := Killed(nil, "node-1"); ok {
		t.Error("no termination is a kill")
	}
	if _, _, ok := Killed(&corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}, "node-1"); ok {
		t.Error("exit 2 is a kill")
	}
	msg, fix, ok := Killed(&corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error"}, "node-1")
	if !ok || !strings.Contains(msg, "killed by signal 9 on node node-1") || !strings.Contains(fix, "kubectl describe node node-1") {
		t.Errorf("Killed(137) = %q, %q, %v", msg, fix, ok)
	}
	msg, _, ok = Killed(&corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}, "node-1")
	if !ok || !strings.Contains(msg, "more memory than its limit (signal 9, OOMKilled)") {
		t.Errorf("Killed(OOMKilled) = %q, %v", msg, ok)
	}
}

// A probe whose container was killed (SIGKILL, exit 137) mid-run: verify says it was
// killed, not that the image is wrong.
func TestRunProbeKilled(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	st := succeeded()
	st.Phase = corev1.PodFailed
	st.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error"}
	cl.status = st
	logs := func(context.Context, string, string, string, bool) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(`{"v":1,"type":"check","check":"env.path","status":"pass","message":"ok"}` + "\n")), nil
	}
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err == nil || !strings.Contains(err.Error(), "killed by signal 9") {
		t.Fatalf("error %v", err)
	}
	if ev := rec.find(t, CheckProbeExit); ev.Status != check.StatusFail || !strings.Contains(ev.Fix, "rerun verify") || strings.Contains(ev.Fix, "--image") {
		t.Errorf("probe.exit %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	rec.verdict(t)
	podGone(t, cl)
}

// The probe pod evicted while the probe waited for STS: the probe says a signal stopped it,
// and verify names the eviction.
func TestRunProbePodEvicted(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	mutate := cl.mutate
	cl.mutate = func(p *corev1.Pod) {
		mutate(p)
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	cl.status = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	stream := `{"v":1,"type":"check","check":"sts.assume_role","status":"fail","message":"stopped","data":{"code":"stopped"}}` + "\n" +
		`{"v":1,"type":"result","status":"fail","message":"1 of 1 checks failed","data":{"checks":1,"failed":1}}` + "\n"
	logs := func(context.Context, string, string, string, bool) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(stream)), nil
	}
	rec := &recorder{}

	out, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err == nil || !strings.Contains(err.Error(), "evicted through the Eviction API") {
		t.Fatalf("error %v", err)
	}
	if ev := rec.find(t, CheckProbeExit); ev.Status != check.StatusFail || !strings.Contains(ev.Fix, "drain") {
		t.Errorf("probe.exit %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	if v := rec.verdict(t); v.Status != check.StatusFail || out.Status != check.StatusFail {
		t.Errorf("verdict %s, outcome %s", v.Status, out.Status)
	}
	podGone(t, cl)
}

// The probe pod deleted while the probe ran and before it said anything of a signal: the log
// ends, the pod is gone, and verify says so.
func TestRunProbePodDeleted(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status.Phase = corev1.PodRunning
	cl.status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	logs := func(_ context.Context, ns, pod, _ string, _ bool) (io.ReadCloser, error) {
		_ = cl.client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, pod)
		return io.NopCloser(strings.NewReader(`{"v":1,"type":"check","check":"env.path","status":"pass","message":"ok"}` + "\n")), nil
	}
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err == nil || !strings.Contains(err.Error(), "was deleted before the probe finished (not by verify)") {
		t.Fatalf("error %v", err)
	}
	if ev := rec.find(t, CheckProbeExit); ev.Status != check.StatusFail {
		t.Errorf("probe.exit %s %q", ev.Status, ev.Message)
	}
	rec.verdict(t)
}

// The probe pod deleted while verify waited for it to run.
func TestRunPodDeletedWhilePending(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending}
	cl.watcher = watch.NewFake()
	logs, calls := logsFrom(t, "probe-pass.jsonl")
	go func() {
		<-cl.watched
		cl.watcher.Delete(cl.created.DeepCopy())
	}()
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), testDeps(cl, logs), rec)
	if err == nil || !strings.Contains(err.Error(), "was deleted before the probe finished") {
		t.Fatalf("error %v", err)
	}
	if ev := rec.find(t, CheckPodStart); ev.Status != check.StatusFail {
		t.Errorf("pod.start %s %q", ev.Status, ev.Message)
	}
	if *calls != 0 {
		t.Errorf("%d log reads of a pod that never ran", *calls)
	}
	rec.verdict(t)
}

func TestNodesNotReady(t *testing.T) {
	ready := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ok"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	gone := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gone"},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoSchedule}, {Key: "team", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}}}}
	// Ready again, the taint not yet lifted by the node controller.
	lagging := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lagging"},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	got := NodesNotReady([]corev1.Node{ready, gone, lagging})
	want := []string{
		"node gone is not Ready (Unknown: Kubelet stopped posting node status.), tainted node.kubernetes.io/unreachable:NoSchedule",
		"node lagging is not Ready (True: ), tainted node.kubernetes.io/not-ready:NoSchedule",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("NodesNotReady = %q, want %q", got, want)
	}
}

// A probe pod no node takes because the only node is unreachable: verify names the node and
// says a Ready node, not the pod, is the fix.
func TestRunUnschedulableNodeNotReady(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}}}}
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, node)
	cl.status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/1 nodes are available: 1 node(s) had untolerated taint(s).",
	}}}
	cl.watcher = watch.NewFake()
	deps := testDeps(cl, nil)
	deps.UnschedulableGrace = time.Millisecond
	rec := &recorder{}

	_, err := Run(context.Background(), testConfig(), deps, rec)
	if err == nil || !strings.Contains(err.Error(), "node node-1 is not Ready (Unknown: Kubelet stopped posting node status.)") {
		t.Fatalf("error %v", err)
	}
	if ev := rec.find(t, CheckPodStart); ev.Status != check.StatusFail || ev.Fix != notReadyFix {
		t.Errorf("pod.start %s %q fix %q", ev.Status, ev.Message, ev.Fix)
	}
	podGone(t, cl)
}

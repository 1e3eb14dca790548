package verify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Disruption says why a probe pod that verify did not delete is going or gone: evicted,
// preempted, deleted by the taint manager or the kubelet, or deleted by someone. ok is false
// for a pod that nothing is taking away. pod is nil when the pod is already gone.
func Disruption(pod *corev1.Pod, namespace, name string) (msg, fix string, ok bool) {
	return disruptionOf(pod, namespace, name, "the probe pod")
}

// disruptionOf is Disruption of a pod the messages call what: "the probe pod", or "the app's
// pod" that an in-pod probe runs in.
func disruptionOf(pod *corev1.Pod, namespace, name, what string) (msg, fix string, ok bool) {
	rerun := "rerun verify"
	events := "kubectl get events -n " + namespace
	if pod == nil {
		return fmt.Sprintf("%s %s/%s was deleted before the probe finished (not by verify)", what, namespace, name),
			rerun + "; if it is deleted again, find what deletes pods in " + namespace + " (a controller, a policy engine, a cleanup job): " + events, true
	}
	node := orNone(pod.Spec.NodeName)
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.DisruptionTarget || c.Status != corev1.ConditionTrue {
			continue
		}
		why := strings.TrimSpace(c.Message)
		switch c.Reason {
		case "EvictionByEvictionAPI": // the eviction API's reason; k8s.io/api has no constant for it
			return fmt.Sprintf("%s %s/%s was evicted through the Eviction API before the probe finished (%s)", what, namespace, name, why),
				"a node drain or a tool that evicts pods took it: " + rerun + " once the drain is over, or on another node", true
		case "DeletionByTaintManager":
			return fmt.Sprintf("%s %s/%s was deleted by the taint manager: node %s has a NoExecute taint the pod does not tolerate (%s)", what, namespace, name, node, why),
				"kubectl describe node " + node + "; the probe pod copies the workload's tolerations: " + rerun + " once the node is healthy", true
		case corev1.PodReasonPreemptionByScheduler:
			return fmt.Sprintf("%s %s/%s was preempted by a pod of higher priority (%s)", what, namespace, name, why),
				rerun + " when the cluster has room, or free capacity on a node", true
		case corev1.PodReasonTerminationByKubelet:
			return fmt.Sprintf("the kubelet on node %s terminated %s %s/%s (%s)", node, what, namespace, name, why),
				"kubectl describe node " + node + " (memory or disk pressure, a node shutdown): " + rerun + " on a healthy node", true
		}
		return fmt.Sprintf("%s %s/%s is being disrupted (%s: %s)", what, namespace, name, c.Reason, why), rerun, true
	}
	if pod.Status.Reason == "Evicted" {
		return fmt.Sprintf("the kubelet on node %s evicted %s %s/%s (%s)", node, what, namespace, name, strings.TrimSpace(pod.Status.Message)),
			"kubectl describe node " + node + " (memory or disk pressure): " + rerun + " on a healthy node", true
	}
	if pod.DeletionTimestamp != nil {
		return fmt.Sprintf("%s %s/%s was deleted before the probe finished (not by verify)", what, namespace, name),
			rerun + "; if it is deleted again, find what deletes pods in " + namespace + " (a controller, a policy engine, a cleanup job): " + events, true
	}
	return "", "", false
}

// Killed says how a probe container that ended by a signal was killed; ok is false for one
// that exited by itself.
func Killed(t *corev1.ContainerStateTerminated, node string) (msg, fix string, ok bool) {
	if t == nil || t.ExitCode <= 128 {
		return "", "", false
	}
	sig := t.ExitCode - 128
	if t.Reason == "OOMKilled" {
		return fmt.Sprintf("the probe's container was killed for using more memory than its limit (signal %d, OOMKilled)", sig),
			"the node ran short of memory, or the probe needed more than its pod's limit: kubectl describe node " + orNone(node) + "; rerun verify", true
	}
	return fmt.Sprintf("the probe's container was killed by signal %d on node %s before it finished (%s)", sig, orNone(node), orNone(t.Reason)),
		"something on the node killed the probe (out of memory, a security agent, a runtime restart): kubectl describe node " + orNone(node) + "; rerun verify", true
}

// fateWait bounds the wait for the watch to report a pod the apiserver no longer has.
const fateWait = 2 * time.Second

// podFate follows a running probe pod, so that when the probe ends early verify can say what
// took the pod: an eviction's condition is on the pod only until the pod is gone, which with
// no grace period is at once.
type podFate struct {
	client kubernetes.Interface
	pod    *corev1.Pod
	what   string // what messages call the pod: "the probe pod", "the app's pod"

	mu   sync.Mutex
	last *corev1.Pod   // the pod as last seen by the watch
	gone chan struct{} // closed when the watch saw the pod deleted; nil without a watch
	stop func()
}

// followFate watches the pod from its resourceVersion until stop; without a watch it still
// answers, from a GET.
func followFate(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, what string) *podFate {
	f := &podFate{client: c, pod: pod, what: what, last: pod, stop: func() {}}
	w, err := c.CoreV1().Pods(pod.Namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", pod.Name).String(),
		ResourceVersion: pod.ResourceVersion,
	})
	if err != nil {
		return f
	}
	f.gone = make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			f.mu.Lock()
			f.last = p
			f.mu.Unlock()
			if ev.Type == watch.Deleted {
				close(f.gone)
				return
			}
		}
	}()
	f.stop = func() { w.Stop(); <-done }
	return f
}

// disruption says what took the pod, if something did: from the pod as the apiserver has it,
// or, once it is gone, as the watch saw it last. cur is the pod as read, nil when it is gone or
// could not be read.
func (f *podFate) disruption(ctx context.Context) (cur *corev1.Pod, msg, fix string, ok bool) {
	ns, name := f.pod.Namespace, f.pod.Name
	cur, err := f.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		msg, fix, ok = disruptionOf(cur, ns, name, f.what)
		return cur, msg, fix, ok
	case !apierrors.IsNotFound(err):
		return nil, "", "", false
	}
	if f.gone != nil {
		select {
		case <-f.gone:
		case <-time.After(fateWait):
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	last := f.last
	f.mu.Unlock()
	if msg, fix, ok := disruptionOf(last, ns, name, f.what); ok {
		return nil, msg, fix, ok
	}
	msg, fix, ok = disruptionOf(nil, ns, name, f.what)
	return nil, msg, fix, ok
}

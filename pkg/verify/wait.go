package verify

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// StartState is what a probe pod's status says about it running.
type StartState struct {
	// Scheduled is true once the pod is bound to a node.
	Scheduled bool
	// Ran is true once the container runs or has run: its log can be read.
	Ran bool
	// Unschedulable is true while the scheduler cannot place the pod; Message says why. It is
	// not Fatal at once: an autoscaler may add a node.
	Unschedulable bool
	// Fatal is true when the pod will not run; Reason, Message and Fix say why and what to do.
	Fatal   bool
	Reason  string
	Message string
	Fix     string
	// Progress is a short description while waiting: Pending: ContainerCreating.
	Progress string
}

// Image pull failures that do not heal by waiting.
var imagePullReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
}

// Container start failures that do not heal by waiting, with restartPolicy Never.
var createReasons = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
	"PreCreateHookError": true, "PreStartHookError": true,
}

// The taints the node controller puts on a node whose kubelet stopped posting status.
const (
	notReadyTaint    = "node.kubernetes.io/not-ready"
	unreachableTaint = "node.kubernetes.io/unreachable"
)

// notReadyFix is the fix when nodes are not Ready: no fit of the pod helps, a healthy node
// does.
const notReadyFix = "nodes are NotReady or unreachable (their kubelet stopped posting status): kubectl get nodes; kubectl describe node NAME; verify runs once a node is Ready"

// NodesNotReady describes the nodes that are not Ready, with the node controller's taints,
// for a pod the scheduler cannot place: schedulers since 1.32 say "untolerated taint(s)"
// without naming them.
func NodesNotReady(nodes []corev1.Node) []string {
	var out []string
	for _, n := range nodes {
		ready := corev1.NodeCondition{Status: corev1.ConditionUnknown, Message: "no Ready condition"}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c
			}
		}
		var taints []string
		for _, t := range n.Spec.Taints {
			if t.Key == notReadyTaint || t.Key == unreachableTaint {
				taints = append(taints, t.Key+":"+string(t.Effect))
			}
		}
		if ready.Status == corev1.ConditionTrue && len(taints) == 0 {
			continue
		}
		d := fmt.Sprintf("node %s is not Ready (%s: %s)", n.Name, ready.Status, strings.TrimSpace(ready.Message))
		if len(taints) > 0 {
			d += ", tainted " + strings.Join(taints, ", ")
		}
		out = append(out, d)
	}
	return out
}

// AssessStart reads a probe pod's status: whether it runs, will not run (and why), or is on its
// way.
func AssessStart(pod *corev1.Pod) StartState {
	var st StartState
	st.Scheduled = pod.Spec.NodeName != ""
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			st.Scheduled = true
		} else if c.Reason == corev1.PodReasonUnschedulable {
			st.Unschedulable = true
			st.Reason = corev1.PodReasonUnschedulable
			st.Message = "the scheduler cannot place the probe pod: " + strings.TrimSpace(c.Message)
			st.Fix = "the probe pod copies the workload's nodeSelector, tolerations and hostNetwork: make a node fit them (the scheduler's message says which part does not)"
			if strings.Contains(c.Message, notReadyTaint) || strings.Contains(c.Message, unreachableTaint) {
				st.Fix = notReadyFix
			}
		}
	}
	image := ""
	if len(pod.Spec.Containers) > 0 {
		image = pod.Spec.Containers[0].Image
	}
	for _, cs := range pod.Status.ContainerStatuses {
		switch {
		case cs.State.Running != nil, cs.State.Terminated != nil:
			st.Ran, st.Scheduled = true, true
			return st
		case cs.State.Waiting != nil:
			w := cs.State.Waiting
			switch {
			case imagePullReasons[w.Reason]:
				st.Fatal, st.Reason = true, w.Reason
				st.Message = fmt.Sprintf("the node cannot pull the probe image %s (%s: %s)", image, w.Reason, strings.TrimSpace(w.Message))
				st.Fix = "make the image pullable from the node, or pass --image with a copy the cluster can pull (a mirror in your registry); --image-pull-policy sets when the node pulls it"
				return st
			case createReasons[w.Reason]:
				st.Fatal, st.Reason = true, w.Reason
				st.Message = fmt.Sprintf("the container runtime cannot start the probe container (%s: %s)", w.Reason, strings.TrimSpace(w.Message))
				st.Fix = "read the message: the workload's securityContext, copied into the probe pod, or the image " + image + " (--image) may not fit the node"
				return st
			case w.Reason != "":
				st.Progress = "Pending: " + w.Reason
			}
		}
	}
	switch pod.Status.Phase {
	case corev1.PodRunning, corev1.PodSucceeded:
		st.Ran, st.Scheduled = true, true
		return st
	case corev1.PodFailed:
		st.Fatal, st.Reason = true, pod.Status.Reason
		if pod.Status.Reason == "DeadlineExceeded" {
			st.Message = fmt.Sprintf("the probe pod reached its activeDeadlineSeconds before it ran (%s)", strings.TrimSpace(pod.Status.Message))
			st.Fix = "raise --timeout, and look at why the pod starts slowly (image pull, node pressure): kubectl get events -n " + pod.Namespace
		} else {
			st.Message = fmt.Sprintf("the probe pod failed before it ran (%s: %s)", orNone(pod.Status.Reason), strings.TrimSpace(pod.Status.Message))
			st.Fix = "kubectl get events -n " + pod.Namespace + " --field-selector involvedObject.name=" + pod.Name
		}
		return st
	case corev1.PodPending, corev1.PodUnknown:
	}
	if st.Progress == "" {
		switch {
		case st.Unschedulable:
			st.Progress = "Pending: Unschedulable"
		case !st.Scheduled:
			st.Progress = "Pending: waiting for the scheduler"
		default:
			st.Progress = "Pending: on node " + pod.Spec.NodeName
		}
	}
	return st
}

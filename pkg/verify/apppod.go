package verify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
)

// ErrNotTargetPod is --pod naming a pod that does not exist or is not one of the target's.
var ErrNotTargetPod = errors.New("not a pod of the target")

// AppPod is the running pod of the app an in-pod run adds the probe to, and why that one.
type AppPod struct {
	Pod *corev1.Pod
	// Why says how it was chosen: "the newest Ready pod of deployment/web, of 3 running", "--pod web-1".
	Why string
}

// podOwners are the UIDs a target's pods name as their controller: the workload itself, or,
// for a deployment, its ReplicaSets.
func podOwners(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, own owner) ([]types.UID, error) {
	if t.Kind != checktarget.KindDeployment {
		return []types.UID{own.uid}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(own.selector)
	if err != nil {
		return nil, fmt.Errorf("the selector of %s: %w", t, err)
	}
	list, err := c.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apicall.Wrap(err, "list", "replicasets.apps", namespace, "")
	}
	var uids []types.UID
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == own.uid {
			uids = append(uids, rs.UID)
		}
	}
	return uids, nil
}

// targetPods lists the pods the target's controller owns, by its selector (one LIST), or, for a
// pod target, the pod itself.
func targetPods(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, own owner) ([]corev1.Pod, error) {
	if own.pod != nil {
		return []corev1.Pod{*own.pod}, nil
	}
	uids, err := podOwners(ctx, c, namespace, t, own)
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(own.selector)
	if err != nil {
		return nil, fmt.Errorf("the selector of %s: %w", t, err)
	}
	list, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apicall.Wrap(err, "list", "pods", namespace, "")
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && slices.Contains(uids, ref.UID) {
			out = append(out, p)
		}
	}
	return out, nil
}

// podReady is true when the pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// running is true for a pod the kubelet runs and nothing is deleting: one an ephemeral
// container can join.
func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
}

// ChoosePod picks the pod of an in-pod run among the target's pods: the one named (name, from
// --pod), else the newest Ready one, else the newest running one (an app that is not Ready may
// be failing for want of credentials, which is what the probe shows). A pod that is not
// running is a *Refusal: nothing is written to it. A name that is not among pods is an error
// wrapping ErrNotTargetPod.
func ChoosePod(pods []corev1.Pod, t checktarget.Target, name string) (AppPod, error) {
	if name != "" {
		i := slices.IndexFunc(pods, func(p corev1.Pod) bool { return p.Name == name })
		if i < 0 {
			names := make([]string, 0, len(pods))
			for _, p := range pods {
				names = append(names, p.Name)
			}
			return AppPod{}, fmt.Errorf("%w: --pod %s is not a pod of %s; its pods: %s", ErrNotTargetPod, name, t, orNone(strings.Join(names, ", ")))
		}
		p := &pods[i]
		if !running(p) {
			return AppPod{}, notRunning(p)
		}
		return AppPod{Pod: p, Why: "--pod " + name}, nil
	}
	if t.Kind == checktarget.KindPod {
		p := &pods[0]
		if !running(p) {
			return AppPod{}, notRunning(p)
		}
		return AppPod{Pod: p, Why: "the target"}, nil
	}
	var live []*corev1.Pod
	for i := range pods {
		if running(&pods[i]) {
			live = append(live, &pods[i])
		}
	}
	if len(live) == 0 {
		phases := map[string]int{}
		for _, p := range pods {
			phases[podPhase(&p)]++
		}
		var parts []string
		for _, ph := range slices.Sorted(maps.Keys(phases)) {
			parts = append(parts, fmt.Sprintf("%d %s", phases[ph], ph))
		}
		msg := t.String() + " has no pods"
		if len(parts) > 0 {
			msg = fmt.Sprintf("%s has no running pod (%s)", t, strings.Join(parts, ", "))
		}
		return AppPod{}, &Refusal{Reason: RefusedNotRunning, Message: msg,
			Fix: "start the app (kubectl get pods -n NAMESPACE shows why its pods do not run), then verify --in-pod again"}
	}
	// Newest first; the name breaks ties, so the choice is the same every run.
	slices.SortFunc(live, func(a, b *corev1.Pod) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, p := range live {
		if podReady(p) {
			return AppPod{Pod: p, Why: fmt.Sprintf("the newest Ready pod of %s, of %d running", t, len(live))}, nil
		}
	}
	return AppPod{Pod: live[0], Why: fmt.Sprintf("the newest running pod of %s, none of its %d running pods is Ready", t, len(live))}, nil
}

// podPhase is a pod's phase, or Terminating while it is deleted.
func podPhase(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	return string(p.Status.Phase)
}

func notRunning(p *corev1.Pod) *Refusal {
	return &Refusal{
		Reason:  RefusedNotRunning,
		Message: fmt.Sprintf("the pod %s/%s is %s, not Running: an ephemeral container joins a running pod only", p.Namespace, p.Name, podPhase(p)),
		Fix:     "pass --pod with a running pod of the app (kubectl get pods -n " + p.Namespace + "), or start the app",
	}
}

// findAppPod lists the target's pods and chooses one. A --pod that does not exist is an
// error wrapping ErrNotTargetPod, one that is not running a *Refusal.
func findAppPod(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, own owner, name string) (AppPod, error) {
	if name != "" && t.Kind != checktarget.KindPod {
		// One GET: the pod named, if it exists, with the same owner check as the LIST's.
		p, err := c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return AppPod{}, fmt.Errorf("%w: pod %q not found in namespace %q", ErrNotTargetPod, name, namespace)
		}
		if err != nil {
			return AppPod{}, apicall.Wrap(err, "get", "pods", namespace, name)
		}
		uids, err := podOwners(ctx, c, namespace, t, own)
		if err != nil {
			return AppPod{}, err
		}
		if ref := metav1.GetControllerOf(p); ref == nil || !slices.Contains(uids, ref.UID) {
			return AppPod{}, fmt.Errorf("%w: --pod %s is not a pod of %s", ErrNotTargetPod, name, t)
		}
		return ChoosePod([]corev1.Pod{*p}, t, name)
	}
	pods, err := targetPods(ctx, c, namespace, t, own)
	if err != nil {
		return AppPod{}, err
	}
	return ChoosePod(pods, t, name)
}

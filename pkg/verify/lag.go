package verify

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// CheckWebhookLag names the info event of a probe pod that was admitted unmutated while the
// webhook's service account cache lagged, and was created again.
const CheckWebhookLag = "webhook.cache_lag"

// awaitMutation asks the webhook, by server-side dry-run creates of a copy of pod every
// interval for up to bound, whether it now mutates pods of the account. The real webhook reads
// service accounts from an informer cache: a pod created a moment after the account was
// annotated is admitted unmutated, and one created a second later is not. It returns whether
// a dry run came back mutated, and after how long.
func (r *runner) awaitMutation(ctx context.Context, pod *corev1.Pod, bound, interval time.Duration) (bool, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	probePod := pod.DeepCopy()
	probePod.Name, probePod.GenerateName = "", pod.Name+"-"
	start := r.deps.Now()
	pods := r.deps.Client.CoreV1().Pods(pod.Namespace)
	for {
		got, err := pods.Create(ctx, probePod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			if id := identity.InspectPod(got); id.Injected || id.PodIdentity {
				return true, r.deps.Now().Sub(start)
			}
		}
		select {
		case <-ctx.Done():
			return false, r.deps.Now().Sub(start)
		case <-time.After(interval):
		}
	}
}

// recreate replaces the probe pod, which the webhook admitted unmutated while its cache lagged,
// with a new one of another name, and returns it as stored.
func (r *runner) recreate(ctx context.Context, pod *corev1.Pod, waited time.Duration) (*corev1.Pod, error) {
	pods := r.deps.Client.CoreV1().Pods(pod.Namespace)
	old := r.created
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: ptr.To(old.UID)}}
	if err := pods.Delete(ctx, old.Name, opts); err != nil {
		return nil, fmt.Errorf("failed to delete the unmutated probe pod %s/%s: %w", old.Namespace, old.Name, err)
	}
	next := pod.DeepCopy()
	next.Name = r.deps.PodName()
	r.podName, r.created = next.Name, nil
	sctx, cancel := r.storeContext(ctx)
	created, err := pods.Create(sctx, next, metav1.CreateOptions{})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("failed to create the probe pod %s/%s again: %w", next.Namespace, next.Name, err)
	}
	r.created, r.out.Pod = created, created.Name
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r.emit(check.Event{Type: check.TypeInfo, Check: CheckWebhookLag,
		Message: fmt.Sprintf("the webhook admitted probe pod %s unmutated, and pods of the same account %s later mutated: its service account cache had not yet seen the account's annotation (a pod created right after annotating an account gets no identity, for good); deleted it and created %s",
			old.Name, waited.Round(10*time.Millisecond), created.Name),
		Data: map[string]any{"unmutated_pod": old.Name, "pod": created.Name, "lag_ms": waited.Milliseconds()}})
	return created, nil
}

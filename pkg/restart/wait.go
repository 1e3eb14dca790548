package restart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// rolloutStatus says whether a workload's rollout is complete, with kubectl rollout status's
// rules and words: the controller observed the latest generation, every replica is updated,
// no old replica is left, and the updated ones are available (ready for a StatefulSet).
func rolloutStatus(obj runtime.Object) (done bool, msg string, err error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Generation > o.Status.ObservedGeneration {
			return false, "waiting for deployment spec update to be observed...", nil
		}
		for _, c := range o.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return false, "", fmt.Errorf("deployment %q exceeded its progress deadline", o.Name)
			}
		}
		s := o.Status
		if o.Spec.Replicas != nil && s.UpdatedReplicas < *o.Spec.Replicas {
			return false, fmt.Sprintf("%d out of %d new replicas have been updated...", s.UpdatedReplicas, *o.Spec.Replicas), nil
		}
		if s.Replicas > s.UpdatedReplicas {
			if old := s.Replicas - s.UpdatedReplicas; old != 1 {
				return false, fmt.Sprintf("%d old replicas are pending termination...", old), nil
			}
			return false, "1 old replica is pending termination...", nil
		}
		if s.AvailableReplicas < s.UpdatedReplicas {
			return false, fmt.Sprintf("%d of %d updated replicas are available...", s.AvailableReplicas, s.UpdatedReplicas), nil
		}
		return true, "successfully rolled out", nil
	case *appsv1.DaemonSet:
		if o.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return true, "updateStrategy OnDelete: nothing rolls out", nil
		}
		if o.Generation > o.Status.ObservedGeneration {
			return false, "waiting for daemon set spec update to be observed...", nil
		}
		s := o.Status
		if s.UpdatedNumberScheduled < s.DesiredNumberScheduled {
			return false, fmt.Sprintf("%d out of %d new pods have been updated...", s.UpdatedNumberScheduled, s.DesiredNumberScheduled), nil
		}
		if s.NumberAvailable < s.DesiredNumberScheduled {
			return false, fmt.Sprintf("%d of %d updated pods are available...", s.NumberAvailable, s.DesiredNumberScheduled), nil
		}
		return true, "successfully rolled out", nil
	case *appsv1.StatefulSet:
		if o.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			return true, "updateStrategy OnDelete: nothing rolls out", nil
		}
		s := o.Status
		if s.ObservedGeneration == 0 || o.Generation > s.ObservedGeneration {
			return false, "waiting for statefulset spec update to be observed...", nil
		}
		if o.Spec.Replicas != nil && s.ReadyReplicas < *o.Spec.Replicas {
			return false, fmt.Sprintf("waiting for %d pods to be ready...", *o.Spec.Replicas-s.ReadyReplicas), nil
		}
		if ru := o.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
			if o.Spec.Replicas != nil && s.UpdatedReplicas < *o.Spec.Replicas-*ru.Partition {
				return false, fmt.Sprintf("waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", s.UpdatedReplicas, *o.Spec.Replicas-*ru.Partition), nil
			}
			return true, fmt.Sprintf("partitioned roll out complete: %d new pods have been updated", s.UpdatedReplicas), nil
		}
		if s.UpdateRevision != s.CurrentRevision {
			return false, fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...", s.UpdatedReplicas, s.UpdateRevision), nil
		}
		return true, "successfully rolled out", nil
	}
	return true, "", nil
}

// Wait polls until the rollout of every restarted workload in actions is complete, or ctx
// ends. Each poll is one LIST per restarted kind in the actions' scope, not a GET per workload.
// Progress goes to progress when it changes; each finished rollout gets a line on out.
func Wait(ctx context.Context, c kubernetes.Interface, actions []*Action, interval time.Duration, out, progress io.Writer) error {
	return WaitFor(ctx, c, actions, interval, Watch{
		Waiting: func(a *Action, msg string) {
			fmt.Fprintf(progress, "Waiting for %s rollout to finish: %s\n", a.Ref(), msg)
		},
		Done: func(a *Action, msg string) { fmt.Fprintf(out, "%s %s\n", a.Ref(), msg) },
	})
}

// Watch hears a rollout wait: Waiting a rollout's state each time it changes, Done its end,
// each with the workload's action and kubectl rollout status's words.
type Watch struct {
	Waiting, Done func(a *Action, msg string)
}

// WaitFor is Wait telling w instead of writers.
func WaitFor(ctx context.Context, c kubernetes.Interface, actions []*Action, interval time.Duration, w Watch) error {
	pending := map[string]*Action{}
	var order []string // the actions' order: rollouts that end in the same poll are told in it
	namespaces := map[string]bool{}
	kinds := map[string]bool{}
	for _, a := range actions {
		if a.Type == Restart && a.object != nil {
			k := a.Kind + "/" + a.Namespace + "/" + a.Name
			pending[k] = a
			order = append(order, k)
			namespaces[a.Namespace] = true
			kinds[a.Kind] = true
		}
	}
	scope := ""
	if len(namespaces) == 1 {
		for ns := range namespaces {
			scope = ns
		}
	}
	last := map[string]string{}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for len(pending) > 0 {
		objs, err := listKinds(ctx, c, scope, kinds)
		if err != nil {
			if ctx.Err() != nil {
				return waitTimeout(ctx, pending, last)
			}
			return err
		}
		for _, k := range order {
			a, ok := pending[k]
			if !ok {
				continue
			}
			obj, ok := objs[k]
			if !ok {
				return fmt.Errorf("%s in namespace %q disappeared while waiting for its rollout", a.Ref(), a.Namespace)
			}
			if generationOf(obj) < a.generation {
				continue // a stale read from a cache that has not seen our patch yet
			}
			done, msg, err := rolloutStatus(obj)
			if err != nil {
				return fmt.Errorf("%s in namespace %q: %w", a.Ref(), a.Namespace, err)
			}
			if done {
				delete(pending, k)
				w.Done(a, msg)
				continue
			}
			if last[k] != msg {
				last[k] = msg
				w.Waiting(a, msg)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return waitTimeout(ctx, pending, last)
		case <-ticker.C:
		}
	}
	return nil
}

func waitTimeout(ctx context.Context, pending map[string]*Action, last map[string]string) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	a := pending[keys[0]]
	more := ""
	if n := len(keys) - 1; n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	return fmt.Errorf("timed out waiting for the rollout of %s in namespace %q (%s)%s; the rollout goes on in the background: %w",
		a.Ref(), a.Namespace, last[keys[0]], more, ctx.Err())
}

func generationOf(obj runtime.Object) int64 {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetGeneration()
	}
	return 0
}

func listKinds(ctx context.Context, c kubernetes.Interface, ns string, kinds map[string]bool) (map[string]runtime.Object, error) {
	objs := map[string]runtime.Object{}
	if kinds["deployment.apps"] {
		items, err := listDeployments(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		for i := range items {
			objs["deployment.apps/"+items[i].Namespace+"/"+items[i].Name] = &items[i]
		}
	}
	if kinds["statefulset.apps"] {
		items, err := listStatefulSets(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		for i := range items {
			objs["statefulset.apps/"+items[i].Namespace+"/"+items[i].Name] = &items[i]
		}
	}
	if kinds["daemonset.apps"] {
		items, err := listDaemonSets(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		for i := range items {
			objs["daemonset.apps/"+items[i].Namespace+"/"+items[i].Name] = &items[i]
		}
	}
	return objs, nil
}

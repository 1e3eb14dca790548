package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
)

// RestartedAtAnnotation is the pod template annotation `kubectl rollout restart` sets.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// ObjectRestarterFunc has the signature of kubectl's polymorphichelpers.ObjectRestarterFn: it
// returns the encoded object with a new restartedAt in its pod template, or an error when the
// object cannot be restarted (a paused Deployment).
//
// kubectl's own function is not the default because importing
// k8s.io/kubectl/pkg/polymorphichelpers pulls in kubectl's scheme, describe and i18n packages,
// whose init work made `kubectl wi --help` measurably slower (about 6 ms, 36 packages).
// restart_test.go checks that both produce the same patch.
type ObjectRestarterFunc func(runtime.Object) ([]byte, error)

// DefaultRestarter sets restartedAt to now in RFC 3339, as kubectl does, refusing paused
// Deployments as kubectl does. kubectl's value has one-second resolution, so a second restart
// within the same second would be an empty patch that starts no rollout; this one then moves
// on to the next second.
func DefaultRestarter(now func() time.Time) ObjectRestarterFunc {
	return func(obj runtime.Object) ([]byte, error) {
		var meta *metav1.ObjectMeta
		switch o := obj.(type) {
		case *appsv1.Deployment:
			if o.Spec.Paused {
				return nil, errors.New("can't restart paused deployment (run rollout resume first)")
			}
			meta = &o.Spec.Template.ObjectMeta
		case *appsv1.StatefulSet:
			meta = &o.Spec.Template.ObjectMeta
		case *appsv1.DaemonSet:
			meta = &o.Spec.Template.ObjectMeta
		default:
			return nil, fmt.Errorf("restarting %T is not supported", obj)
		}
		t := now()
		value := t.Format(time.RFC3339)
		if meta.Annotations[RestartedAtAnnotation] == value {
			value = t.Add(time.Second).Format(time.RFC3339)
		}
		if meta.Annotations == nil {
			meta.Annotations = map[string]string{}
		}
		meta.Annotations[RestartedAtAnnotation] = value
		return json.Marshal(obj)
	}
}

// restartPatch builds the strategic merge patch that sets only the pod template's
// restartedAt, taking the value from what restarter made of a copy of obj.
func restartPatch(obj runtime.Object, restarter ObjectRestarterFunc) ([]byte, error) {
	encoded, err := restarter(obj.DeepCopyObject())
	if err != nil {
		return nil, err
	}
	var restarted struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(encoded, &restarted); err != nil {
		return nil, fmt.Errorf("failed to read the restarted object: %w", err)
	}
	value := restarted.Spec.Template.Metadata.Annotations[RestartedAtAnnotation]
	if value == "" {
		return nil, fmt.Errorf("the restarter set no %s annotation", RestartedAtAnnotation)
	}
	patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartedAtAnnotation: value},
	}}}}
	return json.Marshal(patch)
}

// Do restarts the workload of a Restart action with a strategic merge patch of its pod
// template's restartedAt annotation, as `kubectl rollout restart` does. dryRun is passed to
// the server (["All"] for a server-side dry run).
func Do(ctx context.Context, c kubernetes.Interface, a *Action, restarter ObjectRestarterFunc, dryRun []string) error {
	if a.Type != Restart || a.object == nil {
		return fmt.Errorf("%s is not a workload to restart", a.Ref())
	}
	patch, err := restartPatch(a.object, restarter)
	if err != nil {
		return fmt.Errorf("failed to restart %s in namespace %q: %w", a.Ref(), a.Namespace, err)
	}
	opts := metav1.PatchOptions{DryRun: dryRun}
	switch a.object.(type) {
	case *appsv1.Deployment:
		return patchWorkload[*appsv1.Deployment](ctx, c.AppsV1().Deployments(a.Namespace), a, patch, opts, "deployments.apps")
	case *appsv1.StatefulSet:
		return patchWorkload[*appsv1.StatefulSet](ctx, c.AppsV1().StatefulSets(a.Namespace), a, patch, opts, "statefulsets.apps")
	case *appsv1.DaemonSet:
		return patchWorkload[*appsv1.DaemonSet](ctx, c.AppsV1().DaemonSets(a.Namespace), a, patch, opts, "daemonsets.apps")
	}
	return fmt.Errorf("restarting %T is not supported", a.object)
}

// workloadPatcher is the Patch method every typed workload client has.
type workloadPatcher[T metav1.Object] interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

// patchWorkload sends the restart patch and records the generation it produced, which --wait
// watches the controller observe.
func patchWorkload[T metav1.Object](ctx context.Context, p workloadPatcher[T], a *Action, patch []byte, opts metav1.PatchOptions, resource string) error {
	got, err := p.Patch(ctx, a.Name, types.StrategicMergePatchType, patch, opts)
	if err == nil {
		a.generation = got.GetGeneration()
	}
	return apicall.Wrap(err, "patch", resource, a.Namespace, a.Name)
}

package verify

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Ctrl-C while the probe pod's create (or its --ca-bundle ConfigMap's) is in flight, and the
// apiserver stores it anyway: cleanup deletes what was stored. A create cancelled with the
// run used to answer with the context's error although the write landed, cleanup found
// nothing to delete, and the object stayed (the e2e chaos test caught it against a real
// apiserver).
func TestRunInterruptedWhileCreating(t *testing.T) {
	for _, resource := range []string{"configmaps", "pods"} {
		t.Run(resource, func(t *testing.T) {
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			deps := testDeps(cl, nil)
			deps.Client = storedThenInterrupted{Interface: cl.client, resource: resource, interrupt: cancel, late: new(func())}
			cfg := testConfig()
			cfg.CABundle = []byte(testBundle)

			_, err := Run(ctx, cfg, deps, &recorder{})
			deps.Client.(storedThenInterrupted).land()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want an interruption", err)
			}
			if _, err := cl.client.CoreV1().Pods("shop").Get(context.Background(), testPod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the probe pod was left behind (get: %v)", err)
			}
			if _, err := cl.client.CoreV1().ConfigMaps("shop").Get(context.Background(), testPod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the --ca-bundle ConfigMap was left behind (get: %v)", err)
			}
		})
	}
}

// storedThenInterrupted is a clientset whose first create of resource is interrupted in
// flight: the run is cancelled while the request is on its way. A create whose context is done
// by then answers with the context's error, as client-go does, and the apiserver stores the
// object later, after the run ended (its cleanup's delete found nothing), as the real one did.
// A create whose context is not done is stored and answered.
type storedThenInterrupted struct {
	kubernetes.Interface
	resource  string
	interrupt context.CancelFunc
	late      *func() // the store still on its way when the run ended
}

func (c storedThenInterrupted) CoreV1() corev1client.CoreV1Interface {
	return interruptedCore{CoreV1Interface: c.Interface.CoreV1(), c: c}
}

type interruptedCore struct {
	corev1client.CoreV1Interface
	c storedThenInterrupted
}

func (i interruptedCore) Pods(ns string) corev1client.PodInterface {
	return interruptedPods{PodInterface: i.CoreV1Interface.Pods(ns), c: i.c}
}

func (i interruptedCore) ConfigMaps(ns string) corev1client.ConfigMapInterface {
	return interruptedConfigMaps{ConfigMapInterface: i.CoreV1Interface.ConfigMaps(ns), c: i.c}
}

type interruptedPods struct {
	corev1client.PodInterface
	c storedThenInterrupted
}

func (p interruptedPods) Create(ctx context.Context, pod *corev1.Pod, opts metav1.CreateOptions) (*corev1.Pod, error) {
	return inFlight(ctx, p.c, "pods", opts, func() (*corev1.Pod, error) { return p.PodInterface.Create(ctx, pod, opts) })
}

type interruptedConfigMaps struct {
	corev1client.ConfigMapInterface
	c storedThenInterrupted
}

func (m interruptedConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error) {
	return inFlight(ctx, m.c, "configmaps", opts, func() (*corev1.ConfigMap, error) { return m.ConfigMapInterface.Create(ctx, cm, opts) })
}

// inFlight interrupts the run while the first create of the clientset's resource is on its
// way, and answers as the create's context then allows.
func inFlight[T any](ctx context.Context, c storedThenInterrupted, resource string, opts metav1.CreateOptions, store func() (T, error)) (T, error) {
	if resource != c.resource || len(opts.DryRun) > 0 {
		return store()
	}
	c.interrupt()
	if err := ctx.Err(); err != nil {
		*c.late = func() { _, _ = store() }
		var zero T
		return zero, err
	}
	return store()
}

// land stores what was still on its way when the run ended.
func (c storedThenInterrupted) land() {
	if f := *c.late; f != nil {
		*c.late = nil
		f()
	}
}

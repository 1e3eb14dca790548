package restart

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appsclient "k8s.io/client-go/kubernetes/typed/apps/v1"

	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

func TestDoAll(t *testing.T) {
	const n = 3*parallelPatches + 2
	tests := []struct {
		name string
		// fail names the Deployments whose PATCH is refused.
		fail []string
		// cancelAfter cancels the context once that many PATCHes have arrived (0: never).
		cancelAfter int
		// wantPatched is how many PATCHes arrive at most; wantErrs names the actions done gets an
		// error for.
		wantPatched int
		wantErrs    []string
	}{
		{name: "every restart is sent once", wantPatched: n},
		{name: "a refused patch is that action's error only", fail: []string{"web-03", "web-17"}, wantPatched: n,
			wantErrs: []string{"deployment.apps/web-03", "deployment.apps/web-17"}},
		{name: "no patch is sent once the context is done", cancelAfter: 1, wantPatched: parallelPatches},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var objs []runtime.Object
			var actions []*Action
			for i := range n {
				d := kt.Deployment("ns", fmt.Sprintf("web-%02d", i), "app")
				objs = append(objs, d)
				actions = append(actions, &Action{Type: Restart, Kind: "deployment.apps", Namespace: "ns", Name: d.Name, object: d})
				if i%5 == 0 { // an action that restarts nothing sits between the restarts
					actions = append(actions, &Action{Type: Current, Kind: "statefulset.apps", Namespace: "ns", Name: fmt.Sprintf("db-%02d", i)})
				}
			}
			var mu sync.Mutex
			inFlight, maxInFlight, patched := 0, 0, 0
			client := &patchHookClient{Clientset: fake.NewClientset(objs...), hook: func(name string) error {
				mu.Lock()
				inFlight++
				patched++
				maxInFlight = max(maxInFlight, inFlight)
				if tt.cancelAfter > 0 && patched == tt.cancelAfter {
					cancel()
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // a round trip, so that PATCHes overlap
				mu.Lock()
				inFlight--
				mu.Unlock()
				if slices.Contains(tt.fail, name) {
					return apierrors.NewConflict(appsv1.Resource("deployments"), name, errors.New("refused"))
				}
				return nil
			}}

			var order, errored []string
			DoAll(ctx, client, actions, DefaultRestarter(time.Now), nil, func(a *Action, err error) {
				order = append(order, a.Ref())
				if err != nil {
					errored = append(errored, a.Ref())
				}
			})

			var want []string
			for _, a := range actions {
				want = append(want, a.Ref())
			}
			if !slices.Equal(order, want) {
				t.Errorf("done was called in the order\n%v\nwant the actions' order\n%v", order, want)
			}
			if maxInFlight > parallelPatches {
				t.Errorf("%d PATCHes were in flight at once, want at most %d", maxInFlight, parallelPatches)
			}
			if tt.cancelAfter == 0 {
				if maxInFlight < 2 {
					t.Errorf("at most %d PATCH was in flight at once: the restarts did not overlap", maxInFlight)
				}
				if patched != tt.wantPatched {
					t.Errorf("%d PATCHes sent, want %d", patched, tt.wantPatched)
				}
				if !slices.Equal(errored, tt.wantErrs) {
					t.Errorf("errors for %v, want %v", errored, tt.wantErrs)
				}
				return
			}
			// Cancelled: what was in flight may finish; nothing more is sent, and every
			// restart not sent is an error.
			if patched > tt.wantPatched {
				t.Errorf("%d PATCHes sent after the context was done at the first, want at most %d", patched, tt.wantPatched)
			}
			if len(errored) < n-patched {
				t.Errorf("%d errors, want one for each of the %d restarts not sent", len(errored), n-patched)
			}
			for _, r := range errored {
				if !strings.HasPrefix(r, "deployment.apps/") {
					t.Errorf("error for %s, which restarts nothing", r)
				}
			}
		})
	}
}

// patchHookClient is a fake clientset whose Deployment PATCHes call hook first, outside the
// fake's lock (which runs its reactors one at a time), so that they can overlap; an error
// from hook is the PATCH's.
type patchHookClient struct {
	*fake.Clientset
	hook func(name string) error
}

func (c *patchHookClient) AppsV1() appsclient.AppsV1Interface {
	return hookApps{c.Clientset.AppsV1(), c.hook}
}

type hookApps struct {
	appsclient.AppsV1Interface
	hook func(string) error
}

func (a hookApps) Deployments(ns string) appsclient.DeploymentInterface {
	return hookDeployments{a.AppsV1Interface.Deployments(ns), a.hook}
}

type hookDeployments struct {
	appsclient.DeploymentInterface
	hook func(string) error
}

func (d hookDeployments) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) (*appsv1.Deployment, error) {
	if err := d.hook(name); err != nil {
		return nil, err
	}
	return d.DeploymentInterface.Patch(ctx, name, pt, data, opts, sub...)
}

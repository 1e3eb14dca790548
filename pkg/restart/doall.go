package restart

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
)

// parallelPatches is how many restart PATCHes DoAll has in flight at once: enough to hide the round
// trip of each, few enough not to crowd an apiserver that others use too.
const parallelPatches = 8

// DoAll restarts the workloads of the Restart actions among actions, up to parallelPatches at a time,
// and calls done once for every action, in the order of actions, with the error of its restart
// (nil for an action that restarts nothing). Each action is one PATCH of its own workload, so
// their order does not matter to the cluster; done's order keeps the output the same from run
// to run. Once ctx is done no further PATCH is sent, and each action not sent is reported with
// ctx's error.
func DoAll(ctx context.Context, c kubernetes.Interface, actions []*Action, restarter ObjectRestarterFunc, dryRun []string, done func(*Action, error)) {
	errs := make([]error, len(actions))
	finished := make([]chan struct{}, len(actions))
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	go func() {
		slots := make(chan struct{}, parallelPatches)
		for i, a := range actions {
			if a.Type != Restart {
				close(finished[i])
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
			if err := ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("%s in namespace %q was not restarted: %w", a.Ref(), a.Namespace, err)
				close(finished[i])
				continue
			}
			go func() {
				defer func() { <-slots; close(finished[i]) }()
				errs[i] = Do(ctx, c, a, restarter, dryRun)
			}()
		}
	}()
	for i, a := range actions {
		<-finished[i]
		done(a, errs[i])
	}
}

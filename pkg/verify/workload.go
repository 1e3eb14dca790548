package verify

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// CheckOutsideWorkloadPods names the check of a workload target's own pods.
const CheckOutsideWorkloadPods = "outside.workload_pods"

// CheckWorkloadPods says, for a deployment, statefulset or daemonset target, whether its live
// pods carry the identity its service account asks for now. The probe pod is new, so it proves
// what new pods get; pods created before the account changed keep what they got, and the fix
// renews them with the command enable and status give (pkg/restartfix). It costs one LIST
// each of the account's pods and of the namespace's deployments, statefulsets and daemonsets.
func CheckWorkloadPods(ctx context.Context, c kubernetes.Interface, namespace string, t Target, account string, cfg identity.Config, hasRole bool) (probe.Event, bool) {
	if t.Kind == KindServiceAccount {
		return probe.Event{}, false
	}
	var want *identity.Config
	if hasRole {
		want = &cfg
	}
	acc := []restart.Account{{Namespace: namespace, Name: account, Want: want, Changed: true}}
	inv, err := restart.Load(ctx, c, namespace, acc)
	if err != nil {
		return check(CheckOutsideWorkloadPods, probe.StatusSkip, "cannot read the workload's pods: "+err.Error(), "", nil), true
	}
	ref := t.String()
	for _, a := range restart.Plan(inv, restart.Auto, acc) {
		if a.Kind != string(t.Kind)+".apps" || a.Name != t.Name {
			continue
		}
		data := map[string]any{"live": a.Live, "stale": a.Stale}
		switch a.Type {
		case restart.Restart, restart.Manual, restart.InProgress:
			fix := a.Command
			if a.Type != restart.Manual {
				fix = restartfix.For(restartfix.Workload{Kind: a.Kind, Name: a.Name, Namespace: namespace}).Command
			}
			return check(CheckOutsideWorkloadPods, probe.StatusWarn,
				fmt.Sprintf("%d of %d live pods of %s run without the identity serviceaccount/%s asks now: %s", a.Stale, a.Live, ref, account, a.Reason),
				fix, data), true
		case restart.Current:
			return check(CheckOutsideWorkloadPods, probe.StatusPass, fmt.Sprintf("the %d live pods of %s carry the identity serviceaccount/%s asks", a.Live, ref, account), "", data), true
		case restart.NoPods:
			return check(CheckOutsideWorkloadPods, probe.StatusPass, ref+" has no live pods", "", data), true
		}
	}
	return check(CheckOutsideWorkloadPods, probe.StatusPass, ref+" has no live pods", "", nil), true
}

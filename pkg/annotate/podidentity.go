package annotate

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
)

// RunPodIdentity brings the selected accounts' EKS Pod Identity associations to want (nil:
// none), then restarts the workloads whose pods do not match. Every read and check comes
// first. cfg.Want is not used: the association carries the role.
func RunPodIdentity(ctx context.Context, cfg *Config, deps *Deps, rep Reporter, want *podidentity.Spec) error {
	r := &runner{cfg: cfg, deps: deps, rep: rep}
	accounts, err := r.resolve(ctx, false)
	if err != nil {
		return err
	}
	api, err := deps.AWS(ctx)
	if err != nil {
		return err
	}
	cluster, err := api.DescribeCluster(ctx, cfg.Cluster)
	if awsconfig.IsNotFound(err) {
		return inputErrorf("EKS cluster %q (from %s) not found: check --eks-cluster and --region", cfg.Cluster, cfg.ClusterFrom)
	}
	if err != nil {
		return err
	}
	changes := make([]podidentity.Change, len(accounts))
	restartAccounts := make([]restart.Account, len(accounts))
	var replaced []string
	for i, a := range accounts {
		have, err := podidentity.Read(ctx, api, cluster.Name, a.Namespace, a.Name)
		if err != nil {
			return err
		}
		changes[i] = podidentity.Plan(a.Namespace, a.Name, have, want)
		if changes[i].ReplacesRole() {
			replaced = append(replaced, fmt.Sprintf("serviceaccount/%s -n %s has %s (association %s)", a.Name, a.Namespace, have.RoleARN, have.ID))
		}
		judge := restart.PodIdentityOff
		if want != nil {
			judge = restart.PodIdentityOn
		}
		restartAccounts[i] = restart.Account{Namespace: a.Namespace, Name: a.Name, PodIdentity: judge, Changed: changes[i].Op != podidentity.OpNone}
	}
	if len(replaced) > 0 && !cfg.Overwrite {
		return RefuseReplace(replaced, want.RoleARN)
	}
	actions, err := r.planRestarts(ctx, restartAccounts)
	if err != nil {
		return err
	}

	for i := range changes {
		c := &changes[i]
		if cfg.DryRun == DryRunNone {
			if err := podidentity.Apply(ctx, api, cluster.Name, c); err != nil {
				return err
			}
		}
		rep.Association(c, cluster.Name)
	}
	if cfg.Restart == restart.Never && changed(changes) {
		rep.Warn("Warning: --restart=never: pods created before this change keep their credentials until they are restarted")
	}
	if cfg.DryRun == DryRunNone {
		if err := r.awaitAssociations(ctx, restartAccounts, changes, cluster.Name, actions, want != nil); err != nil {
			return err
		}
	}
	restarted, err := r.restartAll(ctx, actions)
	if err != nil {
		return err
	}
	return r.waitRestarted(ctx, restartAccounts, restarted)
}

// awaitAssociations holds every restart until the webhook admits new pods of each changed
// account with what its association now gives (EKS pushes an association to its webhook seconds
// after the call, and a pod created before gets the old way). An account the webhook does not
// admit in time, or an interruption, stops the run before any restart: restarting then would
// replace working pods with pods that have no credentials. The error says what was written and
// how to finish or undo it.
func (r *runner) awaitAssociations(ctx context.Context, accounts []restart.Account, changes []podidentity.Change, cluster string, actions []restart.Action, enable bool) error {
	var check []*restart.Account
	for i := range accounts {
		if accounts[i].Changed {
			check = append(check, &accounts[i])
		}
	}
	if len(check) == 0 {
		return nil
	}
	bound := min(r.cfg.Timeout, r.deps.AdmissionTimeout)
	unseen := restart.AwaitAdmission(ctx, r.deps.Client, check, bound, r.deps.AdmissionPoll)
	if ctx.Err() != nil {
		r.rep.Warn("Interrupted while waiting for the webhook to admit pods with the new Pod Identity: nothing was restarted. " + written(changes, cluster))
		return fmt.Errorf("interrupted before any restart: %w", context.Canceled)
	}
	if len(unseen) == 0 {
		return nil
	}
	for _, u := range unseen {
		r.rep.Warn(fmt.Sprintf("serviceaccount/%s in namespace %q: %s (waited up to %s)", u.Account.Name, u.Account.Namespace, u.Reason, bound))
	}
	restarts := ""
	if len(restartsOf(actions)) > 0 {
		restarts = fmt.Sprintf(", so nothing was restarted (%s would have been, and its new pods would have got the old credentials)", strings.Join(restartsOf(actions), ", "))
	}
	if enable {
		r.rep.Warn(fmt.Sprintf("The pod identity webhook does not admit new pods with the association's container credentials%s. "+
			"On EKS it injects them once the association reaches it (seconds); a self-managed webhook needs its Pod Identity (container credentials) configuration. %s "+
			"To finish once kubectl wi verify passes for the account, run the same command again (the association is kept, so it only restarts); to undo, kubectl wi disable --pod-identity on the same accounts.",
			restarts, written(changes, cluster)))
	} else {
		r.rep.Warn(fmt.Sprintf("The pod identity webhook still admits new pods with the deleted association's container credentials%s. "+
			"On EKS the deletion reaches it in seconds. %s To finish, run the same command again once kubectl wi status shows the account without Pod Identity.",
			restarts, written(changes, cluster)))
	}
	return &FailedError{Failed: len(unseen)}
}

// restartsOf names the workloads actions would restart.
func restartsOf(actions []restart.Action) []string {
	var out []string
	for _, a := range actions {
		if a.Type == restart.Restart {
			out = append(out, fmt.Sprintf("%s/%s -n %s", a.Kind, a.Name, a.Namespace))
		}
	}
	return out
}

// written says which associations the run created, updated or deleted, which stay as written.
func written(changes []podidentity.Change, cluster string) string {
	var done []string
	for _, c := range changes {
		if c.Op == podidentity.OpNone {
			continue
		}
		id := ""
		switch {
		case c.Result != nil:
			id = " " + c.Result.ID
		case c.Have != nil:
			id = " " + c.Have.ID
		}
		done = append(done, fmt.Sprintf("association%s of serviceaccount/%s -n %s %s in EKS cluster %s", id, c.ServiceAccount, c.Namespace, c.Op, cluster))
	}
	if len(done) == 0 {
		return "Nothing was written."
	}
	return "Written and left in place: " + strings.Join(done, "; ") + "."
}

func changed(changes []podidentity.Change) bool {
	for _, c := range changes {
		if c.Op != podidentity.OpNone {
			return true
		}
	}
	return false
}

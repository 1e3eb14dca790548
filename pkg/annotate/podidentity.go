package annotate

import (
	"context"
	"fmt"

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
		return inputErrorf("EKS cluster %q (from %s) not found: check --cluster and --region", cfg.Cluster, cfg.ClusterFrom)
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
		// Every changed account, restarts or not: EKS pushes an association to its webhook
		// seconds after the call, and a pod created (or verified) before gets the old way.
		var check []*restart.Account
		for i := range restartAccounts {
			if restartAccounts[i].Changed {
				check = append(check, &restartAccounts[i])
			}
		}
		r.awaitAccounts(ctx, check)
	}
	restarted, err := r.restartAll(ctx, actions)
	if err != nil {
		return err
	}
	return r.waitRestarted(ctx, restartAccounts, restarted)
}

func changed(changes []podidentity.Change) bool {
	for _, c := range changes {
		if c.Op != podidentity.OpNone {
			return true
		}
	}
	return false
}

package annotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
)

// Run brings the selected accounts' annotations and the custom resources to cfg.Want (nil: no
// identity), then restarts what needs it. Every read and every check comes before the first
// write. The Result is nil when the run stopped before its writes and restarts were done.
func Run(ctx context.Context, cfg *Config, deps *Deps, rep Reporter) (*Result, error) {
	r := &runner{cfg: cfg, deps: deps, rep: rep}
	custom, err := r.planCustom(ctx)
	if err != nil {
		return nil, err
	}
	var accounts []*Account
	if cfg.Selector != "" || len(cfg.Refs) > 0 {
		if accounts, err = r.resolve(ctx, cfg.Create); err != nil {
			return nil, err
		}
	}
	restartAccounts := make([]restart.Account, len(accounts))
	for i, a := range accounts {
		r.plan(a)
		restartAccounts[i] = restart.Account{Namespace: a.Namespace, Name: a.Name, Want: a.Want, Changed: len(a.Changes) > 0}
	}
	if err := r.refuseOverwrite(accounts, custom); err != nil {
		return nil, err
	}
	actions, err := r.planRestarts(ctx, restartAccounts)
	if err != nil {
		return nil, err
	}

	if err := r.writeCustom(ctx, custom); err != nil {
		return nil, err
	}
	changed := 0
	for i, a := range accounts {
		if err := r.write(ctx, a); err != nil {
			if i == 0 {
				return nil, err
			}
			// A run stopped halfway (the apiserver went away): the next run plans from what is
			// there, so it writes only the rest.
			return nil, fmt.Errorf("%w (stopped after %d of %d service accounts; rerun the same command to finish: the accounts done are left unchanged)", err, i, len(accounts))
		}
		if len(a.Changes) > 0 {
			changed++
		}
		rep.Account(a)
	}
	if cfg.Restart == restart.Never && changed > 0 {
		rep.Warn("Warning: --restart=never: pods created before this change keep their old identity until they are restarted")
	}

	if cfg.DryRun == DryRunNone {
		r.awaitAdmission(ctx, restartAccounts, actions)
	}
	restarted, err := r.restartAll(ctx, actions)
	if err != nil {
		return nil, err
	}
	res := &Result{Accounts: accounts, Custom: custom}
	if err := rep.Written(res); err != nil {
		return res, err
	}
	return res, r.waitRestarted(ctx, restartAccounts, restarted)
}

// runner is one run: its configuration, clients and reporter.
type runner struct {
	cfg  *Config
	deps *Deps
	rep  Reporter
}

// planRestarts reads the workloads of the accounts and decides which to restart.
func (r *runner) planRestarts(ctx context.Context, accounts []restart.Account) ([]restart.Action, error) {
	if r.cfg.Restart == restart.Never || len(accounts) == 0 {
		return nil, nil
	}
	inv, err := restart.Load(ctx, r.deps.Client, restart.Scope(accounts), accounts)
	if err != nil {
		return nil, err
	}
	return restart.Plan(inv, r.cfg.Restart, accounts), nil
}

// restartAll restarts the workloads actions name, a few at a time (restart.DoAll), and
// reports each decision in the order of actions.
func (r *runner) restartAll(ctx context.Context, actions []restart.Action) ([]*restart.Action, error) {
	all := make([]*restart.Action, len(actions))
	for i := range actions {
		all[i] = &actions[i]
	}
	if r.cfg.DryRun == DryRunClient {
		for _, a := range all {
			r.rep.Restart(a)
		}
		return nil, nil
	}
	var restarted []*restart.Action
	var errs []error
	restart.DoAll(ctx, r.deps.Client, all, r.deps.Restarter, r.serverDryRun(), func(a *restart.Action, err error) {
		switch {
		case err != nil:
			errs = append(errs, err)
			return
		case a.Type == restart.Restart:
			restarted = append(restarted, a)
		}
		r.rep.Restart(a)
	})
	return restarted, errors.Join(errs...)
}

// waitRestarted waits, with --wait, for the rollouts and checks the new pods.
func (r *runner) waitRestarted(ctx context.Context, accounts []restart.Account, restarted []*restart.Action) error {
	if !r.cfg.Wait || len(restarted) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	out, progress := r.rep.Streams()
	if err := restart.Wait(wctx, r.deps.Client, restarted, r.deps.RolloutPoll, out, progress); err != nil {
		return err
	}
	return r.checkNewPods(ctx, accounts, restarted)
}

// awaitAdmission holds the restarts of accounts this run changed until the pod identity
// webhook admits new pods of theirs with the new identity: its service account cache lags, and
// a pod created before it catches up gets no identity at all. The accounts were written one
// after the other in the order of written, which lets the wait check the last one only
// (restart.AwaitAdmissionWritten). The wait is bounded; an account it could not confirm is
// restarted anyway, with a warning that says why.
func (r *runner) awaitAdmission(ctx context.Context, written []restart.Account, actions []restart.Action) {
	restarts := map[*restart.Account]bool{}
	for i := range actions {
		if actions[i].Type == restart.Restart {
			restarts[actions[i].Account] = true
		}
	}
	var check []*restart.Account
	for i := range written {
		if a := &written[i]; a.Changed && restarts[a] {
			check = append(check, a)
		}
	}
	if len(check) == 0 {
		return
	}
	bound := min(r.cfg.Timeout, r.deps.AdmissionTimeout)
	r.warnUnseen(restart.AwaitAdmissionWritten(ctx, r.deps.Client, check, bound, r.deps.AdmissionPoll), bound)
}

// warnUnseen warns of each account the wait could not confirm, which is restarted anyway.
func (r *runner) warnUnseen(unseen []restart.Unseen, bound time.Duration) {
	for _, u := range unseen {
		r.rep.Warn(fmt.Sprintf("Warning: serviceaccount/%s in namespace %q: %s (waited up to %s); restarting anyway: check the new pods with kubectl wi status -n %s",
			u.Account.Name, u.Account.Namespace, u.Reason, bound, u.Account.Namespace))
	}
}

// checkNewPods reads the restarted workloads' pods once their rollouts are done and fails,
// naming them, when some still lack the identity their account asks for.
func (r *runner) checkNewPods(ctx context.Context, accounts []restart.Account, restarted []*restart.Action) error {
	inv, err := restart.Load(ctx, r.deps.Client, restart.Scope(accounts), accounts)
	if err != nil {
		return err
	}
	stale := restart.StalePods(inv, accounts, restarted)
	for _, s := range stale {
		r.rep.Warn(fmt.Sprintf("%s in namespace %q: new pod %s did not get the identity: %s", s.Workload, s.Namespace, s.Pod, s.Reason))
	}
	if len(stale) > 0 {
		r.rep.Warn(fmt.Sprintf("The pod identity webhook admitted %d new pod(s) without the identity: it was down or failing (its failure policy admits pods unmutated), or its cache had not caught up; run the restart again once kubectl wi verify passes",
			len(stale)))
		return &FailedError{Failed: len(stale)}
	}
	return nil
}

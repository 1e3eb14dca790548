package annotate

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// RunPodIdentity brings the selected accounts' EKS Pod Identity associations to want (nil:
// none), then restarts the workloads whose pods do not match. Every read and check comes
// first: for enable, the pre-flight of the role and its trust (podidentity.CheckSpec), which
// judges want's roles as the caller parsed them and refuses the run, nothing written, when it
// finds a problem. cfg.Want is not used: the association carries the role. With cfg.Create a
// missing account TARGET names is created first, with no annotation.
func RunPodIdentity(ctx context.Context, cfg *Config, deps *Deps, rep Reporter, want *podidentity.ParsedSpec) error {
	r := &runner{cfg: cfg, deps: deps, rep: rep}
	var spec *podidentity.Spec // what EKS is sent; nil: no association
	if want != nil {
		s := want.Spec()
		spec = &s
	}
	accounts, err := r.resolve(ctx, cfg.Create && want != nil)
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
		changes[i] = podidentity.Plan(a.Namespace, a.Name, have, spec)
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
		return RefuseReplace(replaced, spec.RoleARN)
	}
	if want != nil {
		if err := r.preflight(ctx, api, cluster, accounts, changes, want); err != nil {
			return err
		}
	}
	actions, err := r.planRestarts(ctx, restartAccounts)
	if err != nil {
		return err
	}

	for _, a := range accounts {
		if a.SA != nil {
			continue
		}
		if _, err := r.create(ctx, a, nil); err != nil {
			return err
		}
		rep.Account(a)
	}
	for i := range changes {
		c := &changes[i]
		if cfg.DryRun == DryRunNone {
			// No write after Ctrl-C; the one on its way when it came ends on EKS's answer, so
			// what it made is reported.
			if ctx.Err() != nil {
				r.rep.Warn("Interrupted while writing the Pod Identity associations: nothing was restarted. " + written(changes[:i], cluster.Name))
				return fmt.Errorf("interrupted before any restart: %w", context.Canceled)
			}
			wctx, cancel := podidentity.WriteContext(ctx)
			err := podidentity.Apply(wctx, api, cluster.Name, c)
			cancel()
			if err != nil {
				return err
			}
		}
		rep.Association(c, cluster.Name)
		if want != nil {
			r.keptAnnotation(accounts[i])
		}
	}
	if err := rep.Written(&Result{Associations: changes, Cluster: cluster.Name}); err != nil {
		return err
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

// preflight makes migrate's checks before enable's first write (podidentity.CheckSpec): the
// role in the cluster's account, its trust for EKS Auth, the target role's trust for it, the
// agent. A dry run shows the checks passed; a problem refuses the run, nothing written
// (FailedError, with each problem and its fix told). An IAM read the credentials may not make
// is an error that says so and names the way around it.
func (r *runner) preflight(ctx context.Context, api podidentity.AWS, cluster awsread.Cluster, accounts []*Account, changes []podidentity.Change, want *podidentity.ParsedSpec) error {
	pc := podidentity.PreflightConfig{Cluster: cluster, Spec: *want, SkipIAM: r.cfg.SkipPreflight, ExternalIDs: map[podidentity.ServiceAccount]string{}}
	for i, a := range accounts {
		sa := podidentity.ServiceAccount{Namespace: a.Namespace, Name: a.Name}
		pc.Accounts = append(pc.Accounts, sa)
		// An association that keeps its target role keeps its external ID, which the target
		// role's trust may require; otherwise it is not known before EKS answers.
		if h := changes[i].Have; h != nil && h.ExternalID != "" && h.TargetRoleARN == changes[i].Want.TargetRoleARN {
			pc.ExternalIDs[sa] = h.ExternalID
		}
	}
	p, err := podidentity.CheckSpec(ctx, api, r.deps.Client, pc)
	if awsconfig.IsAccessDenied(err) {
		return fmt.Errorf("the pre-flight cannot read IAM, so nothing was written: %w; "+
			"or pass --skip-preflight to write without checking that the role exists and that its trust admits %s (and the target role's the role)", err, trustpolicy.PodIdentityService)
	}
	if err != nil {
		return err
	}
	if r.cfg.DryRun != DryRunNone {
		for _, line := range p.Passed {
			r.rep.Checked("pre-flight: " + line)
		}
	}
	for _, line := range p.Notes {
		r.rep.Warn("pre-flight: " + line)
	}
	if len(p.Problems) == 0 {
		return nil
	}
	for _, line := range p.Problems {
		r.rep.Warn("pre-flight FAILED: " + line)
	}
	r.rep.Warn("Nothing was written: no association, no service account, no restart.")
	return &FailedError{Failed: len(p.Problems)}
}

// keptAnnotation says, for an account that keeps its role-arn annotation, that the association
// now takes precedence for new pods, and how to remove the annotation.
func (r *runner) keptAnnotation(a *Account) {
	if a.SA == nil {
		return
	}
	role := a.SA.Annotations[identity.AnnotationRoleARN]
	if role == "" {
		return
	}
	verb := "now takes"
	if r.cfg.DryRun != DryRunNone {
		verb = "would take"
	}
	r.rep.Warn(fmt.Sprintf("Warning: serviceaccount/%s -n %s keeps its %s annotation (%s): the Pod Identity association %s precedence over it for new pods "+
		"(the pod identity webhook gives them the association's container credentials and skips the annotation's role); to remove it: kubectl wi disable serviceaccount/%s -n %s --restart=never",
		a.Name, a.Namespace, identity.AnnotationRoleARN, role, verb, a.Name, a.Namespace))
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

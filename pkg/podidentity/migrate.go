package podidentity

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Step names a step of a migration; a failure says which one it stopped at.
type Step string

// Steps, in the order they run.
const (
	StepPreflight   Step = "pre-flight"  // reads only: the cluster, associations, trust, agent, workloads
	StepTrust       Step = "trust"       // --write-trust: the corrected trust policy written
	StepAssociation Step = "association" // the association created
	StepAdmission   Step = "admission"   // the webhook admits new pods with the container credentials
	StepVerify      Step = "verify"      // a probe pod of the account proves the path and the caller
	StepRestart     Step = "restart"     // the workloads whose pods lack the credentials restarted
	StepRollout     Step = "rollout"     // their rollouts finished
	StepNewPods     Step = "new pods"    // every new pod carries the credentials
	StepRemoveIRSA  Step = "remove-irsa" // --remove-irsa: the role-arn annotation removed
)

// Config is what the user asked for.
type Config struct {
	Namespace string
	// Targets name service accounts or workloads of Namespace; none migrates every account of
	// the namespace with a role-arn annotation (and those already on Pod Identity, so that a
	// rerun finds them done).
	Targets []targets.Ref
	// Cluster is the EKS cluster's name.
	Cluster    string
	RemoveIRSA bool
	WriteTrust bool
	// DryRun is none, client (nothing sent but reads) or server (Kubernetes writes sent as
	// server-side dry runs; EKS and IAM have none, so their calls are shown, not sent).
	DryRun string
	// Timeout bounds the rollouts; 0 means 5 minutes.
	Timeout time.Duration
	// Parallel is how many accounts are proven at once; 0 means verify.DefaultParallel.
	Parallel int
}

// Deps is the cluster, AWS and the prover.
type Deps struct {
	Client    kubernetes.Interface
	AWS       AWS
	Prove     ProveFunc
	Restarter restart.ObjectRestarterFunc
	// AdmissionTimeout bounds the wait for the webhook to learn the associations (EKS pushes
	// them to it seconds after the call); 0 means 60s. AdmissionPoll and RolloutPoll are the
	// polls' intervals: 0 means 500ms and 1s.
	AdmissionTimeout, AdmissionPoll, RolloutPoll time.Duration
	// Now stamps the events; nil means time.Now.
	Now func() time.Time
}

// InputError is bad input, refused before any write.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// FailedError is a run that stopped at its pre-flight, or in which accounts failed a later
// step; the run has reported why, and how each failed account was left.
type FailedError struct {
	Failed int
	Step   Step // the first account's failed step
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d service account(s) failed, the first at the %s step", e.Failed, e.Step)
}

// Outcome is how each account ended.
type Outcome struct {
	Accounts []AccountOutcome
	// AWSWrites counts the IAM and EKS writes made (roll-backs included).
	AWSWrites int
	Restarted int
}

// AccountOutcome is one account's migration.
type AccountOutcome struct {
	Name        string
	Association Op
	Restarted   []string // kind/name
	IRSARemoved bool
	RolledBack  bool // the association this run created was deleted again
	Failed      Step // "" when it ended well
}

// account is one service account of the run.
type account struct {
	name       string
	sa         *corev1.ServiceAccount
	role       string           // its role-arn annotation, "" when none is left
	roleARN    identity.RoleARN // role parsed where the annotation is read (newAccount)
	roleErr    error            // why role does not parse: the pre-flight refuses it, bad input
	change     Change
	restart    *restart.Account
	actions    []*restart.Action
	removeIRSA bool
	restarted  []string // kind/name of the workloads this run restarted
	created    bool     // this run created the association: rolled back if it fails before a restart
	rolledBack bool
	failed     Step
	failure    string // why it failed a step after the pre-flight, in words
	failFix    string // what to do about it, when known
	proof      *Proof
	// problems are why the pre-flight leaves this account untouched (failed is then
	// StepPreflight); the other accounts of the run go on.
	problems []*problem
}

// problem is a pre-flight finding that leaves its accounts untouched: what is wrong, the
// detail printed once (a policy, its diff), and the fix, in full and in short for the
// account's line of the plan and the summary.
type problem struct {
	reason, detail, fix, hint string
	accounts                  []string // serviceaccount/NAME
	ids                       []string // NAMESPACE/NAME
}

func (p *problem) String() string {
	s := p.reason + p.detail
	if p.fix != "" {
		s += "; " + p.fix
	}
	return s
}

func (a *account) changes() bool {
	return a.change.Op != OpNone || a.removeIRSA || a.restarts() > 0
}

func (a *account) restarts() int {
	n := 0
	for _, act := range a.actions {
		if act.Type == restart.Restart {
			n++
		}
	}
	return n
}

type runner struct {
	cfg      Config
	deps     Deps
	rep      report.Reporter
	cluster  awsread.Cluster
	accounts []*account
	actions  []restart.Action
	trust    map[string]*Trust // by role ARN, those to write
	written  map[string]*trustWrite
	out      Outcome
	problems []*problem // the pre-flight's, in the order found
}

// Run migrates cfg's accounts from IRSA to EKS Pod Identity: a pre-flight of reads (the
// cluster, each account's association, its role's trust for pods.eks.amazonaws.com, the agent,
// the workloads to restart), then for each account the association (the role its role-arn
// annotation names), the webhook's admission of new pods with the container credentials, a
// probe pod proving the agent, the role's trust and the caller, and only then the restart of
// exactly the workloads whose pods lack the credentials, their rollout, a look at every new
// pod, and with RemoveIRSA the annotation's removal (Pod Identity wins over it: nothing is
// restarted for that). An account that fails before its workloads are restarted is left as it
// was: an association this run created is deleted. One that fails later keeps its association,
// which its new pods use. A rerun finds the done accounts done: no write, no restart.
//
// The run is reported to rep as it goes: each fact and change an event of its step
// (CheckOf), progress a Step, the proofs' events as verify reports them, each account's
// outcome (CheckAccount), and the verdict last. A run that stops on an error has no verdict:
// the error says why.
func Run(ctx context.Context, cfg Config, deps Deps, rep report.Reporter) (Outcome, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = verify.DefaultParallel
	}
	if cfg.DryRun == "" {
		cfg.DryRun = "none"
	}
	if deps.AdmissionTimeout <= 0 {
		deps.AdmissionTimeout = time.Minute
	}
	if deps.AdmissionPoll <= 0 {
		deps.AdmissionPoll = 500 * time.Millisecond
	}
	if deps.RolloutPoll <= 0 {
		deps.RolloutPoll = time.Second
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	r := &runner{cfg: cfg, deps: deps, rep: rep, trust: map[string]*Trust{}, written: map[string]*trustWrite{}}
	err := r.run(ctx)
	for _, a := range r.accounts {
		r.out.Accounts = append(r.out.Accounts, r.outcomeOf(a))
	}
	return r.out, err
}

// outcomeOf is how a ended.
func (r *runner) outcomeOf(a *account) AccountOutcome {
	o := AccountOutcome{Name: a.name, Association: a.change.Op, Restarted: a.restarted, Failed: a.failed, RolledBack: a.rolledBack}
	if r.cfg.DryRun != "none" || a.failed == StepPreflight {
		o.Association = OpNone
	}
	o.IRSARemoved = a.removeIRSA && a.failed == "" && r.cfg.DryRun == "none"
	return o
}

func (r *runner) run(ctx context.Context) error {
	if err := r.find(ctx); err != nil {
		return err
	}
	if err := r.preflight(ctx); err != nil {
		return err
	}
	if r.cfg.DryRun != "none" {
		if err := r.dryRun(ctx); err != nil {
			return err
		}
		return r.skipped()
	}
	if len(r.live()) == 0 {
		r.conclude("nothing was changed", "")
		return r.skipped()
	}
	if !r.anyChange() {
		r.nothingToDo()
		return r.skipped()
	}
	for _, a := range r.accounts {
		if a.failed == StepPreflight {
			r.result(CheckOf(StepPreflight), check.StatusFail, r.id(a), problemFixes(a), nil, "serviceaccount/%s: skipped, left untouched: %s", a.name, a.why())
		}
	}
	for _, step := range []func(context.Context) error{r.writeTrust, r.associate, r.awaitAdmission, r.prove, r.restartWorkloads, r.awaitRollouts, r.removeAnnotations} {
		if err := step(ctx); err != nil {
			r.rollBack(ctx, "the run stopped")
			return err
		}
	}
	return r.summary()
}

// why is an account's pre-flight problems, each with its short fix.
func (a *account) why() string {
	var out []string
	for _, p := range a.problems {
		s := p.reason
		if hint := cmp.Or(p.hint, p.fix); hint != "" {
			s += " (fix: " + hint + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// skipped is the FailedError of the accounts the pre-flight left untouched, nil when none.
func (r *runner) skipped() error {
	n := 0
	for _, a := range r.accounts {
		if a.failed == StepPreflight {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &FailedError{Failed: n, Step: StepPreflight}
}

// find resolves the targets to service accounts, or lists the namespace's.
func (r *runner) find(ctx context.Context) error {
	c, ns := r.deps.Client, r.cfg.Namespace
	if r.cfg.Cluster == "" {
		return inputErrorf("no EKS cluster name: pass --eks-cluster")
	}
	if len(r.cfg.Targets) > 0 {
		seen := map[string]bool{}
		for _, ref := range r.cfg.Targets {
			name, err := targets.ServiceAccountName(ctx, c, ns, ref)
			if apierrors.IsNotFound(err) {
				return inputErrorf("%s %q not found in namespace %q", ref.Kind.Name, ref.Name, ns)
			}
			if err != nil {
				return err
			}
			if name == "default" && !ref.IsServiceAccount() {
				return inputErrorf("%s runs as serviceaccount/default, the account of every pod in namespace %q that names none: migrating it moves all of them; give the workload its own account, or name serviceaccount/default to mean it", ref, ns)
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return inputErrorf("serviceaccount %q not found in namespace %q", name, ns)
			}
			if err != nil {
				return apicall.Wrap(err, "get", "serviceaccounts", ns, name)
			}
			r.accounts = append(r.accounts, newAccount(name, sa))
		}
		return nil
	}
	items, err := apicall.ListAll(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.ServiceAccount, metav1.ListMeta, error) {
		l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, o)
		if err != nil {
			return nil, metav1.ListMeta{}, err
		}
		return l.Items, l.ListMeta, nil
	})
	if err != nil {
		return apicall.Wrap(err, "list", "serviceaccounts", ns, "")
	}
	// Accounts already on Pod Identity without their annotation: a rerun after --remove-irsa.
	assoc, err := r.deps.AWS.ListPodIdentityAssociations(ctx, r.cfg.Cluster, ns, "")
	if err != nil {
		return r.awsInput(err)
	}
	associated := map[string]bool{}
	for _, a := range assoc {
		associated[a.ServiceAccount] = true
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	for i := range items {
		sa := &items[i]
		if role := sa.Annotations[identity.AnnotationRoleARN]; role != "" || associated[sa.Name] {
			r.accounts = append(r.accounts, newAccount(sa.Name, sa))
		}
	}
	if len(r.accounts) == 0 {
		return inputErrorf("no service account of namespace %q has an %s annotation: nothing to migrate", ns, identity.AnnotationRoleARN)
	}
	return nil
}

// newAccount is the service account sa of the run, its role-arn annotation parsed here, where
// it is read.
func newAccount(name string, sa *corev1.ServiceAccount) *account {
	a := &account{name: name, sa: sa, role: sa.Annotations[identity.AnnotationRoleARN]}
	if a.role != "" {
		a.roleARN, a.roleErr = identity.ParseRoleARN(a.role)
	}
	return a
}

// awsInput turns EKS's answer that the cluster does not exist into bad input.
func (r *runner) awsInput(err error) error {
	var ce *awsconfig.CallError
	if awsconfig.IsNotFound(err) && errors.As(err, &ce) && strings.HasPrefix(ce.Resource, "cluster ") {
		return inputErrorf("EKS cluster %q not found in this region: check --eks-cluster and --region (AWS_REGION)", r.cfg.Cluster)
	}
	return err
}

// preflight reads everything and judges it; it writes nothing. Bad input is an InputError;
// a problem (a role whose trust refuses Pod Identity, an agent not ready, an association with
// another role) fails the run here, all of them listed.
func (r *runner) preflight(ctx context.Context) error {
	ns := r.cfg.Namespace
	var err error
	if r.cluster, err = r.deps.AWS.DescribeCluster(ctx, r.cfg.Cluster); err != nil {
		return r.awsInput(err)
	}
	r.info(CheckCluster, "", map[string]any{"name": r.cluster.Name, "arn": r.cluster.ARN}, "pre-flight: EKS cluster %s (%s)", r.cluster.Name, r.cluster.ARN)

	byRole := map[string][]*account{}
	var roles []string
	parsed := map[string]identity.RoleARN{} // each of roles, parsed where it was read
	for _, a := range r.accounts {
		have, err := Read(ctx, r.deps.AWS, r.cluster.Name, ns, a.name)
		if err != nil {
			return err
		}
		var want *Spec
		var role identity.RoleARN
		switch {
		case a.role == "" && have == nil:
			return inputErrorf("serviceaccount/%s in namespace %q has no %s annotation and no Pod Identity association: nothing to migrate (kubectl wi enable %s --pod-identity --role-arn ARN sets Pod Identity up)", a.name, ns, identity.AnnotationRoleARN, a.name)
		case a.role == "":
			want = ptrTo(SpecOf(have)) // migrated, its annotation removed
			// The role as EKS read it back from the association it took, so it parses.
			role, _ = identity.ParseRoleARN(have.RoleARN)
		default:
			if a.roleErr != nil {
				return inputErrorf("serviceaccount/%s in namespace %q: %s: %v", a.name, ns, identity.AnnotationRoleARN, a.roleErr)
			}
			want, role = &Spec{RoleARN: a.role}, a.roleARN
			if have != nil && have.RoleARN == a.role {
				want = ptrTo(SpecOf(have)) // its target role and session tags are the association's own
			}
		}
		a.change = Plan(ns, a.name, have, want)
		if have != nil && have.RoleARN != want.RoleARN {
			r.problem(&problem{
				reason: fmt.Sprintf("its Pod Identity association %s gives the role %s, and its %s names %s: migrate moves an account to the role it has", have.ID, have.RoleARN, identity.AnnotationRoleARN, a.role),
				fix:    fmt.Sprintf("make them agree first (kubectl wi enable %s --pod-identity --role-arn %s --overwrite, or change the annotation)", a.name, a.role),
			}, a)
			continue
		}
		a.removeIRSA = r.cfg.RemoveIRSA && a.role != ""
		if _, ok := byRole[want.RoleARN]; !ok {
			roles = append(roles, want.RoleARN)
			parsed[want.RoleARN] = role
		}
		byRole[want.RoleARN] = append(byRole[want.RoleARN], a)
	}

	for _, role := range roles {
		accs := byRole[role]
		names := make([]string, len(accs))
		for i, a := range accs {
			names[i] = a.name
		}
		arn := parsed[role]
		if reason := RoleAccountProblem(r.cluster, arn, accountList(names)); reason != "" {
			r.problem(&problem{reason: reason}, accs...)
			continue
		}
		t, err := JudgeTrust(ctx, r.deps.AWS, r.cluster, arn, ns, names, accs[0].change.Want.DisableSessionTags)
		var ce *awsconfig.CallError
		switch {
		case errors.As(err, &ce):
			return err
		case err != nil:
			r.problem(&problem{reason: err.Error()}, accs...)
			continue
		}
		r.judgeTrust(&t, accs)
	}

	agent := CheckAgent(ctx, r.deps.Client)
	switch agent.State {
	case AgentReady:
		r.result(CheckAgentState, check.StatusPass, "", "", nil, "pre-flight: the Pod Identity agent: %s", agent.Message)
	case AgentUnseen:
		r.info(CheckAgentState, "", nil, "pre-flight: the Pod Identity agent: %s", agent.Message)
	case AgentNotReady:
		r.problem(&problem{reason: "the Pod Identity agent: " + agent.Message}, r.accounts...)
	}

	if err := r.planRestarts(ctx); err != nil {
		return err
	}
	for _, p := range r.problems {
		r.result(CheckOf(StepPreflight), check.StatusFail, "", cmp.Or(p.fix, p.hint), map[string]any{"accounts": p.ids},
			"pre-flight FAILED for %s: %s", accountList(p.accounts), p)
	}
	return nil
}

// problem records a pre-flight problem of the accounts: each is left untouched, the others
// of the run go on.
func (r *runner) problem(p *problem, accs ...*account) {
	for _, a := range accs {
		a.failed = StepPreflight
		a.problems = append(a.problems, p)
		p.accounts = append(p.accounts, "serviceaccount/"+a.name)
		p.ids = append(p.ids, r.id(a))
	}
	r.problems = append(r.problems, p)
}

// judgeTrust reports a role's trust for the accounts, and plans its correction's write.
func (r *runner) judgeTrust(t *Trust, accs []*account) {
	names := make([]string, len(accs))
	for i, a := range accs {
		names[i] = a.name
	}
	what := t.Actions()
	data := map[string]any{"role": t.Role.String(), "accounts": r.ids(accs)}
	if t.Allowed {
		r.result(CheckOf(StepTrust), check.StatusPass, "", "", data, "pre-flight: the role %s trusts %s with %s for %s", t.Role, trustpolicy.PodIdentityService, what, accountList(names))
		return
	}
	switch {
	case t.Corrected == nil:
		reason, _, fix := t.refusal("")
		r.problem(&problem{reason: reason, fix: fix}, accs...)
	case r.cfg.WriteTrust && t.Writable:
		r.trust[t.Role.String()] = t
		reason, _, _ := t.refusal("")
		r.info(CheckOf(StepTrust), "", data, "pre-flight: %s: --write-trust adds it", reason)
	default:
		how := "rerun with --write-trust to have migrate write it, or apply it yourself"
		hint := "rerun with --write-trust, or apply the policy the pre-flight printed"
		if !t.Writable {
			how = "the correction removes or changes a statement of another principal, which migrate does not do: review it and apply it yourself"
			hint = "review the policy the pre-flight printed and apply it yourself"
		}
		reason, detail, fix := t.refusal(how)
		r.problem(&problem{reason: reason, detail: detail, fix: fix, hint: hint}, accs...)
	}
}

// planRestarts decides, from one LIST per kind, which workloads of the accounts have pods
// without the container credentials.
func (r *runner) planRestarts(ctx context.Context) error {
	accs := make([]restart.Account, len(r.accounts))
	for i, a := range r.accounts {
		cfg, ok := identity.FromAnnotations(a.sa.Annotations)
		var want *identity.Config
		if ok {
			want = &cfg
		}
		accs[i] = restart.Account{Namespace: r.cfg.Namespace, Name: a.name, Want: want, PodIdentity: restart.PodIdentityOn, Changed: a.change.Op != OpNone}
	}
	inv, err := restart.Load(ctx, r.deps.Client, r.cfg.Namespace, accs)
	if err != nil {
		return err
	}
	r.actions = restart.Plan(inv, restart.Auto, accs)
	index := map[string]*account{}
	for i, a := range r.accounts {
		a.restart = &accs[i]
		index[a.name] = a
	}
	for i := range r.actions {
		act := &r.actions[i]
		a := index[act.Account.Name]
		a.actions = append(a.actions, act)
	}
	return nil
}

// anyChange is true when the accounts the pre-flight passed have anything to write.
func (r *runner) anyChange() bool {
	if len(r.trust) > 0 {
		return true
	}
	for _, a := range r.live() {
		if a.changes() {
			return true
		}
	}
	return false
}

// nothingToDo says that every account the pre-flight passed is on Pod Identity, and lists
// what no restart of this tool fixes (bare pods, Jobs, paused Deployments) with its command;
// that is the run's verdict.
func (r *runner) nothingToDo() {
	live := map[string]bool{}
	var names []string
	for _, a := range r.live() {
		live[a.name] = true
		names = append(names, "serviceaccount/"+a.name)
	}
	for i := range r.actions {
		if act := &r.actions[i]; live[act.Account.Name] && (act.Type == restart.Manual || act.Type == restart.InProgress) {
			r.action(act)
		}
	}
	verb := " are"
	if len(names) == 1 {
		verb = " is"
	}
	r.conclude(fmt.Sprintf("nothing to do: %s%s on EKS Pod Identity already", accountList(names), verb), "")
}

// dryRun prints the plan: for every account, the tasks a run would make in order, or why the
// pre-flight leaves it untouched. Kubernetes checks its own writes as server-side dry runs
// (--dry-run=server); EKS and IAM have no dry run, so their calls are shown, never sent.
func (r *runner) dryRun(ctx context.Context) error {
	suffix, k8sSuffix := " (dry run)", " (dry run)"
	if r.cfg.DryRun == "server" {
		suffix, k8sSuffix = " (server dry run; EKS and IAM have no dry run: the call is shown, not sent)", " (server dry run)"
	}
	var migrating, done int
	var skipped []string
	for _, a := range r.accounts {
		switch {
		case a.failed == StepPreflight:
			skipped = append(skipped, "serviceaccount/"+a.name)
		case a.changes():
			migrating++
		default:
			done++
		}
	}
	if len(skipped) == 0 && !r.anyChange() {
		r.nothingToDo()
		return nil
	}
	head := fmt.Sprintf("plan%s: %d service account(s) of namespace %s: %d to migrate, %d on EKS Pod Identity already, %d skipped", k8sSuffix, len(r.accounts), r.cfg.Namespace, migrating, done, len(skipped))
	r.info(CheckPlan, "", map[string]any{"total": len(r.accounts), "migrate": migrating, "done": done, "skipped": len(skipped)}, "%s", head)
	for _, role := range sortedKeys(r.trust) {
		t := r.trust[role]
		r.info(CheckOf(StepTrust), "", map[string]any{"role": t.Role.String()}, "role %s: trust policy updated%s: aws iam update-assume-role-policy --role-name %s --policy-document '%s'", t.Role, suffix, t.Role.Name, t.Corrected.Compact())
	}
	for _, a := range r.accounts {
		if a.failed == StepPreflight {
			r.result(CheckPlan, check.StatusFail, r.id(a), problemFixes(a), nil, "serviceaccount/%s: SKIPPED, left untouched: %s", a.name, a.why())
			continue
		}
		var tasks, notes []string
		if cmd := a.change.Command(r.cluster.Name); cmd != "" {
			tasks = append(tasks, fmt.Sprintf("podidentityassociation %s%s: %s", a.change.Op, suffix, cmd))
		}
		if a.changes() {
			tasks = append(tasks, "a probe pod proves the agent, the role's trust and the caller before any restart (not in a dry run)")
		}
		for _, act := range a.actions {
			switch {
			case act.Type == restart.Restart && r.cfg.DryRun == "server":
				if err := restart.Do(ctx, r.deps.Client, act, r.deps.Restarter, []string{metav1.DryRunAll}); err != nil {
					return err
				}
				tasks = append(tasks, fmt.Sprintf("%s restarted (server dry run): %s", act.Ref(), act.Reason))
			case act.Type == restart.Restart:
				tasks = append(tasks, fmt.Sprintf("%s restarted (dry run): %s", act.Ref(), act.Reason))
			default:
				notes = append(notes, actionLine(act))
			}
		}
		if a.removeIRSA {
			if r.cfg.DryRun == "server" {
				if err := r.removeAnnotation(ctx, a, []string{metav1.DryRunAll}); err != nil {
					return err
				}
			}
			tasks = append(tasks, fmt.Sprintf("%s removed%s, once its pods are proven on Pod Identity", identity.AnnotationRoleARN, k8sSuffix))
		}
		var b strings.Builder
		if len(tasks) == 0 {
			fmt.Fprintf(&b, "serviceaccount/%s: nothing to do: on EKS Pod Identity already", a.name)
		} else {
			fmt.Fprintf(&b, "serviceaccount/%s: %d task(s):", a.name, len(tasks))
		}
		for i, t := range tasks {
			fmt.Fprintf(&b, "\n  %d. %s", i+1, t)
		}
		for _, n := range notes {
			fmt.Fprintf(&b, "\n  - %s", n)
		}
		r.result(CheckPlan, check.StatusPass, r.id(a), "", map[string]any{"tasks": tasks}, "%s", b.String())
	}
	if len(skipped) > 0 {
		r.conclude(fmt.Sprintf("skipped at the pre-flight: %s; a run without --dry-run migrates the others, leaves these untouched and exits 1", accountList(skipped)), "")
		return nil
	}
	// The plan's head said it all: the text does not repeat it.
	r.conclude(head, "")
	return nil
}

// trustWrite is a role's trust policy as this run found it and as it wrote it: what a
// roll-back restores, and how it knows that nobody changed the policy since.
type trustWrite struct {
	trust  *Trust
	before string                // the policy document IAM had, as it had it (decoded)
	wrote  *trustpolicy.Document // the document this run wrote
	done   bool                  // restored, or found changed by someone else: not touched again
}

// writeTrust writes the corrected trust policies --write-trust planned. It reads each role
// again first: a policy changed since the pre-flight read it is not overwritten.
func (r *runner) writeTrust(ctx context.Context) error {
	for _, role := range sortedKeys(r.trust) {
		t := r.trust[role]
		got, err := r.deps.AWS.GetRole(ctx, t.Role.Name)
		if err != nil {
			r.failTrust(role)
			return fmt.Errorf("the %s step: %w", StepTrust, err)
		}
		before, err := policyText(got.TrustPolicy)
		if err != nil {
			r.failTrust(role)
			return fmt.Errorf("the %s step: the trust policy of %s: %w", StepTrust, t.Role, err)
		}
		if now, err := trustpolicy.ParseDocument(before); err != nil || now.Compact() != t.Current.Compact() {
			r.failTrust(role)
			return fmt.Errorf("the %s step: the trust policy of %s changed since the pre-flight read it: it is not overwritten; rerun kubectl wi migrate to judge it again", StepTrust, t.Role)
		}
		r.out.AWSWrites++
		wctx, cancel := WriteContext(ctx)
		err = r.deps.AWS.UpdateAssumeRolePolicy(wctx, t.Role.Name, t.Corrected.JSON())
		cancel()
		if err != nil {
			r.failTrust(role)
			return fmt.Errorf("the %s step: %w", StepTrust, err)
		}
		r.written[role] = &trustWrite{trust: t, before: before, wrote: t.Corrected}
		r.result(CheckOf(StepTrust), check.StatusPass, "", "", map[string]any{"role": t.Role.String()},
			"role %s: trust policy updated: it now lets %s assume it and tag the session (the rest of it kept)", t.Role, trustpolicy.PodIdentityService)
		if ctx.Err() != nil {
			return fmt.Errorf("the %s step: %w", StepTrust, ctx.Err())
		}
	}
	return nil
}

// policyText is a policy document as IAM's GetRole returns it, URL-decoded when encoded.
func policyText(doc string) (string, error) {
	s := strings.TrimSpace(doc)
	if !strings.HasPrefix(s, "%7B") && !strings.HasPrefix(s, "%7b") {
		return doc, nil
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return "", fmt.Errorf("the policy document is URL-encoded but does not decode: %w", err)
	}
	return u, nil
}

// releaseTrust restores the trust policy this run wrote for role once no account of the run
// needs it any more: none keeps an association of this run or a restarted workload, and,
// unless the run stopped, none is still on its way. It says what it did, or exactly what
// stays changed and the command that restores it; "" when this run wrote no policy for role
// or another account still needs it (then in needs). restored is true when the policy is the
// one it was again.
func (r *runner) releaseTrust(ctx context.Context, role string, stopping bool) (said string, restored bool, needs []string) {
	w := r.written[role]
	if w == nil || w.done {
		return "", false, nil
	}
	for _, a := range r.accounts {
		if a.change.Want == nil || a.change.Want.RoleARN != role {
			continue
		}
		if a.created || len(a.restarted) > 0 || (!stopping && a.failed == "") {
			needs = append(needs, "serviceaccount/"+a.name)
		}
	}
	if len(needs) > 0 {
		return "", false, needs
	}
	w.done = true
	ctx, cancel := WriteContext(ctx)
	defer cancel()
	restore := fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document '%s'", w.trust.Role.Name, compactText(w.before))
	got, err := r.deps.AWS.GetRole(ctx, w.trust.Role.Name)
	if err != nil {
		return fmt.Sprintf("could not read the role %s to restore its trust policy (%v): it still has the statement this run added for %s; to restore the policy it had: %s", w.trust.Role, err, trustpolicy.PodIdentityService, restore), false, nil
	}
	now, err := trustpolicy.ParseDocument(got.TrustPolicy)
	before, _ := trustpolicy.ParseDocument(w.before)
	// IAM's reads may lag its writes: a read that still shows the policy as it was is ours too.
	if err != nil || (now.Compact() != w.wrote.Compact() && (before == nil || now.Compact() != before.Compact())) {
		return fmt.Sprintf("the trust policy of %s changed after this run wrote it, so it is left as it is, and may still have the statement this run added for %s; to restore the policy it had before this run: %s", w.trust.Role, trustpolicy.PodIdentityService, restore), false, nil
	}
	r.out.AWSWrites++
	if err := r.deps.AWS.UpdateAssumeRolePolicy(ctx, w.trust.Role.Name, w.before); err != nil {
		return fmt.Sprintf("could not restore the trust policy of %s (%v): it still has the statement this run added for %s; to restore the policy it had: %s", w.trust.Role, err, trustpolicy.PodIdentityService, restore), false, nil
	}
	return fmt.Sprintf("the trust policy of %s restored to the one it had before this run (the statement --write-trust added for %s removed)", w.trust.Role, trustpolicy.PodIdentityService), true, nil
}

// compactText is a policy document on one line for a command, as it was when it does not parse.
func compactText(doc string) string {
	if d, err := trustpolicy.ParseDocument(doc); err == nil {
		return d.Compact()
	}
	return doc
}

// associate creates the associations.
func (r *runner) associate(ctx context.Context) error {
	for _, a := range r.live() {
		if a.change.Op == OpNone {
			continue
		}
		r.out.AWSWrites++
		wctx, cancel := WriteContext(ctx)
		err := Apply(wctx, r.deps.AWS, r.cluster.Name, &a.change)
		cancel()
		if err != nil {
			a.failed = StepAssociation
			return fmt.Errorf("the %s step, serviceaccount/%s: %w", StepAssociation, a.name, err)
		}
		a.created = a.change.Op == OpCreate
		if a.change.Result != nil {
			r.result(CheckOf(StepAssociation), check.StatusPass, r.id(a), "", map[string]any{"association": a.change.Result.ID, "op": string(a.change.Op)},
				"podidentityassociation %s %s: serviceaccount/%s, %s", a.change.Result.ID, a.change.Op, a.name, Describe(*a.change.Want))
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the %s step: %w", StepAssociation, ctx.Err())
		}
	}
	return nil
}

// awaitAdmission waits until the webhook admits a new pod of each changing account with the
// container credentials: EKS pushes an association to it seconds after the call, and a pod
// restarted before would come back without them.
func (r *runner) awaitAdmission(ctx context.Context) error {
	var check []*restart.Account
	byName := map[string]*account{}
	for _, a := range r.live() {
		if a.changes() {
			check = append(check, a.restart)
			byName[a.name] = a
		}
	}
	if len(check) == 0 {
		return nil
	}
	r.progress(StepAdmission, "waiting for the webhook to admit new pods of %d service account(s) with Pod Identity's container credentials", len(check))
	var failed []*account
	for _, u := range restart.AwaitAdmission(ctx, r.deps.Client, check, r.deps.AdmissionTimeout, r.deps.AdmissionPoll) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a := byName[u.Account.Name]
		r.fail(a, StepAdmission, fmt.Sprintf("%s (waited %s): the webhook has not learnt the association; on EKS it is pushed to the webhook within seconds", u.Reason, r.deps.AdmissionTimeout), "")
		failed = append(failed, a)
	}
	r.rollBackFailed(ctx, failed)
	return ctx.Err()
}

// prove runs a probe pod of each changing account, at most Parallel at once: the agent, the
// role's trust and the caller, proven before any of its workloads is restarted.
func (r *runner) prove(ctx context.Context) error {
	var todo []*account
	for _, a := range r.live() {
		if a.changes() {
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	r.progress(StepVerify, "proving %d service account(s) with a probe pod each, before any restart", len(todo))
	want := make([]Want, len(todo))
	for i, a := range todo {
		// The caller is the target role's session when the association chains to one.
		want[i] = Want{ServiceAccount: a.name, RoleARN: cmp.Or(a.change.Want.TargetRoleARN, a.change.Want.RoleARN)}
	}
	proofs, err := r.deps.Prove(ctx, r.cfg.Namespace, want, r.cfg.Parallel, r.rep)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	var failed []*account
	defer func() { r.rollBackFailed(ctx, failed) }()
	for i, a := range todo {
		p := proofs[i]
		a.proof = &p
		if p.Passed {
			r.result(CheckOf(StepVerify), check.StatusPass, r.id(a), "", map[string]any{"caller": p.Caller},
				"serviceaccount/%s: verified on EKS Pod Identity: a new pod gets credentials from the agent, the caller is %s", a.name, p.Caller)
			continue
		}
		var b strings.Builder
		var fixes []string
		b.WriteString(p.Why)
		for _, ev := range p.Events {
			fmt.Fprintf(&b, "\n  %s %s  %s", strings.ToUpper(string(ev.Status)), ev.Check, ev.Message)
			if ev.Fix != "" {
				fmt.Fprintf(&b, "\n    fix: %s", ev.Fix)
				if ev.Status == check.StatusFail {
					fixes = append(fixes, ev.Fix)
				}
			}
		}
		r.fail(a, StepVerify, b.String(), strings.Join(fixes, "\n"))
		failed = append(failed, a)
	}
	return nil
}

// restartWorkloads restarts the workloads of the accounts proven.
func (r *runner) restartWorkloads(ctx context.Context) error {
	for _, a := range r.live() {
		for _, act := range a.actions {
			if act.Type == restart.Restart {
				if err := restart.Do(ctx, r.deps.Client, act, r.deps.Restarter, nil); err != nil {
					a.failed = StepRestart
					return fmt.Errorf("the %s step: %w", StepRestart, err)
				}
				r.out.Restarted++
				a.restarted = append(a.restarted, act.Ref())
			}
			r.action(act)
		}
	}
	return nil
}

// awaitRollouts waits for the restarted workloads, then reads their new pods: each must carry
// the container credentials.
func (r *runner) awaitRollouts(ctx context.Context) error {
	var restarted []*restart.Action
	var accs []restart.Account
	for _, a := range r.live() {
		accs = append(accs, *a.restart)
		for _, act := range a.actions {
			if act.Type == restart.Restart {
				restarted = append(restarted, act)
			}
		}
	}
	if len(restarted) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	watch := restart.Watch{
		Waiting: func(act *restart.Action, msg string) {
			r.progress(StepRollout, "Waiting for %s rollout to finish: %s", act.Ref(), msg)
		},
		Done: func(act *restart.Action, msg string) {
			r.result(CheckOf(StepRollout), check.StatusPass, r.cfg.Namespace+"/"+act.Account.Name, "", map[string]any{"workload": act.Ref()}, "%s %s", act.Ref(), msg)
		},
	}
	if err := restart.WaitFor(wctx, r.deps.Client, restarted, r.deps.RolloutPoll, watch); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, a := range r.live() {
			if a.restarts() > 0 {
				r.fail(a, StepRollout, err.Error()+"; the association stays: the new pods use it; once the rollout is done, rerun kubectl wi migrate to check the pods and finish", "")
			}
		}
		return nil
	}
	inv, err := restart.Load(ctx, r.deps.Client, r.cfg.Namespace, accs)
	if err != nil {
		return err
	}
	stale := map[string][]string{}
	for _, s := range restart.StalePods(inv, accs, restarted) {
		stale[s.Workload] = append(stale[s.Workload], s.Pod)
	}
	for _, a := range r.live() {
		var lacking []string
		for _, act := range a.actions {
			if pods := stale[act.Ref()]; act.Type == restart.Restart && len(pods) > 0 {
				lacking = append(lacking, fmt.Sprintf("%s (%s)", act.Ref(), strings.Join(pods, ", ")))
			}
		}
		if len(lacking) > 0 {
			r.fail(a, StepNewPods, "new pods of "+strings.Join(lacking, "; ")+" came without Pod Identity's container credentials; the association stays; check kubectl wi status and rerun kubectl wi migrate", "")
			continue
		}
		if len(a.restarted) > 0 {
			r.result(CheckOf(StepNewPods), check.StatusPass, r.id(a), "", nil, "serviceaccount/%s: the new pods of %s carry Pod Identity's container credentials", a.name, accountList(a.restarted))
		}
		r.warnContainers(inv, a)
	}
	return nil
}

// warnContainers names the containers of the account's new pods whose AWS SDK would find
// other credentials before the container credentials: their own keys or role.
func (r *runner) warnContainers(inv *restart.Snapshot, a *account) {
	for i := range inv.Pods {
		p := &inv.Pods[i]
		if p.DeletionTimestamp != nil || identity.ServiceAccountName(&p.Spec) != a.name {
			continue
		}
		for _, c := range identity.ContainerCredentials(p) {
			if c.Skipped || c.Source == identity.SourceContainer || c.Source == identity.SourceIMDS || c.Source == identity.SourceNone {
				continue
			}
			r.result(CheckOf(StepNewPods), check.StatusWarn, r.id(a), "", map[string]any{"pod": p.Name, "container": c.Container, "source": string(c.Source)},
				"pod %s, container %s: the AWS SDKs find %s credentials before the container credentials, so it does not use Pod Identity", p.Name, c.Container, c.Source)
		}
	}
}

// removeAnnotations removes the role-arn annotation of the accounts that ended well.
func (r *runner) removeAnnotations(ctx context.Context) error {
	for _, a := range r.live() {
		if !a.removeIRSA {
			continue
		}
		if err := r.removeAnnotation(ctx, a, nil); err != nil {
			a.failed = StepRemoveIRSA
			return fmt.Errorf("the %s step: %w", StepRemoveIRSA, err)
		}
		r.result(CheckOf(StepRemoveIRSA), check.StatusPass, r.id(a), "", nil, "serviceaccount/%s: %s removed; its pods run on Pod Identity, which wins over it, so nothing is restarted", a.name, identity.AnnotationRoleARN)
	}
	return nil
}

// removeAnnotation removes role-arn alone, with a merge patch: every other annotation stays.
func (r *runner) removeAnnotation(ctx context.Context, a *account, dryRun []string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{identity.AnnotationRoleARN: nil}}})
	if err != nil {
		return err
	}
	_, err = r.deps.Client.CoreV1().ServiceAccounts(r.cfg.Namespace).Patch(ctx, a.name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
	return apicall.Wrap(err, "patch", "serviceaccounts", r.cfg.Namespace, a.name)
}

// fail records that a failed step, why and its fix when known, and says so.
func (r *runner) fail(a *account, step Step, why, fix string) {
	a.failed, a.failure, a.failFix = step, why, fix
	r.result(CheckOf(step), check.StatusFail, r.id(a), fix, nil, "serviceaccount/%s: the %s step FAILED: %s", a.name, step, why)
}

// rollBackFailed leaves the accounts that failed before any of their workloads was restarted
// as they were: the association this run created is deleted, then the trust policy this run
// wrote for their role is restored once no other account of the run needs it. Each account's
// line says what was undone, and what stays changed.
func (r *runner) rollBackFailed(ctx context.Context, failed []*account) {
	ids := map[*account]string{}
	for _, a := range failed {
		if id, ok := r.undo(ctx, a); ok {
			ids[a] = id
		}
	}
	type release struct {
		said     string
		restored bool
		needs    []string
	}
	roles := map[string]release{}
	for _, a := range failed {
		role := a.change.Want.RoleARN
		if _, ok := roles[role]; !ok && !a.created {
			said, restored, needs := r.releaseTrust(ctx, role, false)
			roles[role] = release{said, restored, needs}
		}
	}
	for _, a := range failed {
		id, undone := ids[a]
		role := a.change.Want.RoleARN
		rel := roles[role]
		switch {
		case !undone && rel.said != "":
			r.info(CheckRollBack, r.id(a), nil, "serviceaccount/%s: %s", a.name, rel.said)
		case !undone:
		case rel.restored:
			r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "podidentityassociation %s deleted: rolled back; its workloads were not restarted, and %s, so it is as it was", id, rel.said)
		case rel.said != "":
			r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "podidentityassociation %s deleted: rolled back; its workloads were not restarted; %s", id, rel.said)
		case len(rel.needs) > 0:
			r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "podidentityassociation %s deleted: rolled back; its workloads were not restarted; the trust policy of %s keeps the statement this run added for %s, which %s still needs", id, r.written[role].trust.Role, trustpolicy.PodIdentityService, accountList(rel.needs))
		default:
			r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "podidentityassociation %s deleted: rolled back; its workloads were not restarted, so it is as it was", id)
		}
	}
}

// rollBack undoes the associations of the accounts created by this run and not yet proven,
// when the run stops: no pod uses them, and a pod created later must not get an unproven one.
// Then it restores the trust policies this run wrote that no account keeps using.
func (r *runner) rollBack(ctx context.Context, why string) {
	for _, a := range r.accounts {
		if a.created && (a.proof == nil || !a.proof.Passed) {
			if id, ok := r.undo(ctx, a); ok {
				r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "podidentityassociation %s deleted: rolled back; %s before its workloads were restarted", id, why)
			}
		}
	}
	for _, role := range sortedKeys(r.written) {
		data := map[string]any{"role": role}
		if said, _, needs := r.releaseTrust(ctx, role, true); said != "" {
			r.info(CheckRollBack, "", data, "%s", said)
		} else if len(needs) > 0 {
			r.info(CheckRollBack, "", data, "the trust policy of %s keeps the statement this run added for %s, which %s uses", r.written[role].trust.Role, trustpolicy.PodIdentityService, accountList(needs))
		}
	}
}

// undo deletes the association this run created for a, on a context that outlives an
// interruption, and returns its id; when it cannot, it says what is left and how to delete it.
func (r *runner) undo(ctx context.Context, a *account) (string, bool) {
	if !a.created || a.change.Result == nil {
		return "", false
	}
	ctx, cancel := WriteContext(ctx)
	defer cancel()
	id := a.change.Result.ID
	r.out.AWSWrites++
	if err := r.deps.AWS.DeletePodIdentityAssociation(ctx, r.cluster.Name, id); err != nil && !awsconfig.IsNotFound(err) {
		left := ""
		if w := r.written[a.change.Want.RoleARN]; w != nil {
			left = fmt.Sprintf("; the trust policy of %s keeps the statement this run added for %s while the association is there", w.trust.Role, trustpolicy.PodIdentityService)
		}
		r.info(CheckRollBack, r.id(a), map[string]any{"association": id}, "serviceaccount/%s: could not roll back podidentityassociation %s (%v): delete it: aws eks delete-pod-identity-association --cluster-name %s --association-id %s%s",
			a.name, id, err, r.cluster.Name, id, left)
		return "", false
	}
	a.created, a.rolledBack = false, true
	return id, true
}

// failTrust marks the accounts of role, whose trust policy could not be written, failed at
// the trust step.
func (r *runner) failTrust(role string) {
	for _, a := range r.accounts {
		if a.failed == "" && a.change.Want.RoleARN == role {
			a.failed = StepTrust
		}
	}
}

// live are the accounts that have not failed.
func (r *runner) live() []*account {
	var out []*account
	for _, a := range r.accounts {
		if a.failed == "" {
			out = append(out, a)
		}
	}
	return out
}

// summary says how the run ended, the verdict; failed accounts make a FailedError.
func (r *runner) summary() error {
	var failed []string
	first := Step("")
	for _, a := range r.accounts {
		if a.failed != "" {
			f := fmt.Sprintf("serviceaccount/%s at the %s step", a.name, a.failed)
			if a.failed == StepPreflight {
				f += ", left untouched: " + a.why()
			}
			failed = append(failed, f)
			if first == "" {
				first = a.failed
			}
		}
	}
	done := len(r.accounts) - len(failed)
	msg := fmt.Sprintf("%d of %d service account(s) on EKS Pod Identity", done, len(r.accounts))
	if len(failed) > 0 {
		r.conclude(msg, "failed: "+strings.Join(failed, "; "))
		return &FailedError{Failed: len(failed), Step: first}
	}
	r.conclude(msg, "")
	return nil
}

// action reports one workload decision: a restart done passes, one left to a person (a
// manual restart, a rollout under way) is skipped with its command as the fix, one not needed
// is an info.
func (r *runner) action(act *restart.Action) {
	account, data := r.cfg.Namespace+"/"+act.Account.Name, map[string]any{"workload": act.Ref(), "action": string(act.Type)}
	switch act.Type {
	case restart.Restart:
		r.result(CheckOf(StepRestart), check.StatusPass, account, "", data, "%s", actionLine(act))
	case restart.Manual:
		r.result(CheckOf(StepRestart), check.StatusSkip, account, act.Command, data, "%s", actionLine(act))
	case restart.InProgress:
		r.result(CheckOf(StepRestart), check.StatusSkip, account, "", data, "%s", actionLine(act))
	case restart.Current, restart.NoPods:
		r.info(CheckOf(StepRestart), account, data, "%s", actionLine(act))
	}
}

// problemFixes are the fixes of an account's pre-flight problems, one per line.
func problemFixes(a *account) string {
	var fixes []string
	for _, p := range a.problems {
		if fix := cmp.Or(p.fix, p.hint); fix != "" {
			fixes = append(fixes, fix)
		}
	}
	return strings.Join(fixes, "\n")
}

// actionLine is one workload decision, as enable prints it.
func actionLine(a *restart.Action) string {
	switch a.Type {
	case restart.Restart:
		return fmt.Sprintf("%s restarted: %s", a.Ref(), a.Reason)
	case restart.Manual:
		return fmt.Sprintf("%s needs a manual restart: %s  # %s", a.Ref(), a.Command, a.Reason)
	case restart.InProgress:
		return fmt.Sprintf("%s not restarted: %s", a.Ref(), a.Reason)
	case restart.Current, restart.NoPods:
		return fmt.Sprintf("%s unchanged: %s", a.Ref(), a.Reason)
	}
	return a.Ref()
}

func accountList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ptrTo[T any](v T) *T { return &v }

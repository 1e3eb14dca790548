package explain

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Check names; pkg/explain's doc lists what each proves.
const (
	CheckClusterIssuer    = "cluster.issuer"
	CheckEKSCluster       = "eks.cluster"
	CheckAccounts         = "explain.accounts"
	CheckServiceAccount   = "explain.serviceaccount"
	CheckRole             = "iam.role"
	CheckOIDCProvider     = "iam.oidc_provider"
	CheckOIDCAudience     = "iam.oidc_audience"
	CheckTrust            = "iam.trust"
	CheckTrustSize        = "iam.trust_size"
	CheckTrustBreadth     = "iam.trust_breadth"
	CheckAssociation      = "eks.association"
	CheckPodIdentityTrust = "iam.podidentity_trust"
	CheckTargetRoleTrust  = "iam.target_role_trust"
	// CheckTargetRoleExternalID is whether the target role's trust requires the association's
	// external ID.
	CheckTargetRoleExternalID = "iam.target_role_external_id"
	CheckExchangeScope        = "exchange.scope"
	CheckExchangeToken        = "exchange.token"
	CheckExchangeAssume       = "exchange.assume_role"
	CheckExchangeCaller       = "exchange.caller_identity"
)

// Steps of a run, in order.
const (
	StepCluster  report.StepID = "cluster"  // the issuer, the EKS cluster
	StepFind     report.StepID = "find"     // the service accounts with an identity
	StepAccounts report.StepID = "accounts" // each account's AWS side
)

// Steps lists every step in order.
var Steps = []report.StepID{StepCluster, StepFind, StepAccounts}

// IAM's limits on a role's trust policy, in characters without white space: the default
// quota, and the most it can be raised to (Service Quotas, "Role trust policy length").
const (
	TrustPolicyDefaultLimit = 2048
	TrustPolicyMaxLimit     = 8192
)

// TokenExpiration is the lifetime asked of a --exchange token: the shortest the TokenRequest
// API issues.
const TokenExpiration = 600

// Config is what the user asked for.
type Config struct {
	// Namespace of Target, or of the accounts to list; "" lists every namespace.
	Namespace string
	// Target names one service account or workload; nil lists the accounts of Namespace.
	Target *checktarget.Target
	// Selector filters the listed accounts by label.
	Selector string
	// Cluster is the EKS cluster's name, for DescribeCluster and the Pod Identity
	// associations; "" reads neither.
	Cluster string
	// Issuer overrides the issuer read from the apiserver.
	Issuer string
	// Exchange proves each IRSA account with a token exchange instead of reading IAM.
	Exchange bool
	// Workers bounds the accounts explained at once; 0 means 8.
	Workers int
}

// Deps is the cluster, AWS and the clock.
type Deps struct {
	Client    kubernetes.Interface
	Discovery apicall.DiscoveryFunc // nil: the issuer is unknown unless Config.Issuer or EKS says
	// AWS reads IAM and EKS with the user's credentials; nil when there are none (only
	// with Exchange, where a refusal is then not explained further).
	AWS awsread.Reader
	STS STS // for Exchange
	Now func() time.Time
}

// Outcome is how a run ended.
type Outcome struct {
	Status                 check.Status
	Checks, Failed, Warned int
	Accounts               int
	// AssociationsNotRead says why the EKS Pod Identity associations were not read, and how
	// to have them read; "" when they were. Accounts then counts no account by them.
	AssociationsNotRead string
	// AWSCalls counts the IAM and EKS calls by action; STSCalls the exchange's.
	AWSCalls map[string]int64
	STSCalls int64
}

// account is one service account with an identity.
type account struct {
	Namespace, Name string
	exists          bool
	cfg             identity.Config
	hasRole         bool
	assocs          []awsread.AssociationRef
}

func (a account) ref() string     { return a.Namespace + "/" + a.Name }
func (a account) subject() string { return trustpolicy.Subject(a.Namespace, a.Name) }

// item is an event to emit; once, when set, emits it only the first time: a fact several
// accounts share (a role exists, the provider lists an audience) is said once.
type item struct {
	ev   check.Event
	once string
}

// Run explains cfg's accounts. Failed checks are events, and the Outcome counts them; the
// error is for what stopped the run: bad input, the cluster, AWS refusing a read (naming the
// action), an interruption.
func Run(ctx context.Context, cfg Config, deps Deps, rep report.Reporter) (Outcome, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	r := &runner{cfg: cfg, deps: deps, rep: rep, emitted: map[string]bool{}, inUse: map[string]string{}}
	if deps.AWS != nil {
		r.aws = newCounted(deps.AWS)
	}
	err := r.run(ctx)
	if r.aws != nil {
		r.out.AWSCalls = r.aws.Calls()
	}
	r.out.STSCalls = r.stsCalls.Load()
	return r.out, err
}

type runner struct {
	cfg  Config
	deps Deps
	rep  report.Reporter
	aws  *counted
	out  Outcome

	issuer, hostPath string
	cluster          *awsread.Cluster
	callerAccount    string // the account of the user's AWS credentials, once known
	accountMu        sync.Mutex

	roles     memo[awsread.Role]
	providers memo[[]string]
	provider  memo[awsread.OIDCProvider]
	assoc     memo[awsread.Association]
	inUseMu   sync.Mutex
	inUse     map[string]string // ns/name -> its role annotation ("" none, "-" missing)

	emitted  map[string]bool
	tally    check.Tally
	stsCalls atomic.Int64
}

func (r *runner) run(ctx context.Context) error {
	r.step(StepCluster, report.StepRunning, "")
	if err := r.clusterStep(ctx); err != nil {
		r.step(StepCluster, report.StepFailed, "")
		return r.ctxOr(ctx, err)
	}
	r.step(StepCluster, report.StepDone, r.issuer)

	r.out.AssociationsNotRead = r.associationsNotRead()
	r.step(StepFind, report.StepRunning, "")
	accounts, err := r.find(ctx)
	if err != nil {
		r.step(StepFind, report.StepFailed, "")
		return r.ctxOr(ctx, err)
	}
	r.out.Accounts = len(accounts)
	r.step(StepFind, report.StepDone, fmt.Sprintf("%d service accounts", len(accounts)))

	r.step(StepAccounts, report.StepRunning, "")
	if r.cfg.Exchange {
		r.emit(check.Event{Type: check.TypeInfo, Check: CheckExchangeScope, Message: exchangeScope,
			Data: map[string]any{"proven": exchangeProven, "not_proven": exchangeNotProven}})
	}
	results := make([][]item, len(accounts))
	errs := make([]error, len(accounts))
	done := make([]chan struct{}, len(accounts))
	for i := range done {
		done[i] = make(chan struct{})
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.cfg.Workers)
	go func() {
		for i, a := range accounts {
			select {
			case sem <- struct{}{}:
			case <-wctx.Done():
				for j := i; j < len(accounts); j++ {
					errs[j] = wctx.Err()
					close(done[j])
				}
				return
			}
			go func() {
				defer func() { <-sem; close(done[i]) }()
				results[i], errs[i] = r.explain(wctx, a)
			}()
		}
	}()
	for i := range accounts {
		<-done[i]
		if errs[i] != nil {
			cancel()
			for j := i + 1; j < len(accounts); j++ {
				<-done[j]
			}
			r.step(StepAccounts, report.StepFailed, accounts[i].ref())
			return r.ctxOr(ctx, errs[i])
		}
		for _, it := range results[i] {
			if it.once != "" {
				if r.emitted[it.once] {
					continue
				}
				r.emitted[it.once] = true
			}
			r.emit(it.ev)
		}
		r.step(StepAccounts, report.StepRunning, fmt.Sprintf("%d of %d", i+1, len(accounts)))
	}
	r.step(StepAccounts, report.StepDone, fmt.Sprintf("%d service accounts", len(accounts)))
	r.verdict()
	return nil
}

// ctxOr returns the context's error, saying what was interrupted, when the context ended;
// otherwise err.
func (r *runner) ctxOr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted: %w", context.Canceled)
	}
	return err
}

func (r *runner) step(id report.StepID, state report.StepState, detail string) {
	r.rep.Step(report.Step{ID: id, State: state, Detail: detail})
}

// emit stamps, tallies and reports an event.
func (r *runner) emit(ev check.Event) {
	ev.V = check.ProtocolVersion
	if ev.Time.IsZero() {
		ev.Time = r.deps.Now().UTC()
	}
	r.tally.Count(ev)
	r.out.Checks, r.out.Failed, r.out.Warned = r.tally.Checks, r.tally.Failed, r.tally.Warned
	r.rep.Event(ev)
}

// verdict emits the result: every check counted, the fixes of the failed ones (of the warned
// ones when none failed), and the calls made.
func (r *runner) verdict() {
	o := &r.out
	status, msg, fix := r.tally.Verdict()
	msg += fmt.Sprintf(" for %d service accounts", o.Accounts)
	if o.Accounts == 0 && status != check.StatusFail {
		// The cluster's checks passed, and no account was judged: nothing is proven.
		status, msg = check.StatusSkip, "no service account judged: "+msg
	}
	data := map[string]any{"checks": o.Checks, "failed": o.Failed, "warned": o.Warned, "accounts": o.Accounts}
	if o.AssociationsNotRead != "" {
		data["associations"] = o.AssociationsNotRead
	}
	if r.aws != nil {
		calls := r.aws.Calls()
		var n int64
		for _, c := range calls {
			n += c
		}
		data["aws_calls"] = calls
		data["aws_calls_total"] = n
	}
	if r.cfg.Exchange {
		data["sts_calls"] = r.stsCalls.Load()
		data["not_proven"] = exchangeNotProven
	}
	o.Status = status
	r.emit(check.Event{Type: check.TypeResult, Status: status, Message: msg, Fix: fix, Data: data})
}

// clusterStep finds the issuer (--issuer, else the apiserver's discovery document, else EKS)
// and describes the EKS cluster when one is named.
func (r *runner) clusterStep(ctx context.Context) error {
	var discovered string
	var discErr error
	switch {
	case r.cfg.Issuer != "":
		discovered = r.cfg.Issuer
	case r.deps.Discovery != nil:
		doc, err := r.deps.Discovery(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		discErr = err
		if err == nil {
			d, derr := apicall.ParseDiscovery(doc)
			if derr != nil {
				discErr = errors.New("the discovery document names no issuer")
			}
			discovered = d.Issuer
		}
	default:
		discErr = errors.New("no discovery client")
	}
	if r.cfg.Cluster != "" && r.aws != nil {
		c, err := r.aws.DescribeCluster(ctx, r.cfg.Cluster)
		switch {
		case awsconfig.IsNotFound(err):
			r.emit(check.New(CheckEKSCluster, check.StatusFail, fmt.Sprintf("there is no EKS cluster %s in the region of your AWS configuration", r.cfg.Cluster),
				"check --eks-cluster and --region (aws eks list-clusters --region REGION)", map[string]any{"cluster": r.cfg.Cluster}))
		case err != nil:
			return err
		default:
			r.cluster = &c
			r.learnAccount(arnAccount(c.ARN))
			data := map[string]any{"cluster": c.Name, "arn": c.ARN, "issuer": c.Issuer}
			switch {
			case c.Issuer == "":
				r.emit(check.New(CheckEKSCluster, check.StatusWarn, fmt.Sprintf("the EKS cluster %s (%s) has no OIDC issuer", c.Name, c.ARN), "", data))
			case discovered != "" && trimSlash(discovered) != trimSlash(c.Issuer):
				r.emit(check.New(CheckEKSCluster, check.StatusWarn, fmt.Sprintf("the EKS cluster %s has the issuer %s, but the apiserver's tokens carry %s: is the kubeconfig's cluster %s?", c.Name, c.Issuer, discovered, c.Name),
					"check --eks-cluster against the kubeconfig's context (kubectl config current-context)", data))
			default:
				r.emit(check.New(CheckEKSCluster, check.StatusPass, fmt.Sprintf("the EKS cluster %s (%s), issuer %s", c.Name, c.ARN, orNone(c.Issuer)), "", data))
			}
			if discovered == "" {
				discovered = c.Issuer
			}
		}
	} else if r.cfg.Cluster == "" && !r.cfg.Exchange {
		r.emit(check.New(CheckEKSCluster, check.StatusSkip, "no EKS cluster named: Pod Identity associations are not read (pass --eks-cluster NAME)", "", nil))
	}
	if discovered == "" {
		why := "unknown"
		if discErr != nil {
			why = discErr.Error()
			if apierrors.IsForbidden(discErr) {
				why = "forbidden"
			}
		}
		r.emit(check.New(CheckClusterIssuer, check.StatusFail, "the cluster's issuer is unknown: the apiserver's "+apicall.IssuerDiscoveryPath+" is not readable ("+why+")",
			"pass --issuer URL (on EKS: aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer --output text), or --eks-cluster NAME", nil))
		return nil
	}
	hp, err := trustpolicy.ProviderHostPath(discovered)
	data := map[string]any{"issuer": discovered}
	if err != nil {
		r.emit(check.New(CheckClusterIssuer, check.StatusFail, fmt.Sprintf("the cluster's issuer %s cannot be an IAM OIDC provider: %v", discovered, err),
			"set the apiserver's --service-account-issuer to a public https URL that serves the discovery document", data))
		return nil
	}
	r.issuer, r.hostPath = discovered, hp
	from := "the apiserver's " + apicall.IssuerDiscoveryPath
	if r.cfg.Issuer != "" {
		from = "--issuer"
	} else if discErr != nil {
		from = "EKS"
	}
	r.emit(check.New(CheckClusterIssuer, check.StatusPass, fmt.Sprintf("the cluster's issuer is %s (%s)", discovered, from), "", data))
	return nil
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// arnAccount is the account field of an ARN, "" when s is not one.
func arnAccount(s string) string {
	if p := strings.SplitN(s, ":", 6); len(p) == 6 && p[0] == "arn" {
		return p[4]
	}
	return ""
}

// learnAccount records the account of the user's credentials, from an answer about an object
// of it (a role GetRole found by name, the cluster DescribeCluster found): IAM and EKS read
// only the caller's own account.
func (r *runner) learnAccount(acct string) {
	r.accountMu.Lock()
	defer r.accountMu.Unlock()
	if r.callerAccount == "" {
		r.callerAccount = acct
	}
}

func (r *runner) caller() string {
	r.accountMu.Lock()
	defer r.accountMu.Unlock()
	return r.callerAccount
}

// associationsNotRead says why the Pod Identity associations cannot be read, and the flag or
// the credentials that read them; "" when they can: the EKS cluster is known and the user's
// AWS credentials are at hand.
func (r *runner) associationsNotRead() string {
	switch {
	case r.aws == nil:
		return "not read: no AWS credentials at hand (give credentials allowed eks:ListPodIdentityAssociations: AWS_PROFILE, --profile)"
	case r.cfg.Cluster == "":
		return "not read: no EKS cluster named (pass --eks-cluster NAME, or use a kubeconfig context of the EKS cluster)"
	case r.cluster == nil:
		return fmt.Sprintf("not read: there is no EKS cluster %s in this region (check --eks-cluster and --region)", r.cfg.Cluster)
	}
	return ""
}

// find lists the accounts to explain: TARGET's, or those of the namespace (every namespace)
// that carry a role annotation or have a Pod Identity association.
func (r *runner) find(ctx context.Context) ([]account, error) {
	c, ns := r.deps.Client, r.cfg.Namespace
	notRead := r.out.AssociationsNotRead
	readAssoc := notRead == ""
	if r.cfg.Target != nil {
		w, err := verify.Resolve(ctx, c, ns, *r.cfg.Target, "")
		if err != nil {
			return nil, err
		}
		sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, w.ServiceAccount, metav1.GetOptions{})
		if err != nil {
			return nil, apicall.Wrap(err, "get", "serviceaccounts", ns, w.ServiceAccount)
		}
		a := account{Namespace: ns, Name: sa.Name, exists: true}
		a.cfg, a.hasRole = identity.FromAnnotations(sa.Annotations)
		if readAssoc {
			refs, err := r.aws.ListPodIdentityAssociations(ctx, r.cluster.Name, ns, sa.Name)
			if err != nil {
				return nil, err
			}
			a.assocs = refs
		}
		r.emit(check.Event{Type: check.TypeInfo, Check: CheckAccounts, Message: fmt.Sprintf("the service account %s%s", a.ref(), describeIdentity(a, notRead)),
			Data: map[string]any{"service_accounts": []string{a.ref()}, "associations_read": readAssoc}})
		return []account{a}, nil
	}
	byKey := map[string]*account{}
	all := map[string]bool{}
	err := apicall.EachPage(ctx, metav1.ListOptions{LabelSelector: r.cfg.Selector}, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			sa := &l.Items[i]
			all[sa.Namespace+"/"+sa.Name] = true
			r.rememberRole(sa)
			if cfg, ok := identity.FromAnnotations(sa.Annotations); ok {
				byKey[sa.Namespace+"/"+sa.Name] = &account{Namespace: sa.Namespace, Name: sa.Name, exists: true, cfg: cfg, hasRole: true}
			}
		}
		return l.Continue, nil
	})
	if err != nil {
		return nil, apicall.Wrap(err, "list", "serviceaccounts", ns, "")
	}
	if readAssoc {
		refs, err := r.aws.ListPodIdentityAssociations(ctx, r.cluster.Name, ns, "")
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			key := ref.Namespace + "/" + ref.ServiceAccount
			a, ok := byKey[key]
			if !ok {
				if r.cfg.Selector != "" && !all[key] {
					continue // not selected, or not there to be selected
				}
				a = &account{Namespace: ref.Namespace, Name: ref.ServiceAccount, exists: all[key]}
				byKey[key] = a
			}
			a.assocs = append(a.assocs, ref)
		}
	}
	accounts := make([]account, 0, len(byKey))
	irsa, pod := 0, 0
	for _, a := range byKey {
		accounts = append(accounts, *a)
		if a.hasRole {
			irsa++
		}
		if len(a.assocs) > 0 {
			pod++
		}
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i].ref() < accounts[j].ref() })
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.ref()
	}
	where := "in namespace " + ns
	if ns == "" {
		where = "in every namespace"
	}
	if r.cfg.Selector != "" {
		where += " matching -l " + r.cfg.Selector
	}
	msg := fmt.Sprintf("%d service accounts with an identity %s: %d with a role annotation (IRSA), %d with a Pod Identity association", len(accounts), where, irsa, pod)
	if !readAssoc {
		// Never a count of what was not read: an account with only an association is not listed.
		msg = fmt.Sprintf("%d service accounts with a role annotation (IRSA) %s; Pod Identity associations %s", len(accounts), where, notRead)
	}
	r.emit(check.Event{Type: check.TypeInfo, Check: CheckAccounts, Message: msg, Data: map[string]any{"service_accounts": names, "associations_read": readAssoc}})
	return accounts, nil
}

// describeIdentity is what the account has, for the line that names TARGET's account; notRead
// says why its associations were not read, if they were not.
func describeIdentity(a account, notRead string) string {
	var parts []string
	if a.hasRole {
		parts = append(parts, "names the role "+a.cfg.RoleARN)
	}
	if len(a.assocs) > 0 {
		parts = append(parts, fmt.Sprintf("has %d Pod Identity association(s)", len(a.assocs)))
	}
	switch {
	case notRead != "" && len(parts) == 0:
		return " has no " + identity.AnnotationRoleARN + " annotation; its Pod Identity associations were " + notRead
	case notRead != "":
		return " " + strings.Join(parts, " and ") + "; its Pod Identity associations were " + notRead
	case len(parts) == 0:
		return " has no identity"
	}
	return " " + strings.Join(parts, " and ")
}

// rememberRole keeps an account's role annotation, for InUse.
func (r *runner) rememberRole(sa *corev1.ServiceAccount) {
	r.inUseMu.Lock()
	defer r.inUseMu.Unlock()
	r.inUse[sa.Namespace+"/"+sa.Name] = sa.Annotations[identity.AnnotationRoleARN]
}

// subjectInUse reports whether subject is a service account that carries roleARN: a trust
// policy correction keeps it.
func (r *runner) subjectInUse(ctx context.Context, roleARN string) func(string) bool {
	return func(subject string) bool {
		rest, ok := strings.CutPrefix(subject, "system:serviceaccount:")
		if !ok {
			return false
		}
		ns, name, ok := strings.Cut(rest, ":")
		if !ok {
			return false
		}
		key := ns + "/" + name
		r.inUseMu.Lock()
		role, known := r.inUse[key]
		r.inUseMu.Unlock()
		if !known {
			role = "-"
			if sa, err := r.deps.Client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
				role = sa.Annotations[identity.AnnotationRoleARN]
			}
			r.inUseMu.Lock()
			r.inUse[key] = role
			r.inUseMu.Unlock()
		}
		return role == roleARN
	}
}

// explain is one account's checks, computed concurrently with the others'.
func (r *runner) explain(ctx context.Context, a account) ([]item, error) {
	var items []item
	if notRead := r.out.AssociationsNotRead; !a.hasRole && notRead != "" {
		// Not judged: an association, if any, was not read. Not a pass, and not "none".
		return []item{{ev: check.New(CheckServiceAccount, check.StatusFail,
			fmt.Sprintf("%s: not judged: the service account has no %s annotation, and its Pod Identity associations were %s", a.ref(), identity.AnnotationRoleARN, notRead),
			fmt.Sprintf("have its Pod Identity associations read (kubectl wi explain serviceaccount/%s -n %s --eks-cluster NAME, with AWS credentials), or give it a role: kubectl wi enable serviceaccount/%s -n %s --role-arn <role ARN>", a.Name, a.Namespace, a.Name, a.Namespace),
			map[string]any{"service_account": a.ref(), "judged": false})}}, nil
	}
	if !a.hasRole && len(a.assocs) == 0 {
		return []item{{ev: check.New(CheckServiceAccount, check.StatusFail,
			fmt.Sprintf("%s: the service account has no %s annotation and no Pod Identity association", a.ref(), identity.AnnotationRoleARN),
			fmt.Sprintf("kubectl wi enable serviceaccount/%s -n %s --role-arn <role ARN>, or create an EKS Pod Identity association for it", a.Name, a.Namespace),
			map[string]any{"service_account": a.ref()})}}, nil
	}
	if a.hasRole && len(a.assocs) > 0 {
		items = append(items, item{ev: check.Event{Type: check.TypeInfo, Check: CheckServiceAccount,
			Message: fmt.Sprintf("%s: has both a role annotation and a Pod Identity association: pods get the association's role (Pod Identity wins)", a.ref()),
			Data:    map[string]any{"service_account": a.ref()}}})
	}
	if a.hasRole {
		var more []item
		var err error
		if r.cfg.Exchange {
			more, err = r.exchange(ctx, a)
		} else {
			more, err = r.irsa(ctx, a)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	for _, ref := range a.assocs {
		more, err := r.podIdentity(ctx, a, ref)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	return items, nil
}

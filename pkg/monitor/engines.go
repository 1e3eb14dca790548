package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// This file is where the monitor meets the verify, explain and podidentity engines: their
// types stay here, and the rest of the package speaks of Account, Result and Check.

// CheckRun names the failed check of a proof that stopped before its verdict (the pod did
// not start in time, the apiserver refused it): the error says what.
const CheckRun = "verify.run"

// ProofSettings are verify's flags the monitor runs every proof with.
type ProofSettings struct {
	Image      string
	PullPolicy string
	// Timeout bounds one account's proof.
	Timeout time.Duration
	// STSEndpoint and Region are the probe's STS endpoint and region; empty: the SDK's.
	STSEndpoint, Region string
	// CABundle is PEM CA certificates the probe trusts beside the public roots.
	CABundle []byte
}

// AWSReads are the monitor's own AWS credentials, found by the SDK's default chain (IRSA for
// the monitor's own service account in a cluster), with which it reads the Pod Identity
// associations and runs explain's IAM checks.
type AWSReads struct {
	// reads are IAM and EKS reads with those credentials; tests answer them in memory.
	reads awsread.Reader
	// EKSCluster is the cluster whose associations are read; "" reads none.
	EKSCluster string
}

// LoadAWSReads finds the monitor's AWS credentials. Without any it returns nil and why, for
// the one log line and the status object.
func LoadAWSReads(ctx context.Context, eksCluster, region string) (*AWSReads, string) {
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{Region: region})
	if err != nil {
		return nil, "the AWS SDK configuration did not load: " + err.Error()
	}
	if !awsconfig.CredentialsAtHand(ctx, cfg) {
		return nil, "no AWS credentials found by the SDK's default chain (give the monitor's service account a read-only role with IRSA)"
	}
	return &AWSReads{reads: awsread.NewSDK(cfg), EKSCluster: eksCluster}, ""
}

// FleetProver proves accounts with verify's fleet engine: one probe pod per account, at
// most parallel at once, each deleted before its run returns.
type FleetProver struct {
	base verify.Config
	deps verify.Deps
	aws  *AWSReads
	now  func() time.Time

	mu     sync.Mutex
	assocs podidentity.ClusterAssociations
}

// NewFleetProver is the prover of s's settings, whose probe pods carry labels; with aws it
// also runs explain's IAM checks of every IRSA account, explains STS's refusals and reads
// the Pod Identity associations.
func NewFleetProver(client kubernetes.Interface, s ProofSettings, labels map[string]string, aws *AWSReads, now func() time.Time) *FleetProver {
	discovery := apicall.APIServerDiscovery(client)
	p := &FleetProver{
		base: verify.Config{
			Image: s.Image, PullPolicy: corev1.PullPolicy(s.PullPolicy), Timeout: s.Timeout,
			STSEndpoint: s.STSEndpoint, Region: s.Region, CABundle: s.CABundle, Labels: labels,
		},
		deps: verify.Deps{Client: client, Discovery: discovery, Now: now},
		aws:  aws, now: now,
	}
	p.deps.Association = func(_ context.Context, ns, sa string) verify.AssociationLookup {
		p.mu.Lock()
		defer p.mu.Unlock()
		l := verify.AssociationLookup{Read: p.assocs.Read, Cluster: p.assocs.Cluster, NotRead: p.assocs.NotRead}
		if a, ok := p.assocs.Of(ns, sa); ok {
			l.ID, l.RoleARN = a.ID, a.RoleARN
		}
		return l
	}
	if aws != nil {
		// An IRSA account's explain checks run in p.explain for every proof; verify's
		// explanation is left to Pod Identity refusals, the only ones it names a cluster for.
		refusal := explain.RefusalWith(client, discovery, aws.reads)
		p.deps.Explain = func(ctx context.Context, ns, sa, eksCluster string) []check.Event {
			if eksCluster == "" {
				return nil
			}
			return refusal(ctx, ns, sa, eksCluster)
		}
	}
	return p
}

// Associations reads the EKS cluster's Pod Identity associations (in namespace, "" for all)
// with the monitor's AWS credentials, for the inventory and the proofs. Without credentials or
// a cluster name it returns none and no error.
func (p *FleetProver) Associations(ctx context.Context, namespace string) (cluster string, items []inventory.Association, err error) {
	if p.aws == nil || p.aws.EKSCluster == "" {
		p.mu.Lock()
		p.assocs = podidentity.ClusterAssociations{NotRead: "the monitor has no AWS credentials, or no --eks-cluster"}
		p.mu.Unlock()
		return "", nil, nil
	}
	got, err := podidentity.ReadAssociations(ctx, p.aws.reads, p.aws.EKSCluster, namespace, "")
	if err != nil {
		p.mu.Lock()
		p.assocs = podidentity.ClusterAssociations{Cluster: p.aws.EKSCluster, NotRead: err.Error()}
		p.mu.Unlock()
		return p.aws.EKSCluster, nil, fmt.Errorf("failed to read the Pod Identity associations of EKS cluster %s: %w", p.aws.EKSCluster, err)
	}
	p.mu.Lock()
	p.assocs = got
	p.mu.Unlock()
	for _, a := range got.Items {
		items = append(items, inventory.Association{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN})
	}
	return got.Cluster, items, nil
}

// Prove proves accounts with verify.RunFleet.
func (p *FleetProver) Prove(ctx context.Context, accounts []Account, parallel int) []Result {
	fleet := make([]verify.Account, len(accounts))
	for i, a := range accounts {
		fleet[i] = verify.Account{Namespace: a.Namespace, Name: a.Name}
	}
	rec := &failedChecks{now: p.now, start: map[string]time.Time{}, checks: map[string][]Check{}, took: map[string]time.Duration{}}
	results, _ := verify.RunFleet(ctx, p.base, fleet, parallel, p.deps, rec)
	out := make([]Result, len(accounts))
	for i, r := range results {
		a := accounts[i]
		k := fleet[i].String()
		res := Result{Account: a, Verified: r.Passed(), FailedChecks: rec.checks[k], Duration: rec.took[k], Err: r.Err}
		if !r.Started || (ctx.Err() != nil && (r.Err == nil || errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded))) {
			res.Interrupted = true
		}
		if r.Err != nil && !res.Interrupted {
			res.FailedChecks = append(res.FailedChecks, Check{Check: CheckRun, Message: r.Err.Error()})
		}
		if p.aws != nil && a.Identity == IdentityIRSA && !res.Interrupted {
			checks, err := p.explain(ctx, a)
			res.FailedChecks = appendNew(res.FailedChecks, checks...)
			res.ExplainErr = err
		}
		out[i] = res
	}
	return out
}

// explain runs explain's checks of an IRSA account (its role, the OIDC provider, the trust
// policy) with the monitor's AWS credentials, and returns those that failed, and what kept
// them from running: a failure of the monitor (its reads refused), not of the account.
func (p *FleetProver) explain(ctx context.Context, a Account) ([]Check, error) {
	rec := &failedChecks{now: p.now, start: map[string]time.Time{}, checks: map[string][]Check{}, took: map[string]time.Duration{}}
	deps := explain.Deps{Client: p.deps.Client, Discovery: p.deps.Discovery, AWS: p.aws.reads, Now: p.now}
	_, err := explain.Run(ctx, explain.Config{Namespace: a.Namespace, Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: a.Name}, Cluster: p.aws.EKSCluster},
		deps, rec.of(verify.Account{Namespace: a.Namespace, Name: a.Name}))
	if ctx.Err() != nil {
		err = nil // the monitor is stopping: not a failure
	}
	return rec.checks[a.key()], err
}

// appendNew appends the checks not already in to.
func appendNew(to []Check, checks ...Check) []Check {
	for _, c := range checks {
		if !slices.Contains(to, c) {
			to = append(to, c)
		}
	}
	return to
}

// failedChecks is a FleetReporter that keeps each account's failed checks and how long its
// run took. The fleet calls it one call at a time.
type failedChecks struct {
	now    func() time.Time
	start  map[string]time.Time
	checks map[string][]Check
	took   map[string]time.Duration
}

func (f *failedChecks) Start(a verify.Account)           { f.start[a.String()] = f.now() }
func (f *failedChecks) Step(verify.Account, report.Step) {}
func (f *failedChecks) Raw(verify.Account, string)       {}
func (f *failedChecks) Event(a verify.Account, ev check.Event) {
	if ev.Type == check.TypeCheck && ev.Status == check.StatusFail {
		k := a.String()
		f.checks[k] = appendNew(f.checks[k], Check{Check: ev.Check, Message: redact(ev.Message), Fix: redact(ev.Fix)})
	}
}
func (f *failedChecks) Done(a verify.Account, _ verify.Outcome, _ error) {
	f.took[a.String()] = f.now().Sub(f.start[a.String()])
}

// of is the Reporter of one account's run (explain's).
func (f *failedChecks) of(a verify.Account) report.Reporter { return accountRecorder{f: f, a: a} }

type accountRecorder struct {
	f *failedChecks
	a verify.Account
}

func (r accountRecorder) Step(report.Step)     {}
func (r accountRecorder) Raw(string)           {}
func (r accountRecorder) Event(ev check.Event) { r.f.Event(r.a, ev) }

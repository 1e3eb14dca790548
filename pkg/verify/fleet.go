package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// DefaultParallel is how many accounts a fleet run proves at once unless told: enough that
// pod starts overlap (the kubelet starts pods in parallel; on the 2-core local cluster 30
// accounts took 12.3 s at 8, 9.3 s at 15, 7.9 s at 30), few enough that the probe pods (10m
// CPU, 16Mi each) do not crowd a node.
const DefaultParallel = 16

// Account is one service account of a fleet run, or, in a fleet of in-pod runs, one
// workload of a service account.
type Account struct {
	Namespace, Name string
	// Workload, when set, is the workload of the account an in-pod run joins a pod of.
	Workload checktarget.Target
	// RoleARN, when set, is the role this account is expected to assume, in place of the
	// base Config's.
	RoleARN string
}

// Noun is what a fleet of accounts like a proves: "service accounts", or "workloads".
func (a Account) Noun() string {
	if a.Workload.Name != "" {
		return "workloads"
	}
	return "service accounts"
}

// String is NAMESPACE/NAME, or NAMESPACE/KIND/NAME of a workload.
func (a Account) String() string {
	if a.Workload.Name != "" {
		return a.Namespace + "/" + a.Workload.String()
	}
	return a.Namespace + "/" + a.Name
}

// FleetReporter receives a fleet run as it happens. Calls come one at a time (the fleet
// serialises them), each naming its account; Start comes first for every account, then its
// steps and events, then Done once.
type FleetReporter interface {
	Start(Account)
	Step(Account, report.Step)
	Event(Account, check.Event)
	Raw(Account, string)
	Done(Account, Outcome, error)
}

// AccountResult is how one account's run ended.
type AccountResult struct {
	Account Account
	Outcome Outcome
	Err     error // what stopped its run; nil when it reached a verdict
	Started bool  // false when the fleet was interrupted before its turn
}

// Passed is true when the account's run ended with a verdict that is not a failure.
func (r AccountResult) Passed() bool {
	return r.Started && r.Err == nil && r.Outcome.Status != "" && r.Outcome.Status != check.StatusFail
}

// RunFleet proves every account with base's settings, at most parallel at a time, and returns
// their results in the order given. An account with a Workload is proven through that workload
// (base.InPod: in one of its pods). Each run is Run's: its probe pod is deleted before it
// returns, so once RunFleet returns no probe pod is left, whatever ended it. The error is
// context.Canceled wrapped when ctx ended before every account was proven.
func RunFleet(ctx context.Context, base Config, accounts []Account, parallel int, deps Deps, rep FleetReporter) ([]AccountResult, error) {
	if parallel < 1 {
		parallel = DefaultParallel
	}
	if deps.Discovery != nil {
		deps.Discovery = onceDiscovery(deps.Discovery)
	}
	results := make([]AccountResult, len(accounts))
	var mu sync.Mutex // serialises the reporter
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, a := range accounts {
		results[i].Account = a
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		results[i].Started = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cfg := base
			cfg.Namespace, cfg.Target = a.Namespace, checktarget.Target{Kind: checktarget.KindServiceAccount, Name: a.Name}
			if a.Workload.Name != "" {
				cfg.Target = a.Workload
			}
			if a.RoleARN != "" {
				cfg.RoleARN = a.RoleARN
			}
			ar := &accountReporter{mu: &mu, rep: rep, account: a}
			mu.Lock()
			rep.Start(a)
			mu.Unlock()
			out, err := Run(ctx, cfg, deps, ar)
			results[i].Outcome, results[i].Err = out, err
			mu.Lock()
			rep.Done(a, out, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return results, fmt.Errorf("interrupted: %w", context.Canceled)
		}
		return results, ctx.Err()
	}
	return results, nil
}

// accountReporter is one account's Reporter within a fleet.
type accountReporter struct {
	mu      *sync.Mutex
	rep     FleetReporter
	account Account
}

func (r *accountReporter) Step(s report.Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Step(r.account, s)
}

func (r *accountReporter) Event(ev check.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev.Account = r.account.String()
	r.rep.Event(r.account, ev)
}

func (r *accountReporter) Raw(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Raw(r.account, line)
}

// onceDiscovery reads the cluster's issuer once for a whole fleet (every account's run asks);
// a failed read is tried again by the next account.
func onceDiscovery(read apicall.DiscoveryFunc) apicall.DiscoveryFunc {
	var (
		mu  sync.Mutex
		doc []byte
	)
	return func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if doc != nil {
			return doc, nil
		}
		b, err := read(ctx)
		if err == nil {
			doc = b
		}
		return b, err
	}
}

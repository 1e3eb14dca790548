package podidentity

import (
	"context"
	"fmt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Proof is what verify found of one account on Pod Identity.
type Proof struct {
	// Passed is true when verify reached a verdict with no failed check, its probe pod ran on
	// EKS Pod Identity's container credentials, and the caller was the role's session.
	Passed bool
	Caller string // the probe's GetCallerIdentity ARN
	// Why says what did not pass, when it did not.
	Why string
	// Events are the failed and warned checks, to show.
	Events []check.Event
}

// Want is an account to prove and the role its caller is expected to be.
type Want struct {
	ServiceAccount, RoleARN string
}

// ProveFunc proves the accounts of namespace on Pod Identity, at most parallel at once, and
// returns their proofs in want's order, reporting to rep each proof's events as they come,
// each with its Account. The error is for what stopped the proofs: ctx ended.
type ProveFunc func(ctx context.Context, namespace string, want []Want, parallel int, rep report.Reporter) ([]Proof, error)

// Prover proves accounts with verify's fleet engine (verify.RunFleet): a probe pod of each
// account, created now, whose path (the container credentials through the agent, then STS)
// and caller are checked. base gives the probe's image, endpoint, CA bundle and timeout.
func Prover(base verify.Config, deps verify.Deps) ProveFunc {
	return func(ctx context.Context, namespace string, want []Want, parallel int, rep report.Reporter) ([]Proof, error) {
		accounts := make([]verify.Account, len(want))
		for i, w := range want {
			accounts[i] = verify.Account{Namespace: namespace, Name: w.ServiceAccount, RoleARN: w.RoleARN}
		}
		recs := &fleetRecorder{recs: map[string]*recorder{}, rep: rep}
		results, err := verify.RunFleet(ctx, base, accounts, parallel, deps, recs)
		if err != nil {
			return nil, err
		}
		proofs := make([]Proof, len(results))
		for i, res := range results {
			proofs[i] = proofOf(recs.recs[res.Account.Name], res.Outcome, res.Err)
		}
		return proofs, nil
	}
}

// proofOf judges one account's run from what its recorder kept.
func proofOf(rec *recorder, out verify.Outcome, err error) Proof {
	p := Proof{Caller: rec.caller, Events: rec.shown}
	switch {
	case err != nil:
		p.Why = "verify stopped: " + err.Error()
	case out.Failed > 0 || out.Status == check.StatusFail || out.Status == "":
		p.Why = fmt.Sprintf("verify failed %d of %d checks", out.Failed, out.Checks)
	case rec.path != probe.PathPodIdentity:
		p.Why = fmt.Sprintf("the probe pod did not run on EKS Pod Identity's container credentials (path %q): the webhook did not inject them", rec.path)
	case !rec.callerPassed:
		p.Why = "the probe did not confirm the caller"
	default:
		p.Passed = true
	}
	return p
}

// fleetRecorder keeps a recorder per account of a fleet run, by service account name, and
// forwards the runs' events to rep; the fleet serialises its calls. The runs' steps and the
// lines of a probe that are not events stay with verify: each proof's events say its story.
type fleetRecorder struct {
	recs map[string]*recorder
	rep  report.Reporter
}

func (f *fleetRecorder) Start(a verify.Account)                     { f.recs[a.Name] = &recorder{} }
func (f *fleetRecorder) Step(verify.Account, report.Step)           {}
func (f *fleetRecorder) Raw(verify.Account, string)                 {}
func (f *fleetRecorder) Done(verify.Account, verify.Outcome, error) {}

// Event keeps what the proof needs and forwards ev, which carries its Account.
func (f *fleetRecorder) Event(a verify.Account, ev check.Event) {
	f.recs[a.Name].Event(ev)
	f.rep.Event(ev)
}

// recorder keeps what a proof needs of verify's events.
type recorder struct {
	path         string
	caller       string
	callerPassed bool
	shown        []check.Event
}

func (r *recorder) Event(ev check.Event) {
	if ev.Type != check.TypeCheck {
		return
	}
	switch ev.Check {
	case verify.CheckPodMutation:
		if ev.Status == check.StatusPass {
			r.path, _ = ev.Data["path"].(string)
		}
	case probe.CheckSTSCallerIdentity:
		r.caller, _ = ev.Data["arn"].(string)
		r.callerPassed = ev.Status == check.StatusPass
	}
	if ev.Status == check.StatusFail || ev.Status == check.StatusWarn {
		r.shown = append(r.shown, ev)
	}
}

package podidentity

import (
	"context"
	"fmt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
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

// ProveFunc proves namespace/serviceAccount on Pod Identity with roleARN as the expected role.
type ProveFunc func(ctx context.Context, namespace, serviceAccount, roleARN string) Proof

// Prover proves accounts with verify.Run: a probe pod of the account, created now, whose path
// (the container credentials through the agent, then STS) and caller are checked. base gives
// the probe's image, endpoint, CA bundle and timeout.
func Prover(base verify.Config, deps verify.Deps) ProveFunc {
	return func(ctx context.Context, namespace, serviceAccount, roleARN string) Proof {
		cfg := base
		cfg.Namespace, cfg.Target, cfg.RoleARN = namespace, checktarget.Target{Kind: checktarget.KindServiceAccount, Name: serviceAccount}, roleARN
		rec := &recorder{}
		out, err := verify.Run(ctx, cfg, deps, rec)
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
}

// recorder keeps what a proof needs of verify's events.
type recorder struct {
	path         string
	caller       string
	callerPassed bool
	shown        []check.Event
}

func (r *recorder) Step(report.Step) {}
func (r *recorder) Raw(string)       {}
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

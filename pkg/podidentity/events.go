package podidentity

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// CheckPrefix leads the name of every event migrate reports of its own; the events of its
// proofs, forwarded from verify as they come, keep verify's names.
const CheckPrefix = "migrate."

// Names of migrate's events beside its steps' (CheckOf).
const (
	CheckCluster    = CheckPrefix + "cluster"   // info: the EKS cluster
	CheckAgentState = CheckPrefix + "agent"     // the Pod Identity agent: pass when ready, info when not seen
	CheckPlan       = CheckPrefix + "plan"      // --dry-run: the plan, and each account's tasks
	CheckRollBack   = CheckPrefix + "roll-back" // info: what a roll-back undid, or left
	// CheckAccount is each account's outcome, one event each before the verdict: pass when it
	// is (or, in a dry run, would be) on Pod Identity, fail when it was skipped or failed.
	CheckAccount = CheckPrefix + "account"
)

// CheckOf names the events of a step's results: migrate.pre-flight, migrate.new-pods.
func CheckOf(s Step) string { return CheckPrefix + strings.ReplaceAll(string(s), " ", "-") }

// emit stamps an event and reports it.
func (r *runner) emit(ev check.Event) {
	ev.V = check.ProtocolVersion
	ev.Time = r.deps.Now().UTC()
	r.rep.Event(ev)
}

// tell reports ev with text as its words: the first line its message, the others its detail.
func (r *runner) tell(ev check.Event, text string) {
	ev.Message, ev.Detail, _ = strings.Cut(text, "\n")
	r.emit(ev)
}

// info tells an info event.
func (r *runner) info(name, account string, data map[string]any, format string, args ...any) {
	r.tell(check.Event{Type: check.TypeInfo, Check: name, Account: account, Data: data}, fmt.Sprintf(format, args...))
}

// result tells a check event's result.
func (r *runner) result(name string, status check.Status, account, fix string, data map[string]any, format string, args ...any) {
	r.tell(check.Event{Type: check.TypeCheck, Check: name, Status: status, Account: account, Fix: fix, Data: data}, fmt.Sprintf(format, args...))
}

// progress reports a step under way, in words.
func (r *runner) progress(s Step, format string, args ...any) {
	r.rep.Step(report.Step{ID: report.StepID(s), State: report.StepRunning, Detail: fmt.Sprintf(format, args...)})
}

// id is an account as events name it: NAMESPACE/NAME.
func (r *runner) id(a *account) string { return r.cfg.Namespace + "/" + a.name }

// ids are the accounts' ids, in order.
func (r *runner) ids(accs []*account) []string {
	out := make([]string, len(accs))
	for i, a := range accs {
		out[i] = r.id(a)
	}
	return out
}

// conclude reports each account's outcome, then the verdict, last: msg and detail its words,
// fail when any account was skipped or failed, its fix theirs.
func (r *runner) conclude(msg, detail string) {
	var tally check.Tally
	passed := 0
	for _, a := range r.accounts {
		ev := r.outcomeEvent(a)
		tally.Count(ev)
		if ev.Status == check.StatusPass {
			passed++
		}
		r.emit(ev)
	}
	status, _, fix := tally.Verdict()
	r.emit(check.Event{Type: check.TypeResult, Status: status, Message: msg, Detail: detail, Fix: fix,
		Data: map[string]any{"passed": passed, "total": len(r.accounts)}})
}

// outcomeEvent is how an account ended, as its CheckAccount event.
func (r *runner) outcomeEvent(a *account) check.Event {
	o := r.outcomeOf(a)
	data := map[string]any{"association": string(cmp.Or(o.Association, OpNone))}
	if len(o.Restarted) > 0 {
		data["restarted"] = o.Restarted
	}
	if o.IRSARemoved {
		data["irsa_removed"] = true
	}
	if o.RolledBack {
		data["rolled_back"] = true
	}
	ev := check.Event{Type: check.TypeCheck, Check: CheckAccount, Account: r.id(a), Data: data}
	switch {
	case a.failed == StepPreflight:
		ev.Status, ev.Message, ev.Fix = check.StatusFail, "skipped, left untouched: "+a.why(), problemFixes(a)
	case a.failed != "":
		data["step"] = string(a.failed)
		why, _, _ := strings.Cut(a.failure, "\n")
		ev.Status, ev.Message, ev.Fix = check.StatusFail, fmt.Sprintf("failed at the %s step: %s", a.failed, why), a.failFix
	case !a.changes():
		ev.Status, ev.Message = check.StatusPass, "on EKS Pod Identity already"
	case r.cfg.DryRun != "none":
		ev.Status, ev.Message = check.StatusPass, "would be migrated to EKS Pod Identity (dry run)"
	default:
		ev.Status, ev.Message = check.StatusPass, "migrated to EKS Pod Identity"
	}
	return ev
}

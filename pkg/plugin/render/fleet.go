package render

import (
	"fmt"
	"io"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// FleetText writes a fleet run as Text writes one account's, each line led by its account,
// so interleaved runs can be told apart (and grepped); then a summary, a line per account.
type FleetText struct{ out *writer }

// NewFleetText writes to w.
func NewFleetText(w io.Writer) *FleetText { return &FleetText{out: &writer{w: w}} }

// Err is the first write error.
func (f *FleetText) Err() error { return f.out.err }

// Start implements verify.FleetReporter.
func (f *FleetText) Start(verify.Account) {}

// Step implements verify.FleetReporter.
func (f *FleetText) Step(verify.Account, report.Step) {}

// Event implements verify.FleetReporter.
func (f *FleetText) Event(a verify.Account, ev check.Event) { f.of(a).Event(ev) }

// Raw implements verify.FleetReporter.
func (f *FleetText) Raw(a verify.Account, line string) { f.of(a).Raw(line) }

// Done implements verify.FleetReporter: what stopped a run before its verdict.
func (f *FleetText) Done(a verify.Account, _ verify.Outcome, err error) {
	if err != nil {
		f.of(a).line("ERROR %s", Clean(err.Error()))
	}
}

// of is the Text of account a's lines: each led by the account.
func (f *FleetText) of(a verify.Account) *Text {
	return &Text{out: f.out, lead: a.String() + "  ", fleet: true}
}

// Summary writes one line per account and the tally.
func (f *FleetText) Summary(results []verify.AccountResult) {
	f.out.printf("\n")
	for _, r := range results {
		status, line := accountSummary(r)
		f.out.printf("%s %s  %s\n", Label(status), r.Account, line)
	}
	f.out.printf("\n%s\n", tally(results))
}

// accountSummary is how one account's run ended, as a status and a line.
func accountSummary(r verify.AccountResult) (check.Status, string) {
	switch {
	case !r.Started:
		return check.StatusSkip, "not proven: interrupted before its turn"
	case r.Outcome.Status == "":
		return check.StatusFail, Clean(errText(r.Err))
	default:
		return r.Outcome.Status, summaryLine(r)
	}
}

// tally is the fleet's verdict in words: "1 of 4 service accounts passed".
func tally(results []verify.AccountResult) string {
	passed := 0
	for _, r := range results {
		if r.Passed() {
			passed++
		}
	}
	noun := verify.Account{}.Noun()
	if len(results) > 0 {
		noun = results[0].Account.Noun()
	}
	return fmt.Sprintf("%d of %d %s passed", passed, len(results), noun)
}

func summaryLine(r verify.AccountResult) string {
	o := r.Outcome
	msg := fmt.Sprintf("%d checks, %d failed, %d warned", o.Checks, o.Failed, o.Warned)
	if r.Err != nil {
		msg += ": " + Clean(r.Err.Error())
	}
	return msg
}

func errText(err error) string {
	if err == nil {
		return "no verdict"
	}
	return err.Error()
}

// FleetJSON writes a fleet run's events as JSON lines, each carrying its account.
type FleetJSON struct{ j *JSON }

// NewFleetJSON writes to w; now stamps the probe.output events.
func NewFleetJSON(w io.Writer, now func() time.Time) *FleetJSON {
	return &FleetJSON{j: NewJSON(w, now)}
}

// Err is the first write error.
func (f *FleetJSON) Err() error { return f.j.Err() }

// Start implements verify.FleetReporter.
func (f *FleetJSON) Start(verify.Account) {}

// Step implements verify.FleetReporter.
func (f *FleetJSON) Step(verify.Account, report.Step) {}

// Event implements verify.FleetReporter.
func (f *FleetJSON) Event(a verify.Account, ev check.Event) {
	ev.Account = a.String()
	f.j.Event(ev)
}

// Raw implements verify.FleetReporter.
func (f *FleetJSON) Raw(a verify.Account, line string) {
	f.Event(a, f.j.rawEvent(line))
}

// Done implements verify.FleetReporter: what stopped a run is an error event of its account.
func (f *FleetJSON) Done(a verify.Account, _ verify.Outcome, err error) {
	if err != nil {
		f.Event(a, check.Event{V: check.ProtocolVersion, Time: f.j.now().UTC(), Type: check.TypeInfo, Check: CheckRunError, Message: err.Error()})
	}
}

// Summary writes the fleet's verdict, the last line: a result event with no account, pass
// only when every account passed, its data the tally and each account's status and line, as
// the text summary has them.
func (f *FleetJSON) Summary(results []verify.AccountResult) {
	status, passed := check.StatusPass, 0
	accounts := make([]map[string]any, 0, len(results))
	for _, r := range results {
		st, line := accountSummary(r)
		if r.Passed() {
			passed++
		} else {
			status = check.StatusFail
		}
		accounts = append(accounts, map[string]any{"account": r.Account.String(), "status": st, "message": line})
	}
	f.j.Event(check.Event{
		V: check.ProtocolVersion, Time: f.j.now().UTC(), Type: check.TypeResult, Status: status, Message: tally(results),
		Data: map[string]any{"passed": passed, "total": len(results), "accounts": accounts},
	})
}

// CheckRunError names the info event of a fleet run's account whose run stopped on an error.
const CheckRunError = "run.error"

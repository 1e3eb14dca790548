package tui

import (
	"context"
	"errors"
	"io"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// NewMigrate builds the fleet view of a migration (kubectl wi migrate): a row per account,
// which comes with the account's first event and shows its latest (its migrate.<step> results
// and its proof's checks) until its outcome (podidentity.CheckAccount) ends it; above the
// rows, the run's own events (the cluster, the trust, the agent, the pre-flight's problems)
// and its progress. The report lists each account's migrate.<step> events under it, and the
// verdict last.
func NewMigrate(o Options) FleetModel {
	if o.Cancelling == "" {
		o.Cancelling = "cancelling: rolling back what is not proven..."
	}
	if o.Keys == "" {
		o.Keys = "q or Ctrl-C cancels and rolls back what is not proven"
	}
	m := NewFleet(o, nil)
	m.outcome, m.own = podidentity.CheckAccount, podidentity.CheckPrefix
	return m
}

// AccountsReporter turns a run whose events name their account (a migration) into a fleet
// view's messages: an account's event goes to its row, the others and the progress to the run.
type AccountsReporter struct{ Send func(tea.Msg) }

// Step implements report.Reporter: the run's progress.
func (r AccountsReporter) Step(s report.Step) { r.Send(StepMsg(s)) }

// Event implements report.Reporter.
func (r AccountsReporter) Event(ev check.Event) {
	if ev.Account == "" {
		r.Send(EventMsg(ev))
		return
	}
	r.Send(AccountEventMsg{Account: accountOf(ev.Account), Event: ev})
}

// Raw implements report.Reporter.
func (r AccountsReporter) Raw(line string) { r.Send(RawMsg(line)) }

// accountOf is the account an event names, NAMESPACE/NAME.
func accountOf(id string) verify.Account {
	ns, name, _ := strings.Cut(id, "/")
	return verify.Account{Namespace: ns, Name: name}
}

// RunMigrate shows a migration in the terminal, as RunFleet shows a fleet's proofs, and then
// prints its report.
func RunMigrate(ctx context.Context, in io.Reader, out io.Writer, o Options, work func(context.Context, report.Reporter) error) error {
	return runProgram(ctx, in, out,
		func(cancel func()) tea.Model {
			o.Renderer, o.Cancel = lipgloss.NewRenderer(out), cancel
			return NewMigrate(o)
		},
		func(ctx context.Context, send func(tea.Msg)) error { return work(ctx, AccountsReporter{Send: send}) },
		func(final tea.Model) (string, bool) {
			fm, ok := final.(FleetModel)
			if !ok || !fm.Done() {
				return "", false
			}
			return fm.Report(), true
		})
}

// MigrateReport drives a migration's model with what work reports, with no terminal and so
// the model's own width, and returns its live view after each message and its final report:
// what a run shows, for the tests of the command that feeds it.
func MigrateReport(o Options, work func(report.Reporter) error) (views []string, final string) {
	if o.Renderer == nil {
		o.Renderer = lipgloss.NewRenderer(io.Discard)
	}
	var m tea.Model = NewMigrate(o)
	err := work(AccountsReporter{Send: func(msg tea.Msg) {
		m, _ = m.Update(msg)
		views = append(views, m.View())
	}})
	m, _ = m.Update(DoneMsg{Err: err})
	return views, m.(FleetModel).Report()
}

// runReport is the report of a run with events of its own: its events, whole; every account's
// outcome; each account's own events; and the verdict with its detail and fixes, or why the
// run ended without one.
func (m FleetModel) runReport() string {
	base := m.base
	base.report = true
	var b strings.Builder
	base.header(&b)
	for _, it := range m.runItems {
		base.itemLinesAt(&b, it, 0)
	}
	if len(m.runItems) > 0 && len(m.rows) > 0 {
		b.WriteString("\n")
	}
	for _, r := range m.rows {
		b.WriteString(m.rowLine(r) + "\n")
	}
	for _, r := range m.rows {
		if len(r.items) == 0 {
			continue
		}
		b.WriteString("\n" + base.styles.name.Render(r.account.String()) + "\n")
		for i := range r.items {
			base.itemLines(&b, item{ev: &r.items[i]})
		}
	}
	switch {
	case m.verdict != nil:
		base.verdict = m.verdict
		base.verdictLines(&b, false)
		for _, l := range strings.Split(strings.TrimRight(m.verdict.Detail, "\n"), "\n") {
			if l != "" {
				b.WriteString("  " + styleLines(base.styles.faint, base.wrap(render.Clean(l), 2, 2)) + "\n")
			}
		}
		for _, f := range strings.Split(m.verdict.Fix, "\n") {
			if f = strings.TrimSpace(f); f != "" {
				b.WriteString("  " + styleLines(base.styles.fix, "fix: "+render.Clean(f)) + "\n")
			}
		}
	case errors.Is(base.err, context.Canceled) || base.cancelling:
		b.WriteString("\n" + base.styles.fail.Render("✗ interrupted") + "\n")
	case base.err != nil:
		b.WriteString("\n" + base.styles.fail.Render("✗ stopped") + " " + base.wrap(base.err.Error(), 10, 10) + "\n")
	}
	return b.String()
}

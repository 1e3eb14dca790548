package tui

import (
	"context"
	"fmt"
	"io"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Messages of a fleet run, each naming its account.
type (
	// AccountStartMsg says an account's run began.
	AccountStartMsg struct{ Account verify.Account }
	// AccountStepMsg is an account's progress.
	AccountStepMsg struct {
		Account verify.Account
		Step    report.Step
	}
	// AccountEventMsg is one of an account's events.
	AccountEventMsg struct {
		Account verify.Account
		Event   check.Event
	}
	// AccountDoneMsg says an account's run ended; Err is what stopped it, if anything.
	AccountDoneMsg struct {
		Account verify.Account
		Err     error
	}
)

// FleetReporter turns a fleet run's reports into messages for a program.
type FleetReporter struct{ Send func(tea.Msg) }

// Start implements verify.FleetReporter.
func (r FleetReporter) Start(a verify.Account) { r.Send(AccountStartMsg{a}) }

// Step implements verify.FleetReporter.
func (r FleetReporter) Step(a verify.Account, s report.Step) { r.Send(AccountStepMsg{a, s}) }

// Event implements verify.FleetReporter.
func (r FleetReporter) Event(a verify.Account, ev check.Event) { r.Send(AccountEventMsg{a, ev}) }

// Raw implements verify.FleetReporter: the fleet view has no room for raw output; the failed
// checks and the verdict say what went wrong.
func (r FleetReporter) Raw(verify.Account, string) {}

// Done implements verify.FleetReporter.
func (r FleetReporter) Done(a verify.Account, _ verify.Outcome, err error) {
	r.Send(AccountDoneMsg{a, err})
}

// row is one account of a fleet run.
type row struct {
	account  verify.Account
	started  bool
	done     bool
	step     report.Step
	verdict  *check.Event
	problems []check.Event // failed and warned checks, for the report
	err      error
}

// FleetModel is the terminal UI of a fleet run: one live row per account (waiting, its
// current step, or its verdict), a tally, and at the end a report of every account with the
// failed checks and fixes of those that did not pass.
type FleetModel struct {
	base Model // styles, spinner, width and the wrapping of the single-account view
	rows []*row
	byID map[verify.Account]int
}

// NewFleet builds the model, every account waiting.
func NewFleet(o Options, accounts []verify.Account) FleetModel {
	m := FleetModel{base: New(o), byID: map[verify.Account]int{}}
	for i, a := range accounts {
		m.rows = append(m.rows, &row{account: a})
		m.byID[a] = i
	}
	return m
}

// Init starts the spinner.
func (m FleetModel) Init() tea.Cmd { return m.base.Init() }

// Update takes the fleet's messages, keys and window sizes.
func (m FleetModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var r *row
	switch msg := msg.(type) {
	case AccountStartMsg:
		r = m.edit(msg.Account)
		r.started = true
	case AccountStepMsg:
		r = m.edit(msg.Account)
		if msg.Step.ID != verify.StepCleanup || r.verdict == nil {
			r.step = msg.Step
		}
	case AccountEventMsg:
		r = m.edit(msg.Account)
		ev := msg.Event
		switch {
		case ev.Type == check.TypeResult:
			r.verdict = &ev
		case ev.Type == check.TypeCheck && (ev.Status == check.StatusFail || ev.Status == check.StatusWarn):
			r.problems = append(r.problems, ev)
		}
	case AccountDoneMsg:
		r = m.edit(msg.Account)
		r.done, r.err = true, msg.Err
	default:
		b, cmd := m.base.Update(msg)
		m.base = b.(Model)
		return m, cmd
	}
	return m, nil
}

// edit returns a copy of a's row, put in place of the old one, so a FleetModel value stays
// what it was.
func (m *FleetModel) edit(a verify.Account) *row {
	rows := make([]*row, len(m.rows))
	copy(rows, m.rows)
	m.rows = rows
	i, ok := m.byID[a]
	if !ok {
		m.byID = cloneMap(m.byID)
		m.byID[a] = len(m.rows)
		m.rows = append(m.rows, &row{account: a})
		i = len(m.rows) - 1
	}
	c := *m.rows[i]
	m.rows[i] = &c
	return &c
}

func cloneMap(in map[verify.Account]int) map[verify.Account]int {
	out := make(map[verify.Account]int, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Done is true once the whole fleet has ended.
func (m FleetModel) Done() bool { return m.base.done }

// status is a finished row's verdict status; fail when it stopped without one.
func (r *row) status() check.Status {
	if r.verdict == nil {
		return check.StatusFail
	}
	return r.verdict.Status
}

// tally counts the rows by state.
func (m FleetModel) tally() (waiting, running, passed, warned, failed int) {
	for _, r := range m.rows {
		switch {
		case !r.started:
			waiting++
		case !r.done:
			running++
		case r.status() == check.StatusFail:
			failed++
		case r.status() == check.StatusWarn:
			warned++
		default:
			passed++
		}
	}
	return
}

// View is the live view: the title, one row per account (as many as the window holds,
// running and failed ones first), and the tally.
func (m FleetModel) View() string {
	if m.base.done {
		return ""
	}
	var b strings.Builder
	m.base.header(&b)
	rows := m.rows
	if limit := m.base.height - 5; m.base.height > 0 && len(rows) > limit {
		rows = m.visible(max(limit, 1))
	}
	for _, r := range rows {
		b.WriteString(m.rowLine(r) + "\n")
	}
	waiting, running, passed, warned, failed := m.tally()
	b.WriteString("\n" + m.base.styles.faint.Render(fmt.Sprintf("%d running, %d waiting; %d passed, %d warned, %d failed", running, waiting, passed, warned, failed)))
	if m.base.cancelling {
		b.WriteString("\n" + m.base.styles.warn.Render("cancelling: deleting the probe pods..."))
	} else {
		b.WriteString("\n" + m.base.styles.faint.Render("q or Ctrl-C cancels and deletes the probe pods"))
	}
	return b.String() + "\n"
}

// visible picks the rows a short window shows: running, then failed, then the rest.
func (m FleetModel) visible(limit int) []*row {
	var out []*row
	for _, pick := range []func(*row) bool{
		func(r *row) bool { return r.started && !r.done },
		func(r *row) bool { return r.done && r.status() == check.StatusFail },
		func(r *row) bool { return (!r.started || r.done) && (!r.done || r.status() != check.StatusFail) },
	} {
		for _, r := range m.rows {
			if len(out) < limit && pick(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (m FleetModel) rowLine(r *row) string {
	st := m.base.styles
	name := st.name.Render(r.account.String())
	switch {
	case !r.started:
		return st.faint.Render("·") + " " + name + "  " + st.faint.Render("waiting")
	case !r.done:
		detail := stepTitles[r.step.ID]
		if r.step.Detail != "" {
			detail += ": " + r.step.Detail
		}
		return m.base.spinner.View() + " " + name + "  " + st.faint.Render(render.Clean(detail))
	}
	msg := "stopped without a verdict"
	if r.verdict != nil {
		msg = r.verdict.Message
	}
	if r.err != nil {
		msg += ": " + r.err.Error()
	}
	return m.base.statusMark(r.status()) + " " + name + "  " + m.base.wrap(render.Clean(msg), 4+len(r.account.String()), 4)
}

// Report is the whole run, printed once at the end: every account's verdict, then each
// failed or warned account's problems with their fixes, whole, and the tally.
func (m FleetModel) Report() string {
	m.base.report = true
	var b strings.Builder
	m.base.header(&b)
	for _, r := range m.rows {
		if !r.started {
			b.WriteString(m.base.styles.faint.Render("– "+r.account.String()+"  not proven: the run was cancelled before its turn") + "\n")
			continue
		}
		b.WriteString(m.rowLine(r) + "\n")
	}
	for _, r := range m.rows {
		if !r.done || len(r.problems) == 0 {
			continue
		}
		b.WriteString("\n" + m.base.styles.name.Render(r.account.String()) + "\n")
		for i := range r.problems {
			m.base.itemLines(&b, item{ev: &r.problems[i]})
		}
	}
	waiting, _, passed, warned, failed := m.tally()
	noun := verify.Account{}.Noun()
	if len(m.rows) > 0 {
		noun = m.rows[0].account.Noun()
	}
	fmt.Fprintf(&b, "\n%d of %d %s passed", passed+warned, len(m.rows), noun)
	if warned > 0 {
		fmt.Fprintf(&b, " (%d with warnings)", warned)
	}
	if failed > 0 {
		fmt.Fprintf(&b, ", %d failed", failed)
	}
	if waiting > 0 {
		fmt.Fprintf(&b, ", %d not proven", waiting)
	}
	return b.String() + "\n"
}

// RunFleet shows a fleet run in the terminal, as Run shows one account's.
func RunFleet(ctx context.Context, in io.Reader, out io.Writer, title string, accounts []verify.Account, work func(context.Context, verify.FleetReporter) error) error {
	return runProgram(ctx, in, out,
		func(cancel func()) tea.Model {
			return NewFleet(Options{Title: title, Renderer: lipgloss.NewRenderer(out), Cancel: cancel}, accounts)
		},
		func(ctx context.Context, send func(tea.Msg)) error { return work(ctx, FleetReporter{Send: send}) },
		func(final tea.Model) (string, bool) {
			fm, ok := final.(FleetModel)
			if !ok || !fm.Done() {
				return "", false
			}
			return fm.Report(), true
		})
}

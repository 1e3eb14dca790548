package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

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
	account verify.Account
	started bool
	done    bool
	step    report.Step
	verdict *check.Event
	// items are what the report lists under the account: a verify fleet's failed and warned
	// checks; a run's own events of the account (a migration's migrate.<step>).
	items []check.Event
	// latest is the account's last event, which its live row shows when the run reports no
	// steps of its accounts (a migration).
	latest *check.Event
	err    error
}

// FleetModel is the terminal UI of a fleet run: one live row per account (waiting, its
// current step, or its verdict), a tally, and at the end a report of every account with the
// failed checks and fixes of those that did not pass.
//
// A run that reports events of its own beside its accounts' (a migration, NewMigrate) has them
// above the rows, its progress under them, and its verdict at the end of the report; its rows
// come as their accounts' first events do.
type FleetModel struct {
	base Model // styles, spinner, width and the wrapping of the single-account view
	rows []*row
	byID map[verify.Account]int
	keys string // what q does, under the live view

	// A run with events of its own (NewMigrate); zero for verify's fleet.
	outcome  string       // the check of the event that ends an account's row, as its verdict
	own      string       // the prefix of the run's own checks, listed under their account
	runItems []item       // the events with no account, in order
	progress report.Step  // the run's latest progress
	verdict  *check.Event // the run's verdict
}

// NewFleet builds the model, every account waiting.
func NewFleet(o Options, accounts []verify.Account) FleetModel {
	if o.Cancelling == "" {
		o.Cancelling = "cancelling: deleting the probe pods..."
	}
	m := FleetModel{base: New(o), byID: map[verify.Account]int{}, keys: cmp.Or(o.Keys, "q or Ctrl-C cancels and deletes the probe pods")}
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
		r.started = true
		m.accountEvent(r, msg.Event)
	case AccountDoneMsg:
		r = m.edit(msg.Account)
		r.done, r.err = true, msg.Err
	case StepMsg:
		m.progress = report.Step(msg)
	case EventMsg:
		ev := check.Event(msg)
		if ev.Type == check.TypeResult {
			m.verdict = &ev
			break
		}
		m.runItems = append(slices.Clip(m.runItems), item{ev: &ev})
	case RawMsg:
		m.runItems = append(slices.Clip(m.runItems), item{raw: string(msg)})
	default:
		b, cmd := m.base.Update(msg)
		m.base = b.(Model)
		return m, cmd
	}
	return m, nil
}

// accountEvent keeps ev of r's account: its verdict (the run's outcome event, or verify's
// result), what the report lists under it, and its latest event.
func (m *FleetModel) accountEvent(r *row, ev check.Event) {
	failedOrWarned := ev.Type == check.TypeCheck && (ev.Status == check.StatusFail || ev.Status == check.StatusWarn)
	switch {
	case m.outcome != "" && ev.Check == m.outcome:
		r.verdict, r.done = &ev, true
		return
	case m.outcome == "" && ev.Type == check.TypeResult:
		r.verdict = &ev
	case m.own != "" && strings.HasPrefix(ev.Check, m.own), m.own == "" && failedOrWarned:
		r.items = append(r.items, ev)
	}
	if m.own != "" && ev.Type != check.TypeResult { // a proof's verdict: the run's own event sums it up next
		r.latest = &ev
	}
}

// edit returns a copy of a's row, put in place of the old one, so a FleetModel value stays
// what it was. An account not seen yet gets a row, in the order of the accounts' names.
func (m *FleetModel) edit(a verify.Account) *row {
	rows := make([]*row, len(m.rows))
	copy(rows, m.rows)
	m.rows = rows
	i, ok := m.byID[a]
	if !ok {
		i = sort.Search(len(m.rows), func(j int) bool { return m.rows[j].account.String() > a.String() })
		m.rows = slices.Insert(m.rows, i, &row{account: a})
		m.byID = make(map[verify.Account]int, len(m.rows))
		for j, r := range m.rows {
			m.byID[r.account] = j
		}
	}
	c := *m.rows[i]
	c.items = slices.Clip(c.items) // an append copies, and leaves the old row's items alone
	m.rows[i] = &c
	return &c
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
	var b, run strings.Builder
	m.base.header(&b)
	m.runLines(&run)
	b.WriteString(run.String())
	rows := m.rows
	if limit := m.base.height - 5 - lines(run.String()); m.base.height > 0 && len(rows) > limit {
		rows = m.visible(max(limit, 1))
	}
	for _, r := range rows {
		b.WriteString(m.rowLine(r) + "\n")
	}
	waiting, running, passed, warned, failed := m.tally()
	counts := fmt.Sprintf("%d running, %d waiting; %d passed, %d warned, %d failed", running, waiting, passed, warned, failed)
	if m.outcome != "" { // a migration's rows come with their first event: none waits
		counts = fmt.Sprintf("%d running; %d passed, %d warned, %d failed", running, passed, warned, failed)
	}
	b.WriteString("\n" + m.base.styles.faint.Render(counts))
	if m.base.cancelling {
		b.WriteString("\n" + m.base.styles.warn.Render(m.base.cancelNote))
	} else {
		b.WriteString("\n" + m.base.styles.faint.Render(m.keys))
	}
	return b.String() + "\n"
}

// runLines are the live view's lines of the run's own events, one line each: those that
// failed or warned, the latest, and the progress under way; then a blank line.
func (m FleetModel) runLines(b *strings.Builder) {
	n := 0
	for i, it := range m.runItems {
		if i == len(m.runItems)-1 || it.ev != nil && it.ev.Type == check.TypeCheck && (it.ev.Status == check.StatusFail || it.ev.Status == check.StatusWarn) {
			b.WriteString(m.briefLine(it) + "\n")
			n++
		}
	}
	if m.progress.Detail != "" {
		b.WriteString(m.base.spinner.View() + " " + m.base.styles.faint.Render(m.truncate(render.Clean(m.progress.Detail), 2)) + "\n")
		n++
	}
	if n > 0 {
		b.WriteString("\n")
	}
}

// briefLine is an event on one line, cut to the window: its mark, check and message's first
// line.
func (m FleetModel) briefLine(it item) string {
	if it.ev == nil {
		return m.base.styles.faint.Render("| " + m.truncate(render.Clean(it.raw), 2))
	}
	mark := m.base.styles.faint.Render("i")
	if it.ev.Type == check.TypeCheck {
		mark = m.base.statusMark(it.ev.Status)
	}
	msg, _, _ := strings.Cut(render.Clean(it.ev.Message), "\n")
	return mark + " " + m.base.styles.name.Render(it.ev.Check) + "  " + m.truncate(msg, 4+ansi.StringWidth(it.ev.Check))
}

// truncate cuts s to the window's width less used columns.
func (m FleetModel) truncate(s string, used int) string {
	return ansi.Truncate(s, max(m.base.width-used, 20), "…")
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
	case !r.done && m.base.done:
		// The run ended before this account's outcome: interrupted, or stopped.
		why := "did not finish: the run stopped"
		if m.base.cancelling || errors.Is(m.base.err, context.Canceled) {
			why = "did not finish: the run was interrupted"
		}
		return st.fail.Render("✗") + " " + name + "  " + why
	case !r.done && r.step.ID == "" && r.latest != nil:
		// A run that reports no steps of its accounts: the account's latest event.
		ev := r.latest
		mark := st.faint.Render("i")
		if ev.Type == check.TypeCheck {
			mark = m.base.statusMark(ev.Status)
		}
		msg, _, _ := strings.Cut(render.Clean(ev.Message), "\n")
		used := 6 + len(r.account.String()) + ansi.StringWidth(ev.Check) + 2
		return m.base.spinner.View() + " " + name + "  " + mark + " " + ev.Check + "  " + st.faint.Render(m.truncate(msg, used))
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
	if m.outcome != "" {
		return m.runReport()
	}
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
		if !r.done || len(r.items) == 0 {
			continue
		}
		b.WriteString("\n" + m.base.styles.name.Render(r.account.String()) + "\n")
		for i := range r.items {
			m.base.itemLines(&b, item{ev: &r.items[i]})
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

package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// dots is bubbles' Dot spinner without its trailing space, so the spinner lines up with the
// marks of finished steps.
var dots = spinner.Spinner{Frames: []string{"⣾", "⣽", "⣻", "⢿", "⡿", "⣟", "⣯", "⣷"}, FPS: time.Second / 10}

// Options configure a Model.
type Options struct {
	// Title heads the checklist: the command line.
	Title string
	// Renderer decides the colours, from its writer and the env (NO_COLOR gives none).
	Renderer *lipgloss.Renderer
	// Cancel is called on q or Ctrl-C: it cancels the run, which then cleans up and ends.
	Cancel func()
	// Steps are the run's steps in order, with what the checklist calls each; empty: verify's.
	Steps []StepTitle
	// Cancelling is what the view says while a cancelled run cleans up; empty: verify's.
	Cancelling string
	// Keys is the fleet view's line that says what q does; empty: verify's.
	Keys string
}

// StepTitle is a step of a run and what the checklist calls it.
type StepTitle struct {
	ID    report.StepID
	Title string
}

// stepTitles are what the checklist calls each step.
var stepTitles = map[report.StepID]string{
	verify.StepOutside: "Outside the pod: service account, webhook, issuer",
	verify.StepCreate:  "Create the probe pod",
	verify.StepStored:  "The pod as stored, after admission",
	verify.StepStart:   "Wait for the pod to run",
	verify.StepProbe:   "Checks inside the pod",
	verify.StepCleanup: "Delete the probe pod",
}

// item is one line under a step: an event or a raw line.
type item struct {
	ev  *check.Event
	raw string
}

type step struct {
	id      report.StepID
	started bool
	state   report.StepState
	detail  string
	items   []item
}

// Model is the bubbletea model of a verify run.
type Model struct {
	title   string
	cancel  func()
	styles  styles
	spinner spinner.Model
	width   int
	height  int // 0: unknown, no limit

	steps      []*step
	titles     map[report.StepID]string
	cancelNote string
	current    int // index of the step events attach to
	verdict    *check.Event

	cancelling bool
	done       bool
	// report is set while Report renders: fixes are printed whole, one line each, so a
	// command in them can be pasted (the terminal, not the program, wraps long lines).
	report bool
	err    error
}

// New builds the model, every step pending.
func New(o Options) Model {
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := newStyles(r)
	m := Model{
		title:   o.Title,
		cancel:  o.Cancel,
		styles:  st,
		spinner: spinner.New(spinner.WithSpinner(dots), spinner.WithStyle(st.running)),
		width:   80,
	}
	m.titles, m.cancelNote = stepTitles, "cancelling: deleting the probe pod…"
	if len(o.Steps) > 0 {
		m.titles = map[report.StepID]string{}
		for _, st := range o.Steps {
			m.steps = append(m.steps, &step{id: st.ID})
			m.titles[st.ID] = st.Title
		}
	} else {
		for _, id := range verify.Steps {
			m.steps = append(m.steps, &step{id: id})
		}
	}
	if o.Cancelling != "" {
		m.cancelNote = o.Cancelling
	}
	return m
}

// Init starts the spinner.
func (m Model) Init() tea.Cmd { return m.spinner.Tick }

// Update takes the run's messages, keys and window sizes.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			if m.done {
				return m, tea.Quit
			}
			if m.cancelling {
				// A second press while cleaning up: leave, the caller still waits for it.
				return m, tea.Quit
			}
			m.cancelling = true
			if m.cancel != nil {
				m.cancel()
			}
		}
		return m, nil
	case tea.WindowSizeMsg:
		if msg.Width > 0 {
			m.width = msg.Width
		}
		m.height = msg.Height
		return m, nil
	case spinner.TickMsg:
		if m.done {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case StepMsg:
		m.steps = cloneSteps(m.steps)
		for i, s := range m.steps {
			if s.id != msg.ID {
				continue
			}
			s.started, s.state, s.detail = true, msg.State, msg.Detail
			if msg.State == report.StepRunning && msg.ID != verify.StepCleanup {
				m.current = i
			}
		}
		return m, nil
	case EventMsg:
		ev := check.Event(msg)
		if ev.Type == check.TypeResult {
			m.verdict = &ev
			return m, nil
		}
		m.steps = cloneSteps(m.steps)
		s := m.steps[m.current]
		s.items = append(s.items, item{ev: &ev})
		return m, nil
	case RawMsg:
		m.steps = cloneSteps(m.steps)
		s := m.steps[m.current]
		s.items = append(s.items, item{raw: string(msg)})
		return m, nil
	case DoneMsg:
		m.done, m.err = true, msg.Err
		return m, tea.Quit
	}
	return m, nil
}

// cloneSteps copies the steps before a change, so a Model value stays what it was: tests keep
// one to compare, and bubbletea hands them around by value.
func cloneSteps(steps []*step) []*step {
	out := make([]*step, len(steps))
	for i, s := range steps {
		c := *s
		c.items = append([]item(nil), s.items...)
		out[i] = &c
	}
	return out
}

// Done reports whether the run has ended.
func (m Model) Done() bool { return m.done }

// Cancelled reports whether the user pressed q or Ctrl-C.
func (m Model) Cancelled() bool { return m.cancelling }

// Err is the error the run ended with.
func (m Model) Err() error { return m.err }

// View is the live checklist; empty once the run is done, since Report follows it. It fits
// the terminal's height: the running step shows its latest checks, finished steps only what
// failed or warned.
func (m Model) View() string {
	if m.done {
		return ""
	}
	var head, cur, tail strings.Builder
	m.header(&head)
	for i, s := range m.steps {
		b := &head
		if i > m.current {
			b = &tail
		}
		m.stepLine(b, s)
		if i == m.current {
			continue
		}
		for _, it := range s.items {
			if it.ev != nil && (it.ev.Status == check.StatusFail || it.ev.Status == check.StatusWarn) {
				m.itemLines(b, it)
			}
		}
	}
	if m.verdict != nil {
		// The fixes are under the failed checks; Report lists them again.
		m.verdictLines(&tail, false)
	}
	tail.WriteString("\n")
	if m.cancelling {
		tail.WriteString(m.styles.faint.Render(m.cancelNote) + "\n")
	} else {
		tail.WriteString(m.styles.faint.Render("q: cancel") + "\n")
	}
	// The running step's items: those that failed or warned, then the latest that fit.
	stepItems := m.steps[m.current].items
	items := make([]string, len(stepItems))
	show := make([]bool, len(stepItems))
	used := 0
	for i, it := range stepItems {
		var b strings.Builder
		m.itemLines(&b, it)
		items[i] = b.String()
		if it.ev != nil && (it.ev.Status == check.StatusFail || it.ev.Status == check.StatusWarn) {
			show[i] = true
			used += lines(items[i])
		}
	}
	budget := m.height - lines(head.String()) - lines(tail.String()) - used - 1 // a line for "… N more"
	for i := len(items) - 1; i >= 0; i-- {
		if show[i] {
			continue
		}
		if n := lines(items[i]); m.height <= 0 || n <= budget {
			show[i] = true
			budget -= n
		} else {
			break
		}
	}
	hidden := 0
	for i := range items {
		if !show[i] {
			hidden++
		}
	}
	if hidden > 0 {
		cur.WriteString(m.styles.faint.Render(fmt.Sprintf("    … %d more", hidden)) + "\n")
	}
	for i, it := range items {
		if show[i] {
			cur.WriteString(it)
		}
	}
	return head.String() + cur.String() + tail.String()
}

func lines(s string) int { return strings.Count(s, "\n") }

// Report is the whole checklist, every check with its details, and the verdict: what stays
// in the terminal after the run.
func (m Model) Report() string {
	m.report = true // m is a copy: the live view keeps wrapping its fixes
	var b strings.Builder
	m.header(&b)
	for _, s := range m.steps {
		m.stepLine(&b, s)
		for _, it := range s.items {
			m.itemLines(&b, it)
		}
	}
	switch {
	case m.verdict != nil:
		m.verdictLines(&b, true)
	case errors.Is(m.err, context.Canceled) || m.cancelling:
		b.WriteString("\n" + m.styles.fail.Render("✗ interrupted") + "\n")
	case m.err != nil:
		b.WriteString("\n" + m.styles.fail.Render("✗ stopped") + " " + m.wrap(m.err.Error(), 10, 10) + "\n")
	}
	return b.String()
}

func (m Model) header(b *strings.Builder) {
	if m.title != "" {
		b.WriteString(m.styles.title.Render(m.title) + "\n\n")
	}
}

func (m Model) stepLine(b *strings.Builder, s *step) {
	title := m.titles[s.id]
	var mark string
	switch {
	case !s.started && m.done:
		mark, title = m.styles.faint.Render("–"), m.styles.faint.Render(title)
	case !s.started:
		mark, title = m.styles.faint.Render("·"), m.styles.faint.Render(title)
	case s.state == report.StepRunning && !m.done:
		mark = m.spinner.View()
	case s.state == report.StepRunning:
		// The run ended while this step ran: interrupted or stopped.
		mark = m.styles.fail.Render("✗")
		if s.detail == "" {
			s = &step{id: s.id, detail: "did not finish"}
		}
	default:
		mark = m.markFor(s)
	}
	line := mark + " " + title
	if s.detail != "" {
		line += "  " + styleLines(m.styles.faint, m.wrap(render.Clean(s.detail), ansi.StringWidth(m.titles[s.id])+4, 4))
	}
	b.WriteString(line + "\n")
}

// markFor is a finished step's mark: the worst of its checks, or failed.
func (m Model) markFor(s *step) string {
	worst := check.StatusPass
	if s.state == report.StepFailed {
		worst = check.StatusFail
	}
	for _, it := range s.items {
		if it.ev == nil || it.ev.Type != check.TypeCheck {
			continue
		}
		switch it.ev.Status {
		case check.StatusFail:
			worst = check.StatusFail
		case check.StatusWarn:
			if worst != check.StatusFail {
				worst = check.StatusWarn
			}
		case check.StatusPass, check.StatusSkip:
		}
	}
	return m.statusMark(worst)
}

func (m Model) statusMark(s check.Status) string {
	switch s {
	case check.StatusPass:
		return m.styles.pass.Render("✓")
	case check.StatusFail:
		return m.styles.fail.Render("✗")
	case check.StatusWarn:
		return m.styles.warn.Render("!")
	case check.StatusSkip:
		return m.styles.faint.Render("–")
	}
	return "?"
}

// itemLines writes one check (with its fix under it when it failed or warned), info or raw
// line, indented under its step.
func (m Model) itemLines(b *strings.Builder, it item) { m.itemLinesAt(b, it, 4) }

// itemLinesAt is itemLines indented by indent columns: a run's own events, under no step, by
// none.
func (m Model) itemLinesAt(b *strings.Builder, it item, indent int) {
	if it.ev == nil {
		b.WriteString(strings.Repeat(" ", indent+2) + styleLines(m.styles.faint, "| "+m.wrap(render.Clean(it.raw), indent+4, indent+4)) + "\n")
		return
	}
	ev := it.ev
	mark := m.styles.faint.Render("i")
	if ev.Type == check.TypeCheck {
		mark = m.statusMark(ev.Status)
	}
	head := ev.Check + "  "
	msg := m.wrap(render.Clean(ev.Message), indent+2+ansi.StringWidth(head), indent+2)
	if ev.Type == check.TypeInfo || ev.Status == check.StatusSkip || ev.Status == check.StatusPass {
		msg = styleLines(m.styles.faint, msg)
	}
	b.WriteString(strings.Repeat(" ", indent) + mark + " " + m.styles.name.Render(ev.Check) + "  " + msg + "\n")
	if ev.Detail != "" && (m.report || ev.Status == check.StatusFail || ev.Status == check.StatusWarn) {
		// As it is, unwrapped: a diff read line by line.
		for _, l := range strings.Split(strings.TrimRight(ev.Detail, "\n"), "\n") {
			b.WriteString(strings.Repeat(" ", indent+2) + styleLines(m.styles.faint, render.Clean(l)) + "\n")
		}
	}
	if ev.Fix != "" && (ev.Status == check.StatusFail || ev.Status == check.StatusWarn) {
		for _, f := range strings.Split(ev.Fix, "\n") {
			if f = strings.TrimSpace(f); f != "" {
				b.WriteString(strings.Repeat(" ", indent+2) + styleLines(m.styles.fix, "fix: "+m.wrapFix(render.Clean(f), indent+7)) + "\n")
			}
		}
	}
}

func (m Model) verdictLines(b *strings.Builder, fixes bool) {
	v := m.verdict
	label := map[check.Status]string{check.StatusPass: "PASS", check.StatusWarn: "WARN", check.StatusFail: "FAIL", check.StatusSkip: "SKIP"}[v.Status]
	style := m.styles.pass
	switch v.Status {
	case check.StatusFail:
		style = m.styles.fail
	case check.StatusWarn:
		style = m.styles.warn
	case check.StatusPass, check.StatusSkip:
	}
	b.WriteString("\n" + m.statusMark(v.Status) + " " + style.Render(label) + "  " + m.wrap(render.Clean(v.Message), 8, 8) + "\n")
	for _, f := range strings.Split(v.Fix, "\n") {
		if f = strings.TrimSpace(f); f != "" && fixes {
			b.WriteString("  " + styleLines(m.styles.fix, "fix: "+m.wrapFix(render.Clean(f), 7)) + "\n")
		}
	}
}

// wrapFix wraps a fix for the live view, which must fit the window; the report prints it
// whole, so that no command in it is broken across lines.
func (m Model) wrapFix(s string, indent int) string {
	if m.report {
		return s
	}
	return m.wrap(s, indent, indent)
}

// wrap wraps s to the width left after first columns on its first line, indenting the
// following lines by hang columns.
func (m Model) wrap(s string, first, hang int) string {
	limit := m.width - first
	if limit < 20 {
		limit = 20
	}
	lines := strings.Split(ansi.Wrap(s, limit, ""), "\n")
	if len(lines) == 1 {
		return s
	}
	// Lines after the first have hang columns before them, not first: rewrap the rest.
	rest := strings.Join(lines[1:], " ")
	if after, ok := strings.CutPrefix(s, lines[0]); ok {
		// From s itself: a line broken after a hyphen ("add-" "on") is no word apart.
		rest = strings.TrimLeft(after, " ")
	}
	restLimit := m.width - hang
	if restLimit < 20 {
		restLimit = 20
	}
	out := []string{lines[0]}
	for _, l := range strings.Split(ansi.Wrap(rest, restLimit, ""), "\n") {
		out = append(out, strings.Repeat(" ", hang)+l)
	}
	return strings.Join(out, "\n")
}

// styleLines styles each line of s on its own: lipgloss pads a block of lines to one width.
func styleLines(st lipgloss.Style, s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lead := len(l) - len(strings.TrimLeft(l, " "))
		lines[i] = l[:lead] + st.Render(l[lead:])
	}
	return strings.Join(lines, "\n")
}

type styles struct {
	title, name, faint, running, pass, fail, warn, fix lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		title:   r.NewStyle().Bold(true),
		name:    r.NewStyle().Bold(true),
		faint:   r.NewStyle().Faint(true),
		running: r.NewStyle().Foreground(lipgloss.Color("12")),
		pass:    r.NewStyle().Foreground(lipgloss.Color("10")),
		fail:    r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		warn:    r.NewStyle().Foreground(lipgloss.Color("11")),
		fix:     r.NewStyle().Foreground(lipgloss.Color("11")),
	}
}

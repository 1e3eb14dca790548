package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

const title = "kubectl wi verify serviceaccount/checkout -n shop"

// asciiRenderer draws no colour, as with NO_COLOR, so golden files hold plain text.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func newModel(cancel func()) Model {
	m := New(Options{Title: title, Renderer: asciiRenderer(), Cancel: cancel})
	return update(m, tea.WindowSizeMsg{Width: 80, Height: 24})
}

func update(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	return m
}

// runMsgs turns a recorded verify stream (testdata/streams at the repository's root) into the
// messages a run sends: each step started, its events, each step ended, the verdict, cleanup.
func runMsgs(t *testing.T, stream string) []tea.Msg {
	t.Helper()
	f, err := os.Open("../../../testdata/streams/" + stream)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		msgs []tea.Msg
		cur  report.StepID
		pod  string
	)
	stepOf := func(name string) report.StepID {
		switch {
		case strings.HasPrefix(name, "outside."):
			return verify.StepOutside
		case name == verify.CheckPodCreate:
			return verify.StepCreate
		case name == verify.CheckPodStart:
			return verify.StepStart
		case strings.HasPrefix(name, "pod."):
			return verify.StepStored
		}
		return verify.StepProbe
	}
	end := func() {
		if cur == "" {
			return
		}
		detail := ""
		switch cur {
		case verify.StepCreate:
			detail = pod
		case verify.StepStart:
			detail = "on node localhost"
		case verify.StepOutside, verify.StepAttach, verify.StepStored, verify.StepProbe, verify.StepCleanup:
		}
		msgs = append(msgs, StepMsg{ID: cur, State: report.StepDone, Detail: detail})
	}
	err = check.ReadLines(f, func(l check.Line) error {
		if l.Event == nil {
			msgs = append(msgs, RawMsg(l.Raw))
			return nil
		}
		ev := *l.Event
		if ev.Type == check.TypeResult {
			end()
			cur = ""
			msgs = append(msgs, EventMsg(ev))
			return nil
		}
		if s := stepOf(ev.Check); s != cur {
			end()
			cur = s
			detail := ""
			if s == verify.StepStart {
				detail = "Pending: ContainerCreating"
			}
			msgs = append(msgs, StepMsg{ID: s, State: report.StepRunning, Detail: detail})
		}
		if ev.Check == verify.CheckPodCreate {
			pod = ev.Data["namespace"].(string) + "/" + ev.Data["pod"].(string)
		}
		msgs = append(msgs, EventMsg(ev))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(msgs,
		StepMsg{ID: verify.StepCleanup, State: report.StepRunning, Detail: "deleting " + pod},
		StepMsg{ID: verify.StepCleanup, State: report.StepDone, Detail: "deleted " + pod},
	)
}

// upTo returns the messages before the first that matches.
func upTo(msgs []tea.Msg, match func(tea.Msg) bool) []tea.Msg {
	for i, m := range msgs {
		if match(m) {
			return msgs[:i]
		}
	}
	return msgs
}

func isEvent(name string) func(tea.Msg) bool {
	return func(m tea.Msg) bool { ev, ok := m.(EventMsg); return ok && ev.Check == name }
}

// TestView is the live view at the moments a user sees it.
func TestView(t *testing.T) {
	msgs := runMsgs(t, "verify-trust-policy.jsonl")
	tests := []struct {
		name string
		msgs []tea.Msg
	}{
		{name: "initial"},
		{name: "outside", msgs: upTo(msgs, isEvent("outside.issuer"))},
		{name: "waiting", msgs: upTo(msgs, isEvent("pod.start"))},
		{name: "probe running", msgs: upTo(msgs, isEvent("sts.assume_role"))},
		{name: "verdict", msgs: upTo(msgs, func(m tea.Msg) bool { s, ok := m.(StepMsg); return ok && s.ID == verify.StepCleanup })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := update(newModel(nil), tt.msgs...)
			golden.RequireEqual(t, []byte(m.View()))
		})
	}
}

// TestReport is what stays on the terminal after each recorded run.
func TestReport(t *testing.T) {
	for _, name := range []string{"pass", "trust-policy", "audience", "minio", "not-mutated"} {
		t.Run(name, func(t *testing.T) {
			m := update(newModel(nil), runMsgs(t, "verify-"+name+".jsonl")...)
			m = update(m, DoneMsg{})
			if m.View() != "" {
				t.Errorf("the live view stays after the run: %q", m.View())
			}
			golden.RequireEqual(t, []byte(m.Report()))
		})
	}
}

// TestCancel: q cancels the run once and says it cleans up; the run then ends interrupted.
func TestCancel(t *testing.T) {
	cancels := 0
	msgs := runMsgs(t, "verify-pass.jsonl")
	m := update(newModel(func() { cancels++ }), upTo(msgs, isEvent("token.audience"))...)

	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	m = next.(Model)
	if cancels != 1 || !m.Cancelled() || cmd != nil {
		t.Fatalf("after q: %d cancels, cancelled %v, cmd %v; want the run cancelled and the program kept for the cleanup", cancels, m.Cancelled(), cmd)
	}
	golden.RequireEqual(t, []byte(m.View()))

	m = update(m, StepMsg{ID: verify.StepCleanup, State: report.StepDone, Detail: "deleted shop/wi-probe-cngbh"})
	next, cmd = m.Update(DoneMsg{Err: context.Canceled})
	m = next.(Model)
	if !m.Done() || cmd == nil {
		t.Fatal("the program does not quit when the run ends")
	}
	if r := m.Report(); !strings.Contains(r, "✗ interrupted") || !strings.Contains(r, "✓ Delete the probe pod  deleted shop/wi-probe-cngbh") {
		t.Errorf("report:\n%s", r)
	}
}

func TestCtrlCTwiceQuits(t *testing.T) {
	m := newModel(func() {})
	m = update(m, tea.KeyMsg{Type: tea.KeyCtrlC})
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC}); cmd == nil {
		t.Error("a second Ctrl-C does not quit")
	}
}

// TestNoColor: NO_COLOR gives plain text; a colour terminal without it gets colours.
func TestNoColor(t *testing.T) {
	msgs := runMsgs(t, "verify-trust-policy.jsonl")
	for _, tt := range []struct {
		env      fakeEnv
		wantESC  bool
		wantName string
	}{
		{env: fakeEnv{"TERM": "xterm-256color"}, wantESC: true},
		{env: fakeEnv{"TERM": "xterm-256color", "NO_COLOR": "1"}, wantESC: false},
	} {
		r := lipgloss.NewRenderer(&bytes.Buffer{}, termenv.WithTTY(true), termenv.WithEnvironment(tt.env))
		m := update(New(Options{Title: title, Renderer: r}), msgs...)
		m = update(m, DoneMsg{})
		if got := strings.Contains(m.Report(), "\x1b["); got != tt.wantESC {
			t.Errorf("env %v: escape codes %v, want %v", tt.env, got, tt.wantESC)
		}
	}
}

type fakeEnv map[string]string

func (e fakeEnv) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e fakeEnv) Getenv(k string) string { return e[k] }

// TestFlow runs the model in a real bubbletea program: the checklist streams in, q cancels,
// the run's cleanup is shown, and the program ends with the run.
func TestFlow(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cancelled := make(chan struct{})
	m := New(Options{Title: title, Renderer: asciiRenderer(), Cancel: func() { close(cancelled) }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))

	for _, msg := range upTo(runMsgs(t, "verify-pass.jsonl"), isEvent("sts.assume_role")) {
		tm.Send(msg)
	}
	waitOutput(t, tm, "sts.endpoint", "q: cancel")
	pressQ(t, tm, cancelled, "cancelling: deleting the probe pod")
	// The run notices, cleans up and returns.
	tm.Send(StepMsg{ID: verify.StepCleanup, State: report.StepDone, Detail: "deleted shop/wi-probe-cngbh"})
	tm.Send(DoneMsg{Err: context.Canceled})

	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if !final.Done() || !final.Cancelled() || !errors.Is(final.Err(), context.Canceled) {
		t.Errorf("final model: done %v cancelled %v err %v", final.Done(), final.Cancelled(), final.Err())
	}
	golden.RequireEqual(t, []byte(final.Report()))
}

// TestReportKeepsFixesWhole: in a narrow terminal the live view wraps a fix to fit, but the
// report that stays prints each fix on one line, so a command in it pastes whole.
func TestReportKeepsFixesWhole(t *testing.T) {
	fix := "kubectl rollout resume deployment/checkout-with-a-long-name -n shop && kubectl rollout restart deployment/checkout-with-a-long-name -n shop"
	m := update(New(Options{Title: title, Renderer: asciiRenderer()}), tea.WindowSizeMsg{Width: 40, Height: 24},
		StepMsg{ID: verify.StepOutside, State: report.StepRunning},
		EventMsg{Check: "outside.service_account", Status: check.StatusFail, Message: "stale pods", Fix: fix},
	)
	if strings.Contains(m.View(), fix) {
		t.Fatalf("the live view does not wrap the fix to its 40 columns:\n%s", m.View())
	}
	m = update(m, DoneMsg{})
	if !strings.Contains(m.Report(), "fix: "+fix+"\n") {
		t.Fatalf("the report breaks the fix:\n%s", m.Report())
	}
}

// waitOutput waits until the program's output has shown every one of want.
func waitOutput(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// pressQ types q, requires the run's cancel to be called, and waits for the view to say
// cancelling (what it is doing about it).
func pressQ(t *testing.T, tm *teatest.TestModel, cancelled <-chan struct{}, cancelling string) {
	t.Helper()
	tm.Type("q")
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("q did not cancel the run")
	}
	waitOutput(t, tm, cancelling)
}

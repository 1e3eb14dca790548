// Package render writes a verify or explain run as plain text (one line per check, for logs and pipes)
// or as JSON lines (the events themselves), and a migration as migrate's lines (MigrateText)
// or as JSON lines. Each implements report.Reporter; the terminal UI is pkg/plugin/tui.
package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Text writes one line per check or info event, `PASS token.audience  aud contains ...`, a
// line of the probe's output that is not an event indented, and the verdict last with its
// fixes. It writes no colour or other control codes, whatever the terminal.
type Text struct {
	out *writer
	// lead starts every line: a fleet's Text leads with the account.
	lead string
	// fleet: one account's lines among a fleet's, with no blank line before the verdict.
	fleet bool
}

// NewText writes to w.
func NewText(w io.Writer) *Text { return &Text{out: &writer{w: w}} }

// Err is the first write error.
func (t *Text) Err() error { return t.out.err }

// Step implements report.Reporter: plain text shows the results, not the progress.
func (t *Text) Step(report.Step) {}

// Event implements report.Reporter.
func (t *Text) Event(ev check.Event) {
	switch ev.Type {
	case check.TypeCheck:
		t.line("%s %s  %s", Label(ev.Status), ev.Check, Clean(ev.Message))
		for _, l := range strings.Split(strings.TrimRight(ev.Detail, "\n"), "\n") {
			if l != "" {
				t.line("       %s", Clean(l))
			}
		}
	case check.TypeInfo:
		t.line("INFO %s  %s", ev.Check, Clean(ev.Message))
	case check.TypeResult:
		if !t.fleet {
			t.out.printf("\n")
		}
		t.line("%s %s", Label(ev.Status), Clean(ev.Message))
		for _, fix := range Fixes(ev.Fix) {
			t.line("  fix: %s", fix)
		}
	}
}

// Raw implements report.Reporter.
func (t *Text) Raw(line string) { t.line("     %s", Clean(line)) }

// line writes one line after the lead.
func (t *Text) line(format string, args ...any) {
	t.out.printf("%s%s\n", t.lead, fmt.Sprintf(format, args...))
}

// writer is where the text writers write, keeping the first error and writing nothing after it.
type writer struct {
	w   io.Writer
	err error
}

func (w *writer) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}

// Label is a status in capitals, four letters wide: PASS WARN FAIL SKIP.
func Label(s check.Status) string {
	switch s {
	case check.StatusPass:
		return "PASS"
	case check.StatusWarn:
		return "WARN"
	case check.StatusFail:
		return "FAIL"
	case check.StatusSkip:
		return "SKIP"
	}
	return strings.ToUpper(string(s))
}

// Fixes splits a result's fix into its lines.
func Fixes(fix string) []string {
	var out []string
	for _, f := range strings.Split(fix, "\n") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, Clean(f))
		}
	}
	return out
}

// Clean drops control characters, so nothing from a pod's log can move the cursor or set a
// colour on the user's terminal.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// JSON writes the events as JSON lines, as the probe does; a line of the probe's output that
// is not an event becomes an info event probe.output, so every line of the stream decodes.
type JSON struct {
	sink *check.JSONSink
	now  func() time.Time
	err  error
}

// NewJSON writes to w; now stamps the probe.output events.
func NewJSON(w io.Writer, now func() time.Time) *JSON {
	if now == nil {
		now = time.Now
	}
	return &JSON{sink: check.NewJSONSink(w), now: now}
}

// Err is the first write error.
func (j *JSON) Err() error { return j.err }

// Step implements report.Reporter: progress is not an event.
func (j *JSON) Step(report.Step) {}

// Event implements report.Reporter.
func (j *JSON) Event(ev check.Event) {
	if j.err == nil {
		j.err = j.sink.Emit(ev)
	}
}

// Raw implements report.Reporter.
func (j *JSON) Raw(line string) { j.Event(j.rawEvent(line)) }

// rawEvent is a line of the probe's output that is not an event, as an info event.
func (j *JSON) rawEvent(line string) check.Event {
	return check.Event{
		V: check.ProtocolVersion, Time: j.now().UTC(), Type: check.TypeInfo, Check: verify.CheckProbeOutput,
		Message: line, Data: map[string]any{"raw": true},
	}
}

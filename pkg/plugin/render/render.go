// Package render writes a verify or explain run as plain text (one line per check, for logs and pipes)
// or as JSON lines (the events themselves). Both implement verify.Reporter; the terminal UI
// is pkg/plugin/tui.
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
	w   io.Writer
	err error
}

// NewText writes to w.
func NewText(w io.Writer) *Text { return &Text{w: w} }

// Err is the first write error.
func (t *Text) Err() error { return t.err }

// Step implements verify.Reporter: plain text shows the results, not the progress.
func (t *Text) Step(report.Step) {}

// Event implements verify.Reporter.
func (t *Text) Event(ev check.Event) {
	switch ev.Type {
	case check.TypeCheck:
		t.printf("%s %s  %s\n", Label(ev.Status), ev.Check, Clean(ev.Message))
		for _, l := range strings.Split(strings.TrimRight(ev.Detail, "\n"), "\n") {
			if l != "" {
				t.printf("       %s\n", Clean(l))
			}
		}
	case check.TypeInfo:
		t.printf("INFO %s  %s\n", ev.Check, Clean(ev.Message))
	case check.TypeResult:
		t.printf("\n%s %s\n", Label(ev.Status), Clean(ev.Message))
		for _, fix := range Fixes(ev.Fix) {
			t.printf("  fix: %s\n", fix)
		}
	}
}

// Raw implements verify.Reporter.
func (t *Text) Raw(line string) { t.printf("     %s\n", Clean(line)) }

func (t *Text) printf(format string, args ...any) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.w, format, args...)
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

// Step implements verify.Reporter: progress is not an event.
func (j *JSON) Step(report.Step) {}

// Event implements verify.Reporter.
func (j *JSON) Event(ev check.Event) {
	if j.err == nil {
		j.err = j.sink.Emit(ev)
	}
}

// Raw implements verify.Reporter.
func (j *JSON) Raw(line string) { j.Event(j.rawEvent(line)) }

// rawEvent is a line of the probe's output that is not an event, as an info event.
func (j *JSON) rawEvent(line string) check.Event {
	return check.Event{
		V: check.ProtocolVersion, Time: j.now().UTC(), Type: check.TypeInfo, Check: verify.CheckProbeOutput,
		Message: line, Data: map[string]any{"raw": true},
	}
}

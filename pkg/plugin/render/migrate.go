package render

import (
	"io"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// MigrateText writes a migration as lines of text: each of migrate's own events as its words
// (its message, then its detail's lines), a warning led by "Warning: ", and the verdict
// unless the run already said it in those words (a dry run's plan heads it). Progress and
// warnings go to errOut, the rest to out. The proofs' events, forwarded from verify, and each
// account's outcome (the verdict's lines name the failed ones) are for -o json.
type MigrateText struct {
	out, errOut *writer
	said        map[string]bool // the messages written
}

// NewMigrateText writes to out and errOut.
func NewMigrateText(out, errOut io.Writer) *MigrateText {
	return &MigrateText{out: &writer{w: out}, errOut: &writer{w: errOut}, said: map[string]bool{}}
}

// Err is the first write error.
func (m *MigrateText) Err() error {
	if m.out.err != nil {
		return m.out.err
	}
	return m.errOut.err
}

// Step implements report.Reporter: a step's progress, in words.
func (m *MigrateText) Step(s report.Step) {
	if s.Detail != "" {
		m.errOut.printf("%s\n", Clean(s.Detail))
	}
}

// Event implements report.Reporter.
func (m *MigrateText) Event(ev check.Event) {
	switch {
	case ev.Type == check.TypeResult && ev.Account == "":
		if m.said[ev.Message] {
			return
		}
	case !strings.HasPrefix(ev.Check, podidentity.CheckPrefix), ev.Check == podidentity.CheckAccount:
		return
	}
	w, lead := m.out, ""
	if ev.Type == check.TypeCheck && ev.Status == check.StatusWarn {
		w, lead = m.errOut, "Warning: "
	}
	m.said[ev.Message] = true
	text := ev.Message
	if ev.Detail != "" {
		text += "\n" + ev.Detail
	}
	for _, l := range strings.Split(text, "\n") {
		w.printf("%s%s\n", lead, Clean(l))
		lead = ""
	}
}

// Raw implements report.Reporter: migrate's proofs forward events alone.
func (m *MigrateText) Raw(string) {}

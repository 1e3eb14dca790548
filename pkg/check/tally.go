package check

import (
	"fmt"
	"slices"
	"strings"
)

// Tally counts a run's checks and gathers their fixes for the verdict: verify's and explain's
// runs word their verdicts alike.
type Tally struct {
	Checks, Failed, Warned int
	fixes, warnFixes       []string
}

// Count takes one event; only checks count.
func (t *Tally) Count(ev Event) {
	if ev.Type != TypeCheck {
		return
	}
	t.Checks++
	switch ev.Status {
	case StatusFail:
		t.Failed++
		t.fixes = appendFix(t.fixes, ev.Fix)
	case StatusWarn:
		t.Warned++
		t.warnFixes = appendFix(t.warnFixes, ev.Fix)
	case StatusPass, StatusSkip:
	}
}

// Verdict is the verdict's status and message, and its fixes: those of the failed checks, or
// of the warned ones when none failed, each once, one per line.
func (t *Tally) Verdict() (status Status, msg, fix string) {
	switch {
	case t.Failed > 0:
		msg = fmt.Sprintf("%d of %d checks failed", t.Failed, t.Checks)
		if t.Warned > 0 {
			msg += fmt.Sprintf(", %d warned", t.Warned)
		}
		return StatusFail, msg, strings.Join(t.fixes, "\n")
	case t.Warned > 0:
		return StatusWarn, fmt.Sprintf("%d checks passed or skipped, %d warned", t.Checks-t.Warned, t.Warned), strings.Join(t.warnFixes, "\n")
	}
	return StatusPass, fmt.Sprintf("all %d checks passed", t.Checks), ""
}

func appendFix(fixes []string, fix string) []string {
	for _, f := range strings.Split(fix, "\n") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(fixes, f) {
			fixes = append(fixes, f)
		}
	}
	return fixes
}

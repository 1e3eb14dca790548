package verify

import (
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

func TestTally(t *testing.T) {
	var tl Tally
	for _, ev := range []probe.Event{
		{Type: probe.TypeInfo, Check: "pod.create"},
		{Type: probe.TypeCheck, Status: probe.StatusPass},
		{Type: probe.TypeCheck, Status: probe.StatusWarn, Fix: "warned fix"},
		{Type: probe.TypeCheck, Status: probe.StatusFail, Fix: "first fix\n  second fix"},
		{Type: probe.TypeCheck, Status: probe.StatusFail, Fix: "first fix"},
	} {
		tl.Count(ev)
	}
	if st, msg, fix := tl.Verdict(); st != probe.StatusFail || msg != "2 of 4 checks failed, 1 warned" || fix != "first fix\nsecond fix" {
		t.Errorf("verdict %s %q %q", st, msg, fix)
	}
	warned := Tally{}
	warned.Count(probe.Event{Type: probe.TypeCheck, Status: probe.StatusWarn, Fix: "warned fix"})
	if st, msg, fix := warned.Verdict(); st != probe.StatusWarn || msg != "0 checks passed or skipped, 1 warned" || fix != "warned fix" {
		t.Errorf("verdict %s %q %q", st, msg, fix)
	}
	if st, msg, _ := (&Tally{Checks: 3}).Verdict(); st != probe.StatusPass || msg != "all 3 checks passed" {
		t.Errorf("verdict %s %q", st, msg)
	}
}

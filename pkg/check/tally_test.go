package check

import (
	"testing"
)

func TestTally(t *testing.T) {
	var tl Tally
	for _, ev := range []Event{
		{Type: TypeInfo, Check: "pod.create"},
		{Type: TypeCheck, Status: StatusPass},
		{Type: TypeCheck, Status: StatusWarn, Fix: "warned fix"},
		{Type: TypeCheck, Status: StatusFail, Fix: "first fix\n  second fix"},
		{Type: TypeCheck, Status: StatusFail, Fix: "first fix"},
	} {
		tl.Count(ev)
	}
	if st, msg, fix := tl.Verdict(); st != StatusFail || msg != "2 of 4 checks failed, 1 warned" || fix != "first fix\nsecond fix" {
		t.Errorf("verdict %s %q %q", st, msg, fix)
	}
	warned := Tally{}
	warned.Count(Event{Type: TypeCheck, Status: StatusWarn, Fix: "warned fix"})
	if st, msg, fix := warned.Verdict(); st != StatusWarn || msg != "0 checks passed or skipped, 1 warned" || fix != "warned fix" {
		t.Errorf("verdict %s %q %q", st, msg, fix)
	}
	if st, msg, _ := (&Tally{Checks: 3}).Verdict(); st != StatusPass || msg != "all 3 checks passed" {
		t.Errorf("verdict %s %q", st, msg)
	}
}

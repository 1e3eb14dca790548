package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

var (
	accA = verify.Account{Namespace: "shop", Name: "a"}
	accB = verify.Account{Namespace: "shop", Name: "b"}
)

func fleetEvents(rep verify.FleetReporter) []verify.AccountResult {
	rep.Start(accA)
	rep.Start(accB)
	rep.Event(accA, check.Event{V: 1, Type: check.TypeCheck, Check: "token.audience", Status: check.StatusPass, Message: "aud contains sts.amazonaws.com"})
	rep.Raw(accB, "panic: something")
	rep.Event(accB, check.Event{V: 1, Type: check.TypeResult, Status: check.StatusFail, Message: "1 of 9 checks failed", Fix: "fix the trust policy"})
	rep.Event(accA, check.Event{V: 1, Type: check.TypeResult, Status: check.StatusPass, Message: "all 9 checks passed"})
	rep.Done(accA, verify.Outcome{Status: check.StatusPass, Checks: 9}, nil)
	rep.Done(accB, verify.Outcome{Status: check.StatusFail, Checks: 9, Failed: 1}, nil)
	return []verify.AccountResult{
		{Account: accA, Started: true, Outcome: verify.Outcome{Status: check.StatusPass, Checks: 9}},
		{Account: accB, Started: true, Outcome: verify.Outcome{Status: check.StatusFail, Checks: 9, Failed: 1}},
		{Account: verify.Account{Namespace: "shop", Name: "c"}},
		{Account: verify.Account{Namespace: "shop", Name: "d"}, Started: true, Err: errors.New("the probe pod shop/wi-probe-x did not run")},
	}
}

func TestFleetText(t *testing.T) {
	var buf bytes.Buffer
	f := NewFleetText(&buf)
	f.Summary(fleetEvents(f))
	want := `shop/a  PASS token.audience  aud contains sts.amazonaws.com
shop/b       panic: something
shop/b  FAIL 1 of 9 checks failed
shop/b    fix: fix the trust policy
shop/a  PASS all 9 checks passed

PASS shop/a  9 checks, 0 failed, 0 warned
FAIL shop/b  9 checks, 1 failed, 0 warned
SKIP shop/c  not proven: interrupted before its turn
FAIL shop/d  the probe pod shop/wi-probe-x did not run

1 of 4 service accounts passed
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// Every JSON line carries its account.
func TestFleetJSON(t *testing.T) {
	var buf bytes.Buffer
	f := NewFleetJSON(&buf, func() time.Time { return time.Unix(0, 0) })
	fleetEvents(f)
	f.Done(accB, verify.Outcome{}, errors.New("interrupted"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		var ev check.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || (ev.Account != "shop/a" && ev.Account != "shop/b") {
			t.Errorf("line %s: account %q, err %v", l, ev.Account, err)
		}
	}
	if !strings.Contains(lines[4], `"check":"run.error"`) {
		t.Errorf("the run's error is not an event: %s", lines[4])
	}
}

// The fleet's verdict is the last JSON line, as the text summary is: a result event with no
// account, failed when any account did not pass, with the tally and each account's status.
func TestFleetJSONSummary(t *testing.T) {
	pass := verify.AccountResult{Account: accA, Started: true, Outcome: verify.Outcome{Status: check.StatusPass, Checks: 9}}
	tests := []struct {
		name        string
		results     []verify.AccountResult
		wantStatus  check.Status
		wantMessage string
		wantPassed  float64
	}{
		{name: "every account passed", results: []verify.AccountResult{pass}, wantStatus: check.StatusPass, wantMessage: "1 of 1 service accounts passed", wantPassed: 1},
		{name: "failed, errored and never started", results: fleetEvents(NewFleetJSON(&bytes.Buffer{}, nil)), wantStatus: check.StatusFail, wantMessage: "1 of 4 service accounts passed", wantPassed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			f := NewFleetJSON(&buf, func() time.Time { return time.Unix(0, 0) })
			f.Summary(tt.results)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			var ev check.Event
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
				t.Fatal(err)
			}
			if err := ev.Valid(); err != nil {
				t.Errorf("the summary is not a valid event: %v", err)
			}
			if ev.Type != check.TypeResult || ev.Account != "" || ev.Status != tt.wantStatus || ev.Message != tt.wantMessage ||
				ev.Data["passed"] != tt.wantPassed || ev.Data["total"] != float64(len(tt.results)) {
				t.Errorf("summary %+v, want a %s result %q with no account", ev, tt.wantStatus, tt.wantMessage)
			}
			accounts, _ := ev.Data["accounts"].([]any)
			if len(accounts) != len(tt.results) {
				t.Fatalf("accounts %v, want one per result", ev.Data["accounts"])
			}
			for i, a := range accounts {
				m, _ := a.(map[string]any)
				if m["account"] != tt.results[i].Account.String() {
					t.Errorf("accounts[%d] = %v, want %s", i, m, tt.results[i].Account)
				}
			}
		})
	}
}

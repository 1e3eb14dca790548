package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

func fleetUpdate(m FleetModel, msgs ...tea.Msg) FleetModel {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(FleetModel)
	}
	return m
}

// One live row per account: waiting, its current step, or its verdict; a report at the end
// with every account and the failed checks' fixes.
func TestFleetModel(t *testing.T) {
	a, b, c := verify.Account{Namespace: "shop", Name: "a"}, verify.Account{Namespace: "shop", Name: "b"}, verify.Account{Namespace: "shop", Name: "c"}
	m := NewFleet(Options{Title: "kubectl wi verify -n shop", Renderer: asciiRenderer()}, []verify.Account{a, b, c})
	m = fleetUpdate(m, tea.WindowSizeMsg{Width: 100, Height: 40},
		AccountStartMsg{a}, AccountStartMsg{b},
		AccountStepMsg{a, report.Step{ID: verify.StepStart, State: report.StepRunning, Detail: "Pending: ContainerCreating"}},
		AccountEventMsg{b, check.Event{Type: check.TypeCheck, Check: "sts.assume_role", Status: check.StatusFail, Message: "AccessDenied", Fix: "allow system:serviceaccount:shop:b in the trust policy"}},
		AccountEventMsg{b, check.Event{Type: check.TypeResult, Status: check.StatusFail, Message: "1 of 9 checks failed"}},
		AccountDoneMsg{b, nil},
	)
	before := m
	view := m.View()
	for _, want := range []string{"shop/a  Wait for the pod to run: Pending: ContainerCreating", "✗ shop/b  1 of 9 checks failed", "· shop/c  waiting",
		"1 running, 1 waiting; 0 passed, 0 warned, 1 failed"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	m = fleetUpdate(m, AccountEventMsg{a, check.Event{Type: check.TypeResult, Status: check.StatusPass, Message: "all 9 checks passed"}},
		AccountDoneMsg{a, nil}, DoneMsg{})
	if !m.Done() || m.View() != "" {
		t.Fatalf("done %v, view %q", m.Done(), m.View())
	}
	// The later updates gave shop/a its verdict: the earlier value must not show it.
	if v := before.View(); !strings.Contains(v, "shop/a  Wait for the pod to run") || strings.Contains(v, "all 9 checks passed") {
		t.Errorf("an update changed an earlier model value:\n%s", v)
	}
	report := m.Report()
	for _, want := range []string{"✓ shop/a  all 9 checks passed", "✗ shop/b  1 of 9 checks failed", "– shop/c  not proven: the run was cancelled before its turn",
		"fix: allow system:serviceaccount:shop:b in the trust policy", "1 of 3 service accounts passed, 1 failed, 1 not proven"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// A window shorter than the fleet shows the running and failed rows first.
func TestFleetModelShortWindow(t *testing.T) {
	var accounts []verify.Account
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		accounts = append(accounts, verify.Account{Namespace: "shop", Name: n})
	}
	m := NewFleet(Options{Title: "t", Renderer: asciiRenderer()}, accounts)
	m = fleetUpdate(m, tea.WindowSizeMsg{Width: 80, Height: 8}, AccountStartMsg{accounts[7]})
	view := m.View()
	if !strings.Contains(view, "shop/h") || strings.Contains(view, "shop/e") {
		t.Errorf("view does not put the running row first:\n%s", view)
	}
}

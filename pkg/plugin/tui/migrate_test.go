package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

const migrateTitle = "kubectl wi migrate -n shop --to pod-identity"

// Events of a migration, as podidentity.Run reports them.
func runInfo(name, msg string) check.Event {
	return check.Event{Type: check.TypeInfo, Check: name, Message: msg}
}

func accountCheck(account, name string, status check.Status, msg, fix string) check.Event {
	return check.Event{Type: check.TypeCheck, Check: name, Status: status, Account: account, Message: msg, Fix: fix}
}

// migrateRun is a migration of two accounts of shop, worker skipped at the pre-flight and api
// migrated, up to the verdict; its proof's checks come with api's account.
var migrateRun = []check.Event{
	runInfo(podidentity.CheckCluster, "pre-flight: EKS cluster prod (arn:aws:eks:us-west-2:111122223333:cluster/prod)"),
	{Type: check.TypeCheck, Check: "migrate.pre-flight", Status: check.StatusFail, Message: "pre-flight FAILED for serviceaccount/worker: the role other does not trust pods.eks.amazonaws.com. The policy to apply:",
		Detail: "  {\"Version\": \"2012-10-17\"}", Fix: "rerun with --write-trust"},
	runInfo(podidentity.CheckAgentState, "pre-flight: the Pod Identity agent: ready on 1 of 1 node(s)"),
	accountCheck("shop/worker", "migrate.pre-flight", check.StatusFail, "serviceaccount/worker: skipped, left untouched: the role other does not trust pods.eks.amazonaws.com", "rerun with --write-trust"),
	accountCheck("shop/api", "migrate.association", check.StatusPass, "podidentityassociation a-1 created: serviceaccount/api, role app", ""),
	accountCheck("shop/api", "pod.mutation", check.StatusPass, "the pod runs on EKS Pod Identity's container credentials", ""),
	{Type: check.TypeResult, Status: check.StatusPass, Account: "shop/api", Message: "all 12 checks passed"},
	accountCheck("shop/api", "migrate.verify", check.StatusPass, "serviceaccount/api: verified on EKS Pod Identity", ""),
	accountCheck("shop/api", "migrate.restart", check.StatusPass, "deployment.apps/api restarted: pod api-1 lacks EKS Pod Identity's container credentials", ""),
	accountCheck("shop/api", "migrate.new-pods", check.StatusPass, "serviceaccount/api: the new pods of deployment.apps/api carry Pod Identity's container credentials", ""),
	accountCheck("shop/api", podidentity.CheckAccount, check.StatusPass, "migrated to EKS Pod Identity", ""),
	accountCheck("shop/worker", podidentity.CheckAccount, check.StatusFail, "skipped, left untouched: the role other does not trust pods.eks.amazonaws.com", "rerun with --write-trust"),
	{Type: check.TypeResult, Status: check.StatusFail, Message: "1 of 2 service account(s) on EKS Pod Identity", Detail: "failed: serviceaccount/worker at the pre-flight step", Fix: "rerun with --write-trust"},
}

// upToAPI is migrateRun's events before shop/api's first of check name.
func upToAPI(name string) []check.Event {
	for i, ev := range migrateRun {
		if ev.Check == name && ev.Account == "shop/api" {
			return migrateRun[:i]
		}
	}
	panic("no " + name + " event of shop/api")
}

// migrateMsgs are the messages an AccountsReporter sends for events, a step of progress first.
func migrateMsgs(progress string, events []check.Event) []tea.Msg {
	var msgs []tea.Msg
	send := func(m tea.Msg) { msgs = append(msgs, m) }
	rep := AccountsReporter{Send: send}
	if progress != "" {
		rep.Step(report.Step{ID: "verify", State: report.StepRunning, Detail: progress})
	}
	for _, ev := range events {
		rep.Event(ev)
	}
	return msgs
}

// TestMigrateModel: the migration's fleet view while it runs and the report it leaves: a row
// per account as its events come, with its latest step and then its outcome; the run's own
// findings above the rows, those that failed with their fix; the verdict at the end.
func TestMigrateModel(t *testing.T) {
	tests := []struct {
		name  string
		msgs  []tea.Msg
		done  *DoneMsg // the run's end, when it has ended
		want  []string // in the view while it runs, or in the report once done
		avoid []string
	}{
		{
			name: "pre-flight",
			msgs: migrateMsgs("", upToAPI("migrate.association")),
			want: []string{
				migrateTitle,
				"✗ migrate.pre-flight  pre-flight FAILED for serviceaccount/worker", // failed: kept in view
				"i migrate.agent  pre-flight: the Pod Identity agent",               // the latest
				"shop/worker  ✗ migrate.pre-flight  serviceaccount/worker: skipped",
				"1 running; 0 passed, 0 warned, 0 failed",
				"q or Ctrl-C cancels and rolls back what is not proven",
			},
			// An earlier finding that passed gives way to the latest; no fix or detail in the live view.
			avoid: []string{"migrate.cluster", "shop/api", "fix:", "Version"},
		},
		{
			name: "proving",
			msgs: migrateMsgs("proving 1 service account(s) with a probe pod each, before any restart", upToAPI("migrate.verify")),
			want: []string{
				"proving 1 service account(s) with a probe pod each",
				"shop/api  ✓ pod.mutation  the pod runs on EKS Pod Identity's container credentials", // the proof's latest check
				"2 running; 0 passed",
			},
			avoid: []string{"all 12 checks passed", "waiting;"}, // the proof's verdict is not the account's; no row waits
		},
		{
			name: "outcomes",
			msgs: migrateMsgs("", migrateRun[:len(migrateRun)-1]),
			want: []string{"✓ shop/api  migrated to EKS Pod Identity", "✗ shop/worker  skipped, left untouched", "0 running; 1 passed, 0 warned, 1 failed"},
		},
		{
			name: "report",
			msgs: migrateMsgs("proving 1 service account(s)", migrateRun),
			done: &DoneMsg{},
			want: []string{
				migrateTitle + "\n\ni migrate.cluster  pre-flight: EKS cluster prod",
				"\n✗ migrate.pre-flight  pre-flight FAILED for serviceaccount/worker",
				"\n    {\"Version\": \"2012-10-17\"}\n  fix: rerun with --write-trust\n",
				// the rows, in the order of their names
				"\n\n✓ shop/api  migrated to EKS Pod Identity\n✗ shop/worker  skipped, left untouched",
				"\nshop/api\n    ✓ migrate.association  podidentityassociation a-1 created: serviceaccount/api, role app\n    ✓ migrate.verify  serviceaccount/api: verified on EKS Pod Identity\n    ✓ migrate.restart  deployment.apps/api restarted",
				"\nshop/worker\n    ✗ migrate.pre-flight  serviceaccount/worker: skipped, left untouched",
				"\n✗ FAIL  1 of 2 service account(s) on EKS Pod Identity\n  failed: serviceaccount/worker at the pre-flight step\n  fix: rerun with --write-trust\n",
			},
			// The proofs' own checks are migrate.verify's to sum up; progress is for the live view.
			avoid: []string{"pod.mutation", "all 12 checks passed", "proving", "interrupted"},
		},
		{
			name: "interrupted",
			msgs: append(migrateMsgs("proving 1 service account(s)", upToAPI("migrate.verify")),
				AccountEventMsg{Account: accountOf("shop/api"), Event: check.Event{Type: check.TypeInfo, Check: podidentity.CheckRollBack, Account: "shop/api",
					Message: "podidentityassociation a-1 deleted: rolled back; the run stopped before its workloads were restarted"}}),
			done: &DoneMsg{Err: context.Canceled},
			want: []string{
				"✗ shop/api  did not finish: the run was interrupted",
				"    i migrate.roll-back  podidentityassociation a-1 deleted: rolled back",
				"\n✗ interrupted\n",
			},
			avoid: []string{"FAIL  ", "PASS  "},
		},
		{
			name: "stopped",
			msgs: migrateMsgs("", migrateRun[:1]),
			done: &DoneMsg{Err: errors.New("failed to list serviceaccounts: forbidden")},
			want: []string{"i migrate.cluster  pre-flight: EKS cluster prod", "\n✗ stopped failed to list serviceaccounts: forbidden\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMigrate(Options{Title: migrateTitle, Renderer: asciiRenderer()})
			m = fleetUpdate(m, append([]tea.Msg{tea.WindowSizeMsg{Width: 200, Height: 40}}, tt.msgs...)...)
			got := m.View()
			if tt.done != nil {
				m = fleetUpdate(m, *tt.done)
				if !m.Done() || m.View() != "" {
					t.Fatalf("done %v, view %q after the run's end", m.Done(), m.View())
				}
				got = m.Report()
			}
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("lacks %q:\n%s", want, got)
				}
			}
			for _, avoid := range tt.avoid {
				if strings.Contains(got, avoid) {
					t.Errorf("has %q:\n%s", avoid, got)
				}
			}
		})
	}
}

// TestMigrateModelShortWindow: a window shorter than the run keeps its failed findings and
// progress in view, and the rows that fit.
func TestMigrateModelShortWindow(t *testing.T) {
	var events []check.Event
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		events = append(events, accountCheck("shop/"+n, "migrate.association", check.StatusPass, "podidentityassociation created: serviceaccount/"+n, ""))
	}
	events = append(migrateRun[:2:2], events...)
	m := NewMigrate(Options{Title: migrateTitle, Renderer: asciiRenderer()})
	m = fleetUpdate(m, append([]tea.Msg{tea.WindowSizeMsg{Width: 80, Height: 12}}, migrateMsgs("waiting for the webhook", events)...)...)
	view := m.View()
	if n := strings.Count(view, "\n"); n > 12 {
		t.Errorf("%d lines in a window of 12:\n%s", n, view)
	}
	for _, want := range []string{"✗ migrate.pre-flight", "waiting for the webhook", "shop/a", "q or Ctrl-C"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

// TestMigrateFlow runs the migration's view in a real bubbletea program: the rows stream in,
// q cancels the run, the view says it rolls back, and the program ends with the run.
func TestMigrateFlow(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	cancelled := make(chan struct{})
	m := NewMigrate(Options{Title: migrateTitle, Renderer: asciiRenderer(), Cancel: func() { close(cancelled) }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	for _, msg := range migrateMsgs("proving 1 service account(s)", upToAPI("migrate.verify")) {
		tm.Send(msg)
	}
	waitOutput(t, tm, "shop/api", "pod.mutation")
	pressQ(t, tm, cancelled, "cancelling: rolling back what is not proven")
	tm.Send(DoneMsg{Err: context.Canceled})

	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(FleetModel)
	if r := final.Report(); !final.Done() || !strings.Contains(r, "✗ interrupted") || !strings.Contains(r, "shop/api  did not finish: the run was interrupted") {
		t.Errorf("done %v, report:\n%s", final.Done(), r)
	}
}

// TestMigrateReport: MigrateReport drives the model as a run does and keeps its views.
func TestMigrateReport(t *testing.T) {
	views, final := MigrateReport(Options{Title: migrateTitle, Renderer: asciiRenderer()}, func(rep report.Reporter) error {
		for _, ev := range migrateRun {
			rep.Event(ev)
		}
		return nil
	})
	if len(views) != len(migrateRun) || !strings.Contains(views[4], "shop/api  ✓ migrate.association") {
		t.Errorf("%d views, the fifth:\n%s", len(views), views[4])
	}
	if !strings.Contains(final, "✗ FAIL  1 of 2 service account(s) on EKS Pod Identity") {
		t.Errorf("report:\n%s", final)
	}
}

package podidentity_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// outcome is an account's migrate.account event, as a test expects it.
type outcome struct {
	status check.Status
	// message and fix are what they contain; "" asks for no fix.
	message, fix string
}

// TestMigrateEvents: -o json is valid events, one per line: the steps' results with their
// account, the proofs' events forwarded, each account's outcome with its fix when it did not
// make it, and the verdict last, a result without an account.
func TestMigrateEvents(t *testing.T) {
	tests := []struct {
		name     string
		accounts map[string]string
		setup    func(b *bed)
		cfg      podidentity.Config
		want     map[string]outcome // by account
		// wantChecks are events (check name and account) the stream must have.
		wantChecks  [][2]string
		wantVerdict check.Status
		wantMessage string
	}{
		{
			name:     "both migrated",
			accounts: map[string]string{"api": awstest.Role, "worker": awstest.Role},
			want: map[string]outcome{
				"shop/api":    {status: check.StatusPass, message: "migrated to EKS Pod Identity"},
				"shop/worker": {status: check.StatusPass, message: "migrated to EKS Pod Identity"},
			},
			wantChecks: [][2]string{
				{podidentity.CheckCluster, ""},
				{"migrate.association", "shop/api"},
				{"migrate.verify", "shop/worker"},
				{probe.CheckSTSCallerIdentity, "shop/api"},
				{"migrate.restart", "shop/api"},
				{"migrate.rollout", "shop/worker"},
				{"migrate.new-pods", "shop/api"},
			},
			wantVerdict: check.StatusPass, wantMessage: "2 of 2 service account(s) on EKS Pod Identity",
		},
		{
			name:     "one skipped",
			accounts: map[string]string{"api": awstest.Role, "worker": awstest.OtherRole},
			setup:    otherRoleRefuses,
			want: map[string]outcome{
				"shop/api":    {status: check.StatusPass, message: "migrated to EKS Pod Identity"},
				"shop/worker": {status: check.StatusFail, message: "skipped, left untouched: the role " + awstest.OtherRole + " does not trust pods.eks.amazonaws.com", fix: "aws iam update-assume-role-policy --role-name other"},
			},
			wantChecks:  [][2]string{{"migrate.pre-flight", ""}, {"migrate.pre-flight", "shop/worker"}, {"migrate.verify", "shop/api"}},
			wantVerdict: check.StatusFail, wantMessage: "1 of 2 service account(s) on EKS Pod Identity",
		},
		{
			name:     "one skipped, dry run",
			accounts: map[string]string{"api": awstest.Role, "worker": awstest.OtherRole},
			setup:    otherRoleRefuses,
			cfg:      podidentity.Config{DryRun: "client"},
			want: map[string]outcome{
				"shop/api":    {status: check.StatusPass, message: "would be migrated to EKS Pod Identity (dry run)"},
				"shop/worker": {status: check.StatusFail, message: "skipped, left untouched: ", fix: "--write-trust"},
			},
			wantChecks:  [][2]string{{podidentity.CheckPlan, ""}, {podidentity.CheckPlan, "shop/api"}, {podidentity.CheckPlan, "shop/worker"}},
			wantVerdict: check.StatusFail, wantMessage: "skipped at the pre-flight: serviceaccount/worker",
		},
		{
			name:     "dry run",
			accounts: map[string]string{"api": awstest.Role},
			cfg:      podidentity.Config{DryRun: "client"},
			want: map[string]outcome{
				"shop/api": {status: check.StatusPass, message: "would be migrated to EKS Pod Identity (dry run)"},
			},
			wantChecks:  [][2]string{{podidentity.CheckPlan, "shop/api"}},
			wantVerdict: check.StatusPass, wantMessage: "plan (dry run): 1 service account(s) of namespace shop: 1 to migrate",
		},
		{
			name:     "a proof fails",
			accounts: map[string]string{"api": awstest.Role, "worker": awstest.Role},
			setup:    func(b *bed) { b.refuse["worker"] = true },
			want: map[string]outcome{
				"shop/api":    {status: check.StatusPass, message: "migrated to EKS Pod Identity"},
				"shop/worker": {status: check.StatusFail, message: "failed at the verify step: verify failed 1 of 12 checks", fix: "install the EKS Pod Identity Agent add-on"},
			},
			wantChecks:  [][2]string{{"migrate.verify", "shop/worker"}, {podidentity.CheckRollBack, "shop/worker"}},
			wantVerdict: check.StatusFail, wantMessage: "1 of 2 service account(s) on EKS Pod Identity",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t, tt.accounts, true)
			if tt.setup != nil {
				tt.setup(b)
			}
			var buf bytes.Buffer
			j := render.NewJSON(&buf, nil)
			if _, err := b.runWith(tt.cfg, j); err != nil && !isFailed(err) {
				t.Fatal(err)
			}
			if j.Err() != nil {
				t.Fatal(j.Err())
			}
			var events []check.Event
			if err := check.ReadLines(&buf, func(l check.Line) error {
				if l.Event == nil {
					t.Errorf("not an event: %q", l.Raw)
					return nil
				}
				events = append(events, *l.Event)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 {
				t.Fatal("no events")
			}
			seen := map[[2]string]bool{}
			got := map[string]check.Event{}
			for i, ev := range events {
				if err := ev.Valid(); err != nil || !ev.Time.Equal(testNow) {
					t.Errorf("event %d %+v: %v, time %v", i, ev, err, ev.Time)
				}
				if ev.Type == check.TypeResult && ev.Account == "" && i != len(events)-1 {
					t.Errorf("a verdict before the last event: %+v", ev)
				}
				seen[[2]string{ev.Check, ev.Account}] = true
				if ev.Check == podidentity.CheckAccount {
					got[ev.Account] = ev
				}
			}
			last := events[len(events)-1]
			if last.Type != check.TypeResult || last.Account != "" || last.Status != tt.wantVerdict || !strings.HasPrefix(last.Message, tt.wantMessage) {
				t.Errorf("last event %+v, want the verdict %s %q", last, tt.wantVerdict, tt.wantMessage)
			}
			if last.Data["total"] != float64(len(tt.accounts)) {
				t.Errorf("verdict's data %v", last.Data)
			}
			for _, c := range tt.wantChecks {
				if !seen[c] {
					t.Errorf("no %s event of %q", c[0], c[1])
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("outcomes of %d accounts, want %d", len(got), len(tt.want))
			}
			for account, want := range tt.want {
				ev := got[account]
				if ev.Status != want.status || !strings.HasPrefix(ev.Message, want.message) || (want.fix == "") != (ev.Fix == "") || !strings.Contains(ev.Fix, want.fix) {
					t.Errorf("%s: %s %q fix %q; want %s %q fix %q", account, ev.Status, ev.Message, ev.Fix, want.status, want.message, want.fix)
				}
				if want.status == check.StatusFail && !strings.Contains(last.Fix, want.fix) {
					t.Errorf("the verdict's fix %q lacks %s's %q", last.Fix, account, want.fix)
				}
			}
		})
	}
}

package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

var migrateShop = []string{"migrate", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod"}

// withTerminal makes the runs of the rest of the test see a terminal on stdout.
func withTerminal(t *testing.T) {
	t.Helper()
	withDeps(t, func(d *deps) { d.isTerminal = func(io.Writer) bool { return true } })
}

// withRefusingProver makes the proofs of the accounts named in refuse fail, the others pass.
func withRefusingProver(t *testing.T, refuse ...string) {
	t.Helper()
	withDeps(t, func(d *deps) {
		d.prover = func(verify.Config, verify.Deps) podidentity.ProveFunc {
			return func(_ context.Context, _ string, want []podidentity.Want, _ int, _ report.Reporter) ([]podidentity.Proof, error) {
				proofs := make([]podidentity.Proof, len(want))
				for i, w := range want {
					proofs[i] = podidentity.Proof{Passed: true, Caller: "arn:aws:sts::111122223333:assumed-role/app/eks-prod-x"}
					for _, r := range refuse {
						if r == w.ServiceAccount {
							proofs[i] = podidentity.Proof{Why: "verify failed 1 of 12 checks", Events: []check.Event{{Type: check.TypeCheck, Check: "podidentity.agent",
								Status: check.StatusFail, Message: "the agent at 169.254.170.23 refused the connection", Fix: "install the EKS Pod Identity Agent add-on"}}}
						}
					}
				}
				return proofs, nil
			}
		}
	})
}

// tuiReport is what a run with -o tui leaves on the terminal: the report printed once the UI
// ends, from the last title on (the live frames before it hold the title too).
func tuiReport(t *testing.T, out, title string) string {
	t.Helper()
	i := strings.LastIndex(out, title)
	if i < 0 {
		t.Fatalf("no report titled %q in:\n%s", title, out)
	}
	return out[i:]
}

// TestMigrateTUI: -o tui shows the same run as text and json, with their exit codes and the
// same writes: each account's row and outcome, its migrate.<step> events under it, the run's
// own findings and the verdict; and the report is the one migrate's events make of the
// fleet view (the JSON run replayed through the model).
func TestMigrateTUI(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	both := []string{awstest.IRSAStatement, awstest.PodIdentityStatement}
	tests := []struct {
		name       string
		trust      []string
		associated bool     // app has its association, and its pod is on Pod Identity
		refuse     []string // accounts whose proof fails
		args       []string
		wantCode   int
		want       []string // in the report, in this order
	}{
		{
			name: "done", trust: both, associated: true, wantCode: ExitOK,
			want: []string{"i migrate.cluster  pre-flight: EKS cluster prod", "✓ shop/app  on EKS Pod Identity already",
				"✓ PASS  nothing to do: serviceaccount/app is on EKS Pod Identity already"},
		},
		{
			// The fake cluster has no controller: the restarted workload's pod stays the one on IRSA.
			name: "new pods fail", trust: both, wantCode: ExitCheckFailed,
			want: []string{
				"✓ migrate.trust  pre-flight: the role " + awstest.Role + " trusts",
				"✗ shop/api  failed at the verify step: verify failed 1 of 12 checks",
				"✗ shop/app  failed at the new pods step",
				"\nshop/api\n    ✓ migrate.association  podidentityassociation a-",
				"    ✗ migrate.verify  serviceaccount/api: the verify step FAILED",
				"      fix: install the EKS Pod Identity Agent add-on",
				"    i migrate.roll-back  podidentityassociation a-",
				"\nshop/app\n    ✓ migrate.association  podidentityassociation a-",
				"    ✓ migrate.verify  serviceaccount/app: verified on EKS Pod Identity",
				"    ✓ migrate.restart  deployment.apps/web restarted",
				"    ✓ migrate.rollout  deployment.apps/web successfully rolled out",
				"    ✗ migrate.new-pods  serviceaccount/app: the new pods step FAILED",
				"✗ FAIL  0 of 2 service account(s) on EKS Pod Identity",
				"  failed: serviceaccount/api at the verify step; serviceaccount/app at the new pods step",
			},
			refuse: []string{"api"},
		},
		{
			name: "skipped", trust: []string{awstest.IRSAStatement}, wantCode: ExitCheckFailed,
			want: []string{
				"✗ migrate.pre-flight  pre-flight FAILED for serviceaccount/api and serviceaccount/app: the role " + awstest.Role + " does not trust",
				"  aws iam update-assume-role-policy --role-name app",
				"✗ shop/api  skipped, left untouched", "✗ shop/app  skipped, left untouched",
				"✗ FAIL  ",
			},
		},
		{
			name: "dry run", trust: both, args: []string{"--dry-run=client"}, wantCode: ExitOK,
			want: []string{
				"i migrate.plan  plan (dry run): 2 service account(s) of namespace shop: 2 to migrate, 0 on EKS Pod Identity already, 0 skipped",
				"✓ shop/api  would be migrated to EKS Pod Identity (dry run)",
				"\nshop/app\n    ✓ migrate.plan  serviceaccount/app: 3 task(s):",
				"      1. podidentityassociation created (dry run): aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account app",
				"✓ PASS  plan (dry run): 2 service account(s) of namespace shop: 2 to migrate",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withRefusingProver(t, tt.refuse...)
			web, api := kt.Deployment("shop", "web", "app"), kt.Deployment("shop", "api", "api")
			run := func(output string) (result, int) {
				t.Helper()
				f.Roles["app"] = awstest.TrustOf(tt.trust...)
				clear(f.Assocs)
				webPod := kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role})
				objs := []runtime.Object{kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}), web}
				if tt.associated {
					f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "shop", ServiceAccount: "app", RoleARN: awstest.Role}
					webPod = kt.OnPodIdentity(web, "web-2", "")
				} else {
					objs = append(objs, kt.ServiceAccount("shop", "api", map[string]string{identity.AnnotationRoleARN: awstest.Role}), api,
						kt.Injected(api, "api-1", "", identity.Config{RoleARN: awstest.Role}))
				}
				before := f.Writes()
				r := runWI(t, fake.NewClientset(append(objs, webPod)...), append(append(migrateShop, tt.args...), "-o", output)...)
				return r, f.Writes() - before
			}
			text, textWrites := run("text")
			jsonRun, jsonWrites := run("json")
			withTerminal(t)
			tuiRun, tuiWrites := run("tui")
			wantCode(t, tuiRun, tt.wantCode)
			if text.code != tuiRun.code || jsonRun.code != tuiRun.code || textWrites != tuiWrites || jsonWrites != tuiWrites {
				t.Fatalf("exit codes text %d, json %d, tui %d; AWS writes %d, %d, %d: want them the same", text.code, jsonRun.code, tuiRun.code, textWrites, jsonWrites, tuiWrites)
			}
			if tuiRun.errOut != "" {
				t.Errorf("stderr with -o tui: %q", tuiRun.errOut)
			}
			title := strings.Join(append([]string{"kubectl wi migrate -n shop --to pod-identity"}, tt.args...), " ")
			got := tuiReport(t, tuiRun.out, title)
			// The report wraps to the window: compare words.
			words, at := strings.Join(strings.Fields(got), " "), 0
			for _, want := range tt.want {
				want = strings.Join(strings.Fields(want), " ")
				i := strings.Index(words[at:], want)
				if i < 0 {
					t.Fatalf("the report lacks %q after %q:\n%s", want, words[:at], got)
				}
				at += i + len(want)
			}

			// The JSON run's events, through the fleet view: the same report (the association
			// ids aside, each run's own).
			var events []check.Event
			if err := check.ReadLines(strings.NewReader(jsonRun.out), func(l check.Line) error {
				events = append(events, *l.Event)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			views, replayed := tui.MigrateReport(tui.Options{Title: title}, func(rep report.Reporter) error {
				for _, ev := range events {
					rep.Event(ev)
				}
				return nil
			})
			if normalizeIDs(replayed) != normalizeIDs(got) {
				t.Errorf("the JSON run through the view:\n%s\nthe -o tui run's report:\n%s", replayed, got)
			}
			// While it ran, each account's row showed its latest step before its outcome.
			for _, ev := range events {
				if ev.Account == "" || !strings.HasPrefix(ev.Check, podidentity.CheckPrefix) || ev.Check == podidentity.CheckAccount {
					continue
				}
				line := ev.Account + "  " + map[check.Status]string{check.StatusPass: "✓", check.StatusFail: "✗", check.StatusSkip: "–", check.StatusWarn: "!", "": "i"}[ev.Status] + " " + ev.Check
				if !containsAny(views, line) {
					t.Errorf("no live view showed %q", line)
				}
			}
		})
	}
}

// normalizeIDs hides the association ids, which the fake EKS numbers across runs, and so
// where the lines wrap.
func normalizeIDs(s string) string {
	var out []string
	for _, w := range strings.Fields(s) {
		if strings.HasPrefix(w, "a-") {
			w = "a-N"
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

func containsAny(views []string, s string) bool {
	for _, v := range views {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// TestMigrateTUINeedsTerminal: -o tui off a terminal is bad input, refused in Validate as
// verify and explain refuse it: exit 2, nothing on stdout, no call to the cluster or AWS.
func TestMigrateTUINeedsTerminal(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	proofs := withProver(t)
	// A run would write: the association, the trust policy with --write-trust, a restart.
	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement)
	web := kt.Deployment("shop", "web", "app")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "-o tui", args: []string{"-o", "tui"}, wantErr: "-o tui needs a terminal: use -o text or -o json"},
		{name: "--write-trust", args: []string{"-o", "tui", "--write-trust", "--remove-irsa"}, wantErr: "-o tui needs a terminal"},
		{name: "dry run", args: []string{"--output=tui", "--dry-run=server"}, wantErr: "-o tui needs a terminal"},
		{name: "yaml", args: []string{"-o", "yaml"}, wantErr: `--output "yaml" is not supported: allowed formats are tui, text, json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
				web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role}))
			r := runWI(t, client, append(migrateShop, tt.args...)...)
			wantCode(t, r, ExitUsage)
			if !strings.Contains(r.errOut, tt.wantErr) || r.out != "" {
				t.Errorf("stdout %q, stderr %q; want nothing and %q", r.out, r.errOut, tt.wantErr)
			}
			if n := len(client.Actions()); n != 0 || f.Writes() != 0 || len(f.Calls) != 0 || *proofs != 0 {
				t.Errorf("%d calls to the cluster (%v), AWS writes %d, AWS calls %v, proofs %d: want none", n, r.calls(), f.Writes(), f.Calls, *proofs)
			}
		})
	}
}

// TestMigrateTUICancel: q in the terminal UI while the accounts are proven cancels the run as
// Ctrl-C (SIGINT) does in text: the association not yet proven is deleted again, nothing is
// restarted, and the exit code is 130 either way; the report says so.
func TestMigrateTUICancel(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement)
	web := kt.Deployment("shop", "web", "app")
	// The proof waits for the run's end; proving, when set, is told it began.
	var proving func()
	withDeps(t, func(d *deps) {
		d.prover = func(verify.Config, verify.Deps) podidentity.ProveFunc {
			return func(ctx context.Context, _ string, _ []podidentity.Want, _ int, _ report.Reporter) ([]podidentity.Proof, error) {
				proving()
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(10 * time.Second):
					return nil, errors.New("the run was not cancelled")
				}
			}
		}
	})
	tests := []struct {
		name   string
		output string
	}{{name: "text, SIGINT", output: "text"}, {name: "tui, q", output: "tui"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clear(f.Assocs)
			before := f.Writes()
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
				web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var r result
			switch tt.output {
			case "tui":
				withTerminal(t)
				keys, typed := io.Pipe()
				proving = func() {
					go func() { _, _ = typed.Write([]byte("q")); _ = typed.Close() }()
				}
				r = runWIIn(t, ctx, client, 0, keys, append(migrateShop, "-o", "tui")...)
			default:
				proving = cancel
				r = runWIContext(t, ctx, client, 0, append(migrateShop, "-o", "text")...)
			}
			wantCode(t, r, ExitInterrupted)
			if len(f.Assocs) != 0 || f.Writes()-before != 2 || r.calls().Writes() != 0 {
				t.Errorf("associations left %v, AWS writes %d, cluster writes %v: want the association created and deleted, no restart", f.Assocs, f.Writes()-before, r.calls())
			}
			if tt.output != "tui" {
				return
			}
			got := tuiReport(t, r.out, "kubectl wi migrate -n shop --to pod-identity")
			for _, want := range []string{"✗ shop/app  did not finish: the run was interrupted", "    i migrate.roll-back  podidentityassociation a-", "\n✗ interrupted\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("the report lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

// TestMigrateTUICancelledError: once q cancelled the run, whatever error it stops with is an
// interruption, exit 130, as any error after SIGINT is in text (Main reads its context); an
// error of a run nobody cancelled keeps its own code.
func TestMigrateTUICancelledError(t *testing.T) {
	tests := []struct {
		name     string
		cancel   bool
		err      error
		wantCode int
	}{
		{name: "cancelled", cancel: true, err: context.Canceled, wantCode: ExitInterrupted},
		{name: "an error after q", cancel: true, err: errors.New("the restart step: connection reset by peer"), wantCode: ExitInterrupted},
		{name: "failed accounts after q", cancel: true, err: &podidentity.FailedError{Failed: 1, Step: podidentity.StepRollout}, wantCode: ExitInterrupted},
		{name: "an error, no q", err: errors.New("the restart step: connection reset by peer"), wantCode: ExitEnvironment},
		{name: "failed accounts, no q", err: &podidentity.FailedError{Failed: 1, Step: podidentity.StepRollout}, wantCode: ExitCheckFailed},
		{name: "no error after q", cancel: true, wantCode: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, typed := io.Pipe()
			defer typed.Close()
			o := &MigrateOptions{IOStreams: genericiooptions.IOStreams{In: keys, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Output: "tui", To: "pod-identity", namespace: "shop"}
			err := migrateError(o.render(context.Background(), func(ctx context.Context, _ report.Reporter) error {
				if tt.cancel {
					if _, err := typed.Write([]byte("q")); err != nil {
						return err
					}
					select {
					case <-ctx.Done():
					case <-time.After(10 * time.Second):
						return errors.New("q did not cancel the run")
					}
				}
				return tt.err
			}))
			if got := ExitCode(err); got != tt.wantCode || (tt.err == nil) != (err == nil) {
				t.Fatalf("exit %d, err %v; want %d", got, err, tt.wantCode)
			}
			if tt.wantCode == ExitInterrupted && err.Error() != tt.err.Error() {
				t.Errorf("the interrupted run says %q, want the run's own %q", err, tt.err)
			}
		})
	}
}

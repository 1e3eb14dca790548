package annotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// recorder is a Reporter that keeps what it is told, one line per event.
type recorder struct {
	lines   []string
	written *Result
}

func (r *recorder) Custom(t *CustomTarget) { r.lines = append(r.lines, "custom "+t.Ref.String()) }
func (r *recorder) Account(a *Account) {
	r.lines = append(r.lines, fmt.Sprintf("account %s/%s %v", a.Namespace, a.Name, identity.ChangedKeys(a.Changes)))
}
func (r *recorder) Association(c *podidentity.Change, _ string) {
	r.lines = append(r.lines, "association "+c.ServiceAccount)
}
func (r *recorder) Restart(a *restart.Action) {
	r.lines = append(r.lines, fmt.Sprintf("restart %s %s", a.Ref(), a.Type))
}
func (r *recorder) Written(res *Result) error      { r.written = res; return nil }
func (r *recorder) Checked(line string)            { r.lines = append(r.lines, "checked "+line) }
func (r *recorder) Warn(line string)               { r.lines = append(r.lines, "warn "+line) }
func (r *recorder) Streams() (out, errs io.Writer) { return io.Discard, io.Discard }

func testDeps(client *fake.Clientset) *Deps {
	kt.Webhook(client, 0)
	return &Deps{
		Client:           client,
		Restarter:        restart.DefaultRestarter(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }),
		RolloutPoll:      time.Millisecond,
		AdmissionTimeout: 300 * time.Millisecond,
		AdmissionPoll:    time.Millisecond,
	}
}

func saRef(t *testing.T, arg string) targets.Ref {
	t.Helper()
	ref, err := targets.Builtin().Parse(arg)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestRunAnnotatesAndRestarts: the engine runs without a terminal or a command: the account a
// workload TARGET names is annotated, the workload whose pod lacks the role restarted, the
// reporter told in that order, and the result holds what the server stored.
func TestRunAnnotatesAndRestarts(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", "app"))
	cfg := &Config{Namespace: "shop", Refs: []targets.Ref{saRef(t, "deployment/web")}, Want: &identity.Config{RoleARN: kt.RoleARN},
		Restart: restart.Auto, Timeout: time.Minute, DryRun: DryRunNone}
	rep := &recorder{}
	res, err := Run(context.Background(), cfg, testDeps(client), rep)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(rep.lines, "\n")
	if !strings.HasPrefix(got, "account shop/app [eks.amazonaws.com/role-arn]\nrestart deployment.apps/web restart") {
		t.Fatalf("reported:\n%s", got)
	}
	if rep.written != res || len(res.Accounts) != 1 || res.Accounts[0].Result.Annotations[identity.AnnotationRoleARN] != kt.RoleARN {
		t.Fatalf("result %+v", res)
	}
	if c := kt.Count(client.Actions()); c["patch serviceaccounts"] != 1 || c["patch deployments"] != 1 {
		t.Fatalf("calls %v", c)
	}
}

// TestRunRefusesBeforeWriting: a role the account has is not replaced without Overwrite, and
// the refusal is an InputError that comes before any write; a client dry run writes nothing.
func TestRunRefusesBeforeWriting(t *testing.T) {
	held := map[string]string{identity.AnnotationRoleARN: kt.OtherRoleARN}
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", held))
	cfg := &Config{Namespace: "shop", Refs: []targets.Ref{saRef(t, "app")}, Want: &identity.Config{RoleARN: kt.RoleARN},
		Restart: restart.Never, DryRun: DryRunNone}
	_, err := Run(context.Background(), cfg, testDeps(client), &recorder{})
	var in *InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), "without --overwrite") {
		t.Fatalf("err = %v, want the refusal", err)
	}
	cfg.Overwrite, cfg.DryRun = true, DryRunClient
	res, err := Run(context.Background(), cfg, testDeps(client), &recorder{})
	if err != nil || res.Accounts[0].Result.Annotations[identity.AnnotationRoleARN] != kt.RoleARN {
		t.Fatalf("dry run: %v, %+v", err, res)
	}
	if c := kt.Count(client.Actions()); c.Writes() != 0 {
		t.Fatalf("calls %v, want no write", c)
	}
}

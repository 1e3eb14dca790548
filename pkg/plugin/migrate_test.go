package plugin

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// withProver makes migrate's proofs pass without a probe pod, counting them.
func withProver(t *testing.T) *int {
	t.Helper()
	n := new(int)
	withDeps(t, func(d *deps) {
		d.prover = func(verify.Config, verify.Deps) podidentity.ProveFunc {
			return func(_ context.Context, _ string, want []podidentity.Want, _ int, _ report.Reporter) ([]podidentity.Proof, error) {
				proofs := make([]podidentity.Proof, len(want))
				for i := range want {
					*n++
					proofs[i] = podidentity.Proof{Passed: true, Caller: "arn:aws:sts::111122223333:assumed-role/app/eks-prod-x"}
				}
				return proofs, nil
			}
		}
	})
	return n
}

// TestMigrateExitCodes: the command's input and outcomes map to the exit codes: bad flags 2,
// a pre-flight problem 1 with the policy printed and nothing written, done accounts 0 with
// nothing written and nothing proven.
func TestMigrateExitCodes(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	proofs := withProver(t)
	web := kt.Deployment("shop", "web", "app")
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
			web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role}))
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "-n", "shop", "--eks-cluster", "prod"}, "--to is required"},
		{[]string{"migrate", "-n", "shop", "--to", "irsa", "--eks-cluster", "prod"}, `--to "irsa" is not supported`},
		{[]string{"migrate", "-n", "shop", "--to", "pod-identity"}, "pass --eks-cluster NAME"},
		{[]string{"migrate", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod", "--dry-run=maybe"}, "--dry-run"},
		{[]string{"migrate", "deploy/nope", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod"}, `deployment.apps "nope" not found`},
	} {
		r := runWI(t, objs(), tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, tt.want) {
			t.Errorf("%v: exit %d\n%s\nwant 2 and %q", tt.args, r.code, r.errOut, tt.want)
		}
	}

	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement)
	r := runWI(t, objs(), "migrate", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod")
	wantCode(t, r, ExitCheckFailed)
	if f.Writes() != 0 || r.calls().Writes() != 0 || !strings.Contains(r.out, "aws iam update-assume-role-policy --role-name app") || *proofs != 0 {
		t.Fatalf("AWS writes %d, calls %v\n%s", f.Writes(), r.calls(), r.out)
	}

	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement)
	f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "shop", ServiceAccount: "app", RoleARN: awstest.Role}
	done := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
		web, kt.OnPodIdentity(web, "web-2", ""))
	r = runWI(t, done, "migrate", "deploy/web", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod")
	wantCode(t, r, ExitOK)
	if f.Writes() != 0 || r.calls().Writes() != 0 || *proofs != 0 || !strings.Contains(r.out, "nothing to do: serviceaccount/app is on EKS Pod Identity already") {
		t.Fatalf("AWS writes %d, calls %v, proofs %d\n%s", f.Writes(), r.calls(), *proofs, r.out)
	}
}

// TestMigrateProofDiscovery: migrate's proofs read the apiserver's OIDC discovery through the
// deps seam, as verify does, so a test (or another source) can stand in for it.
func TestMigrateProofDiscovery(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement)
	var got apicall.DiscoveryFunc
	withDeps(t, func(d *deps) {
		d.discovery = func(kubernetes.Interface) apicall.DiscoveryFunc {
			return func(context.Context) ([]byte, error) { return []byte("from the seam"), nil }
		}
		d.prover = func(_ verify.Config, vd verify.Deps) podidentity.ProveFunc {
			got = vd.Discovery
			return nil
		}
	})
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
		web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role}))
	runWI(t, client, "migrate", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod")
	if got == nil {
		t.Fatal("migrate built no proof")
	}
	if doc, err := got(context.Background()); err != nil || string(doc) != "from the seam" {
		t.Fatalf("the proof's discovery read %q, %v; want deps.discovery's", doc, err)
	}
}

// TestMigrateOutput: -o json writes the run's events and nothing else on stdout, with the exit
// codes of text; an -o migrate does not write is bad input.
func TestMigrateOutput(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	withProver(t)
	web := kt.Deployment("shop", "web", "app")
	onIRSA := kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role})
	args := []string{"migrate", "-n", "shop", "--to", "pod-identity", "--eks-cluster", "prod"}
	tests := []struct {
		name        string
		trust       []string
		associated  bool // the account has its association, and its pod is on Pod Identity
		args        []string
		wantCode    int
		wantVerdict check.Status
		wantErr     string
	}{
		{name: "done", trust: []string{awstest.IRSAStatement, awstest.PodIdentityStatement}, associated: true, args: []string{"-o", "json"}, wantCode: ExitOK, wantVerdict: check.StatusPass},
		// The fake cluster has no controller: the restarted workload's pod stays the one on IRSA.
		{name: "new pods fail", trust: []string{awstest.IRSAStatement, awstest.PodIdentityStatement}, args: []string{"-o", "json"}, wantCode: ExitCheckFailed, wantVerdict: check.StatusFail},
		{name: "skipped", trust: []string{awstest.IRSAStatement}, args: []string{"-o", "json"}, wantCode: ExitCheckFailed, wantVerdict: check.StatusFail},
		{name: "dry run", trust: []string{awstest.IRSAStatement, awstest.PodIdentityStatement}, args: []string{"-o", "json", "--dry-run=client"}, wantCode: ExitOK, wantVerdict: check.StatusPass},
		{name: "yaml", args: []string{"-o", "yaml"}, wantCode: ExitUsage, wantErr: `--output "yaml" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Roles["app"] = awstest.TrustOf(tt.trust...)
			clear(f.Assocs)
			pod := onIRSA
			if tt.associated {
				f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "shop", ServiceAccount: "app", RoleARN: awstest.Role}
				pod = kt.OnPodIdentity(web, "web-2", "")
			}
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}), web, pod)
			r := runWI(t, client, append(args, tt.args...)...)
			wantCode(t, r, tt.wantCode)
			if tt.wantErr != "" {
				if !strings.Contains(r.errOut, tt.wantErr) || r.out != "" {
					t.Fatalf("stdout %q, stderr %q; want nothing and %q", r.out, r.errOut, tt.wantErr)
				}
				return
			}
			var last *check.Event
			for i, line := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
				l := check.DecodeLine([]byte(line))
				if l.Event == nil {
					t.Fatalf("line %d is not an event: %q", i+1, line)
				}
				last = l.Event
			}
			if last == nil || last.Type != check.TypeResult || last.Account != "" || last.Status != tt.wantVerdict {
				t.Fatalf("last event %+v, want a %s verdict\n%s", last, tt.wantVerdict, r.out)
			}
			if strings.Contains(r.errOut, "proving") || strings.Contains(r.errOut, "waiting") {
				t.Errorf("progress on stderr with -o json:\n%s", r.errOut)
			}
		})
	}
}

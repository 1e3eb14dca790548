//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// awsWritesIn counts the AWS writes of the stand-in's log that name the namespace ns.
func awsWritesIn(reqs []awsRequest, ns string) int {
	n := 0
	for _, r := range reqs {
		if r.Write && r.Namespace == ns {
			n++
		}
	}
	return n
}

// kubeWritesIn lists the writes the audit log holds in ns since the mark.
func kubeWritesIn(t *testing.T, e env, audit *enAudit, ns string) []string {
	t.Helper()
	var out []string
	for _, ev := range audit.since(t, e.client(t), ns) {
		switch ev.Verb {
		case "create", "update", "patch", "delete":
			if ev.ObjectRef != nil && ev.ObjectRef.Namespace == ns && ev.ObjectRef.Name != "" && !strings.HasPrefix(ev.ObjectRef.Name, "wi-audit-marker-") &&
				!strings.Contains(ev.RequestURI, "dryRun=All") {
				out = append(out, ev.String())
			}
		}
	}
	return out
}

// awaitTestUserRole waits until the AWS stand-in serves the role named by arn to the test bed's
// user, whose keys piWI runs with.
func (e env) awaitTestUserRole(t *testing.T, arn string) {
	t.Helper()
	e.awaitRole(t, awsUser{AccessKeyID: e.aws["AWS_ACCESS_KEY_ID"], SecretAccessKey: e.aws["AWS_SECRET_ACCESS_KEY"]}, arn[strings.LastIndex(arn, "/")+1:])
}

// noAWSCredsWI runs kubectl-wi with the AWS stand-in's endpoints and no AWS credentials.
func (e env) noAWSCredsWI(t *testing.T, args ...string) result {
	t.Helper()
	t.Logf("kubectl-wi %s (no AWS credentials)", strings.Join(args, " "))
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.awsEnv(nil)
	return e.run(t, cmd)
}

// TestEKSClusterFlag (issue 27, item 6): --cluster is kubectl's in every command (the
// kubeconfig's cluster, kubectl-wi-local here); the EKS cluster's name (local) is
// --eks-cluster, and --cluster given it instead is refused as kubectl refuses it, pointing to
// --eks-cluster.
func TestEKSClusterFlag(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	const kubeCluster = "kubectl-wi-local" // hack/cluster-up.sh's kubeconfig
	role := e.addSTSRole(t, "flags-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "pi", nil)
	e.awaitTestUserRole(t, role)
	e.associate(t, c, ns, "pi", role)
	reqs := e.awsRequests(t)

	t.Run("status and verify take the kubeconfig's cluster", func(t *testing.T) {
		r := e.wi(t, "status", "-n", ns, "--cluster", kubeCluster)
		if r.code != 0 {
			t.Fatalf("status --cluster %s: exit %d\n%s%s", kubeCluster, r.code, r.stdout, r.stderr)
		}
	})
	t.Run("explain takes the kubeconfig's cluster as --cluster and the EKS cluster as --eks-cluster", func(t *testing.T) {
		r := e.piWI(t, "explain", "-n", ns, "--cluster", kubeCluster, "--eks-cluster", e.eksCluster, "-o", "json")
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		evs := explainEvents(t, r.stdout)
		if got := accountChecks(evs, ns+"/pi")["iam.podidentity_trust"]; len(got) != 1 || got[0].Status != check.StatusPass {
			t.Fatalf("the association was not explained: %+v\n%s", got, r.stdout)
		}
		if !strings.Contains(r.stdout, "1 with a Pod Identity association") {
			t.Fatalf("the associations were not read:\n%s", r.stdout)
		}
	})
	// The EKS cluster's name given as --cluster: kubectl's meaning, kubectl's refusal, and the flag meant.
	for _, tt := range []struct {
		name string
		args []string
		hint bool
	}{
		{name: "explain", args: []string{"explain", "-n", ns, "-o", "text"}, hint: true},
		{name: "enable --pod-identity", args: []string{"enable", "pi", "-n", ns, "--pod-identity", "--role-arn", role}, hint: true},
		{name: "disable --pod-identity", args: []string{"disable", "pi", "-n", ns, "--pod-identity"}, hint: true},
		{name: "migrate", args: []string{"migrate", "-n", ns, "--to", "pod-identity"}, hint: true},
		{name: "status", args: []string{"status", "-n", ns}, hint: true},
		{name: "verify", args: []string{"verify", "pi", "-n", ns}, hint: true},
	} {
		t.Run("--cluster "+e.eksCluster+" on "+tt.name, func(t *testing.T) {
			audit := e.enAuditMark(t)
			r := e.piWI(t, append(tt.args, "--cluster", e.eksCluster)...)
			want := fmt.Sprintf(`error: cluster %q does not exist in the kubeconfig: --cluster names a kubeconfig cluster, as in kubectl`, e.eksCluster)
			if r.code != 2 || !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
				t.Fatalf("exit %d, want 2 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
			}
			if hint := "to name the EKS cluster, pass --eks-cluster " + e.eksCluster; strings.Contains(r.stderr, hint) != tt.hint {
				t.Fatalf("the hint %q given: %v, want %v:\n%s", hint, !tt.hint, tt.hint, r.stderr)
			}
			if w := kubeWritesIn(t, e, audit, ns); len(w) > 0 {
				t.Fatalf("writes: %v", w)
			}
		})
	}
	if n := awsWritesIn(e.awsRequests(t)[len(reqs):], ns); n != 0 {
		t.Fatalf("%d AWS writes for %s", n, ns)
	}
}

// TestBareDryRun (issue 27, item 8): --dry-run alone means client in every command that takes
// it, with kubectl's one warning, and writes nothing.
func TestBareDryRun(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	trust := e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app")
	trust["Statement"] = append(trust["Statement"].([]any), podIdentityTrust("sts:AssumeRole", "sts:TagSession")["Statement"].([]any)...)
	irsa := e.addSTSRole(t, "dry-"+ns, trust)
	e.awaitTestUserRole(t, irsa)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": irsa})
	serviceAccount(t, c, ns, "plain", nil)
	const warning = "Warning: --dry-run is deprecated and can be replaced with --dry-run=client.\n"
	reqs := e.awsRequests(t)
	for _, tt := range []struct {
		name    string
		args    []string
		wantOut string
	}{
		{name: "enable", args: []string{"enable", "plain", "-n", ns, "--role-arn", irsa}, wantOut: "serviceaccount/plain annotated (role-arn=" + irsa + ") (dry run)"},
		{name: "disable", args: []string{"disable", "app", "-n", ns}, wantOut: "(dry run)"},
		{name: "enable --pod-identity", args: []string{"enable", "plain", "-n", ns, "--pod-identity", "--role-arn", irsa, "--eks-cluster", e.eksCluster},
			wantOut: "aws eks create-pod-identity-association --cluster-name " + e.eksCluster + " --namespace " + ns + " --service-account plain"},
		{name: "migrate", args: []string{"migrate", "app", "-n", ns, "--to", "pod-identity", "--eks-cluster", e.eksCluster}, wantOut: "aws eks create-pod-identity-association --cluster-name " + e.eksCluster + " --namespace " + ns + " --service-account app"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			audit := e.enAuditMark(t)
			r := e.piWI(t, append(tt.args, "--dry-run")...)
			if strings.Count(r.stderr, "Warning: --dry-run") != 1 || !strings.Contains(r.stderr, warning) {
				t.Fatalf("exit %d: not kubectl's one warning for a bare --dry-run\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tt.wantOut) {
				t.Fatalf("exit %d: no client dry run's %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantOut, r.stdout, r.stderr)
			}
			if w := kubeWritesIn(t, e, audit, ns); len(w) > 0 {
				t.Fatalf("a dry run wrote: %v", w)
			}
		})
	}
	if n := awsWritesIn(e.awsRequests(t)[len(reqs):], ns); n != 0 {
		t.Fatalf("%d AWS writes for %s", n, ns)
	}
}

// TestExplainSaysWhatItDidNotRead (issue 27, item 9): with no EKS cluster (this kubeconfig's
// is not one) or no AWS credentials, the associations are "not read", with why and what reads
// them, never none; an account explain cannot judge fails.
func TestExplainSaysWhatItDidNotRead(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "nr-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	serviceAccount(t, c, ns, "pi", nil)

	t.Run("a TARGET without a role annotation, no EKS cluster named", func(t *testing.T) {
		r := e.piWI(t, "explain", "pi", "-n", ns, "-o", "text")
		want := "FAIL explain.serviceaccount  " + ns + "/pi: not judged: the service account has no eks.amazonaws.com/role-arn annotation, and its Pod Identity associations were not read: no EKS cluster named (pass --eks-cluster NAME"
		if r.code != 1 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "no Pod Identity association") || strings.Contains(r.stdout, "\n\nPASS") {
			t.Fatalf("exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
		}
	})
	t.Run("--exchange with no AWS credentials", func(t *testing.T) {
		r := e.noAWSCredsWI(t, "explain", "-n", ns, "--exchange", "-o", "text")
		want := "INFO explain.accounts  1 service accounts with a role annotation (IRSA) in namespace " + ns + "; Pod Identity associations not read: no AWS credentials at hand"
		if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "0 with a Pod Identity association") {
			t.Fatalf("exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
		}
	})
}

// TestEmptySelectionGates (issue 27, item 10): explain and verify are gates: a selection of
// no account says so on stderr, as kubectl says "No resources found", and exits 1, or 0 with
// --allow-empty; status is a listing, with kubectl get's words and exit 0.
func TestEmptySelectionGates(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "empty-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	none := "No service accounts found in " + ns + " namespace matching -l x=y.\n"
	for _, tt := range []struct {
		name       string
		args       []string
		wantCode   int
		wantErrOut string
	}{
		{name: "explain", args: []string{"explain", "-n", ns, "-l", "x=y", "-o", "text"}, wantCode: 1, wantErrOut: none + "explain checked nothing"},
		{name: "explain --allow-empty", args: []string{"explain", "-n", ns, "-l", "x=y", "-o", "text", "--allow-empty"}, wantCode: 0, wantErrOut: none},
		{name: "verify", args: []string{"verify", "-n", ns, "-l", "x=y", "-o", "text"}, wantCode: 1, wantErrOut: none + "verify checked nothing"},
		{name: "verify --allow-empty", args: []string{"verify", "-n", ns, "-l", "x=y", "-o", "text", "--allow-empty"}, wantCode: 0, wantErrOut: none},
		{name: "status", args: []string{"status", "-n", ns, "-l", "x=y"}, wantCode: 0, wantErrOut: "No resources found in " + ns + " namespace.\n"},
		{name: "status -A", args: []string{"status", "-A", "-l", "x=y-" + ns}, wantCode: 0, wantErrOut: "No resources found\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.piWI(t, tt.args...)
			// The verdict is never a pass, and the empty selection is no error of the run.
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErrOut) || strings.Contains(r.stdout, "\n\nPASS") || strings.Contains(r.stderr, "error:") {
				t.Fatalf("exit %d, want %d and stderr starting %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, tt.wantErrOut, r.stdout, r.stderr)
			}
		})
	}
}

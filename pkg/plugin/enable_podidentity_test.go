package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// piRole is the role the Pod Identity tests give, in the cluster's account.
const piRole = awstest.Role

// piAWS is EKS and IAM in memory with the roles app and other, each trusting Pod Identity.
func piAWS() *awstest.AWS {
	f := awstest.New()
	f.Roles["app"] = awstest.TrustOf(awstest.PodIdentityStatement)
	f.Roles["other"] = awstest.TrustOf(awstest.PodIdentityStatement)
	return f
}

// targetTrust is a target role's trust statement for the association's role piRole, with the
// association's external ID when one is given.
func targetTrust(externalID string) string {
	st := `{"Effect":"Allow","Principal":{"AWS":"` + piRole + `"},"Action":["sts:AssumeRole","sts:TagSession"]`
	if externalID != "" {
		st += `,"Condition":{"StringEquals":{"sts:ExternalId":"` + externalID + `"}}`
	}
	return st + "}"
}

// withAWS makes the commands call f, and the webhook read its associations.
func withAWS(t *testing.T, f *awstest.AWS) {
	t.Helper()
	oldAssociated := testAssociated
	withDeps(t, func(d *deps) {
		d.loadAWS = func(context.Context, awsconfig.Options) (aws.Config, error) {
			return aws.Config{Region: "us-west-2"}, nil
		}
		d.podIdentityClient = func(aws.Config) podidentity.AWS { return f }
	})
	testAssociated = f.Associated
	t.Cleanup(func() { testAssociated = oldAssociated })
}

// TestEnablePodIdentity: the association is created with the user's credentials, the
// Deployment whose pod lacks the container credentials restarted, the service account left
// alone; a rerun once the pod is replaced makes no AWS write and no Kubernetes write.
func TestEnablePodIdentity(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	args := []string{"enable", "deploy/web", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}
	r := runWI(t, client, args...)
	wantCode(t, r, ExitOK)
	if f.Calls[podidentity.ActionCreateAssociation] != 1 || f.Writes() != 1 || !f.Associated("shop", "app") {
		t.Fatalf("AWS calls %v", f.Calls)
	}
	want := "podidentityassociation a-1 created (serviceaccount/app, role " + piRole + ")\n" +
		"deployment.apps/web restarted: pod web-1 lacks EKS Pod Identity's container credentials (created before the association, or the webhook did not mutate it)\n"
	if r.out != want {
		t.Fatalf("stdout =\n%s\nwant\n%s", r.out, want)
	}
	if c := r.calls(); c["patch serviceaccounts"] != 0 || c["patch deployments"] != 1 || c["dry-run create pods"] == 0 {
		t.Fatalf("calls %v: want the Deployment restarted once the webhook admits the credentials, no service account written", c)
	}

	_ = client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "shop", "web-1")
	_ = client.Tracker().Add(kt.OnPodIdentity(web, "web-2", ""))
	second := rerun(t, r, args...)
	wantCode(t, second, ExitOK)
	if f.Writes() != 1 || second.calls().Writes() != 0 {
		t.Fatalf("rerun: AWS writes %d, calls %v", f.Writes()-1, second.calls())
	}
	if !strings.HasPrefix(second.out, "podidentityassociation a-1 unchanged (serviceaccount/app, role "+piRole+")\n") ||
		!strings.Contains(second.out, "deployment.apps/web unchanged: 1 live pod already carries EKS Pod Identity's container credentials") {
		t.Fatalf("rerun stdout:\n%s", second.out)
	}
}

// TestEnablePodIdentityNotAdmitted: a webhook that never admits pods with the container
// credentials (a self-managed one without its Pod Identity configuration) stops the run before
// any restart, exit 1, naming the association written, how to finish and how to undo; the
// same with --restart=never and for an account with no workload, never "restarting anyway".
func TestEnablePodIdentityNotAdmitted(t *testing.T) {
	tests := []struct {
		name         string
		extra        []string
		withWorkload bool
		wantRestart  string
	}{
		{name: "workload to restart", withWorkload: true, wantRestart: "nothing was restarted (deployment.apps/web -n shop would have been, and its new pods would have got the old credentials)"},
		{name: "restart never", extra: []string{"--restart=never"}, withWorkload: true},
		{name: "no workload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := piAWS()
			withAWS(t, f)
			testAssociated = func(string, string) bool { return false }
			objs := []runtime.Object{kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil)}
			if tt.withWorkload {
				web := kt.Deployment("shop", "web", "app")
				objs = append(objs, web, kt.PodOf(web, "web-1", ""))
			}
			client := fake.NewClientset(objs...)
			args := append([]string{"enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}, tt.extra...)
			r := runWI(t, client, args...)
			wantCode(t, r, ExitCheckFailed)
			if c := r.calls(); c["patch deployments"] != 0 {
				t.Fatalf("calls %v: restarted although the webhook never admitted the credentials", c)
			}
			for _, want := range []string{
				"does not admit new pods with the association's container credentials",
				"Written and left in place: association a-1 of serviceaccount/app -n shop created in EKS cluster " + awstest.Cluster,
				"run the same command again", "kubectl wi disable --pod-identity",
				tt.wantRestart,
			} {
				if !strings.Contains(r.errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
				}
			}
			if strings.Contains(r.errOut, "restarting anyway") {
				t.Errorf("stderr says it restarts anyway:\n%s", r.errOut)
			}
		})
	}
}

// TestEnablePodIdentityInterruptedWait: Ctrl-C while waiting for the webhook is exit 130 at
// once, with no restart, and a line naming what was written and left.
func TestEnablePodIdentityInterruptedWait(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Ctrl-C as the webhook admits the first dry-run pod of the wait, without the credentials.
	testAssociated = func(string, string) bool { cancel(); return false }
	web := kt.Deployment("shop", "web", "app")
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
	r := runWIContext(t, ctx, client, 0, "enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster)
	wantCode(t, r, ExitInterrupted)
	if c := r.calls(); c["patch deployments"] != 0 {
		t.Fatalf("calls %v: restarted after Ctrl-C", c)
	}
	if !strings.Contains(r.errOut, "nothing was restarted") || !strings.Contains(r.errOut, "association a-1 of serviceaccount/app -n shop created") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
}

// TestEnablePodIdentityInterruptedWrite: Ctrl-C while the first association's create is on
// its way to EKS, which makes it: the run waits for the answer and names the association it
// made, makes no write after Ctrl-C (the second account gets none), and exits 130.
func TestEnablePodIdentityInterruptedWrite(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	withDeps(t, func(d *deps) {
		d.podIdentityClient = func(aws.Config) podidentity.AWS {
			return awstest.Interrupting{AWS: f, Action: podidentity.ActionCreateAssociation, Interrupt: cancel}
		}
	})
	var objs []runtime.Object
	for _, name := range []string{"api", "batch"} {
		sa := kt.ServiceAccount("shop", name, nil)
		sa.Labels = map[string]string{"team": "a"}
		objs = append(objs, sa)
	}
	client := fake.NewClientset(append(objs, kt.Namespace("shop"))...)
	r := runWIContext(t, ctx, client, 0, "enable", "-l", "team=a", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster)
	wantCode(t, r, ExitInterrupted)
	if n := f.Calls[podidentity.ActionCreateAssociation]; n != 1 || f.Writes() != 1 {
		t.Fatalf("AWS calls %v: want the one create that was on its way, none after Ctrl-C", f.Calls)
	}
	if !strings.Contains(r.out, "podidentityassociation a-1 created (serviceaccount/api, role "+piRole+")") ||
		!strings.Contains(r.errOut, "nothing was restarted. Written and left in place: association a-1 of serviceaccount/api -n shop create") ||
		strings.Contains(r.errOut, "batch") {
		t.Fatalf("the association EKS made is not named, or one it did not make is:\nstdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
}

// TestEnablePodIdentityOtherRole: another role is refused without --overwrite, before any
// write; with it the association is updated in place, never deleted and created again.
func TestEnablePodIdentityOtherRole(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	f.Assocs["a-7"] = &awsread.Association{ID: "a-7", Namespace: "shop", ServiceAccount: "app", RoleARN: awstest.OtherRole}
	f.Roles["other"] = awstest.TrustOf(awstest.PodIdentityStatement, targetTrust(""))
	client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil))
	args := []string{"enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}
	r := runWI(t, client, args...)
	wantCode(t, r, ExitUsage)
	if f.Writes() != 0 || !strings.Contains(r.errOut, "has "+awstest.OtherRole+" (association a-7)") || !strings.Contains(r.errOut, "--overwrite") {
		t.Fatalf("writes %d\n%s", f.Writes(), r.errOut)
	}
	r = runWI(t, client, append(args, "--overwrite", "--target-role-arn", awstest.OtherRole)...)
	wantCode(t, r, ExitOK)
	if f.Calls[podidentity.ActionUpdateAssociation] != 1 || f.Writes() != 1 || f.Assocs["a-7"].RoleARN != piRole || f.Assocs["a-7"].TargetRoleARN != awstest.OtherRole {
		t.Fatalf("calls %v, association %+v", f.Calls, f.Assocs["a-7"])
	}
	if !strings.Contains(r.out, "podidentityassociation a-7 updated (serviceaccount/app, roleArn, targetRoleArn: role "+piRole+", target role "+awstest.OtherRole+")") {
		t.Fatalf("stdout:\n%s", r.out)
	}
}

// TestEnablePodIdentityDryRun: the AWS call is shown, not sent; with server, the restart goes
// to the apiserver as a dry run.
func TestEnablePodIdentityDryRun(t *testing.T) {
	for _, mode := range []string{"client", "server"} {
		f := piAWS()
		withAWS(t, f)
		web := kt.Deployment("shop", "web", "app")
		client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", ""))
		r := runWI(t, client, "enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster, "--dry-run="+mode)
		wantCode(t, r, ExitOK)
		cmd := "aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account app --role-arn " + piRole
		if f.Writes() != 0 || !strings.Contains(r.out, cmd) {
			t.Fatalf("%s: AWS writes %d\n%s", mode, f.Writes(), r.out)
		}
		ps := patches(client, "deployments")
		switch mode {
		case "client":
			if len(ps) != 0 || !strings.Contains(r.out, "deployment.apps/web restarted (dry run)") {
				t.Fatalf("client: patches %v\n%s", ps, r.out)
			}
		case "server":
			if len(ps) != 1 || len(ps[0].GetPatchOptions().DryRun) != 1 || ps[0].GetPatchOptions().DryRun[0] != metav1.DryRunAll || !strings.Contains(r.out, "EKS has no dry run") {
				t.Fatalf("server: patches %+v\n%s", ps, r.out)
			}
		}
	}
}

// TestDisablePodIdentity: the association is deleted and the workload still on it restarted;
// a rerun makes no write.
func TestDisablePodIdentity(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	f.Assocs["a-3"] = &awsread.Association{ID: "a-3", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole}
	web := kt.Deployment("shop", "web", "app")
	sa := kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: piRole})
	client := fake.NewClientset(kt.Namespace("shop"), sa, web, kt.OnPodIdentity(web, "web-1", ""))
	args := []string{"disable", "app", "-n", "shop", "--pod-identity", "--eks-cluster", awstest.Cluster}
	r := runWI(t, client, args...)
	wantCode(t, r, ExitOK)
	want := "podidentityassociation a-3 deleted (serviceaccount/app)\ndeployment.apps/web restarted: pod web-1 still carries EKS Pod Identity's container credentials\n"
	if r.out != want || f.Calls[podidentity.ActionDeleteAssociation] != 1 || len(f.Assocs) != 0 {
		t.Fatalf("stdout =\n%s\nwant\n%s\ncalls %v", r.out, want, f.Calls)
	}
	if getSA(t, client, "shop", "app").Annotations[identity.AnnotationRoleARN] != piRole {
		t.Fatal("disable --pod-identity touched the role-arn annotation")
	}
	_ = client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "shop", "web-1")
	_ = client.Tracker().Add(kt.Injected(web, "web-2", "", identity.Config{RoleARN: piRole}))
	second := rerun(t, r, args...)
	wantCode(t, second, ExitOK)
	if f.Writes() != 1 || second.calls().Writes() != 0 || !strings.HasPrefix(second.out, "serviceaccount/app has no Pod Identity association: unchanged\n") {
		t.Fatalf("rerun: AWS writes %d, calls %v\n%s", f.Writes()-1, second.calls(), second.out)
	}
}

// TestPodIdentityBadInput: each is refused with exit 2, before any AWS write.
func TestPodIdentityBadInput(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	base := []string{"-n", "shop", "--pod-identity", "--eks-cluster", awstest.Cluster}
	tests := []struct {
		args []string
		want string
	}{
		{append([]string{"enable", "app", "--role-arn", "arn:aws:iam::12:role/x"}, base...), "invalid --role-arn"},
		{append([]string{"enable", "app", "--role-arn", piRole, "--target-role-arn", "nope"}, base...), "invalid --target-role-arn"},
		{append([]string{"enable", "app", "--role-arn", piRole, "--audience", "x"}, base...), "--audience does not apply with --pod-identity"},
		{append([]string{"enable", "app", "--role-arn", piRole, "-o", "name"}, base...), "an association is an EKS object: use -o jsonpath={.associationId}"},
		{append([]string{"enable", "-l", "team=a", "--create", "--role-arn", piRole}, base...), "--create creates the service accounts TARGET names"},
		{append([]string{"disable", "app", "-o", "yaml"}, base...), "--output does not apply with --pod-identity"},
		{[]string{"enable", "app", "-n", "shop", "--role-arn", piRole, "--skip-preflight"}, "--skip-preflight only applies with --pod-identity"},
		{[]string{"enable", "app", "-n", "shop", "--role-arn", piRole, "--eks-cluster", "prod"}, "--eks-cluster only applies with --pod-identity"},
		{[]string{"enable", "app", "-n", "shop", "--role-arn", piRole, "--pod-identity"}, "pass --eks-cluster NAME"},
		{[]string{"enable", "app", "-n", "shop", "--role-arn", piRole, "--pod-identity", "--eks-cluster", "nope"}, `EKS cluster "nope" (from --eks-cluster) not found`},
		{append([]string{"enable", "missing", "--role-arn", piRole}, base...), `serviceaccount "missing" not found`},
		{append([]string{"enable", "storagecluster/px", "--role-arn", piRole}, base...), "is a custom resource"},
	}
	for _, tt := range tests {
		r := runWI(t, fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil)), tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, tt.want) || f.Writes() != 0 {
			t.Errorf("%v: exit %d, writes %d, stderr:\n%s\nwant exit 2 and %q", tt.args, r.code, f.Writes(), r.errOut, tt.want)
		}
	}
}

// TestPodIdentityDenied: EKS refusing the write is exit 3 naming the action to ask for.
func TestPodIdentityDenied(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	f.Deny = []string{podidentity.ActionCreateAssociation}
	r := runWI(t, fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil)),
		"enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster)
	wantCode(t, r, ExitEnvironment)
	if !strings.Contains(r.errOut, "ask for "+podidentity.ActionCreateAssociation) {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
}

// TestPodIdentityClusterFromKubeconfig: an EKS context's cluster ARN names the cluster.
func TestPodIdentityClusterFromKubeconfig(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: `+awstest.ClusterARN+`
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: eks
  context: {cluster: "`+awstest.ClusterARN+`", user: u}
current-context: eks
users:
- name: u
  user: {token: x}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWI(t, fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil)),
		"enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--kubeconfig", kubeconfig)
	wantCode(t, r, ExitOK)
	if !f.Associated("shop", "app") {
		t.Fatalf("no association\n%s", r.out)
	}
}

//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// piWI runs kubectl-wi as the AWS stand-in's test user: its key, the stand-in's endpoints and
// CA, and nothing else (no profile, no instance metadata).
func (e env) piWI(t *testing.T, args ...string) result {
	t.Helper()
	t.Logf("kubectl-wi %s", strings.Join(args, " "))
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(e.awsEnv(nil), "AWS_ACCESS_KEY_ID="+e.aws["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+e.aws["AWS_SECRET_ACCESS_KEY"])
	r := e.run(t, cmd)
	for _, secret := range []string{e.aws["AWS_SECRET_ACCESS_KEY"]} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("kubectl-wi %s printed the test user's secret access key", args[0])
		}
	}
	return r
}

// piWant requires the exit code, showing the run when it differs.
func piWant(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// forgetAssociations deletes, when the test ends, every association of the namespace that is
// left: a failed test must not leave the webhook injecting for a namespace that is gone.
func (e env) forgetAssociations(t *testing.T, ns string) {
	t.Helper()
	api := e.eksClient(t)
	t.Cleanup(func() {
		ctx := context.Background()
		out, err := api.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(e.eksCluster), Namespace: aws.String(ns)})
		if err != nil {
			t.Errorf("ListPodIdentityAssociations: %v", err)
			return
		}
		for _, a := range out.Associations {
			_, _ = api.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String(e.eksCluster), AssociationId: a.AssociationId})
		}
	})
}

// associations lists the namespace's associations by service account, with their roles.
func (e env) associations(t *testing.T, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	api := e.eksClient(t)
	out, err := api.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(e.eksCluster), Namespace: aws.String(ns)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range out.Associations {
		d, err := api.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(e.eksCluster), AssociationId: a.AssociationId})
		if err != nil {
			t.Fatal(err)
		}
		got[aws.ToString(a.ServiceAccount)] = aws.ToString(d.Association.RoleArn)
	}
	return got
}

// livePodsOf are the running pods of the deployment app=name.
func livePodsOf(t *testing.T, c kubernetes.Interface, ns, name string) []corev1.Pod {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// onPodIdentity: the pod got the agent's container credentials and not the web identity role.
func onPodIdentity(p *corev1.Pod) bool {
	env := envOf(p.Spec.Containers[0])
	return env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != "" && env["AWS_ROLE_ARN"] == ""
}

// restartedAt is the deployment's template restartedAt, "" before any restart.
func restartedAt(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	d, err := c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
}

// irsaAndPodIdentityTrust trusts ns/sa's web identity, and Pod Identity.
func (e env) irsaAndPodIdentityTrust(ns, sa string) map[string]any {
	p := e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":"+sa)
	p["Statement"] = append(p["Statement"].([]any), podIdentityTrust("sts:AssumeRole", "sts:TagSession")["Statement"].([]any)...)
	return p
}

// testUser is the AWS stand-in's test user, whose key the plugin runs with.
func (e env) testUser() awsUser {
	return awsUser{AccessKeyID: e.aws["AWS_ACCESS_KEY_ID"], SecretAccessKey: e.aws["AWS_SECRET_ACCESS_KEY"]}
}

// TestEnablePodIdentity: enable --pod-identity creates the association through the EKS API and
// restarts the workload onto the agent's credentials; verify then passes through the agent. A
// second enable makes no AWS write and no restart. disable --pod-identity deletes it and
// restarts the workload off it, and a second disable writes nothing.
func TestEnablePodIdentity(t *testing.T) {
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	role := e.addSTSRole(t, "pi-enable-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	e.awaitRole(t, e.testUser(), "pi-enable-"+ns)
	serviceAccount(t, c, ns, "app", nil)
	e.idleDeployment(t, c, ns, "web", "app")
	common := []string{"-n", ns, "--pod-identity", "--eks-cluster", e.eksCluster}

	before := countWrites(e.awsRequests(t))
	r := e.piWI(t, append([]string{"enable", "deployment/web", "--role-arn", role, "--wait"}, common...)...)
	piWant(t, r, 0)
	if !strings.Contains(r.stdout, "created (serviceaccount/app, role "+role+")") || !strings.Contains(r.stdout, "deployment.apps/web restarted: ") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if n := countWrites(e.awsRequests(t)) - before; n != 1 || e.associations(t, ns)["app"] != role {
		t.Fatalf("%d AWS writes, associations %v; want one CreatePodIdentityAssociation", n, e.associations(t, ns))
	}
	pods := livePodsOf(t, c, ns, "web")
	if len(pods) != 1 || !onPodIdentity(&pods[0]) {
		t.Fatalf("the restarted pod is not on Pod Identity: %v", pods)
	}

	stamp := restartedAt(t, c, ns, "web")
	again := e.piWI(t, append([]string{"enable", "deployment/web", "--role-arn", role}, common...)...)
	piWant(t, again, 0)
	if n := countWrites(e.awsRequests(t)) - before; n != 1 || restartedAt(t, c, ns, "web") != stamp || !strings.Contains(again.stdout, "unchanged") {
		t.Fatalf("second enable: %d AWS writes in all, restartedAt %q -> %q\n%s", n, stamp, restartedAt(t, c, ns, "web"), again.stdout)
	}

	v := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	piWant(t, v, 0)
	got := checkLines(t, v.stdout)
	if got["podidentity.agent"] != "PASS" || !strings.Contains(lineOf(v.stdout, "sts.caller_identity"), ":assumed-role/pi-enable-"+ns+"/eks-"+e.eksCluster+"-") {
		t.Fatalf("verify did not pass through the agent:\n%s", v.stdout)
	}

	d := e.piWI(t, append([]string{"disable", "deployment/web", "--wait"}, common...)...)
	piWant(t, d, 0)
	if n := countWrites(e.awsRequests(t)) - before; n != 2 || len(e.associations(t, ns)) != 0 || !strings.Contains(d.stdout, "deleted (serviceaccount/app)") {
		t.Fatalf("disable: %d AWS writes in all, associations %v\n%s", n, e.associations(t, ns), d.stdout)
	}
	if pods := livePodsOf(t, c, ns, "web"); len(pods) != 1 || envOf(pods[0].Spec.Containers[0])["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != "" {
		t.Fatalf("after disable the pod still carries the container credentials: %v", pods)
	}
	stamp = restartedAt(t, c, ns, "web")
	d = e.piWI(t, append([]string{"disable", "deployment/web"}, common...)...)
	piWant(t, d, 0)
	if n := countWrites(e.awsRequests(t)) - before; n != 2 || restartedAt(t, c, ns, "web") != stamp || !strings.Contains(d.stdout, "has no Pod Identity association: unchanged") {
		t.Fatalf("second disable: %d AWS writes in all\n%s", n, d.stdout)
	}
}

// migrateArgs is migrate of the namespace on the local cluster, the probe's STS the stand-in.
func (e env) migrateArgs(ns string, extra ...string) []string {
	return append([]string{"migrate", "-n", ns, "--to", "pod-identity", "--eks-cluster", e.eksCluster, "--sts-endpoint", e.stsEndpoint, "--ca-bundle", e.caFile}, extra...)
}

// TestMigrateNamespace: a namespace of five IRSA workloads, each its own account and role, is
// migrated: five associations, each proven, five restarts, every new pod on Pod Identity, and
// verify proves all five through the agent. A rerun writes nothing and restarts nothing;
// --remove-irsa then removes the annotations without a restart, and a last rerun does nothing.
func TestMigrateNamespace(t *testing.T) {
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	names := []string{"a", "b", "c", "d", "e"}
	roles := map[string]string{}
	for _, n := range names {
		roles[n] = e.addSTSRole(t, "mig-"+ns+"-"+n, e.irsaAndPodIdentityTrust(ns, "sa-"+n))
	}
	e.awaitRole(t, e.testUser(), "mig-"+ns+"-e")
	for _, n := range names {
		serviceAccount(t, c, ns, "sa-"+n, map[string]string{"eks.amazonaws.com/role-arn": roles[n]})
		e.idleDeployment(t, c, ns, "w-"+n, "sa-"+n)
		if p := livePodsOf(t, c, ns, "w-"+n); len(p) != 1 || envOf(p[0].Spec.Containers[0])["AWS_ROLE_ARN"] != roles[n] {
			t.Fatalf("w-%s is not on IRSA: %v", n, p)
		}
	}

	before := countWrites(e.awsRequests(t))
	// As a user bound, in ns alone, to deploy/rbac/migrate.yaml: it is enough. Without its
	// first read, migrate stops before any write and names the permission.
	migrateRole := loadClusterRole(t, "migrate.yaml")
	kubeconfig := e.userWithRole(t, c, ns, migrateRole, &permission{"list", "serviceaccounts"}, ns)
	r := e.piWI(t, e.migrateArgs(ns, "--kubeconfig", kubeconfig)...)
	if r.code != 3 || !strings.Contains(r.stderr, `ask for RBAC verb "list" on "serviceaccounts"`) || countWrites(e.awsRequests(t)) != before {
		t.Fatalf("without list serviceaccounts: exit %d\n%s", r.code, r.stderr)
	}
	kubeconfig = e.userWithRole(t, c, ns, migrateRole, nil, ns)
	r = e.piWI(t, e.migrateArgs(ns, "--kubeconfig", kubeconfig)...)
	piWant(t, r, 0)
	if !strings.Contains(r.stdout, "5 of 5 service account(s) on EKS Pod Identity") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if n := countWrites(e.awsRequests(t)) - before; n != 5 {
		t.Fatalf("%d AWS writes, want five CreatePodIdentityAssociation\n%s", n, r.stdout)
	}
	assoc := e.associations(t, ns)
	stamps := map[string]string{}
	for _, n := range names {
		if assoc["sa-"+n] != roles[n] {
			t.Errorf("sa-%s's association: %q, want %s", n, assoc["sa-"+n], roles[n])
		}
		if !strings.Contains(r.stdout, "serviceaccount/sa-"+n+": verified on EKS Pod Identity") || !strings.Contains(r.stdout, "deployment.apps/w-"+n+" restarted: ") {
			t.Errorf("sa-%s was not proven and restarted:\n%s", n, r.stdout)
		}
		pods := livePodsOf(t, c, ns, "w-"+n)
		if len(pods) != 1 || !onPodIdentity(&pods[0]) {
			t.Errorf("w-%s's pod is not on Pod Identity: %v", n, pods)
		}
		stamps[n] = restartedAt(t, c, ns, "w-"+n)
	}

	// All five proven on Pod Identity, by verify's own fleet run.
	v := e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-o", "json")...)
	piWant(t, v, 0)
	passed := map[string]bool{}
	for _, ev := range explainEvents(t, v.stdout) {
		if ev.Type == check.TypeCheck && ev.Check == "pod.mutation" && ev.Data["path"] == probe.PathPodIdentity && ev.Status == check.StatusPass {
			passed[ev.Account] = true
		}
	}
	if len(passed) != 5 {
		t.Fatalf("verify proved %d accounts on Pod Identity, want 5: %v", len(passed), passed)
	}

	r = e.piWI(t, e.migrateArgs(ns)...)
	piWant(t, r, 0)
	e.migrateChangedNothing(t, c, ns, before+5, stamps, r)

	r = e.piWI(t, e.migrateArgs(ns, "--remove-irsa")...)
	piWant(t, r, 0)
	if n := countWrites(e.awsRequests(t)) - before; n != 5 {
		t.Fatalf("--remove-irsa made AWS writes: %d in all\n%s", n, r.stdout)
	}
	for _, n := range names {
		sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "sa-"+n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sa.Annotations["eks.amazonaws.com/role-arn"]; ok || restartedAt(t, c, ns, "w-"+n) != stamps[n] {
			t.Errorf("sa-%s: annotations %v, restartedAt %q (was %q): want the annotation gone, no restart", n, sa.Annotations, restartedAt(t, c, ns, "w-"+n), stamps[n])
		}
	}
	r = e.piWI(t, e.migrateArgs(ns, "--remove-irsa")...)
	piWant(t, r, 0)
	e.migrateChangedNothing(t, c, ns, before+5, stamps, r)
}

// migrateChangedNothing: the run said so, made no AWS write since writes, restarted nothing
// and proved nothing.
func (e env) migrateChangedNothing(t *testing.T, c kubernetes.Interface, ns string, writes int, stamps map[string]string, r result) {
	t.Helper()
	if n := countWrites(e.awsRequests(t)); n != writes {
		t.Errorf("the rerun made %d AWS writes", n-writes)
	}
	for n, stamp := range stamps {
		if got := restartedAt(t, c, ns, "w-"+n); got != stamp {
			t.Errorf("the rerun restarted w-%s (%q -> %q)", n, stamp, got)
		}
	}
	if !strings.Contains(r.stdout, "nothing to do") || strings.Contains(r.stdout, "verified") {
		t.Errorf("the rerun did something:\n%s", r.stdout)
	}
}

// TestMigrateTrustMissing: a role that trusts only the account's web identity stops the
// migration at the pre-flight, with the policy to apply printed and nothing written; with
// --write-trust the statement is added (the web identity statement kept) and the account
// migrated.
func TestMigrateTrustMissing(t *testing.T) {
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	name := "mig-notrust-" + ns
	role := e.addSTSRole(t, name, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	e.awaitRole(t, e.testUser(), name)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	e.idleDeployment(t, c, ns, "web", "app")

	before := countWrites(e.awsRequests(t))
	r := e.piWI(t, e.migrateArgs(ns)...)
	piWant(t, r, 1)
	for _, want := range []string{"pre-flight FAILED for serviceaccount/app: the role " + role + " does not trust pods.eks.amazonaws.com", `"Service": "pods.eks.amazonaws.com"`,
		"aws iam update-assume-role-policy --role-name " + name, "--write-trust", "nothing was changed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := countWrites(e.awsRequests(t)) - before; n != 0 || len(e.associations(t, ns)) != 0 || restartedAt(t, c, ns, "web") != "" {
		t.Fatalf("the pre-flight wrote: %d AWS writes, associations %v, restartedAt %q", n, e.associations(t, ns), restartedAt(t, c, ns, "web"))
	}

	r = e.piWI(t, e.migrateArgs(ns, "--write-trust")...)
	piWant(t, r, 0)
	if n := countWrites(e.awsRequests(t)) - before; n != 2 || e.associations(t, ns)["app"] != role {
		t.Fatalf("--write-trust: %d AWS writes (want the policy and the association)\n%s", n, r.stdout)
	}
	if pods := livePodsOf(t, c, ns, "web"); len(pods) != 1 || !onPodIdentity(&pods[0]) {
		t.Fatalf("web is not on Pod Identity: %v", pods)
	}
	written := e.stsRoleTrust(t, name)
	if !strings.Contains(written, `"Federated"`) || !strings.Contains(written, "system:serviceaccount:"+ns+":app") || !strings.Contains(written, "pods.eks.amazonaws.com") {
		t.Fatalf("the written trust policy lost the web identity statement or lacks Pod Identity's:\n%s", written)
	}
}

// stsRoleTrust is a role's trust policy as the AWS stand-in's configuration holds it now.
func (e env) stsRoleTrust(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(e.stsConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Roles []struct {
			Name        string `json:"name"`
			TrustPolicy any    `json:"trustPolicy"`
		} `json:"roles"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Roles {
		if r.Name == name {
			if s, ok := r.TrustPolicy.(string); ok {
				return s
			}
			b, _ := json.Marshal(r.TrustPolicy)
			return string(b)
		}
	}
	t.Fatalf("role %s is not in %s", name, e.stsConfig)
	return ""
}

// TestMigrateVerifyFailsRollsBack: when the probe pod cannot prove the account (here its STS
// endpoint is a closed port of the bridge gateway, so the caller is never confirmed), migrate
// says the verify step failed, deletes the association it created, restarts nothing and
// leaves the annotation: the workload is as it was.
func TestMigrateVerifyFailsRollsBack(t *testing.T) {
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	name := "mig-rollback-" + ns
	role := e.addSTSRole(t, name, e.irsaAndPodIdentityTrust(ns, "app"))
	e.awaitRole(t, e.testUser(), name)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	e.idleDeployment(t, c, ns, "web", "app")

	before := countWrites(e.awsRequests(t))
	closed := "https://10.244.0.1:1" // the test bed's own address, where nothing listens
	r := e.piWI(t, "migrate", "-n", ns, "--to", "pod-identity", "--eks-cluster", e.eksCluster, "--sts-endpoint", closed, "--ca-bundle", e.caFile,
		"--remove-irsa", "--verify-timeout", "60s")
	piWant(t, r, 1)
	for _, want := range []string{"serviceaccount/app: the verify step FAILED", "deleted: rolled back; its workloads were not restarted, so it is as it was",
		"failed: serviceaccount/app at the verify step"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := countWrites(e.awsRequests(t)) - before; n != 2 || len(e.associations(t, ns)) != 0 {
		t.Fatalf("%d AWS writes (want the create and its roll-back), associations left %v", n, e.associations(t, ns))
	}
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if restartedAt(t, c, ns, "web") != "" || sa.Annotations["eks.amazonaws.com/role-arn"] != role {
		t.Fatalf("the workload is not as it was: restartedAt %q, annotations %v", restartedAt(t, c, ns, "web"), sa.Annotations)
	}
	if pods := livePodsOf(t, c, ns, "web"); len(pods) != 1 || envOf(pods[0].Spec.Containers[0])["AWS_ROLE_ARN"] != role {
		t.Fatalf("web's pod is not the IRSA one it was: %v", pods)
	}
}

// migrateWrite is one AWS write of the stand-in's request log.
type migrateWrite struct {
	Action, Outcome, Role, Association, Namespace, ServiceAccount string
}

// migrateWrites are the AWS writes the request log holds for the namespace's associations (the
// creates naming it, and the deletes of the associations they made) and for the roles named:
// the log has every test's requests, so each counts its own.
func (e env) migrateWrites(t *testing.T, ns string, roles ...string) []migrateWrite {
	t.Helper()
	b, err := os.ReadFile(e.awsRequestLog)
	if err != nil {
		t.Fatalf("the AWS stand-in's request log: %v", err)
	}
	var out []migrateWrite
	mine := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			migrateWrite
			Write bool
		}
		if line == "" || json.Unmarshal([]byte(line), &r) != nil || !r.Write {
			continue
		}
		switch {
		case r.Action == "CreatePodIdentityAssociation" && r.Namespace == ns:
			mine[r.Association] = true
		case r.Action == "UpdateAssumeRolePolicy" && slices.Contains(roles, r.Role):
		case r.Association != "" && mine[r.Association]:
		default:
			continue
		}
		out = append(out, r.migrateWrite)
	}
	return out
}

// writeList is the writes as "Action subject" lines, to compare and to show.
func writeList(ws []migrateWrite) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Action + " " + cmp.Or(w.ServiceAccount, w.Role, w.Association)
		if w.Action == "DeletePodIdentityAssociation" {
			out[i] = w.Action
		}
	}
	return out
}

// TestMigrateOneBadAccount: a namespace of two IRSA accounts, one whose role does not trust Pod
// Identity. The dry run prints the plan of both, the good one's tasks and the bad one's reason,
// and exits 1 with no write. The run leaves the bad one untouched and goes on with the good one:
// under the EKS profile it is migrated (its association, its workload restarted onto it); under
// the default profile, whose webhook cannot inject Pod Identity, the good one gets as far as
// the admission step and is rolled back. Either way exit 1, naming the bad account and why.
func TestMigrateOneBadAccount(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns, good, bad, goodRole, badRole := e.goodAndBadAccounts(t, c, "mob")

	r := e.piWI(t, e.migrateArgs(ns, "--dry-run")...)
	piWant(t, r, 1)
	for _, want := range []string{
		"plan (dry run): 2 service account(s) of namespace " + ns + ": 1 to migrate, 0 on EKS Pod Identity already, 1 skipped",
		"serviceaccount/good: 3 task(s):",
		"1. podidentityassociation created (dry run): aws eks create-pod-identity-association --cluster-name " + e.eksCluster + " --namespace " + ns + " --service-account good --role-arn " + goodRole,
		"3. deployment.apps/w-good restarted (dry run): ",
		"serviceaccount/bad: SKIPPED, left untouched: the role " + badRole + " does not trust pods.eks.amazonaws.com",
		"(fix: rerun with --write-trust, or apply the policy the pre-flight printed)",
		"skipped at the pre-flight: serviceaccount/bad",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run: stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "deployment.apps/w-bad restarted") {
		t.Errorf("the dry run plans a restart of the bad account's workload:\n%s", r.stdout)
	}
	if ws := e.migrateWrites(t, ns, good, bad); len(ws) != 0 || restartedAt(t, c, ns, "w-good") != "" {
		t.Fatalf("the dry run wrote: %v, w-good restartedAt %q", writeList(ws), restartedAt(t, c, ns, "w-good"))
	}

	r = e.piWI(t, e.migrateArgs(ns)...)
	piWant(t, r, 1)
	for _, want := range []string{
		"pre-flight FAILED for serviceaccount/bad: the role " + badRole + " does not trust pods.eks.amazonaws.com",
		"serviceaccount/bad: skipped, left untouched: the role " + badRole,
		"podidentityassociation ", // the good one's, created
		"failed: serviceaccount/bad at the pre-flight step, left untouched: the role " + badRole + " does not trust pods.eks.amazonaws.com",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run: stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	ws := writeList(e.migrateWrites(t, ns, good, bad))
	if _, ok := e.associations(t, ns)["bad"]; ok || restartedAt(t, c, ns, "w-bad") != "" || slices.Contains(ws, "CreatePodIdentityAssociation bad") {
		t.Errorf("the bad account was touched: writes %v, w-bad restartedAt %q", ws, restartedAt(t, c, ns, "w-bad"))
	}
	if e.eksProfile() {
		if !slices.Equal(ws, []string{"CreatePodIdentityAssociation good"}) || e.associations(t, ns)["good"] != goodRole || restartedAt(t, c, ns, "w-good") == "" {
			t.Fatalf("the good account was not migrated: writes %v, associations %v\n%s", ws, e.associations(t, ns), r.stdout)
		}
		if pods := livePodsOf(t, c, ns, "w-good"); len(pods) != 1 || !onPodIdentity(&pods[0]) {
			t.Fatalf("w-good's pod is not on Pod Identity: %v", pods)
		}
		if !strings.Contains(r.stdout, "1 of 2 service account(s) on EKS Pod Identity") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		return
	}
	// This webhook cannot inject Pod Identity: the good account got past the pre-flight, its
	// association was created, and rolled back when no new pod came with the credentials.
	if !slices.Equal(ws, []string{"CreatePodIdentityAssociation good", "DeletePodIdentityAssociation"}) || len(e.associations(t, ns)) != 0 || restartedAt(t, c, ns, "w-good") != "" {
		t.Fatalf("the good account did not go on alone: writes %v, associations %v, w-good restartedAt %q\n%s", ws, e.associations(t, ns), restartedAt(t, c, ns, "w-good"), r.stdout)
	}
	for _, want := range []string{"serviceaccount/good: the admission step FAILED", "its workloads were not restarted, so it is as it was",
		"0 of 2 service account(s) on EKS Pod Identity", "serviceaccount/good at the admission step"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run: stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestMigrateWriteTrustRollsBack: --write-trust adds Pod Identity's statement to a role that
// lacks it; when the account then fails before its restart (its proof, the STS endpoint being a
// closed port, under the EKS profile; the admission, under the default profile whose webhook
// cannot inject Pod Identity), migrate deletes the association and puts the role's trust policy
// back as it was, and says so: exit 1, four writes (the policy, the association, and both undone).
func TestMigrateWriteTrustRollsBack(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	name := "mig-wt-" + ns
	original := e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app")
	role := e.addSTSRole(t, name, original)
	e.awaitRole(t, e.testUser(), name)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	e.idleDeployment(t, c, ns, "web", "app")

	closed := "https://10.244.0.1:1" // the test bed's own address, where nothing listens
	r := e.piWI(t, "migrate", "-n", ns, "--to", "pod-identity", "--eks-cluster", e.eksCluster, "--sts-endpoint", closed, "--ca-bundle", e.caFile,
		"--write-trust", "--verify-timeout", "60s")
	piWant(t, r, 1)
	for _, want := range []string{
		"role " + role + ": trust policy updated: it now lets pods.eks.amazonaws.com assume it",
		"deleted: rolled back; its workloads were not restarted, and the trust policy of " + role + " restored to the one it had before this run (the statement --write-trust added for pods.eks.amazonaws.com removed), so it is as it was",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	ws := writeList(e.migrateWrites(t, ns, name))
	if want := []string{"UpdateAssumeRolePolicy " + name, "CreatePodIdentityAssociation app", "DeletePodIdentityAssociation", "UpdateAssumeRolePolicy " + name}; !slices.Equal(ws, want) {
		t.Errorf("writes %v, want %v", ws, want)
	}
	if len(e.associations(t, ns)) != 0 || restartedAt(t, c, ns, "web") != "" {
		t.Errorf("associations %v, web restartedAt %q: want none, and no restart", e.associations(t, ns), restartedAt(t, c, ns, "web"))
	}
	var got, want any
	if err := json.Unmarshal([]byte(e.stsRoleTrust(t, name)), &got); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(original)
	_ = json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the role's trust policy is not the original again:\n%s\nwant\n%s", e.stsRoleTrust(t, name), b)
	}
}

// TestMigrateJSON: with -o json migrate writes its run as events and nothing else on stdout,
// no progress on stderr, with text's exit codes: a namespace of a good and a bad account (its
// role does not trust Pod Identity). The dry run writes nothing; the run ends with each
// account's outcome, the bad one skipped with the policy's command as its fix, and the
// verdict, a result without an account, last. Under the EKS profile the good account is
// migrated and its proof's events come with its account; under the default profile, whose
// webhook cannot inject Pod Identity, it fails at the admission step.
func TestMigrateJSON(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns, good, bad, _, badRole := e.goodAndBadAccounts(t, c, "mj")

	// outcomes are the run's migrate.account events by account, after checking the stream.
	outcomes := func(t *testing.T, r result) (map[string]check.Event, []check.Event) {
		t.Helper()
		evs := explainEvents(t, r.stdout)
		last := evs[len(evs)-1]
		if last.Type != check.TypeResult || last.Account != "" || last.Status != check.StatusFail {
			t.Fatalf("last event %+v, want a failed verdict\n%s", last, r.stdout)
		}
		if strings.Contains(r.stderr, "waiting for the webhook") || strings.Contains(r.stderr, "proving") {
			t.Errorf("progress on stderr with -o json:\n%s", r.stderr)
		}
		out := map[string]check.Event{}
		for _, ev := range evs {
			if ev.Check == "migrate.account" {
				out[ev.Account] = ev
			}
		}
		if len(out) != 2 {
			t.Fatalf("outcomes of %v, want the two accounts\n%s", out, r.stdout)
		}
		badOut := out[ns+"/bad"]
		apply := "aws iam update-assume-role-policy --role-name " + bad
		if badOut.Status != check.StatusFail || !strings.Contains(badOut.Message, "skipped, left untouched: the role "+badRole) ||
			!strings.Contains(badOut.Fix, apply) || !strings.Contains(last.Fix, apply) {
			t.Errorf("the bad account's outcome %+v, the verdict's fix %q", badOut, last.Fix)
		}
		return out, evs
	}

	r := e.piWI(t, e.migrateArgs(ns, "--dry-run", "-o", "json")...)
	piWant(t, r, 1)
	if out, _ := outcomes(t, r); out[ns+"/good"].Status != check.StatusPass {
		t.Errorf("the dry run's good account: %+v", out[ns+"/good"])
	}
	if ws := e.migrateWrites(t, ns, good, bad); len(ws) != 0 {
		t.Fatalf("the dry run wrote: %v", writeList(ws))
	}

	r = e.piWI(t, e.migrateArgs(ns, "-o", "json")...)
	piWant(t, r, 1)
	out, evs := outcomes(t, r)
	goodOut := out[ns+"/good"]
	if !e.eksProfile() {
		if goodOut.Status != check.StatusFail || goodOut.Data["step"] != "admission" {
			t.Fatalf("the good account's outcome %+v, want a failure at the admission step\n%s", goodOut, r.stdout)
		}
		return
	}
	if goodOut.Status != check.StatusPass || goodOut.Data["association"] != "created" {
		t.Fatalf("the good account's outcome %+v, want migrated\n%s", goodOut, r.stdout)
	}
	proof := false
	for _, ev := range evs {
		if ev.Account == ns+"/good" && ev.Check == "pod.mutation" && ev.Data["path"] == probe.PathPodIdentity && ev.Status == check.StatusPass {
			proof = true
		}
	}
	if !proof {
		t.Errorf("no pod.mutation event of the good account's proof on Pod Identity:\n%s", r.stdout)
	}
}

// goodAndBadAccounts makes a namespace of two IRSA accounts, each with an idle Deployment:
// good, whose role (named PREFIX-g-NS) trusts it and Pod Identity, and bad, whose role
// (PREFIX-b-NS) trusts neither Pod Identity nor bad itself. It returns the namespace, the two
// role names and their ARNs.
func (e env) goodAndBadAccounts(t *testing.T, c kubernetes.Interface, prefix string) (ns, good, bad, goodRole, badRole string) {
	t.Helper()
	ns = e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	good, bad = prefix+"-g-"+ns, prefix+"-b-"+ns
	goodRole = e.addSTSRole(t, good, e.irsaAndPodIdentityTrust(ns, "good"))
	badRole = e.addSTSRole(t, bad, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":bad"))
	e.awaitRole(t, e.testUser(), bad)
	e.awaitRole(t, e.testUser(), good)
	serviceAccount(t, c, ns, "good", map[string]string{"eks.amazonaws.com/role-arn": goodRole})
	serviceAccount(t, c, ns, "bad", map[string]string{"eks.amazonaws.com/role-arn": badRole})
	e.idleDeployment(t, c, ns, "w-good", "good")
	e.idleDeployment(t, c, ns, "w-bad", "bad")
	return ns, good, bad, goodRole, badRole
}

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// fleetArgs are verify's arguments for a run over many accounts: no TARGET.
func (e env) fleetArgs(endpoint string, extra ...string) []string {
	return append([]string{"verify", "--sts-endpoint", endpoint, "--ca-bundle", e.caFile}, extra...)
}

// idleDeployment runs one replica of the idle image under sa, the container app with env.
func (e env) idleDeployment(t *testing.T, c kubernetes.Interface, ns, name, sa string, env ...corev1.EnvVar) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            sa,
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers:                    []corev1.Container{{Name: "app", Image: e.idleImage, ImagePullPolicy: corev1.PullIfNotPresent, Env: env}},
				},
			},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitRollout(t, c, ns, name)
}

// awaitRollout waits until the deployment's pods are all of its newest template and running,
// and no old one is left.
func awaitRollout(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	waitFor(t, 120*time.Second, "deployment "+name+" rolled out", func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 1 && s.ReadyReplicas == 1 && s.Replicas == 1, nil
	})
	waitFor(t, 60*time.Second, "old pods of "+name+" gone", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		return err == nil && len(pods.Items) == 1, err
	})
}

// A deployment whose pods predate the role: verify fails naming the node-role fallback of its
// running container and the restart; after the restart it passes.
func TestVerifyWorkloadStalePods(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	serviceAccount(t, c, ns, "app", nil)
	e.idleDeployment(t, c, ns, "web", "app")
	role := e.addSTSRole(t, "stale-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	if _, err := c.CoreV1().ServiceAccounts(ns).Patch(context.Background(), "app", types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"`+role+`"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitWebhookRole(t, c, ns, "app", role)

	r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	got := checkLines(t, r.stdout)
	creds := lineOf(r.stdout, "outside.credentials")
	if r.code != 1 || got["outside.credentials"] != "FAIL" || got["outside.workload_pods"] != "WARN" || got["sts.caller_identity"] != "PASS" ||
		!strings.Contains(creds, "the AWS SDKs fall back to the node's instance role through instance metadata (IMDS)") ||
		!strings.Contains(r.stdout, "fix: the pods were admitted without the webhook's injection") ||
		!strings.Contains(r.stdout, "kubectl rollout restart deployment/web -n "+ns) {
		t.Fatalf("exit %d, want 1 with the node-role fallback and the restart named (the probe pod itself passing)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noProbePods(t, c, ns)

	// The fix, as printed.
	if _, err := c.AppsV1().Deployments(ns).Patch(context.Background(), "web", types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"`+time.Now().Format(time.RFC3339)+`"}}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitRollout(t, c, ns, "web")
	r = e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	got = checkLines(t, r.stdout)
	if r.code != 0 || got["outside.credentials"] != "PASS" || got["outside.workload_pods"] != "PASS" ||
		!strings.Contains(lineOf(r.stdout, "outside.credentials"), "web identity with the role "+role+", injected by the webhook") {
		t.Fatalf("after the restart: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A container that sets AWS_ROLE_ARN itself: verify warns that the account's role goes unused
// there, and the probe, run with that container's env, proves the container's own role.
func TestVerifyWorkloadOwnRole(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	sub := "system:serviceaccount:" + ns + ":app"
	role := e.addSTSRole(t, "account-"+ns, e.trustPolicyFor("StringEquals", sub))
	own := e.addSTSRole(t, "own-"+ns, e.trustPolicyFor("StringEquals", sub))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	e.idleDeployment(t, c, ns, "web", "app",
		corev1.EnvVar{Name: "AWS_ROLE_ARN", Value: own},
		corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
		corev1.EnvVar{Name: "AWS_REGION", Value: "eu-west-1"})

	r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text", "-c", "app")...)
	got := checkLines(t, r.stdout)
	if r.code != 0 || got["outside.credentials"] != "WARN" || got["sts.caller_identity"] != "PASS" ||
		!strings.Contains(lineOf(r.stdout, "outside.credentials"), "web identity with the role "+own+", which the container sets itself") ||
		!strings.Contains(r.stdout, "kubectl set env deployment/web -n "+ns+" -c app AWS_ROLE_ARN- AWS_WEB_IDENTITY_TOKEN_FILE-") ||
		!strings.Contains(lineOf(r.stdout, "pod.create"), "so the probe proves its role "+own) ||
		!strings.Contains(lineOf(r.stdout, "sts.caller_identity"), "assumed-role/own-"+ns+"/") {
		t.Fatalf("exit %d, want 0 with a warning and the container's own role proven\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-c", "sidecar")...)
	if r.code != 2 || !strings.Contains(r.stderr, `deployment/web has no container "sidecar"; its containers: app`) {
		t.Fatalf("--container sidecar: exit %d, want 2 naming the containers\n%s", r.code, r.stderr)
	}
	noProbePods(t, c, ns)
}

// What the annotations ask that the webhook does not give as asked, and a missing namespace.
func TestVerifyMessages(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "msg-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/token-expiration": "60"})

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 || !strings.Contains(lineOf(r.stdout, "outside.token_request"), "asks 60 s; the webhook raises any value below 600 s, so the token lives 600 s, not 60 s") ||
		checkLines(t, r.stdout)["token.lifetime"] != "PASS" {
		t.Fatalf("exit %d, want 0 with the raised lifetime named\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "--audience", "sts.amazon.com", "-o", "text")...)
	if !strings.Contains(r.stderr, `--audience "sts.amazon.com" is not an audience AWS or ROSA uses: did you mean sts.amazonaws.com?`) {
		t.Errorf("no hint for the audience typo\n%s", r.stderr)
	}
	r = e.wi(t, "verify", "app", "-n", "no-such-namespace-"+ns)
	if r.code != 2 || !strings.Contains(r.stderr, `namespace "no-such-namespace-`+ns+`" not found`) {
		t.Errorf("missing namespace: exit %d, stderr %q", r.code, r.stderr)
	}
	r = e.wi(t, "verify", "-n", "no-such-namespace-"+ns)
	if r.code != 2 || !strings.Contains(r.stderr, `namespace "no-such-namespace-`+ns+`" not found`) {
		t.Errorf("missing namespace of a fleet: exit %d, stderr %q", r.code, r.stderr)
	}
	noProbePods(t, c, ns)
}

// fleetNamespace makes n accounts with roles that trust them, plus the account broken whose
// role trusts another account, and one without a role, which no fleet run proves.
func (e env) fleetNamespace(t *testing.T, c kubernetes.Interface, n int, labels map[string]string) (ns string, good []string) {
	t.Helper()
	ns = e.namespace(t, c, nil)
	roles := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		role := e.addSTSRole(t, fmt.Sprintf("fleet-%s-%02d", ns, i), e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":"+name))
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels,
			Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}}}
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		good = append(good, name)
		roles[name] = role
	}
	broken := e.addSTSRole(t, "fleet-"+ns+"-broken", e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":someone-else"))
	serviceAccount(t, c, ns, "broken", map[string]string{"eks.amazonaws.com/role-arn": broken})
	for _, name := range good {
		awaitWebhookRole(t, c, ns, name, roles[name])
	}
	return ns, good
}

// Every account with a role in the namespace, proven in one run: one failing among many,
// JSON lines each carrying its account, exit 1, no probe pod left; -l narrows the run.
func TestVerifyFleet(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns, good := e.fleetNamespace(t, c, 6, map[string]string{"team": "a"})

	r := e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-o", "json", "--parallel", "4")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (one account fails)\n%s", r.code, r.stderr)
	}
	verdicts := map[string]check.Status{}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for i, line := range lines {
		var ev check.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if i == len(lines)-1 && ev.Type == check.TypeResult && ev.Account == "" {
			continue // the fleet's verdict, last (TestVerifyFleetJSONSummary)
		}
		if !strings.HasPrefix(ev.Account, ns+"/") {
			t.Fatalf("an event without its account: %s", line)
		}
		if ev.Type == check.TypeResult {
			if _, dup := verdicts[ev.Account]; dup {
				t.Errorf("two verdicts for %s", ev.Account)
			}
			verdicts[ev.Account] = ev.Status
		}
	}
	for _, name := range good {
		if verdicts[ns+"/"+name] != check.StatusPass {
			t.Errorf("%s: verdict %q, want pass", name, verdicts[ns+"/"+name])
		}
	}
	if verdicts[ns+"/broken"] != check.StatusFail || len(verdicts) != len(good)+1 {
		t.Errorf("verdicts %v: want broken failed and the account without a role left out", verdicts)
	}
	noProbePods(t, c, ns)

	r = e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-l", "team=a", "-o", "text")...)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("\n%d of %d service accounts passed\n", len(good), len(good))) ||
		strings.Contains(r.stdout, ns+"/broken") || !strings.Contains(r.stdout, "PASS "+ns+"/app-00  ") {
		t.Fatalf("-l team=a: exit %d, want 0 and only the labelled accounts\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noProbePods(t, c, ns)

	t.Run("TUI", func(t *testing.T) {
		tm := newTmux(t)
		tm.start(e, e.fleetArgs(e.stsEndpoint, "-n", ns))
		screen := tm.waitFor("verify to exit", 120*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=") })
		want := []string{"kubectl wi verify -n " + ns, "✗ " + ns + "/broken", fmt.Sprintf("%d of %d service accounts passed, 1 failed", len(good), len(good)+1), "EXIT=1"}
		for _, name := range good {
			want = append(want, "✓ "+ns+"/"+name+"  all ")
		}
		for _, w := range want {
			if !strings.Contains(screen, w) {
				t.Errorf("the screen lacks %q:\n%s", w, screen)
			}
		}
		noProbePods(t, c, ns)
	})
}

// Ctrl-C in the middle of a fleet run: every started probe pod is deleted, exit 130.
func TestVerifyFleetInterrupt(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns, _ := e.fleetNamespace(t, c, 5, nil)
	endpoint, connected := hangingSTS(t, e)

	r := e.interruptedRun(t, e.fleetArgs(endpoint, "-n", ns, "-o", "text", "--parallel", "3"), connected, func() {
		pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("no probe pod while a probe calls STS (err %v)", err)
		}
	})
	if r.code != 130 {
		t.Errorf("exit %d, want 130\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "not proven: interrupted before its turn") {
		t.Errorf("the summary does not name the accounts never started:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)
}

// A custom resource target is proven through the accounts its operator runs as: those that
// carry the role the object sets. One whose operator has not applied it yet fails, saying so.
func TestVerifyCustomTarget(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	dyn, _ := e.tgClients(t)
	e.installCRDs(t, "testdata/crds", tgStorageClusters, tgRuntimeConfigs, tgProviders)
	role := e.addSTSRole(t, "px-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":portworx"))
	sc := tgObject(t, `apiVersion: core.libopenstorage.org/v1
kind: StorageCluster
metadata: {name: px-cluster}
spec:
  workloadIdentity:
    enabled: true
    credentials:
      - {cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: "`+role+`"}
`)
	if _, err := dyn.Resource(tgStorageClusters).Namespace(ns).Create(context.Background(), sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What the Portworx operator does with the object: its account carries the role.
	serviceAccount(t, c, ns, "portworx", map[string]string{"eks.amazonaws.com/role-arn": role})
	serviceAccount(t, c, ns, "unrelated", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/unrelated"})
	awaitWebhookRole(t, c, ns, "portworx", role)

	r := e.wi(t, e.verifyArgs(ns, "storagecluster/px-cluster", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 || !strings.Contains(r.stdout, "PASS "+ns+"/portworx  ") || strings.Contains(r.stdout, "unrelated") ||
		!strings.Contains(r.stdout, "1 of 1 service accounts passed") {
		t.Fatalf("exit %d, want 0 with the operator's account proven\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noProbePods(t, c, ns)

	drc := tgObject(t, `apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata: {name: aws-`+ns+`}
spec:
  serviceAccountTemplate:
    metadata:
      annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/crossplane-`+ns+`"}
`)
	if _, err := dyn.Resource(tgRuntimeConfigs).Create(context.Background(), drc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = e.wi(t, e.verifyArgs(ns, "deploymentruntimeconfig/aws-"+ns, e.stsEndpoint, "-o", "text")...)
	if r.code != 1 || !strings.Contains(r.stdout, "no service account in any namespace carries the role arn:aws:iam::111122223333:role/crossplane-"+ns) ||
		!strings.Contains(r.stdout, "Crossplane has not applied it") {
		t.Fatalf("exit %d, want 1 saying the operator has not applied the role\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// A fleet run's JSON ends with the fleet's verdict, as its text does with the summary: a
// result event without an account, the tally its message, each account's status its data.
func TestVerifyFleetJSONSummary(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns, _ := e.fleetNamespace(t, c, 2, nil)

	r := e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-o", "json")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (broken fails)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var last check.Event
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("the last line is not an event: %v\n%s", err, lines[len(lines)-1])
	}
	if last.Type != check.TypeResult || last.Account != "" || last.Status != check.StatusFail ||
		last.Message != "2 of 3 service accounts passed" || last.Data["total"] != float64(3) || last.Data["passed"] != float64(2) {
		t.Fatalf("the last line is not the fleet's verdict: %+v", last)
	}
	status := map[string]any{}
	for _, a := range last.Data["accounts"].([]any) {
		m := a.(map[string]any)
		status[m["account"].(string)] = m["status"]
	}
	want := map[string]any{ns + "/app-00": "pass", ns + "/app-01": "pass", ns + "/broken": "fail"}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("the verdict gives %s %v, want %v (all: %v)", k, status[k], v, status)
		}
	}
	noProbePods(t, c, ns)
}

// A fleet run over a namespace whose only identity is an association that the webhook never
// injects (the default profile): with AWS credentials and --eks-cluster, the account is
// proven (and fails, naming the webhook); without, one line says the associations were not
// read.
func TestVerifyFleetReadsAssociations(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requireProfile(t, "default", "the EKS profile's webhook injects Pod Identity: its pods show the association themselves")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	role := e.addSTSRole(t, "fl-pi-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "pi", nil)
	e.associate(t, c, ns, "pi", role)
	e.idleDeployment(t, c, ns, "web", "pi")

	r := e.piWI(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-o", "text", "--eks-cluster", e.eksCluster)...)
	piWant(t, r, 1)
	if !strings.Contains(r.stdout, ns+"/pi  FAIL pod.mutation") || !strings.Contains(r.stdout, "the webhook does not inject Pod Identity for it") ||
		!strings.Contains(r.stdout, "0 of 1 service accounts passed") || strings.Contains(r.stderr, "not read") {
		t.Fatalf("the associated account is not proven, naming the webhook\n%s\n%s", r.stdout, r.stderr)
	}
	noProbePods(t, c, ns)

	r = e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "-o", "text")...)
	if !strings.Contains(r.stderr, "note: EKS Pod Identity associations were not read (no EKS cluster known") || strings.Contains(r.stdout, ns+"/pi") {
		t.Fatalf("exit %d: want the one line that says the associations were not read\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

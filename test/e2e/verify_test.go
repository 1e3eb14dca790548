//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

const probeSelector = "app.kubernetes.io/name=kubectl-wi-probe"

// verifyArgs are the arguments every verify run here shares: the namespace, the target, STS
// at endpoint over TLS, trusting the cluster's CA. The probe image is the build's default,
// which the node pulls from the local registry.
func (e env) verifyArgs(ns, target, endpoint string, extra ...string) []string {
	return append([]string{"verify", "-n", ns, target, "--sts-endpoint", endpoint, "--ca-bundle", e.caFile}, extra...)
}

// checkLines maps each check of a text run to its status word (PASS, FAIL, ...), and fails
// the test on a check seen twice.
func checkLines(t *testing.T, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`^(PASS|WARN|FAIL|SKIP) (\S+)  `)
	for _, l := range strings.Split(stdout, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			if _, dup := out[m[2]]; dup {
				t.Errorf("check %s reported twice", m[2])
			}
			out[m[2]] = m[1]
		}
	}
	return out
}

func lineOf(stdout, name string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, " "+name+"  ") {
			return l
		}
	}
	return ""
}

// noProbePods fails the test when a probe pod is left in ns.
func noProbePods(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		t.Errorf("probe pod %s/%s left behind (phase %s, deleting %v)", ns, p.Name, p.Status.Phase, p.DeletionTimestamp != nil)
	}
}

// wantChecks are the checks of a full IRSA run: outside, stored pod, start, and the probe's.
var wantChecks = []string{
	"outside.serviceaccount", "outside.webhook", "outside.issuer",
	"pod.mutation", "pod.role_arn", "pod.token_file", "pod.token_mount", "pod.token_audience", "pod.token_expiration",
	"pod.start",
	"env.path", "env.role_arn", "env.token_file", "token.file", "token.format", "token.audience", "token.lifetime",
	"token.expiry", "token.issuer", "token.subject", "sts.assume_role", "sts.caller_identity",
}

func requireAllPass(t *testing.T, r result, except map[string]string) {
	t.Helper()
	t.Log(lineOf(r.stdout, "sts.endpoint")) // where the probe's STS calls went, for the log
	got := checkLines(t, r.stdout)
	for _, c := range wantChecks {
		want := "PASS"
		if w, ok := except[c]; ok {
			want = w
		}
		if got[c] != want {
			t.Errorf("check %s is %q, want %s: %s", c, got[c], want, lineOf(r.stdout, c))
		}
	}
	for c, s := range got {
		if _, known := except[c]; s != "PASS" && !known {
			t.Errorf("unexpected %s %s: %s", s, c, lineOf(r.stdout, c))
		}
	}
}

// happyServiceAccount makes the service account app in ns with a role of the STS stand-in that
// trusts it, and returns the role's ARN.
func (e env) happyServiceAccount(t *testing.T, c kubernetes.Interface, ns string) string {
	t.Helper()
	role := e.addSTSRole(t, "verify-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	return role
}

// a) Happy path with the STS stand-in: every check passes, exit 0, no pod left.
func TestVerifyHappyPath(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.happyServiceAccount(t, c, ns)

	r := e.wi(t, e.verifyArgs(ns, "serviceaccount/app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, nil)
	if !strings.Contains(r.stdout, "\nPASS all 22 checks passed\n") {
		t.Errorf("no passing verdict last:\n%s", r.stdout)
	}
	if l := lineOf(r.stdout, "sts.caller_identity"); !strings.Contains(l, ":assumed-role/verify-"+ns+"/") {
		t.Errorf("caller identity does not name the role %s: %s", role, l)
	}
	if l := lineOf(r.stdout, "token.issuer"); !strings.Contains(l, e.issuer) {
		t.Errorf("the issuer read from the apiserver was not checked: %s", l)
	}
	noProbePods(t, c, ns)
}

// b) MinIO as STS: MinIO has no GetCallerIdentity (it answers InvalidParameterValue
// "Unsupported action GetCallerIdentity"), so that check is a warn that says so, everything
// else passes, and the run exits 0.
func TestVerifyMinIO(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": e.minioRoleARN})

	r := e.wi(t, e.verifyArgs(ns, "app", e.minioEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, map[string]string{"sts.caller_identity": "WARN"})
	l := lineOf(r.stdout, "sts.caller_identity")
	if !strings.Contains(l, "does not implement GetCallerIdentity (InvalidParameterValue: Unsupported action GetCallerIdentity)") {
		t.Errorf("caller identity warn does not say MinIO lacks the call: %s", l)
	}
	if l := lineOf(r.stdout, "sts.assume_role"); !strings.Contains(l, "assumed "+e.minioRoleARN) {
		t.Errorf("assume role does not name MinIO's role: %s", l)
	}
	if !strings.Contains(r.stdout, "\nWARN 21 checks passed or skipped, 1 warned\n") {
		t.Errorf("no warn verdict last:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)
}

// c) An audience the OIDC provider does not list: STS refuses the token, exit 1, and the
// diagnosis names the audience and both ways to fix it.
func TestVerifyAudienceNotListed(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "verify-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role, "eks.amazonaws.com/audience": "not-listed.example.com"})

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := checkLines(t, r.stdout)
	for _, ch := range []string{"pod.token_audience", "token.audience"} {
		if got[ch] != "PASS" {
			t.Errorf("%s is %s: the pod carries the audience the account asks for: %s", ch, got[ch], lineOf(r.stdout, ch))
		}
	}
	l := lineOf(r.stdout, "sts.assume_role")
	if got["sts.assume_role"] != "FAIL" || !strings.Contains(l, "the token's audience not-listed.example.com is not a client ID of the IAM OIDC provider for "+e.issuer) ||
		!strings.Contains(l, "InvalidIdentityToken: Incorrect token audience") {
		t.Errorf("no audience diagnosis: %s", l)
	}
	if !strings.Contains(r.stdout, "fix: add the audience to the provider (aws iam add-client-id-to-open-id-connect-provider") ||
		!strings.Contains(r.stdout, "eks.amazonaws.com/audience annotation") {
		t.Errorf("the verdict's fix does not say how to fix the audience:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)
}

// d) A role whose trust policy admits another service account: exit 1, and the diagnosis
// names the sub the role must admit.
func TestVerifyTrustPolicyOtherServiceAccount(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "verify-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":other"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	sub := "system:serviceaccount:" + ns + ":app"
	l := lineOf(r.stdout, "sts.assume_role")
	// Without AWS credentials the probe cannot know which cause it is: it names the trust
	// policy among the causes, and explain as the way to tell.
	if !strings.HasPrefix(l, "FAIL ") || !strings.Contains(l, "the role's trust policy does not admit "+sub) ||
		!strings.Contains(l, "(AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity)") {
		t.Errorf("no trust policy among the causes: %s", l)
	}
	host := strings.TrimPrefix(e.issuer, "https://")
	if !strings.Contains(r.stdout, host+":sub = "+sub) || !strings.Contains(r.stdout, "kubectl wi trust-policy serviceaccount/app -n "+ns) {
		t.Errorf("the fix does not name the sub %s the role needs:\n%s", sub, r.stdout)
	}
	if got := checkLines(t, r.stdout)["sts.caller_identity"]; got != "SKIP" {
		t.Errorf("sts.caller_identity is %s, want SKIP after the failed assume", got)
	}
	noProbePods(t, c, ns)
}

// TestVerifyRefusalCauses: STS's AccessDenied for AssumeRoleWithWebIdentity is the same for a
// missing role, a missing provider and a refusing trust policy. Without AWS credentials verify
// says what STS said, lists the causes and names explain, claiming none; with credentials at
// hand it adds explain's finding: the role does not exist.
func TestVerifyRefusalCauses(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	missing := fmt.Sprintf("arn:aws:iam::%s:role/absent-%s", e.stsAccount, randSuffix())
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": missing})
	sub := "system:serviceaccount:" + ns + ":app"

	t.Run("without credentials: the causes, none as a fact", func(t *testing.T) {
		cmd := execWI(e, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...)
		cmd.Env = e.awsEnv(nil)
		res := e.run(t, cmd)
		if res.code != 1 {
			t.Fatalf("exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		evs := verifyEvents(t, res.stdout)
		assume := eventOf(evs, "sts.assume_role")
		if assume == nil || assume.Status != check.StatusFail || assume.Data["code"] != "AccessDenied" {
			t.Fatalf("sts.assume_role: %+v", assume)
		}
		for _, want := range []string{
			"Not authorized to perform sts:AssumeRoleWithWebIdentity", // what STS said
			"(1) the role " + missing + " does not exist",
			"(2) the role's trust policy names an IAM OIDC provider that is not registered for the issuer " + e.issuer,
			"(3) the role's trust policy does not admit " + sub,
		} {
			if !strings.Contains(assume.Message, want) {
				t.Errorf("sts.assume_role does not say %q: %s", want, assume.Message)
			}
		}
		if !strings.Contains(assume.Fix, "kubectl wi explain serviceaccount/app -n "+ns) {
			t.Errorf("the fix does not name explain: %s", assume.Fix)
		}
		for _, ev := range evs {
			if strings.HasPrefix(ev.Check, "iam.") {
				t.Errorf("an IAM finding without credentials to read IAM: %+v", ev)
			}
			if strings.Contains(ev.Message, "the trust policy of "+missing+" does not admit") || strings.Contains(ev.Message, "does not exist: iam:GetRole") {
				t.Errorf("a cause claimed as a fact without IAM: %s", ev.Message)
			}
		}
	})

	t.Run("with credentials: explain's finding, the role does not exist", func(t *testing.T) {
		user := e.newAWSUser(t)
		cmd := execWI(e, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...)
		cmd.Env = e.awsEnv(&user)
		res := e.run(t, cmd)
		if res.code != 1 {
			t.Fatalf("exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		evs := verifyEvents(t, res.stdout)
		role := eventOf(evs, "iam.role")
		if role == nil || role.Status != check.StatusFail || !strings.Contains(role.Message, "the role "+missing+" does not exist") ||
			!strings.Contains(role.Fix, "aws iam create-role --role-name "+strings.TrimPrefix(missing, "arn:aws:iam::"+e.stsAccount+":role/")) {
			t.Fatalf("iam.role: %+v\n%s", role, res.stdout)
		}
		if strings.Contains(res.stdout+res.stderr, user.SecretAccessKey) {
			t.Error("the secret key appears in the output")
		}
	})
}

// verifyEvents parses verify's -o json output: the events, raw lines skipped.
func verifyEvents(t *testing.T, out string) []check.Event {
	t.Helper()
	var evs []check.Event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev check.Event
		if err := json.Unmarshal([]byte(line), &ev); err == nil && ev.Valid() == nil {
			evs = append(evs, ev)
		}
	}
	return evs
}

// eventOf is the first check event of that name, nil when there is none.
func eventOf(evs []check.Event, name string) *check.Event {
	for i := range evs {
		if evs[i].Type == check.TypeCheck && evs[i].Check == name {
			return &evs[i]
		}
	}
	return nil
}

// e) A service account without a role: the stored pod alone says the webhook injected nothing
// and names the missing annotation; verify exits 1 without waiting for the pod to run.
func TestVerifyServiceAccountWithoutRole(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	serviceAccount(t, c, ns, "app", nil)

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := checkLines(t, r.stdout)
	// Skipped, not warned: an account of EKS Pod Identity has no annotation either.
	if got["outside.serviceaccount"] != "SKIP" {
		t.Errorf("outside.serviceaccount is %s, want SKIP: %s", got["outside.serviceaccount"], lineOf(r.stdout, "outside.serviceaccount"))
	}
	l := lineOf(r.stdout, "pod.mutation")
	if got["pod.mutation"] != "FAIL" || !strings.Contains(l, "the probe pod was not mutated") ||
		!strings.Contains(l, "the service account "+ns+"/app has no eks.amazonaws.com/role-arn annotation") {
		t.Errorf("pod.mutation does not name the missing annotation: %s", l)
	}
	if strings.Contains(l, "webhook") && strings.Contains(l, "not registered") {
		t.Errorf("pod.mutation blames the webhook, which is registered: %s", l)
	}
	for _, ch := range []string{"pod.start", "env.path"} {
		if _, ran := got[ch]; ran {
			t.Errorf("%s was reported: verify waited for a pod that could not help", ch)
		}
	}
	// Its associations were not read (no EKS cluster named): the fix tells the two causes apart
	// and gives enable for an account with neither.
	if !strings.Contains(r.stdout, "kubectl wi enable serviceaccount/app -n "+ns+" --role-arn") {
		t.Errorf("no enable fix:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)
}

// e, second half) The webhook not applied to the pod. The shared webhook cannot be
// unregistered while other tests run, so this takes the one namespace-scoped way to keep it
// from a pod: its objectSelector, which excludes pods labelled
// eks.amazonaws.com/skip-pod-identity-webhook. A deployment's pod template carries the label,
// the probe pod copies it, so no registered webhook selects the probe pod and the stored pod
// is not mutated. A cluster with no webhook registered at all is covered by the unit tests
// (pkg/verify), with a fake clientset.
func TestVerifyWebhookNotApplied(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	labels := map[string]string{"app": "web", "eks.amazonaws.com/skip-pod-identity-webhook": "true"}
	_, err := c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "web", Image: e.idleImage}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := checkLines(t, r.stdout)
	if got["outside.webhook"] != "FAIL" || !strings.Contains(lineOf(r.stdout, "outside.webhook"), "do not select this namespace or pod") {
		t.Errorf("outside.webhook does not say no webhook selects the pod: %s", lineOf(r.stdout, "outside.webhook"))
	}
	l := lineOf(r.stdout, "pod.mutation")
	if got["pod.mutation"] != "FAIL" || !strings.Contains(l, "no mutating webhook on pods CREATE selects this pod (the pod identity webhook is not registered)") ||
		!strings.Contains(l, "skip-pod-identity-webhook label") {
		t.Errorf("pod.mutation does not name the missing webhook: %s", l)
	}
	if _, ran := got["pod.start"]; ran {
		t.Errorf("verify waited for a pod that could not help")
	}
	noProbePods(t, c, ns)
}

// hangingSTS listens where pods reach the host and never answers (not even the TLS
// handshake), so a probe's STS call hangs
// (for the probe's 30s step timeout): the probe pod runs as long as a test needs. It returns
// the endpoint and a channel that receives once a connection arrives.
func hangingSTS(t *testing.T, e env) (string, <-chan struct{}) {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{}, 1)
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "https://" + l.Addr().String(), connected
}

// requireExited fails the test when the binary did not run to an exit code (its code is the
// test's to check).
func requireExited(t *testing.T, err error) {
	t.Helper()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running kubectl-wi: %v", err)
	}
}

// f) SIGINT while the probe pod runs: verify deletes it and exits 130.
func TestVerifyInterrupt(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	endpoint, connected := hangingSTS(t, e)

	r := e.interruptedRun(t, e.verifyArgs(ns, "app", endpoint, "-o", "text"), connected, func() {
		// The kubelet reports the pod running a little after its container started.
		waitFor(t, 30*time.Second, "the probe pod running", func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: probeSelector})
			return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning, err
		})
	})
	if r.code != 130 {
		t.Errorf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %s", r.stderr)
	}
	noProbePods(t, c, ns)
}

// interruptedRun starts kubectl-wi with args, waits until a probe has called STS (connected)
// and ready has returned, sends SIGINT, and returns the run once the process has exited.
func (e env) interruptedRun(t *testing.T, args []string, connected <-chan struct{}, ready func()) result {
	t.Helper()
	return e.disruptedRun(t, args, connected, func(p *os.Process) {
		ready()
		if err := p.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	})
}

// disruptedRun starts kubectl-wi with args, waits until a probe has called STS (connected),
// calls disrupt, and returns the run once the process has exited by itself.
func (e env) disruptedRun(t *testing.T, args []string, connected <-chan struct{}, disrupt func(*os.Process)) result {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1", "KUBECTL_WI_STS_ENDPOINT=", "KUBECTL_WI_CA_BUNDLE=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("kubectl-wi ended before a probe called STS: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("no probe called STS\nstdout:\n%s", stdout.String())
	}
	disrupt(cmd.Process)
	select {
	case err := <-done:
		requireExited(t, err)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("kubectl-wi did not exit within 60s of the disruption")
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// g) A namespace that enforces the restricted Pod Security profile admits the probe pod, which
// then passes.
func TestVerifyRestrictedNamespace(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	})
	e.happyServiceAccount(t, c, ns)

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, nil)
	if strings.Contains(r.stderr, "PodSecurity") || strings.Contains(r.stderr, "violate") {
		t.Errorf("Pod Security warnings: %s", r.stderr)
	}
	noProbePods(t, c, ns)
}

// tmux drives a terminal: one server per test, on its own socket.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T) tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run make deps (hack/deps.sh)")
	}
	tm := tmux{t: t, socket: "wi-e2e-" + randSuffix()}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// capture is the pane with its scrollback.
func (tm tmux) capture() string { return tm.run("capture-pane", "-p", "-S", "-", "-t", "verify") }

func (tm tmux) waitFor(what string, timeout time.Duration, cond func(string) bool) string {
	tm.t.Helper()
	var screen string
	deadline := time.Now().Add(timeout)
	for {
		screen = tm.capture()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waiting for %s; the screen:\n%s", what, screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start runs verify in a 100x30 terminal, then prints its exit code and waits.
func (tm tmux) start(e env, args []string) {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + a + "'"
	}
	shell := fmt.Sprintf("KUBECONFIG='%s' '%s' %s; echo EXIT=$?; sleep 600", e.kubeconfig, e.bin, strings.Join(quoted, " "))
	tm.run("new-session", "-d", "-s", "verify", "-x", "100", "-y", "30", "-e", "NO_COLOR=1", shell)
}

// h) The terminal UI, in tmux: the live checklist while the probe runs, q cancels and cleans
// up; a full run leaves the checklist and the verdict on the screen.
func TestVerifyTUI(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)

	t.Run("full run", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		tm := newTmux(t)
		tm.start(e, e.verifyArgs(ns, "app", e.stsEndpoint))
		screen := tm.waitFor("verify to exit", 90*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=") })
		for _, want := range []string{
			"kubectl wi verify serviceaccount/app -n " + ns,
			"✓ Outside the pod: service account, webhook, issuer",
			"✓ outside.serviceaccount",
			"✓ The pod as stored, after admission",
			"✓ Checks inside the pod",
			"✓ sts.caller_identity",
			"✓ Delete the probe pod  deleted " + ns + "/wi-probe-",
			"✓ PASS  all 22 checks passed",
			"EXIT=0",
		} {
			if !strings.Contains(screen, want) {
				t.Errorf("the screen lacks %q:\n%s", want, screen)
			}
		}
		if strings.Contains(screen, "\x1b[") {
			t.Errorf("escape codes on the screen with NO_COLOR")
		}
		noProbePods(t, c, ns)
	})

	t.Run("q cancels", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		endpoint, connected := hangingSTS(t, e)
		tm := newTmux(t)
		tm.start(e, e.verifyArgs(ns, "app", endpoint))
		select {
		case <-connected:
		case <-time.After(90 * time.Second):
			t.Fatalf("the probe never called STS; the screen:\n%s", tm.capture())
		}
		// The live view: finished steps ticked, the probe's step running (its spinner, not a
		// mark), the later steps pending.
		live := tm.waitFor("the live checklist", 30*time.Second, func(s string) bool {
			return strings.Contains(s, "✓ Wait for the pod to run") && strings.Contains(s, "q: cancel")
		})
		for _, want := range []string{"✓ Outside the pod", "✓ The pod as stored", " Checks inside the pod", "· Delete the probe pod"} {
			if !strings.Contains(live, want) {
				t.Errorf("the live view lacks %q:\n%s", want, live)
			}
		}
		if strings.Contains(live, "✓ Checks inside the pod") || strings.Contains(live, "EXIT=") {
			t.Fatalf("the probe finished before q:\n%s", live)
		}
		tm.run("send-keys", "-t", "verify", "q")
		screen := tm.waitFor("verify to exit", 30*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=") })
		for _, want := range []string{"✗ interrupted", "Delete the probe pod  deleted " + ns + "/wi-probe-", "EXIT=130"} {
			if !strings.Contains(screen, want) {
				t.Errorf("the screen lacks %q:\n%s", want, screen)
			}
		}
		noProbePods(t, c, ns)
	})
}

// i) No secret in any output: the projected token the probe read (and each of its three
// parts) and the session credentials STS issued appear in none of stdout, stderr and the pod
// log.
func TestVerifyNoSecrets(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)

	cmd := exec.Command(e.bin, e.verifyArgs(ns, "app", e.stsEndpoint, "--keep", "-o", "json")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Read the token the kubelet projected for the probe pod while the pod has it.
	var pod corev1.Pod
	waitFor(t, 60*time.Second, "the probe pod", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: probeSelector})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		pod = pods.Items[0]
		return true, nil
	})
	tokenFile := filepath.Join(e.state, "data", "kubelet", "pods", string(pod.UID), "volumes", "kubernetes.io~projected", "aws-iam-token", "token")
	var token string
	waitFor(t, 60*time.Second, "the projected token on the node", func(context.Context) (bool, error) {
		b, err := os.ReadFile(tokenFile)
		token = strings.TrimSpace(string(b))
		return err == nil && token != "", nil
	})
	select {
	case err := <-done:
		requireExited(t, err)
	case <-time.After(120 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("verify did not finish")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Pods(ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	if !strings.Contains(stderr.String(), "kept the probe pod "+ns+"/"+pod.Name) {
		t.Errorf("stderr does not name the kept pod %s: %s", pod.Name, stderr.String())
	}
	// Every stdout line is an event, and the stream says the role was assumed: credentials
	// existed.
	assumed := false
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("stdout line is not JSON: %q", l)
		}
		if ev["check"] == "sts.assume_role" && ev["status"] == "pass" {
			assumed = true
		}
	}
	if !assumed {
		t.Fatalf("the probe never got credentials:\n%s", stdout.String())
	}
	logs, err := c.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "probe"}).DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the projected token is not a JWT (%d parts)", len(parts))
	}
	// The known secrets are the token (0) and its three parts (1 to 3).
	for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "pod log": string(logs)} {
		noSecrets(t, name, out, append([]string{token}, parts...)...)
	}
}

// verify right after enable, as users run it: under the EKS profile the webhook's cache has not
// seen the new annotation when the first probe pod is created, so verify says the cache lagged,
// proves a second probe pod, and passes; under the defaults it passes directly. Either way no
// probe pod is left.
func TestVerifyRightAfterEnable(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "verify-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", nil)
	awaitWebhookSeen(t, c, ns) // the webhook's cache knows the account, without a role

	if r := e.wi(t, "enable", "app", "-n", ns, "--role-arn", role); r.code != 0 {
		t.Fatalf("enable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, nil)
	lagged := strings.Contains(r.stdout, "its service account cache had not yet seen the account's annotation")
	if e.eksProfile() && !lagged {
		t.Errorf("EKS profile: verify right after enable did not report the cache lag:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)
}

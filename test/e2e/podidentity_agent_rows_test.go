//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// agentEvent is a check event of the probe's or verify's JSON stream.
type agentEvent struct {
	Type, Check, Status, Message, Fix string
	Data                              map[string]any
}

// checkEvent is the named check's event in a JSON event stream, or nil.
func checkEvent(stdout, check string) *agentEvent {
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev agentEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "check" && ev.Check == check {
			return &ev
		}
	}
	return nil
}

// setEKSAuthFault makes the AWS stand-in's EKS Auth fail for ns/sa as fault says, through its
// config file, which it reads again; the fault goes when the test ends.
func (e env) setEKSAuthFault(t *testing.T, ns, sa, fault string) {
	t.Helper()
	e.editSTSConfig(t, func(cfg map[string]any) {
		faults, _ := cfg["eksAuthFaults"].([]any)
		cfg["eksAuthFaults"] = append(faults, map[string]any{"namespace": ns, "serviceAccount": sa, "fault": fault})
	})
	t.Cleanup(func() {
		e.editSTSConfig(t, func(cfg map[string]any) {
			faults, _ := cfg["eksAuthFaults"].([]any)
			var keep []any
			for _, f := range faults {
				if m, _ := f.(map[string]any); m["namespace"] != ns || m["serviceAccount"] != sa {
					keep = append(keep, f)
				}
			}
			if len(keep) == 0 {
				delete(cfg, "eksAuthFaults")
			} else {
				cfg["eksAuthFaults"] = keep
			}
		})
	})
}

// podIdentityToken is a Pod Identity token of ns/sa as the kubelet projects it: audience
// pods.eks.amazonaws.com, bound to a pod of the account (created, never waited for).
func podIdentityToken(t *testing.T, c kubernetes.Interface, e env, ns, sa string) string {
	t.Helper()
	ctx := context.Background()
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "holder-" + sa},
		Spec: corev1.PodSpec{ServiceAccountName: sa, TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "app", Image: e.idleImage, ImagePullPolicy: corev1.PullIfNotPresent}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		Audiences: []string{"pods.eks.amazonaws.com"}, ExpirationSeconds: ptr.To[int64](3600),
		BoundObjectRef: &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// runProbe runs the probe, as verify's probe pod does, on this host: the agent at its
// address, the token in a file; it returns the exit code and the JSON stream.
func runProbe(t *testing.T, e env, ns, sa, token string) (int, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "eks-pod-identity-token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, "probe", "--expected-subject", "system:serviceaccount:"+ns+":"+sa)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://" + e.agentAddr + "/v1/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + file,
		"AWS_REGION=us-west-2", "AWS_ENDPOINT_URL_STS=" + e.stsEndpoint, "AWS_CA_BUNDLE=" + e.caFile,
	}
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), token) {
		t.Errorf("the probe's output holds the token")
	}
	return code, string(out)
}

// TestPodIdentityAgentRows: each way the agent's call to EKS Auth goes wrong, made by the AWS
// stand-in's EKS Auth for one service account, answered by the agent stand-in as the real
// agent answers it, and diagnosed by the probe with its own cause and fix. The probe runs on
// this host against the agent's address, as in its pod: the webhook's default profile
// injects no Pod Identity env (TestPodIdentityVerifyRows does it through verify under eks).
func TestPodIdentityAgentRows(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requireAgent(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	trusted := e.addSTSRole(t, "pi-rows-"+randSuffix(), podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	noTag := e.addSTSRole(t, "pi-rows-notag-"+randSuffix(), podIdentityTrust("sts:AssumeRole"))
	for _, tt := range agentRows {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sa := tt.sa
			serviceAccount(t, c, ns, sa, nil)
			role := trusted
			if tt.noTagSession {
				role = noTag
			}
			e.associate(t, c, ns, sa, role)
			if tt.fault != "" {
				e.setEKSAuthFault(t, ns, sa, tt.fault)
			}
			token := podIdentityToken(t, c, e, ns, sa)
			code, out := runProbe(t, e, ns, sa, token)
			tt.assert(t, code, checkEvent(out, "podidentity.agent"), out)
		})
	}
}

// TestPodIdentityVerifyRows: the same rows through verify, its probe pod getting the Pod
// Identity env and token from the webhook (eks profile).
func TestPodIdentityVerifyRows(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	trusted := e.addSTSRole(t, "pi-vrows-"+randSuffix(), podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	noTag := e.addSTSRole(t, "pi-vrows-notag-"+randSuffix(), podIdentityTrust("sts:AssumeRole"))
	for _, tt := range agentRows {
		t.Run(tt.name, func(t *testing.T) {
			serviceAccount(t, c, ns, tt.sa, nil)
			role := trusted
			if tt.noTagSession {
				role = noTag
			}
			e.associate(t, c, ns, tt.sa, role)
			if tt.fault != "" {
				e.setEKSAuthFault(t, ns, tt.sa, tt.fault)
			}
			r := e.wi(t, e.verifyArgs(ns, "serviceaccount/"+tt.sa, e.stsEndpoint, "-o", "json")...)
			tt.assert(t, r.code, checkEvent(r.stdout, "podidentity.agent"), r.stdout+r.stderr)
			noProbePods(t, c, ns)
		})
	}
}

// TestPodIdentityVerifyExplainsMissingRole: EKS Auth refuses an association whose role does
// not exist, in the same words as a trust refusal. Without AWS credentials verify can only
// hedge (the role may not exist, or its trust refuses: explain tells which); with them, it
// reads the association and the role, and says the role does not exist.
func TestPodIdentityVerifyExplainsMissingRole(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	missing := fmt.Sprintf("arn:aws:iam::%s:role/pi-missing-%s", e.stsAccount, randSuffix())
	serviceAccount(t, c, ns, "app", nil)
	e.associate(t, c, ns, "app", missing)
	args := e.verifyArgs(ns, "serviceaccount/app", e.stsEndpoint, "-o", "json", "--eks-cluster", e.eksCluster)

	hedged := e.wi(t, args...)
	agent := checkEvent(hedged.stdout, "podidentity.agent")
	if hedged.code != 1 || agent == nil || agent.Data["cause"] != "role-refused" || !strings.Contains(agent.Fix, "kubectl wi explain") {
		t.Fatalf("without credentials: exit %d, podidentity.agent %+v\n%s%s", hedged.code, agent, hedged.stdout, hedged.stderr)
	}
	if ev := checkEvent(hedged.stdout, "iam.role"); ev != nil {
		t.Errorf("without credentials, an IAM finding: %+v", ev)
	}

	known := e.piWI(t, args...)
	role := checkEvent(known.stdout, "iam.role")
	if known.code != 1 || role == nil || role.Status != "fail" || !strings.Contains(role.Message, "does not exist") {
		t.Fatalf("with credentials: exit %d, iam.role %+v\n%s%s", known.code, role, known.stdout, known.stderr)
	}
	noProbePods(t, c, ns)
}

// agentRow is one way the agent's call goes: the fault, and the exit code, check status,
// cause and the fix's subjects the probe must give.
type agentRow struct {
	name, sa, fault string
	noTagSession    bool
	wantCode        int
	wantStatus      string
	wantCause       string
	wantFix         []string
	wantPrincipal   bool // the fix names the principal EKS Auth refused
}

func (tt agentRow) assert(t *testing.T, code int, ev *agentEvent, out string) {
	t.Helper()
	if ev == nil {
		t.Fatalf("exit %d, no podidentity.agent check:\n%s", code, out)
	}
	cause, _ := ev.Data["cause"].(string)
	if code != tt.wantCode || !strings.EqualFold(ev.Status, tt.wantStatus) || (tt.wantCause != "" && cause != tt.wantCause) {
		t.Fatalf("exit %d, podidentity.agent %s cause %q; want exit %d, %s cause %q\nmessage: %s\nfix: %s",
			code, ev.Status, cause, tt.wantCode, tt.wantStatus, tt.wantCause, ev.Message, ev.Fix)
	}
	for _, w := range tt.wantFix {
		if !strings.Contains(ev.Fix, w) {
			t.Errorf("fix %q does not name %q", ev.Fix, w)
		}
	}
	if tt.wantPrincipal {
		p, _ := ev.Data["principal"].(string)
		if !strings.HasSuffix(p, ":user/eks-pod-identity-agent") || !strings.Contains(ev.Fix, p) {
			t.Errorf("principal %q: want the node's (the agent's user), named in the fix %q", p, ev.Fix)
		}
	}
}

var agentRows = []agentRow{
	{name: "node role lacks the action", sa: "node-denied", fault: "node-denied", wantCode: 1, wantStatus: "FAIL", wantCause: "node-permission",
		wantFix: []string{"AmazonEKSWorkerNodePolicy", "eks-auth:AssumeRoleForPodIdentity"}, wantPrincipal: true},
	{name: "node key unknown", sa: "node-unknown", fault: "node-unknown", wantCode: 1, wantStatus: "FAIL", wantCause: "node-credentials",
		wantFix: []string{"instance profile", "hop limit", "clock"}},
	{name: "node session expired", sa: "node-expired", fault: "node-expired", wantCode: 1, wantStatus: "FAIL", wantCause: "node-credentials",
		wantFix: []string{"instance profile", "clock"}},
	{name: "EKS Auth down", sa: "down", fault: "down", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-unreachable",
		wantFix: []string{"eks-auth.us-west-2.api.aws", "NAT gateway", "com.amazonaws.us-west-2.eks-auth", "HTTPS_PROXY"}},
	{name: "EKS Auth hangs", sa: "hang", fault: "hang", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-unreachable",
		wantFix: []string{"eks-auth.us-west-2.api.aws"}},
	{name: "a proxy's page on the node's way", sa: "proxy", fault: "proxy", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-unreachable",
		wantFix: []string{"eks-auth.us-west-2.api.aws"}},
	{name: "EKS Auth fails once", sa: "fail-once", fault: "fail-once", wantCode: 0, wantStatus: "PASS"},
	{name: "EKS Auth throttles once", sa: "throttle-once", fault: "throttle-once", wantCode: 0, wantStatus: "PASS"},
	{name: "EKS Auth fails always", sa: "fail", fault: "fail", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-failed", wantFix: []string{"retry"}},
	{name: "EKS Auth throttles always", sa: "throttle", fault: "throttle", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-throttled", wantFix: []string{"retry"}},
	{name: "malformed 2xx", sa: "malformed", fault: "malformed", wantCode: 1, wantStatus: "FAIL", wantCause: "eks-auth-unreadable",
		wantFix: []string{"version", "kubectl -n kube-system logs ds/eks-pod-identity-agent"}},
	{name: "answer lacks a field", sa: "missing-field", fault: "missing-field", wantCode: 1, wantStatus: "FAIL", wantCause: "agent-closed",
		wantFix: []string{"it accepted the connection", "kubectl -n kube-system logs ds/eks-pod-identity-agent"}},
	{name: "association's role missing", sa: "role-missing", fault: "role-missing", wantCode: 1, wantStatus: "FAIL", wantCause: "role-refused",
		wantFix: []string{"may not exist", "kubectl wi explain serviceaccount/role-missing"}},
	{name: "trust without sts:TagSession", sa: "no-tag", noTagSession: true, wantCode: 1, wantStatus: "FAIL", wantCause: "role-refused",
		wantFix: []string{"may not exist", "sts:TagSession", "kubectl wi explain serviceaccount/no-tag"}},
}

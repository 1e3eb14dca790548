//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The diagnoses of the Pod Identity path, each reproduced on the local cluster: no
// association, the agent not listening, a proxy that takes the agent's request, a target role
// whose trust refuses the chain, and an account with both IRSA and Pod Identity.
func TestPodIdentityDiagnoses(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	trusted := podIdentityTrust("sts:AssumeRole", "sts:TagSession")

	t.Run("no association", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		serviceAccount(t, c, ns, "app", nil)
		r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
		if r.code != 1 || checkLines(t, r.stdout)["pod.mutation"] != "FAIL" ||
			!strings.Contains(r.stdout, "kubectl wi enable serviceaccount/app -n "+ns+" --pod-identity --role-arn <role ARN>") {
			t.Fatalf("exit %d, want 1 naming enable --pod-identity\n%s", r.code, r.stdout)
		}
		noProbePods(t, c, ns)
	})

	t.Run("agent not listening", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		role := e.addSTSRole(t, "pi-port-"+randSuffix(), trusted)
		serviceAccount(t, c, ns, "app", nil)
		e.associate(t, c, ns, "app", role)
		// The container names the agent on a port where nothing listens, on the address the
		// test bed owns: the probe, with its env, finds no agent there.
		e.idleDeployment(t, c, ns, "web", "app",
			corev1.EnvVar{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23:81/v1/credentials"},
			corev1.EnvVar{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"})
		r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
		l := lineOf(r.stdout, "podidentity.agent")
		if r.code != 1 || !strings.Contains(l, "FAIL podidentity.agent  nothing listens at http://169.254.170.23:81/v1/credentials on this node") ||
			!strings.Contains(r.stdout, "eks-pod-identity-agent add-on") {
			t.Fatalf("exit %d, want 1 saying no agent listens\n%s", r.code, r.stdout)
		}
		noProbePods(t, c, ns)
	})

	t.Run("proxy without NO_PROXY", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		role := e.addSTSRole(t, "pi-proxy-"+randSuffix(), trusted)
		serviceAccount(t, c, ns, "app", nil)
		e.associate(t, c, ns, "app", role)
		proxy := refusingProxy(t, e)
		e.idleDeployment(t, c, ns, "web", "app", corev1.EnvVar{Name: "HTTP_PROXY", Value: proxy}, corev1.EnvVar{Name: "NO_PROXY", Value: "10.96.0.0/12"})
		r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
		l := lineOf(r.stdout, "podidentity.agent")
		if r.code != 1 || !strings.Contains(l, "FAIL podidentity.agent  the proxy "+proxy) ||
			!strings.Contains(r.stdout, "add 169.254.170.23 to NO_PROXY in the container's env") {
			t.Fatalf("exit %d, want 1 naming the proxy and NO_PROXY\n%s", r.code, r.stdout)
		}
		noProbePods(t, c, ns)
	})

	t.Run("target role refuses the chain", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		role := e.addSTSRole(t, "pi-source-"+randSuffix(), trusted)
		// The target trusts Pod Identity, not the association's role: EKS cannot chain to it.
		target := e.addSTSRole(t, "pi-target-"+randSuffix(), trusted)
		serviceAccount(t, c, ns, "app", nil)
		e.associate(t, c, ns, "app", role, target)
		r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...)
		// EKS Auth's AccessDeniedException, told as a role refused (missing, or its trust),
		// whatever words the stand-in used
		agentRow{wantCode: 1, wantStatus: "FAIL", wantCause: "role-refused",
			wantFix: []string{"(a target role: the association's role, with both actions)", "kubectl wi explain serviceaccount/app -n " + ns}}.
			assert(t, r.code, checkEvent(r.stdout, "podidentity.agent"), r.stdout+r.stderr)
		noProbePods(t, c, ns)
	})

	t.Run("both IRSA and Pod Identity", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		// Half way through a migration: one role, trusted by both, named by both.
		trust := e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app")
		trust["Statement"] = append(trust["Statement"].([]any), trusted["Statement"].([]any)...)
		role := e.addSTSRole(t, "pi-both-"+randSuffix(), trust)
		serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
		e.associate(t, c, ns, "app", role)
		r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
		got := checkLines(t, r.stdout)
		if r.code != 0 || got["pod.both_identities"] != "WARN" || got["sts.caller_identity"] != "PASS" ||
			!strings.Contains(lineOf(r.stdout, "pod.both_identities"), "Pod Identity wins, the webhook skips the role-arn injection") ||
			!strings.Contains(r.stdout, "kubectl wi disable serviceaccount/app -n "+ns+" --restart=never") {
			t.Fatalf("exit %d, want 0 with the both-identities warning and Pod Identity's role proven\n%s", r.code, r.stdout)
		}
		noProbePods(t, c, ns)
	})
}

// refusingProxy is an HTTP proxy on the bridge gateway that refuses every request, as a
// corporate proxy refuses a link-local address it cannot reach; it returns its URL.
func refusingProxy(t *testing.T, e env) string {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint) // the STS stand-in listens where pods reach the host
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "proxy: destination not allowed", http.StatusForbidden)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return fmt.Sprintf("http://%s", l.Addr())
}

// status says per account IRSA, Pod Identity or both, and counts the pods a restart would
// change for each: a pod that predates the association is stale for Pod Identity.
func TestStatusPodIdentity(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requireProfile(t, "eks", "the webhook injects the agent's credentials only under it")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "status-"+randSuffix(), podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "irsa", map[string]string{"eks.amazonaws.com/role-arn": role})
	serviceAccount(t, c, ns, "pi", nil)
	serviceAccount(t, c, ns, "both", map[string]string{"eks.amazonaws.com/role-arn": role})
	awaitWebhookRole(t, c, ns, "irsa", role)
	awaitWebhookRole(t, c, ns, "both", role)
	runPod(t, c, ns, e.idlePod("irsa-1", "irsa"))
	runPod(t, c, ns, e.idlePod("both-old", "both")) // before the association: IRSA
	e.associate(t, c, ns, "pi", role)
	e.associate(t, c, ns, "both", role)
	runPod(t, c, ns, e.idlePod("pi-1", "pi"))
	runPod(t, c, ns, e.idlePod("both-new", "both"))

	r := e.wi(t, "status", "-n", ns, "-o", "json")
	var doc struct {
		ServiceAccounts []struct {
			Name     string `json:"name"`
			Identity string `json:"identity"`
			Pods     struct {
				Total            int `json:"total"`
				Injected         int `json:"injected"`
				Stale            int `json:"stale"`
				PodIdentity      int `json:"podIdentity"`
				PodIdentityStale int `json:"podIdentityStale"`
			} `json:"pods"`
		} `json:"serviceAccounts"`
		Findings []struct {
			Check, Object, Message, Fix string
		} `json:"findings"`
	}
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range doc.ServiceAccounts {
		got[a.Name] = fmt.Sprintf("%s total=%d injected=%d stale=%d pi=%d piStale=%d", a.Identity, a.Pods.Total, a.Pods.Injected, a.Pods.Stale, a.Pods.PodIdentity, a.Pods.PodIdentityStale)
	}
	want := map[string]string{
		"irsa": "IRSA total=1 injected=1 stale=0 pi=0 piStale=0",
		"pi":   "PodIdentity total=1 injected=0 stale=0 pi=1 piStale=0",
		"both": "IRSA+PodIdentity total=2 injected=1 stale=0 pi=1 piStale=1",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	found := false
	for _, f := range doc.Findings {
		if f.Check == "pod-identity-stale" && f.Object == "pod/both-old" && strings.Contains(f.Fix, "both-old") {
			found = true
		}
	}
	if !found {
		t.Errorf("no pod-identity-stale finding for pod/both-old: %+v", doc.Findings)
	}

	r = e.wi(t, "status", "-n", ns)
	if !strings.Contains(r.stdout, "IRSA+PodIdentity") || !strings.Contains(r.stdout, "IDENTITY") {
		t.Errorf("the table does not show the identities:\n%s", r.stdout)
	}
}

// The default profile's webhook is a self-managed one without its container-credentials
// configuration: it never injects Pod Identity. verify on an account whose association exists
// then names the webhook (with AWS credentials), or both causes and the command that tells
// them apart (without); it never proposes the enable --pod-identity the user already ran.
func TestVerifyPodIdentityWebhookCannotInject(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requireProfile(t, "default", "the EKS profile's webhook injects Pod Identity")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	role := e.addSTSRole(t, "pi-noinj-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "pi", nil)
	id := e.associate(t, c, ns, "pi", role)

	r := e.piWI(t, e.verifyArgs(ns, "pi", e.stsEndpoint, "-o", "text", "--eks-cluster", e.eksCluster)...)
	got := checkLines(t, r.stdout)
	mutation := lineOf(r.stdout, "pod.mutation")
	if r.code != 1 || got["outside.serviceaccount"] != "PASS" || got["pod.mutation"] != "FAIL" ||
		!strings.Contains(lineOf(r.stdout, "outside.serviceaccount"), "its EKS Pod Identity association "+id+" in cluster "+e.eksCluster+" gives the role "+role) ||
		!strings.Contains(mutation, "has the EKS Pod Identity association "+id) ||
		!strings.Contains(mutation, "the webhook does not inject Pod Identity for it") ||
		!strings.Contains(r.stdout, "--watch-container-credentials-config") ||
		!strings.Contains(r.stdout, "aws eks describe-addon --cluster-name "+e.eksCluster+" --addon-name eks-pod-identity-agent") {
		t.Fatalf("exit %d, want 1 naming the webhook for the association %s\n%s\n%s", r.code, id, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "kubectl wi enable serviceaccount/pi") {
		t.Errorf("proposes enable, which the user already ran:\n%s", r.stdout)
	}
	noProbePods(t, c, ns)

	// Without AWS credentials (no EKS cluster known either): both causes, and how to tell them apart.
	r = e.wi(t, e.verifyArgs(ns, "pi", e.stsEndpoint, "-o", "text")...)
	mutation = lineOf(r.stdout, "pod.mutation")
	if r.code != 1 || checkLines(t, r.stdout)["pod.mutation"] != "FAIL" ||
		!strings.Contains(mutation, "its EKS Pod Identity association was not read (no EKS cluster known") ||
		!strings.Contains(mutation, "either it has none, or it has one and the pod identity webhook does not inject Pod Identity") ||
		!strings.Contains(r.stdout, "aws eks list-pod-identity-associations --cluster-name <EKS cluster> --namespace "+ns+" --service-account pi") ||
		!strings.Contains(r.stdout, "kubectl wi enable serviceaccount/pi -n "+ns+" --pod-identity --role-arn <role ARN>") {
		t.Fatalf("exit %d, want 1 naming both causes\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noProbePods(t, c, ns)
}

//go:build e2e

package e2e

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestVerifyNetworkPolicy: the local bridge CNI enforces no NetworkPolicy, so the probe pod
// passes whatever the policies say, as it does on a cluster whose policy selects the app's
// labels and not the probe's. verify's read-only check evaluates the namespace's policies for
// the app's own pods: one that isolates them for egress fails the run naming the policy; one
// that allows the STS endpoint the app calls (and under the EKS profile the agent) passes.
func TestVerifyNetworkPolicy(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "netpol-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	// The app calls the STS stand-in, as an app with AWS_ENDPOINT_URL_STS set does: an address,
	// so nothing is resolved.
	e.idleDeployment(t, c, ns, "web", "app", corev1.EnvVar{Name: "AWS_ENDPOINT_URL_STS", Value: e.stsEndpoint})

	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web-egress"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		},
	}
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	denied := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	l := lineOf(denied.stdout, "outside.network_policy")
	if denied.code != 1 || !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "web-egress") {
		t.Fatalf("exit %d, network policy line %q; want exit 1 and a FAIL naming web-egress\nstdout:\n%s\nstderr:\n%s", denied.code, l, denied.stdout, denied.stderr)
	}
	if lineOf(denied.stdout, "sts.caller_identity") == "" || !strings.HasPrefix(lineOf(denied.stdout, "sts.caller_identity"), "PASS") {
		t.Errorf("the probe pod did not pass (the bridge CNI enforces no policy):\n%s", denied.stdout)
	}

	// Allow the STS stand-in's address and port, and the agent's.
	stsHost, stsPort := hostPort(t, e.stsEndpoint)
	policy.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{
		{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: stsHost + "/32"}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(stsPort))}}},
		{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "169.254.170.23/32"}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(80))}}},
	}
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Update(ctx, policy, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	allowed := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	if allowed.code != 0 {
		t.Fatalf("exit %d with the egress allowed, want 0\nstdout:\n%s\nstderr:\n%s", allowed.code, allowed.stdout, allowed.stderr)
	}
	for _, line := range strings.Split(allowed.stdout, "\n") {
		if strings.Contains(line, " outside.network_policy  ") && !strings.HasPrefix(line, "PASS") {
			t.Errorf("with the egress allowed: %s", line)
		}
	}
	if l := lineOf(allowed.stdout, "outside.not_proved"); !strings.Contains(l, "AWS SDK") || !strings.Contains(l, "--in-pod") {
		t.Errorf("a pass does not say what the probe pod leaves unproved: %q", l)
	}
	noProbePods(t, c, ns)
}

// hostPort splits an https URL's host and port.
func hostPort(t *testing.T, endpoint string) (string, int32) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("endpoint %s has no port", endpoint)
	}
	return u.Hostname(), int32(port)
}

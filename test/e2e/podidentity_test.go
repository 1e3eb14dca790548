//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// podIdentityTrust is a role trust policy for EKS Pod Identity: the service principal
// pods.eks.amazonaws.com with actions.
func podIdentityTrust(actions ...string) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "pods.eks.amazonaws.com"},
			"Action":    actions,
		}},
	}
}

// countWrites counts the writes that reached the AWS stand-in.
func countWrites(reqs []awsRequest) int {
	n := 0
	for _, r := range reqs {
		if r.Write {
			n++
		}
	}
	return n
}

// TestPodIdentityVerify: a service account with an association, whose role trusts Pod
// Identity: verify's probe gets credentials from the agent (which got them from EKS Auth) and
// proves them with STS, every check passes; verify writes nothing to AWS.
func TestPodIdentityVerify(t *testing.T) {
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "pi-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "app", nil)
	e.associate(t, c, ns, "app", role)
	writes := countWrites(e.awsRequests(t))

	r := e.wi(t, e.verifyArgs(ns, "serviceaccount/app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := checkLines(t, r.stdout)
	for _, check := range []string{"podidentity.env", "podidentity.token_file", "podidentity.audience", "podidentity.agent", "sts.caller_identity"} {
		if got[check] != "PASS" {
			t.Errorf("check %s is %q, want PASS: %s", check, got[check], lineOf(r.stdout, check))
		}
	}
	for check, status := range got {
		if status == "FAIL" {
			t.Errorf("%s failed: %s", check, lineOf(r.stdout, check))
		}
	}
	if l := lineOf(r.stdout, "sts.caller_identity"); !strings.Contains(l, ":assumed-role/pi-"+ns+"/eks-"+e.eksCluster+"-") {
		t.Errorf("caller identity is not the role's Pod Identity session: %s", l)
	}
	// EKS Auth saw the probe pod's token, from the node's agent, and tagged the session
	var seen *awsRequest
	reqs := e.awsRequests(t)
	for i, q := range reqs {
		if q.Action == "AssumeRoleForPodIdentity" && q.Namespace == ns && q.Outcome == "OK" {
			seen = &reqs[i]
		}
	}
	if seen == nil || !strings.HasSuffix(seen.Principal, ":user/eks-pod-identity-agent") || seen.SessionTags["kubernetes-namespace"] != ns ||
		seen.SessionTags["kubernetes-service-account"] != "app" || seen.SessionTags["eks-cluster-name"] != e.eksCluster {
		t.Errorf("EKS Auth's log of the probe: %+v", seen)
	}
	if n := countWrites(reqs); n != writes {
		t.Errorf("verify made %d writes to AWS; want none", n-writes)
	}
	noProbePods(t, c, ns)
}

// TestPodIdentityVerifyNoTagSession: the association's role trusts Pod Identity with
// sts:AssumeRole but not sts:TagSession. EKS Auth refuses, the agent passes its error on, and
// verify fails the agent check as a refused role, with the fix.
func TestPodIdentityVerifyNoTagSession(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "pi-notag-"+ns, podIdentityTrust("sts:AssumeRole"))
	serviceAccount(t, c, ns, "app", nil)
	e.associate(t, c, ns, "app", role)

	r := e.wi(t, e.verifyArgs(ns, "serviceaccount/app", e.stsEndpoint, "-o", "json")...)
	// EKS Auth's AccessDeniedException is told by its code, not its words: the role may be
	// missing or its trust refuse; the fix names both actions and explain
	agentRow{wantCode: 1, wantStatus: "FAIL", wantCause: "role-refused",
		wantFix: []string{"sts:AssumeRole and sts:TagSession", "kubectl wi explain serviceaccount/app -n " + ns}}.
		assert(t, r.code, checkEvent(r.stdout, "podidentity.agent"), r.stdout+r.stderr)
	if ev := checkEvent(r.stdout, "sts.caller_identity"); ev == nil || strings.EqualFold(ev.Status, "PASS") {
		t.Errorf("caller identity: %+v; want it not passed without credentials", ev)
	}
	noProbePods(t, c, ns)
}

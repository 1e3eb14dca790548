//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// tpAccessDenied is what the STS stand-in answers, as AWS does, when the trust policy does not
// admit the token.
const tpAccessDenied = "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"

// TestTrustPolicy proves that the policy `kubectl wi trust-policy` generates from the cluster is
// the one the role needs: registered as is with the STS stand-in, it admits a real projected
// token of the service account it was generated for and refuses every other one; the
// namespace-wide variant admits the namespace and nothing outside it.
func TestTrustPolicy(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	hostPath := strings.TrimSuffix(strings.TrimPrefix(e.issuer, "https://"), "/")
	providerARN := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.stsAccount, hostPath)

	roleName := "tp-" + ns
	roleARN := fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, roleName)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": roleARN})
	serviceAccount(t, c, ns, "other", nil)

	// The policy for app, generated from the cluster: the account comes from app's role ARN.
	r := e.wi(t, "trust-policy", "-n", ns, "serviceaccount/app", "-o", "json")
	if r.code != 0 {
		t.Fatalf("trust-policy -o json: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	policyOut := r.stdout
	policy := tpDecode(t, policyOut)
	st := tpStatement(t, policy)
	if got := st["Principal"].(map[string]any)["Federated"]; got != providerARN {
		t.Fatalf("Federated principal %v, want the local cluster's issuer %s", got, providerARN)
	}
	if got := st["Action"]; got != "sts:AssumeRoleWithWebIdentity" {
		t.Fatalf("Action %v, want sts:AssumeRoleWithWebIdentity", got)
	}
	cond := st["Condition"].(map[string]any)
	wantEquals := map[string]any{hostPath + ":aud": "sts.amazonaws.com", hostPath + ":sub": "system:serviceaccount:" + ns + ":app"}
	if got := cond["StringEquals"]; fmt.Sprint(got) != fmt.Sprint(wantEquals) || len(cond) != 1 {
		t.Fatalf("Condition %v, want only StringEquals %v", cond, wantEquals)
	}

	// Registered as generated, the policy is the role's trust policy.
	if got := e.addSTSRole(t, roleName, policy); got != roleARN {
		t.Fatalf("the STS stand-in names the role %s, the service account asks %s", got, roleARN)
	}

	// A real pod of app: the webhook stand-in injects the role, the kubelet writes the token.
	pod := runPod(t, c, ns, e.idlePod("app", "app"))
	token := e.projectedToken(t, pod, "aws-iam-token")

	t.Run("admits the service account it was generated for", func(t *testing.T) {
		out, err := assumeRole(ctx, e.stsEndpoint, roleARN, token)
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity with app's projected token: %v (%s)", err, apiErrorCode(err))
		}
		creds := credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
			aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		who, err := stsClient(e.stsEndpoint, creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity: %v", err)
		}
		if want := ":assumed-role/" + roleName + "/e2e"; !strings.HasSuffix(aws.ToString(who.Arn), want) {
			t.Fatalf("caller %s, want one ending in %s", aws.ToString(who.Arn), want)
		}
	})

	t.Run("refuses another service account of the namespace", func(t *testing.T) {
		other := createToken(t, c, ns, "other", "sts.amazonaws.com")
		_, err := assumeRole(ctx, e.stsEndpoint, roleARN, other)
		if got := apiErrorCode(err); got != tpAccessDenied {
			t.Fatalf("token of %s/other: error %v (code %q), want %s", ns, err, got, tpAccessDenied)
		}
	})

	t.Run("refuses app's token for another audience", func(t *testing.T) {
		// The provider does not list this audience: the STS stand-in refuses the token before
		// the policy, as AWS does; either way, nothing is admitted.
		other := createToken(t, c, ns, "app", "not-sts")
		if _, err := assumeRole(ctx, e.stsEndpoint, roleARN, other); err == nil {
			t.Fatal("a token of app for audience not-sts was admitted")
		}
	})

	t.Run("text output", func(t *testing.T) {
		r := e.wi(t, "trust-policy", "-n", ns, "app")
		if r.code != 0 {
			t.Fatalf("trust-policy: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"# Trust policy for system:serviceaccount:" + ns + ":app",
			"kubectl wi trust-policy serviceaccount/app -n " + ns + " -o json > trust-policy.json",
			// The policy, byte for byte as -o json prints it.
			policyOut,
			"aws iam create-open-id-connect-provider --url " + e.issuer + " --client-id-list sts.amazonaws.com",
			"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn " + providerARN + " --client-id sts.amazonaws.com",
			"aws iam create-role --role-name " + roleName + " --assume-role-policy-document file://trust-policy.json",
			"aws iam update-assume-role-policy --role-name " + roleName + " --policy-document file://trust-policy.json",
			"kubectl wi enable serviceaccount/app -n " + ns + " --role-arn " + roleARN,
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text output lacks %q\nstdout:\n%s", want, r.stdout)
			}
		}
		if r.stderr != "" {
			t.Errorf("unexpected stderr: %s", r.stderr)
		}
	})

	t.Run("namespace-wide", func(t *testing.T) {
		r := e.wi(t, "trust-policy", "-n", ns, "--namespace-wide", "--account-id", e.stsAccount, "-o", "json")
		if r.code != 0 {
			t.Fatalf("trust-policy --namespace-wide: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		policy := tpDecode(t, r.stdout)
		st := tpStatement(t, policy)
		if got := st["Principal"].(map[string]any)["Federated"]; got != providerARN {
			t.Fatalf("Federated principal %v, want %s", got, providerARN)
		}
		cond := st["Condition"].(map[string]any)
		equals, _ := cond["StringEquals"].(map[string]any)
		like, _ := cond["StringLike"].(map[string]any)
		if len(equals) != 1 || equals[hostPath+":aud"] != "sts.amazonaws.com" {
			t.Fatalf("StringEquals %v, want the audience alone", equals)
		}
		if len(like) != 1 || like[hostPath+":sub"] != "system:serviceaccount:"+ns+":*" {
			t.Fatalf("StringLike %v, want sub system:serviceaccount:%s:*", like, ns)
		}

		wideRole := e.addSTSRole(t, "tpns-"+ns, policy)
		serviceAccount(t, c, ns, "third", nil)
		for _, sa := range []string{"app", "other", "third"} {
			tok := createToken(t, c, ns, sa, "sts.amazonaws.com")
			if _, err := assumeRole(ctx, e.stsEndpoint, wideRole, tok); err != nil {
				t.Errorf("namespace-wide role refused %s/%s: %v (%s)", ns, sa, err, apiErrorCode(err))
			}
		}
		// The projected token of the running pod too.
		if _, err := assumeRole(ctx, e.stsEndpoint, wideRole, token); err != nil {
			t.Errorf("namespace-wide role refused app's projected token: %v (%s)", err, apiErrorCode(err))
		}

		// A service account of the same name in another namespace is refused.
		ns2 := e.namespace(t, c, nil)
		serviceAccount(t, c, ns2, "app", nil)
		tok := createToken(t, c, ns2, "app", "sts.amazonaws.com")
		_, err := assumeRole(ctx, e.stsEndpoint, wideRole, tok)
		if got := apiErrorCode(err); got != tpAccessDenied {
			t.Fatalf("token of %s/app: error %v (code %q), want %s", ns2, err, got, tpAccessDenied)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			args     []string
			code     int
			inStderr []string
		}{
			{"http issuer", []string{"trust-policy", "-n", ns, "app", "--issuer", "http://" + hostPath}, 2, []string{"--issuer", "https"}},
			{"not a service account", []string{"trust-policy", "-n", ns, "storagecluster/app"}, 2, []string{"trust-policy takes a service account or a deployment"}},
			{"a missing deployment", []string{"trust-policy", "-n", ns, "deployment/app"}, 2, []string{`deployment.apps "app" not found in namespace`}},
			{"no service account", []string{"trust-policy", "-n", ns}, 2, []string{"needs a service account"}},
			{"missing account, no --account-id", []string{"trust-policy", "-n", ns, "nosuch"}, 2, []string{"does not exist", "--account-id"}},
			{"account without role, no --account-id", []string{"trust-policy", "-n", ns, "other"}, 2, []string{"has no eks.amazonaws.com/role-arn", "--account-id"}},
			{"namespace-wide without --account-id", []string{"trust-policy", "-n", ns, "--namespace-wide"}, 2, []string{"--account-id"}},
			{"bad account id", []string{"trust-policy", "-n", ns, "app", "--account-id", "1234"}, 2, []string{"12 digits"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := e.wi(t, tt.args...)
				if r.code != tt.code {
					t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, r.code, tt.code, r.stdout, r.stderr)
				}
				if r.stdout != "" && !strings.HasPrefix(r.stdout, "Usage:") {
					t.Errorf("%v printed a policy on error:\n%s", tt.args, r.stdout)
				}
				for _, want := range tt.inStderr {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("%v: stderr lacks %q:\n%s", tt.args, want, r.stderr)
					}
				}
			})
		}
	})

	t.Run("issuer flag", func(t *testing.T) {
		const issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
		r := e.wi(t, "trust-policy", "-n", ns, "app", "--issuer", issuer, "-o", "json")
		if r.code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		st := tpStatement(t, tpDecode(t, r.stdout))
		want := "arn:aws:iam::" + e.stsAccount + ":oidc-provider/" + strings.TrimPrefix(issuer, "https://")
		if got := st["Principal"].(map[string]any)["Federated"]; got != want {
			t.Fatalf("Federated %v, want %s", got, want)
		}
	})

	t.Run("issuer discovery forbidden", func(t *testing.T) {
		// The viewer may read service accounts here, but not the discovery document (the
		// default binding grants it to service accounts only).
		tpGrantViewer(t, c, ns)
		viewer := func(args ...string) result {
			return e.wi(t, append([]string{"--kubeconfig", e.viewerKubeconfig}, args...)...)
		}
		// RBAC reaches the authorizer's cache a moment after the binding is created.
		waitFor(t, 30*time.Second, "the viewer's binding to take effect", func(context.Context) (bool, error) {
			return e.viewerMay(t, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: "get", Resource: "serviceaccounts", Name: "app"}}), nil
		})
		// What the test is about must hold before the command runs: were the viewer allowed
		// the discovery document, there would be nothing to refuse.
		if e.viewerMay(t, authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{
			Path: issuerDiscoveryPathForTest, Verb: "get"}}) {
			t.Fatalf("the viewer may get %s on this cluster: the test bed grants it to service accounts only", issuerDiscoveryPathForTest)
		}
		r := viewer("trust-policy", "-n", ns, "app", "-o", "json")
		if r.code != 3 || !strings.Contains(r.stderr, `User "kubectl-wi-viewer" cannot get path`) || !strings.Contains(r.stderr, "--issuer") {
			t.Fatalf("discovery forbidden: exit %d, want 3 with a message naming --issuer\nstderr:\n%s", r.code, r.stderr)
		}
		// With --issuer, the same user gets the same policy as the admin did.
		r = viewer("trust-policy", "-n", ns, "app", "--issuer", e.issuer, "-o", "json")
		if r.code != 0 {
			t.Fatalf("with --issuer: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		if r.stdout != policyOut {
			t.Fatalf("with --issuer the policy differs:\n%s\nwant:\n%s", r.stdout, policyOut)
		}
	})
}

const issuerDiscoveryPathForTest = "/.well-known/openid-configuration"

func tpDecode(t *testing.T, out string) map[string]any {
	t.Helper()
	var policy map[string]any
	if err := json.Unmarshal([]byte(out), &policy); err != nil {
		t.Fatalf("trust-policy -o json is not JSON: %v\n%s", err, out)
	}
	if policy["Version"] != "2012-10-17" {
		t.Fatalf("Version %v, want 2012-10-17", policy["Version"])
	}
	return policy
}

func tpStatement(t *testing.T, policy map[string]any) map[string]any {
	t.Helper()
	sts, _ := policy["Statement"].([]any)
	if len(sts) != 1 {
		t.Fatalf("want one statement, got %v", policy["Statement"])
	}
	st := sts[0].(map[string]any)
	if st["Effect"] != "Allow" {
		t.Fatalf("Effect %v, want Allow", st["Effect"])
	}
	return st
}

// tpGrantViewer lets the viewer user get service accounts in ns, and nothing else.
func tpGrantViewer(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "tp-viewer"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tp-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tp-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "kubectl-wi-viewer"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

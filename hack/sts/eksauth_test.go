package sts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// podClaims are the claims of a Pod Identity token the kubelet projects for pod web.
func podClaims(iss, ns, sa string, aud []string, iat time.Time) map[string]any {
	c := kubeClaims(iss, "system:serviceaccount:"+ns+":"+sa, aud, iat, time.Hour)
	return map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": []string(c.Audience), "iat": c.IssuedAt, "nbf": c.NotBefore, "exp": c.Expiry,
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]string{"name": sa, "uid": "sa-uid-1"},
			"pod":            map[string]string{"name": "web-7d4b9", "uid": "pod-uid-1"},
		},
	}
}

// eksAuthAnswer is AssumeRoleForPodIdentity's answer, or its error.
type eksAuthAnswer struct {
	status    int
	errorType string
	body      struct {
		Message  string `json:"message"`
		Subject  struct{ Namespace, ServiceAccount string }
		Audience string
		Assoc    struct{ AssociationArn, AssociationID string } `json:"podIdentityAssociation"`
		User     struct{ Arn, AssumeRoleID string }             `json:"assumedRoleUser"`
		Creds    struct {
			AccessKeyID, SecretAccessKey, SessionToken string
			Expiration                                 float64
		} `json:"credentials"`
	}
}

// assumeForPod calls EKS Auth as the agent does: signed for eks-auth with the given keys.
func (a *awsEnv) assumeForPod(t *testing.T, keyID, secret, cluster, token string) eksAuthAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/clusters/"+cluster+"/assume-role-for-pod-identity", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if keyID != "" {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), "eks-auth", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ans eksAuthAnswer
	ans.status, ans.errorType = resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType")
	if err := json.Unmarshal(raw, &ans.body); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	a.remember(ans.body.Creds.SecretAccessKey, ans.body.Creds.SessionToken)
	return ans
}

func (ans eksAuthAnswer) wantError(t *testing.T, status int, errorType, message string) {
	t.Helper()
	if ans.status != status || ans.errorType != errorType || !strings.HasPrefix(ans.body.Message, message) {
		t.Errorf("answer %d %s %q; want %d %s %q", ans.status, ans.errorType, ans.body.Message, status, errorType, message)
	}
}

func TestAssumeRoleForPodIdentity(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	iss := a.iss.srv.URL
	c := a.eks(devKeyID, devSecret, testRegion)
	associate := func(ns, sa, role, target string, disableTags bool) {
		t.Helper()
		in := &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(testCluster), Namespace: aws.String(ns),
			ServiceAccount: aws.String(sa), RoleArn: aws.String(roleARN(role)), DisableSessionTags: aws.Bool(disableTags)}
		if target != "" {
			in.TargetRoleArn = aws.String(roleARN(target))
		}
		if _, err := c.CreatePodIdentityAssociation(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	token := func(ns, sa string, aud ...string) string {
		t.Helper()
		if len(aud) == 0 {
			aud = []string{PodIdentityAudience}
		}
		tok := mint(t, rsaKey, podClaims(iss, ns, sa, aud, time.Now()))
		a.remember(tok)
		return tok
	}
	associate("demo", "app", "pod-app", "", false)
	associate("demo", "notag", "pod-notag", "", false)
	associate("demo", "notag-untagged", "pod-notag", "", true)
	associate("demo", "chained", "pod-app", "pod-target", false)
	associate("demo", "chained-notag", "pod-app", "pod-target-notag", false)

	ans := a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "app"))
	if ans.status != 200 {
		t.Fatalf("AssumeRoleForPodIdentity: %d %s %s", ans.status, ans.errorType, ans.body.Message)
	}
	b := ans.body
	wantPrefix := "arn:aws:sts::111122223333:assumed-role/pod-app/eks-local-web-7d4b9-"
	if !strings.HasPrefix(b.User.Arn, wantPrefix) || !strings.HasPrefix(b.User.AssumeRoleID, "AROA") ||
		b.Subject.Namespace != "demo" || b.Subject.ServiceAccount != "app" || b.Audience != PodIdentityAudience ||
		!associationIDRE.MatchString(b.Assoc.AssociationID) || !strings.HasSuffix(b.Assoc.AssociationArn, "/local/"+b.Assoc.AssociationID) ||
		!strings.HasPrefix(b.Creds.AccessKeyID, "ASIA") || b.Creds.SecretAccessKey == "" || b.Creds.SessionToken == "" {
		t.Errorf("answer = %+v", b)
	}
	if exp := time.Unix(int64(b.Creds.Expiration), 0); exp.Before(time.Now().Add(5*time.Hour)) || exp.After(time.Now().Add(7*time.Hour)) {
		t.Errorf("credentials expire at %v, want in about 6 hours", exp)
	}
	// the credentials work, as the role's session
	id, err := a.stsClient(staticCreds(b.Creds.AccessKeyID, b.Creds.SecretAccessKey, b.Creds.SessionToken)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != b.User.Arn {
		t.Errorf("GetCallerIdentity with the pod's credentials = %v, %v; want %s", id, err, b.User.Arn)
	}
	// the session tags, from the token's kubernetes.io claims, are in the request log
	var tagged *RequestLogLine
	for _, l := range a.requestLines(t) {
		if l.Action == "AssumeRoleForPodIdentity" && l.Outcome == "OK" {
			tagged = &l
		}
	}
	wantTags := map[string]string{"eks-cluster-arn": testClusterARN, "eks-cluster-name": testCluster, "kubernetes-namespace": "demo",
		"kubernetes-service-account": "app", "kubernetes-pod-name": "web-7d4b9", "kubernetes-pod-uid": "pod-uid-1"}
	if tagged == nil || len(tagged.SessionTags) != 6 || tagged.Principal != "arn:aws:iam::111122223333:user/eks-pod-identity-agent" || tagged.Service != "eks-auth" {
		t.Fatalf("request log line %+v", tagged)
	}
	for k, v := range wantTags {
		if tagged.SessionTags[k] != v {
			t.Errorf("session tag %s = %q, want %q", k, tagged.SessionTags[k], v)
		}
	}

	// the trust must allow sts:TagSession too, unless the association turns the tags off
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "notag")).wantError(t, 400, "AccessDeniedException",
		trustRefusal(roleARN("pod-notag"), "the service principal pods.eks.amazonaws.com"))
	if ans := a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "notag-untagged")); ans.status != 200 {
		t.Errorf("session tags off, trust without sts:TagSession: %d %s", ans.status, ans.body.Message)
	}

	// role chaining: the target role trusts the association's role
	ans = a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "chained"))
	if ans.status != 200 || !strings.HasPrefix(ans.body.User.Arn, "arn:aws:sts::111122223333:assumed-role/pod-target/eks-local-web-7d4b9-") {
		t.Errorf("chained: %d %s %s", ans.status, ans.body.Message, ans.body.User.Arn)
	}
	if exp := time.Unix(int64(ans.body.Creds.Expiration), 0); exp.After(time.Now().Add(61 * time.Minute)) {
		t.Errorf("chained credentials expire at %v: a chained session lasts at most an hour", exp)
	}
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "chained-notag")).wantError(t, 400, "AccessDeniedException",
		trustRefusal(roleARN("pod-target-notag"), "the role "+roleARN("pod-app")))
	// a role that does not exist is refused in the same words as a trust that refuses
	associate("demo", "gone", "pod-app", "", false)
	a.setFaults(t, EKSAuthFault{Namespace: "demo", ServiceAccount: "gone", Fault: FaultRoleMissing})
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "gone")).wantError(t, 400, "AccessDeniedException",
		trustRefusal(roleARN("pod-app"), "the service principal pods.eks.amazonaws.com"))

	// the token
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "none")).wantError(t, 404, "ResourceNotFoundException",
		"No Pod Identity Association found for service account none in namespace demo of cluster local.")
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, token("demo", "app", "sts.amazonaws.com")).wantError(t, 400, "InvalidTokenException",
		"The token's audience is not pods.eks.amazonaws.com.")
	forged := mint(t, otherRSA.withKid(rsaKey.kid), podClaims(iss, "demo", "app", []string{PodIdentityAudience}, time.Now()))
	a.remember(forged)
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, forged).wantError(t, 400, "InvalidTokenException", "The token's signature could not be verified.")
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, "not-a-jwt").wantError(t, 400, "InvalidParameterException", "The token does not match the pattern of a JWT.")
	old := mint(t, rsaKey, podClaims(iss, "demo", "app", []string{PodIdentityAudience}, time.Now().Add(-2*time.Hour)))
	a.remember(old)
	a.assumeForPod(t, agentKeyID, agentSecret, testCluster, old).wantError(t, 400, "ExpiredTokenException", "The token has expired.")

	// the caller
	a.assumeForPod(t, "", "", testCluster, token("demo", "app")).wantError(t, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	a.assumeForPod(t, limitedKeyID, limitedSecret, testCluster, token("demo", "app")).wantError(t, 403, "AccessDeniedException",
		"User: arn:aws:iam::111122223333:user/team/limited is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: "+testClusterARN)
	a.assumeForPod(t, agentKeyID, agentSecret, "other", token("demo", "app")).wantError(t, 404, "ResourceNotFoundException", "No cluster found for name: other.")
}

// trustRefusal is EKS Auth's refusal of a role (session tags on), the same whether the role
// is missing or its trust refuses.
func trustRefusal(role, who string) string {
	return "Unable to assume role " + role + " for " + who + ": the role does not exist or its trust policy does not allow sts:AssumeRole and sts:TagSession."
}

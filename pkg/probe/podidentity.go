package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxAgentBody bounds what the probe reads of the Pod Identity agent's answer.
const maxAgentBody = 64 << 10

// agentCredentials is the Pod Identity agent's answer, the container credentials format.
type agentCredentials struct {
	AccessKeyID     string     `json:"AccessKeyId"`
	SecretAccessKey string     `json:"SecretAccessKey"`
	Token           string     `json:"Token"`
	AccountID       string     `json:"AccountId"`
	Expiration      *time.Time `json:"Expiration"`
}

// agentError is the agent's error body.
type agentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r *runner) podIdentity() {
	later := append(podIdentityTokenChecks.names(), CheckPodIdentityAgent, CheckSTSCallerIdentity)

	uri := r.deps.Getenv(envContainerFullURI)
	path := r.deps.Getenv(envContainerAuthTokenFile)
	data := map[string]any{"full_uri": uri, "token_file": path}
	u, err := url.Parse(uri)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		r.check(CheckPodIdentityEnv, StatusFail, fmt.Sprintf("%s %q is not an http(s) URL", envContainerFullURI, uri),
			"the container sets "+envContainerFullURI+" itself: remove it and let the pod identity webhook set it", data)
		r.skipAll(later, CheckPodIdentityEnv)
		return
	case path == "":
		r.check(CheckPodIdentityEnv, StatusFail, envContainerFullURI+" is set but "+envContainerAuthTokenFile+" is not",
			"the webhook leaves a container that sets these env vars itself alone: remove "+envContainerFullURI+" from the container spec and restart the pod", data)
		r.skipAll(later, CheckPodIdentityEnv)
		return
	}
	r.check(CheckPodIdentityEnv, StatusPass, fmt.Sprintf("%s is %s, %s is %s", envContainerFullURI, uri, envContainerAuthTokenFile, path), "", data)

	token, claims, ok := r.checkToken(path, podIdentityTokenChecks, PodIdentityAudience, 0)
	if !ok {
		r.skipAll([]string{CheckPodIdentityAgent, CheckSTSCallerIdentity}, CheckPodIdentityFile)
		return
	}
	creds, ok := r.agent(uri, token, claims)
	if !ok {
		r.skipAll([]string{CheckSTSCallerIdentity}, CheckPodIdentityAgent)
		return
	}
	r.stsInfo()
	r.callerIdentity(creds, r.cfg.ExpectedRoleARN)
}

// agent asks the Pod Identity agent for credentials, as the SDK's container credentials
// provider does: GET the URI with the token, as is, in the Authorization header.
func (r *runner) agent(uri, token string, claims TokenClaims) (aws.CredentialsProvider, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.StepTimeout)
	defer cancel()
	data := map[string]any{"uri": uri}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		r.check(CheckPodIdentityAgent, StatusFail, fmt.Sprintf("cannot build a request for %s: %v", uri, err), "", data)
		return nil, false
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Accept", "application/json")
	var doer HTTPDoer = &http.Client{}
	if r.deps.HTTPClient != nil {
		doer = r.deps.HTTPClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		r.check(CheckPodIdentityAgent, StatusFail, fmt.Sprintf("cannot reach the EKS Pod Identity Agent at %s: %v", uri, err),
			"install the eks-pod-identity-agent add-on (aws eks create-addon --cluster-name <cluster> --addon-name eks-pod-identity-agent) and check that its DaemonSet has a ready pod on this node",
			data)
		return nil, false
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAgentBody))
	data["http_status"] = resp.StatusCode
	if err != nil {
		r.check(CheckPodIdentityAgent, StatusFail, fmt.Sprintf("the agent's answer broke off: %v", err),
			"check the eks-pod-identity-agent logs: kubectl -n kube-system logs ds/eks-pod-identity-agent", data)
		return nil, false
	}
	if resp.StatusCode != http.StatusOK {
		r.check(CheckPodIdentityAgent, StatusFail,
			fmt.Sprintf("the agent answered %s: %s", resp.Status, agentErrorText(body)),
			agentFix(resp.StatusCode, claims), data)
		return nil, false
	}
	var c agentCredentials
	if err := json.Unmarshal(body, &c); err != nil {
		r.check(CheckPodIdentityAgent, StatusFail, fmt.Sprintf("the agent's answer is not credentials JSON: %v", err),
			"check that "+envContainerFullURI+" points at the eks-pod-identity-agent", data)
		return nil, false
	}
	r.addSecret(c.AccessKeyID, c.SecretAccessKey, c.Token)
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Token == "" {
		r.check(CheckPodIdentityAgent, StatusFail, "the agent's answer lacks AccessKeyId, SecretAccessKey or Token",
			"check that "+envContainerFullURI+" points at the eks-pod-identity-agent", data)
		return nil, false
	}
	if c.AccountID != "" {
		data["account_id"] = c.AccountID
	}
	msg := "the agent returned credentials"
	if c.Expiration != nil {
		data["expiration"] = c.Expiration.UTC().Format(time.RFC3339)
		msg += " expiring at " + c.Expiration.UTC().Format(time.RFC3339)
		if !c.Expiration.After(r.deps.Now()) {
			r.check(CheckPodIdentityAgent, StatusFail, "the agent returned credentials that expired at "+c.Expiration.UTC().Format(time.RFC3339),
				"check the node's clock (NTP) and the eks-pod-identity-agent logs", data)
			return nil, false
		}
	}
	r.check(CheckPodIdentityAgent, StatusPass, msg, "", data)
	return staticCredentials(c.AccessKeyID, c.SecretAccessKey, c.Token), true
}

// agentErrorText is the agent's error message, short.
func agentErrorText(body []byte) string {
	var e agentError
	if json.Unmarshal(body, &e) == nil {
		if msg := strings.TrimSpace(e.Code + " " + e.Message); msg != "" {
			return msg
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return orPlaceholder(s, "no message")
}

func agentFix(status int, claims TokenClaims) string {
	if status >= 500 {
		return "the agent could not get credentials from EKS: check its logs (kubectl -n kube-system logs ds/eks-pod-identity-agent) and that the association's role trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession"
	}
	assoc := "aws eks list-pod-identity-associations --cluster-name <cluster>"
	if ns, sa, ok := serviceAccountFromSubject(claims.Subject); ok {
		assoc += fmt.Sprintf(" --namespace %s --service-account %s", ns, sa)
	}
	return "the agent refused the token or found no Pod Identity association for this service account: check " + assoc +
		", and that the association's role trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession"
}

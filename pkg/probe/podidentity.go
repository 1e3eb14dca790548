package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
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
		r.check(CheckPodIdentityEnv, check.StatusFail, fmt.Sprintf("%s %q is not an http(s) URL", envContainerFullURI, uri),
			"the container sets "+envContainerFullURI+" itself: remove it and let the pod identity webhook set it", data)
		r.skipAll(later, CheckPodIdentityEnv)
		return
	case path == "":
		r.check(CheckPodIdentityEnv, check.StatusFail, envContainerFullURI+" is set but "+envContainerAuthTokenFile+" is not",
			"the webhook leaves a container that sets these env vars itself alone: remove "+envContainerFullURI+" from the container spec and restart the pod", data)
		r.skipAll(later, CheckPodIdentityEnv)
		return
	}
	r.check(CheckPodIdentityEnv, check.StatusPass, fmt.Sprintf("%s is %s, %s is %s", envContainerFullURI, uri, envContainerAuthTokenFile, path), "", data)

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
		r.check(CheckPodIdentityAgent, check.StatusFail, fmt.Sprintf("cannot build a request for %s: %v", uri, err), "", data)
		return nil, false
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Accept", "application/json")
	// The SDKs' container credentials client honours the proxy env: so does the probe's.
	transport := ResolveSTSTransport(r.deps.Getenv, r.deps.ReadFile)
	proxy := transport.Proxy(uri)
	if proxy != "" {
		data["proxy"] = proxy
	}
	var doer HTTPDoer = transport.Client()
	if r.deps.HTTPClient != nil {
		doer = r.deps.HTTPClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		cause, msg, fix := agentUnreachable(uri, proxy, err, claims)
		data["cause"] = cause
		r.check(CheckPodIdentityAgent, check.StatusFail, msg, fix, data)
		return nil, false
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAgentBody))
	data["http_status"] = resp.StatusCode
	if err != nil {
		r.check(CheckPodIdentityAgent, check.StatusFail, fmt.Sprintf("the agent's answer broke off: %v", err),
			"check the eks-pod-identity-agent logs: kubectl -n kube-system logs ds/eks-pod-identity-agent", data)
		return nil, false
	}
	if d, failed := r.diagnoseAgentAnswer(resp, body, proxy, claims); failed {
		for k, v := range d.data {
			data[k] = v
		}
		data["cause"] = d.cause
		r.check(CheckPodIdentityAgent, check.StatusFail, d.msg, d.fix, data)
		return nil, false
	}
	var c agentCredentials
	if err := json.Unmarshal(body, &c); err != nil {
		r.check(CheckPodIdentityAgent, check.StatusFail, fmt.Sprintf("the agent's answer is not credentials JSON: %v", err),
			"check that "+envContainerFullURI+" points at the eks-pod-identity-agent", data)
		return nil, false
	}
	r.addSecret(c.AccessKeyID, c.SecretAccessKey, c.Token)
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Token == "" {
		r.check(CheckPodIdentityAgent, check.StatusFail, "the agent's answer lacks AccessKeyId, SecretAccessKey or Token",
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
			r.check(CheckPodIdentityAgent, check.StatusFail, "the agent returned credentials that expired at "+c.Expiration.UTC().Format(time.RFC3339),
				"check the node's clock (NTP) and the eks-pod-identity-agent logs", data)
			return nil, false
		}
	}
	r.check(CheckPodIdentityAgent, check.StatusPass, msg, "", data)
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

// noProxyFix is the fix for an agent request that a proxy took: the agent is on the node's
// link-local address, which no proxy reaches.
func noProxyFix(claims TokenClaims) string {
	return "add " + PodIdentityAgentHost + " to NO_PROXY in the container's env (the AWS SDKs send the container credentials request through HTTP_PROXY otherwise)" +
		", e.g. kubectl set env " + workloadOf(claims) + " NO_PROXY=<its current value>," + PodIdentityAgentHost
}

// PodIdentityAgentHost is the EKS Pod Identity Agent's IPv4 address on every node.
const PodIdentityAgentHost = "169.254.170.23"

func workloadOf(claims TokenClaims) string {
	if ns, _, ok := serviceAccountFromSubject(claims.Subject); ok {
		return "deployment/<name> -n " + ns
	}
	return "deployment/<name>"
}

const agentInstallFix = "install the eks-pod-identity-agent add-on (aws eks create-addon --cluster-name <cluster> --addon-name eks-pod-identity-agent) and check that its DaemonSet has a ready pod on this node: kubectl -n kube-system get pods -l app.kubernetes.io/name=eks-pod-identity-agent -o wide"

// agentUnreachable words a request that got no answer: through a proxy, refused (no agent on
// this node), no route to the link-local address, or a connection the agent accepted and
// closed without an answer; it returns the cause too.
func agentUnreachable(uri, proxy string, err error, claims TokenClaims) (cause, msg, fix string) {
	switch {
	case proxy != "":
		return CauseAgentProxy, fmt.Sprintf("the request for %s went through the proxy %s (HTTP_PROXY, and NO_PROXY does not name %s), which did not answer: %v", uri, proxy, PodIdentityAgentHost, err), noProxyFix(claims)
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseAgentNotRunning, fmt.Sprintf("nothing listens at %s on this node: the EKS Pod Identity Agent does not run here (%v)", uri, err), agentInstallFix
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err):
		return CauseAgentNoRoute, fmt.Sprintf("no route from this pod to %s: %v", uri, err),
			"the agent listens on the node's link-local address " + PodIdentityAgentHost + ": check that it runs on this node (" + agentInstallFix + ") and that the pod network lets pods reach the node's link-local addresses"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		// The real agent's handler panics on an EKS Auth answer that lacks a field
		// (internal/cloud/eksauth/service.go dereferences it); net/http then closes the
		// connection with no answer.
		return CauseAgentClosed, fmt.Sprintf("the agent at %s accepted the connection and closed it without an answer: %v", uri, err), agentClosedFix
	}
	return CauseAgentUnreachable, fmt.Sprintf("cannot reach the EKS Pod Identity Agent at %s: %v", uri, err), agentInstallFix
}

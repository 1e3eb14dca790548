package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// TestSTSErrorClassification serves STS error bodies, recorded as AWS sends them, to the real
// SDK client, so the SDK's own XML error parsing feeds the diagnosis.
func TestSTSErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		assume    stsReply
		caller    stsReply
		check     string // the failing check
		wantCode  string
		wantMsg   []string
		notMsg    []string // what the message must not claim
		wantFix   []string
		wantReqID string
	}{
		{
			name:     "no OIDC provider",
			assume:   stsReply{"no-oidc-provider.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "InvalidIdentityToken",
			wantMsg: []string{
				"the account has no IAM OIDC provider for the issuer " + testIssuer,
				"InvalidIdentityToken: No OpenIDConnect provider found in your account for " + testIssuer,
			},
			wantFix:   []string{"aws iam create-open-id-connect-provider --url " + testIssuer + " --client-id-list sts.amazonaws.com"},
			wantReqID: "test-request-id",
		},
		{
			name:     "incorrect audience",
			assume:   stsReply{"incorrect-audience.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "InvalidIdentityToken",
			wantMsg:  []string{"the token's audience sts.amazonaws.com is not a client ID of the IAM OIDC provider"},
			wantFix: []string{
				"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE --client-id sts.amazonaws.com",
				"eks.amazonaws.com/audience annotation",
			},
		},
		{
			name:     "thumbprint mismatch",
			assume:   stsReply{"thumbprint.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "InvalidIdentityToken",
			wantFix:  []string{"aws iam update-open-id-connect-provider-thumbprint"},
		},
		{
			name:     "an AccessDenied names every cause STS does not tell apart, none as a fact",
			assume:   stsReply{"access-denied.xml", http.StatusForbidden},
			check:    CheckSTSAssumeRole,
			wantCode: "AccessDenied",
			wantMsg: []string{
				"(AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity)",
				"does not say why",
				"(1) the role " + testRoleARN + " does not exist",
				"(2) the role's trust policy names an IAM OIDC provider that is not registered for the issuer",
				"(3) the role's trust policy does not admit " + testSubject,
			},
			notMsg: []string{"the trust policy of " + testRoleARN + " does not admit"},
			wantFix: []string{
				"kubectl wi explain serviceaccount/checkout -n shop",
				"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub = " + testSubject,
				"kubectl wi trust-policy serviceaccount/checkout -n shop --account-id 111122223333",
			},
		},
		{
			name:     "expired token",
			assume:   stsReply{"expired-token.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "ExpiredTokenException",
			wantMsg:  []string{"the service account token had expired"},
			wantFix:  []string{"kubelet"},
		},
		{
			name:     "issuer not reachable by STS",
			assume:   stsReply{"idp-communication.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "IDPCommunicationError",
			wantFix:  []string{testIssuer + "/.well-known/openid-configuration"},
		},
		{
			name:     "malformed request",
			assume:   stsReply{"validation.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "ValidationError",
			wantFix:  []string{"check AWS_ROLE_ARN"},
		},
		{
			name:     "unknown code",
			assume:   stsReply{"unknown-code.xml", http.StatusBadRequest},
			check:    CheckSTSAssumeRole,
			wantCode: "SomethingNewException",
			wantMsg:  []string{"SomethingNewException: A brand new failure STS may send one day"},
			wantFix:  []string{"look up the STS error SomethingNewException"},
		},
		{
			name:     "credentials not valid",
			assume:   stsReply{"assume-role-ok.xml", http.StatusOK},
			caller:   stsReply{"invalid-client-token-id.xml", http.StatusForbidden},
			check:    CheckSTSCallerIdentity,
			wantCode: "InvalidClientTokenId",
			wantFix:  []string{"activate STS in us-west-2"},
		},
		{
			name:     "region disabled",
			assume:   stsReply{"assume-role-ok.xml", http.StatusOK},
			caller:   stsReply{"region-disabled.xml", http.StatusForbidden},
			check:    CheckSTSCallerIdentity,
			wantCode: "RegionDisabledException",
			wantMsg:  []string{"STS is not active in us-west-2"},
		},
		{
			name:     "node role",
			assume:   stsReply{"assume-role-ok.xml", http.StatusOK},
			caller:   stsReply{"caller-identity-node-role.xml", http.StatusOK},
			check:    CheckSTSCallerIdentity,
			wantMsg:  []string{"a node (EC2 instance) role"},
			wantFix:  []string{"instance profile"},
			wantCode: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := signToken(t, goodClaims())
			replies := map[string]stsReply{opAssumeRoleWithWebIdentity: tt.assume}
			if tt.caller.file != "" {
				replies[opGetCallerIdentity] = tt.caller
			}
			srv := fakeSTSServer(t, token, replies)
			env := irsaEnv()
			env["AWS_ENDPOINT_URL_STS"] = srv.URL
			deps := fakeDeps(env, files{testTokenPath: token}, nil)
			deps.NewSTS = realSTS(srv)
			rec := &recorder{}
			sum, err := Run(context.Background(), testConfig(), deps, rec)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != check.StatusFail || sum.Failed != 1 {
				t.Errorf("summary %+v, want one failure", sum)
			}
			ev := rec.find(t, check.TypeCheck, tt.check)
			if ev.Status != check.StatusFail {
				t.Fatalf("%s is %s: %s", tt.check, ev.Status, ev.Message)
			}
			if tt.wantCode != "" && ev.Data["code"] != tt.wantCode {
				t.Errorf("code %v, want %s (%s)", ev.Data["code"], tt.wantCode, ev.Message)
			}
			if ev.Data["code"] != nil && ev.Data["endpoint"] != srv.URL {
				t.Errorf("endpoint %v, want %s", ev.Data["endpoint"], srv.URL)
			}
			if tt.wantReqID != "" && ev.Data["request_id"] != tt.wantReqID {
				t.Errorf("request_id %v, want %s", ev.Data["request_id"], tt.wantReqID)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("message %q does not contain %q", ev.Message, s)
				}
			}
			for _, s := range tt.notMsg {
				if strings.Contains(ev.Message, s) {
					t.Errorf("message %q claims %q", ev.Message, s)
				}
			}
			for _, s := range tt.wantFix {
				if !strings.Contains(ev.Fix, s) {
					t.Errorf("fix %q does not contain %q", ev.Fix, s)
				}
			}
			if res := rec.last(t); !strings.Contains(res.Fix, ev.Fix) {
				t.Errorf("result fix %q lacks the check's fix", res.Fix)
			}
		})
	}
}

// TestSTSNetworkErrors drives the real SDK client into failures that never reach STS.
func TestSTSNetworkErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })

	tests := []struct {
		name     string
		endpoint string
		client   *http.Client
		wantCode string
		wantMsg  []string
		wantFix  []string
	}{
		{
			name:     "DNS",
			endpoint: "https://sts.us-west-2.amazonaws.com",
			client: &http.Client{Transport: &http.Transport{
				DialContext: func(context.Context, string, string) (net.Conn, error) {
					return nil, &net.DNSError{Err: "no such host", Name: "sts.us-west-2.amazonaws.com", IsNotFound: true}
				},
			}},
			wantCode: "network",
			wantMsg:  []string{"the pod cannot resolve sts.us-west-2.amazonaws.com (STS endpoint https://sts.us-west-2.amazonaws.com)"},
			wantFix:  []string{"cluster DNS", "sts.us-west-2.amazonaws.com", "VPC endpoint"},
		},
		{
			name:     "stopped while waiting",
			endpoint: "https://sts.us-west-2.amazonaws.com",
			client: &http.Client{Transport: &http.Transport{
				DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, context.Canceled },
			}},
			wantCode: "stopped",
			wantMsg:  []string{"the probe was stopped (its pod's deadline, verify ended, or its pod was deleted) while it waited for STS at https://sts.us-west-2.amazonaws.com"},
			wantFix:  []string{"raise --timeout"},
		},
		{
			name:     "connection refused",
			endpoint: closedURL,
			client:   &http.Client{},
			wantCode: "network",
			wantMsg:  []string{"the pod cannot reach STS at " + closedURL},
			wantFix:  []string{"allow egress to " + strings.TrimPrefix(closedURL, "http://")},
		},
		{
			name:     "timeout",
			endpoint: slow.URL,
			client:   slow.Client(),
			wantCode: "timeout",
			wantMsg:  []string{"no answer from STS at " + slow.URL},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := signToken(t, goodClaims())
			env := irsaEnv()
			env["AWS_ENDPOINT_URL_STS"] = tt.endpoint
			deps := fakeDeps(env, files{testTokenPath: token}, nil)
			deps.NewSTS = func(target STSTarget, creds aws.CredentialsProvider) STSClient {
				return NewSTSClient(target, creds, tt.client, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
			}
			cfg := testConfig()
			cfg.StepTimeout = 500 * time.Millisecond
			rec := &recorder{}
			if _, err := Run(context.Background(), cfg, deps, rec); err != nil {
				t.Fatal(err)
			}
			ev := rec.find(t, check.TypeCheck, CheckSTSAssumeRole)
			if ev.Status != check.StatusFail || ev.Data["code"] != tt.wantCode {
				t.Fatalf("got %s %v: %s", ev.Status, ev.Data["code"], ev.Message)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("message %q does not contain %q", ev.Message, s)
				}
			}
			for _, s := range tt.wantFix {
				if !strings.Contains(ev.Fix, s) {
					t.Errorf("fix %q does not contain %q", ev.Fix, s)
				}
			}
		})
	}
}

func TestDiagnoseSTSErrorNotAPIError(t *testing.T) {
	d := DiagnoseSTSError(errors.New("boom"), DiagnosisContext{Op: opGetCallerIdentity, Endpoint: "https://sts.amazonaws.com"})
	if d.Code != "network" || !strings.Contains(d.Cause, "https://sts.amazonaws.com") || !strings.Contains(d.Fix, "sts.amazonaws.com") {
		t.Errorf("%+v", d)
	}
}

// An STS call that goes through the container's proxy names the proxy first, and the env that
// set it: the pod never spoke to STS itself. NO_PROXY that covers STS leaves the proxy out.
func TestSTSThroughProxyErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "destination not allowed", http.StatusForbidden)
	}))
	t.Cleanup(refusing.Close)
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); hanging.Close() })

	const stsURL = "https://sts.us-west-2.amazonaws.com"
	tests := []struct {
		name     string
		endpoint string
		proxyEnv map[string]string
		wantCode string
		wantMsg  []string
		wantFix  []string
		notMsg   string
	}{
		{
			name: "HTTPS_PROXY unreachable", endpoint: stsURL, proxyEnv: map[string]string{"HTTPS_PROXY": closedURL},
			wantCode: "network",
			wantMsg:  []string{"the pod cannot reach its proxy " + closedURL + " (HTTPS_PROXY), which its STS calls to " + stsURL + " go through"},
			wantFix:  []string{"check that the proxy " + closedURL + " runs", "add sts.us-west-2.amazonaws.com to NO_PROXY in the container's env"},
			notMsg:   "the pod cannot reach STS",
		},
		{
			name: "https_proxy refuses the CONNECT", endpoint: stsURL, proxyEnv: map[string]string{"https_proxy": refusing.URL},
			wantCode: "network",
			wantMsg:  []string{"the proxy " + refusing.URL + " (https_proxy) did not carry the pod's STS call to " + stsURL, "Forbidden"},
			wantFix:  []string{"allow sts.us-west-2.amazonaws.com through the proxy " + refusing.URL},
		},
		{
			name: "proxy does not answer", endpoint: stsURL, proxyEnv: map[string]string{"HTTPS_PROXY": hanging.URL},
			wantCode: "timeout",
			wantMsg:  []string{"no answer in time from the proxy " + hanging.URL + " (HTTPS_PROXY)"},
			wantFix:  []string{"lets CONNECT to sts.us-west-2.amazonaws.com through"},
			notMsg:   "no answer from STS",
		},
		{
			name: "HTTP_PROXY for an http endpoint", endpoint: "http://sts.internal.example", proxyEnv: map[string]string{"HTTP_PROXY": closedURL, "HTTPS_PROXY": hanging.URL},
			wantCode: "network",
			wantMsg:  []string{"the pod cannot reach its proxy " + closedURL + " (HTTP_PROXY)"},
		},
		{
			name: "NO_PROXY covers STS: no proxy in the path", endpoint: closedURL, proxyEnv: map[string]string{"HTTPS_PROXY": hanging.URL, "HTTP_PROXY": hanging.URL, "NO_PROXY": "127.0.0.1"},
			wantCode: "network",
			wantMsg:  []string{"the pod cannot reach STS at " + closedURL},
			notMsg:   "proxy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := signToken(t, goodClaims())
			env := irsaEnv()
			env["AWS_ENDPOINT_URL_STS"] = tt.endpoint
			for k, v := range tt.proxyEnv {
				env[k] = v
			}
			deps := fakeDeps(env, files{testTokenPath: token}, nil)
			// The probe's own client: the SDK's default with the pod's proxy env.
			deps.NewSTS = func(target STSTarget, creds aws.CredentialsProvider) STSClient {
				return NewSTSClient(target, creds, ResolveSTSTransport(envFunc(env), files{}.ReadFile).Client(), func(o *sts.Options) { o.RetryMaxAttempts = 1 })
			}
			cfg := testConfig()
			cfg.StepTimeout = 500 * time.Millisecond
			rec := &recorder{}
			if _, err := Run(context.Background(), cfg, deps, rec); err != nil {
				t.Fatal(err)
			}
			ev := rec.find(t, check.TypeCheck, CheckSTSAssumeRole)
			if ev.Status != check.StatusFail || ev.Data["code"] != tt.wantCode {
				t.Fatalf("got %s %v: %s", ev.Status, ev.Data["code"], ev.Message)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("message %q does not contain %q", ev.Message, s)
				}
			}
			for _, s := range tt.wantFix {
				if !strings.Contains(ev.Fix, s) {
					t.Errorf("fix %q does not contain %q", ev.Fix, s)
				}
			}
			if tt.notMsg != "" && strings.Contains(ev.Message, tt.notMsg) {
				t.Errorf("message %q contains %q", ev.Message, tt.notMsg)
			}
		})
	}
}

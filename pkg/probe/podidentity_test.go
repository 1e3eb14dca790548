package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// The credentials the fake agent hands out.
const (
	agentAccessKeyID = "ASIAEXAMPLEAGENTKEY1"
	agentSecretKey   = "agentSecretKeyEXAMPLE/abcdefghijklmnopqrst"
	agentToken       = "IQoJb3JpZ2luX2VjEXAMPLEagentSESSIONtokenFAKEfake9876543210"
)

func podIdentityClaims() tokenClaims {
	c := goodClaims()
	c.Audience = jwt.Audience{PodIdentityAudience}
	return c
}

// fakeAgent is an httptest EKS Pod Identity Agent: it wants the token, as is, in
// Authorization, and answers with body and status.
func fakeAgent(t *testing.T, token string, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != testAgentPath {
			t.Errorf("agent got %s %s", r.Method, r.URL.Path)
		}
		if r.Header.Get("Authorization") != token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"InvalidToken","message":"the Authorization header is not the token"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const agentOKBody = `{"AccessKeyId":"` + agentAccessKeyID + `","SecretAccessKey":"` + agentSecretKey +
	`","Token":"` + agentToken + `","AccountId":"111122223333","Expiration":"2026-01-02T09:04:05Z"}`

// callerSTS checks GetCallerIdentity gets the agent's credentials and answers with arn.
func callerSTS(t *testing.T, arn string) STSFuncs {
	t.Helper()
	s := okSTS()
	inner := s.GetCallerIdentityFn
	s.AssumeRoleWithWebIdentityFn = nil // the Pod Identity path never calls it
	s.GetCallerIdentityFn = func(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
		out, err := inner(ctx, in, optFns...)
		if out != nil {
			out.Arn = &arn
		}
		return out, err
	}
	return s
}

func TestPodIdentity(t *testing.T) {
	tests := []struct {
		name       string
		claims     func(*tokenClaims)
		status     int
		body       string
		env        func(env map[string]string, agentURL string)
		callerARN  string
		cfg        func(*Config)
		want       map[string]check.Status
		wantRes    check.Status
		wantMsg    map[string]string
		wantFix    string
		noSTSCalls bool
		doerErr    error // the agent request fails so, without a connection
	}{
		{
			name:   "good",
			status: http.StatusOK, body: agentOKBody,
			callerARN: "arn:aws:sts::111122223333:assumed-role/checkout-role/eks-shop-checkout-1a2b3c",
			want: map[string]check.Status{
				CheckEnvPath: check.StatusPass, CheckPodIdentityEnv: check.StatusPass, CheckPodIdentityFile: check.StatusPass,
				CheckPodIdentityFormat: check.StatusPass, CheckPodIdentityAud: check.StatusPass, CheckPodIdentityExpiry: check.StatusPass,
				CheckPodIdentityIssuer: check.StatusPass, CheckPodIdentitySubject: check.StatusPass, CheckPodIdentityAgent: check.StatusPass,
				CheckSTSCallerIdentity: check.StatusPass,
			},
			wantRes: check.StatusPass,
			wantMsg: map[string]string{CheckPodIdentityAgent: "expiring at 2026-01-02T09:04:05Z"},
		},
		{
			name:   "IRSA env too: Pod Identity wins",
			status: http.StatusOK, body: agentOKBody,
			env: func(env map[string]string, _ string) {
				env[envRoleARN] = testRoleARN
				env[envWebIdentityTokenFile] = testTokenPath
			},
			callerARN: "arn:aws:sts::111122223333:assumed-role/checkout-role/eks-shop-checkout-1a2b3c",
			want:      map[string]check.Status{CheckEnvPath: check.StatusPass, CheckPodIdentityAgent: check.StatusPass, CheckSTSCallerIdentity: check.StatusPass},
			wantRes:   check.StatusPass,
			wantMsg:   map[string]string{CheckEnvPath: "IRSA env is set too"},
		},
		{
			name:      "IRSA audience on the Pod Identity token",
			claims:    func(c *tokenClaims) { c.Audience = jwt.Audience{DefaultAudience} },
			status:    http.StatusOK,
			body:      agentOKBody,
			callerARN: "arn:aws:sts::111122223333:assumed-role/checkout-role/eks-shop-checkout-1a2b3c",
			want:      map[string]check.Status{CheckPodIdentityAud: check.StatusFail},
			wantRes:   check.StatusFail,
			wantMsg:   map[string]string{CheckPodIdentityAud: "not pods.eks.amazonaws.com"},
		},
		{
			name:   "no association",
			status: http.StatusNotFound, body: "[a1b2]: (ResourceNotFoundException): No Pod Identity Association found for service account checkout, fault: client\n",
			want:       map[string]check.Status{CheckPodIdentityAgent: check.StatusFail, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes:    check.StatusFail,
			wantMsg:    map[string]string{CheckPodIdentityAgent: "the agent answered 404 Not Found: [a1b2]: (ResourceNotFoundException)"},
			wantFix:    "no EKS Pod Identity association names this service account: create one with kubectl wi enable serviceaccount/checkout -n shop --pod-identity --role-arn <role ARN>",
			noSTSCalls: true,
		},
		{
			name:   "the role's trust refuses",
			status: http.StatusBadRequest, body: "[a1b2]: (AccessDeniedException): Failed to assume role, fault: client\n",
			want:       map[string]check.Status{CheckPodIdentityAgent: check.StatusFail, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes:    check.StatusFail,
			wantFix:    "its trust policy must allow the principal pods.eks.amazonaws.com sts:AssumeRole and sts:TagSession (a target role: the association's role, with both actions); EKS Auth does not say which: kubectl wi explain serviceaccount/checkout -n shop",
			noSTSCalls: true,
		},
		{
			name:   "through a proxy",
			status: http.StatusOK, body: agentOKBody,
			env: func(env map[string]string, _ string) {
				env["HTTP_PROXY"] = "http://proxy.corp.example:3128"
				env["NO_PROXY"] = "10.0.0.0/8"
				env[envContainerFullURI] = "http://" + PodIdentityAgentHost + testAgentPath
			},
			doerErr:    errors.New("dial tcp: lookup proxy.corp.example: no such host"),
			want:       map[string]check.Status{CheckPodIdentityAgent: check.StatusFail, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes:    check.StatusFail,
			wantMsg:    map[string]string{CheckPodIdentityAgent: "went through the proxy http://proxy.corp.example:3128 (HTTP_PROXY, and NO_PROXY does not name 169.254.170.23)"},
			wantFix:    "add 169.254.170.23 to NO_PROXY in the container's env",
			noSTSCalls: true,
		},
		{
			name:   "agent not running",
			status: http.StatusOK, body: agentOKBody,
			env: func(env map[string]string, _ string) {
				env[envContainerFullURI] = "http://127.0.0.1:1" + testAgentPath
			},
			want:       map[string]check.Status{CheckPodIdentityAgent: check.StatusFail, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes:    check.StatusFail,
			wantMsg:    map[string]string{CheckPodIdentityAgent: "nothing listens at http://127.0.0.1:1"},
			wantFix:    "eks-pod-identity-agent add-on",
			noSTSCalls: true,
		},
		{
			name:   "no route to the agent",
			status: http.StatusOK, body: agentOKBody,
			env: func(env map[string]string, _ string) {
				env[envContainerFullURI] = "http://" + PodIdentityAgentHost + testAgentPath
			},
			doerErr:    &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)},
			want:       map[string]check.Status{CheckPodIdentityAgent: check.StatusFail, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes:    check.StatusFail,
			wantMsg:    map[string]string{CheckPodIdentityAgent: "no route from this pod to http://169.254.170.23"},
			wantFix:    "the pod network lets pods reach the node's link-local addresses",
			noSTSCalls: true,
		},
		{
			name:   "token file env missing",
			status: http.StatusOK, body: agentOKBody,
			env:        func(env map[string]string, _ string) { delete(env, envContainerAuthTokenFile) },
			want:       map[string]check.Status{CheckPodIdentityEnv: check.StatusFail, CheckPodIdentityFile: check.StatusSkip, CheckPodIdentityAgent: check.StatusSkip},
			wantRes:    check.StatusFail,
			noSTSCalls: true,
		},
		{
			name:   "another role",
			status: http.StatusOK, body: agentOKBody,
			callerARN: "arn:aws:sts::111122223333:assumed-role/billing-role/eks-shop-checkout-1a2b3c",
			want:      map[string]check.Status{CheckPodIdentityAgent: check.StatusPass, CheckSTSCallerIdentity: check.StatusFail},
			wantRes:   check.StatusFail,
			wantFix:   "aws eks update-pod-identity-association --role-arn " + testRoleARN,
		},
		{
			name:   "node role",
			status: http.StatusOK, body: agentOKBody,
			callerARN: "arn:aws:sts::111122223333:assumed-role/nodes/i-0123456789abcdef0",
			cfg:       func(c *Config) { c.ExpectedRoleARN = "" },
			want:      map[string]check.Status{CheckSTSCallerIdentity: check.StatusFail},
			wantRes:   check.StatusFail,
			wantMsg:   map[string]string{CheckSTSCallerIdentity: "node (EC2 instance) role"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := podIdentityClaims()
			if tt.claims != nil {
				tt.claims(&c)
			}
			token := signToken(t, c)
			agent := fakeAgent(t, token, tt.status, tt.body)
			env := map[string]string{
				envContainerFullURI:       agent.URL + testAgentPath,
				envContainerAuthTokenFile: testPodPath,
				"AWS_REGION":              "us-west-2",
			}
			if tt.env != nil {
				tt.env(env, agent.URL)
			}
			var client STSClient = callerSTS(t, tt.callerARN)
			if tt.noSTSCalls {
				client = STSFuncs{}
			}
			deps := fakeDeps(env, files{testPodPath: token, testTokenPath: signToken(t, goodClaims())}, client)
			deps.HTTPClient = agent.Client()
			if tt.doerErr != nil {
				deps.HTTPClient = failingDoer{tt.doerErr}
			}
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			rec := &recorder{}
			sum, err := Run(context.Background(), cfg, deps, rec)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.statuses()
			for name, st := range tt.want {
				if got[name] != st {
					t.Errorf("%s: got %q, want %q (%s)", name, got[name], st, messageOf(rec, name))
				}
			}
			for name, sub := range tt.wantMsg {
				if msg := messageOf(rec, name); !strings.Contains(msg, sub) {
					t.Errorf("%s message %q does not contain %q", name, msg, sub)
				}
			}
			if _, ran := got[CheckSTSAssumeRole]; ran {
				t.Errorf("the Pod Identity path ran sts.assume_role")
			}
			if sum.Status != tt.wantRes || sum.Path != PathPodIdentity {
				t.Errorf("summary %+v, want %s", sum, tt.wantRes)
			}
			if res := rec.last(t); !strings.Contains(res.Fix, tt.wantFix) {
				t.Errorf("result fix %q does not contain %q", res.Fix, tt.wantFix)
			}
		})
	}
}

func TestPodIdentityWinsInfo(t *testing.T) {
	token := signToken(t, podIdentityClaims())
	agent := fakeAgent(t, token, http.StatusOK, agentOKBody)
	env := irsaEnv()
	env[envContainerFullURI] = agent.URL + testAgentPath
	env[envContainerAuthTokenFile] = testPodPath
	deps := fakeDeps(env, files{testPodPath: token}, callerSTS(t, "arn:aws:sts::111122223333:assumed-role/checkout-role/s"))
	deps.HTTPClient = agent.Client()
	rec := &recorder{}
	if _, err := Run(context.Background(), testConfig(), deps, rec); err != nil {
		t.Fatal(err)
	}
	info := rec.find(t, check.TypeInfo, CheckEnvPath)
	if !strings.Contains(info.Message, "Pod Identity wins") || !strings.Contains(info.Message, "AWS_WEB_IDENTITY_TOKEN_FILE before container credentials") {
		t.Errorf("info %q", info.Message)
	}
}

// failingDoer fails every request without a connection.
type failingDoer struct{ err error }

func (f failingDoer) Do(*http.Request) (*http.Response, error) { return nil, f.err }

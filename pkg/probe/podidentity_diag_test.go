package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// rawAgent answers every request with status, content type and body, or, with drop, closes
// the connection without an answer, as the real agent does when its handler panics.
func rawAgent(t *testing.T, status int, contentType, body string, drop bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if drop {
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	srv.Config.ErrorLog = nil
	t.Cleanup(srv.Close)
	return srv
}

// TestAgentDiagnoses: each way the real agent answers a failure gets its own cause and fix,
// told by the status, EKS Auth's code and the action it names.
func TestAgentDiagnoses(t *testing.T) {
	const text = "text/plain; charset=utf-8"
	nodeDenied := "[r-1]: (AccessDeniedException): User: arn:aws:sts::111122223333:assumed-role/eks-nodes/i-0abc is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: arn:aws:eks:us-west-2:111122223333:cluster/shop, fault: client\n"
	tests := []struct {
		name      string
		status    int
		body      string
		drop      bool
		wantCause string
		wantFix   []string // each in the fix
		wantMsg   string
	}{
		{"node role lacks the action", 403, nodeDenied, false, CauseNodePermission,
			[]string{"AmazonEKSWorkerNodePolicy", "arn:aws:sts::111122223333:assumed-role/eks-nodes/i-0abc", "--role-name eks-nodes"}, "AccessDeniedException"},
		{"node key unknown", 403, "[r-1]: (UnrecognizedClientException): The security token included in the request is invalid., fault: unknown\n", false, CauseNodeCredentials,
			[]string{"instance profile", "hop limit", "clock"}, "UnrecognizedClientException"},
		{"node signature", 403, "[r-1]: (InvalidSignatureException): whatever words, fault: unknown\n", false, CauseNodeCredentials, []string{"instance profile"}, ""},
		{"node session expired", 403, "[r-1]: (ExpiredTokenException): any words, fault: client\n", false, CauseNodeCredentials, []string{"clock"}, ""},
		{"pod token expired", 400, "[r-1]: (ExpiredTokenException): any words, fault: client\n", false, CausePodToken, []string{PodIdentityAudience}, ""},
		{"EKS Auth unreachable", 500, "[]\n", false, CauseEKSAuthNoAnswer,
			[]string{"eks-auth.us-west-2.api.aws", "NAT gateway", "com.amazonaws.us-west-2.eks-auth", "HTTPS_PROXY", "egress"}, "no answer from EKS Auth"},
		{"a proxy's page on the node's way", 502, "[]\n", false, CauseEKSAuthNoAnswer, []string{"eks-auth.us-west-2.api.aws"}, "a proxy on the node's way"},
		{"undecodable 2xx", 200, "[5f0c-rid]\n", false, CauseEKSAuthUnread, []string{"version", "logs"}, "5f0c-rid"},
		{"undecodable error", 500, "[5f0c-rid]\n", false, CauseEKSAuthUnread, []string{"version"}, ""},
		{"connection dropped", 0, "", true, CauseAgentClosed, []string{"it accepted the connection", "logs"}, "closed it without an answer"},
		{"role missing or trust refuses", 400, "[r-1]: (AccessDeniedException): anything at all, fault: client\n", false, CauseRoleRefused,
			[]string{"may not exist", "kubectl wi explain serviceaccount/checkout -n shop"}, "the role may not exist"},
		{"throttled through the retries", 429, "[r-1]: (ThrottlingException): Rate exceeded, fault: client\n", false, CauseEKSAuthThrottled, []string{"retry"}, ""},
		{"server fault through the retries", 500, "[r-1]: (InternalServerException): x, fault: server\n", false, CauseEKSAuthFailed, []string{"retry"}, ""},
		{"no association", 404, "[r-1]: (ResourceNotFoundException): x, fault: client\n", false, CauseNoAssociation, []string{"kubectl wi enable serviceaccount/checkout -n shop --pod-identity"}, ""},
		{"agent's own rate limit", 429, "Too Many Requests\n", false, CauseAgentRateLimit, []string{"rate limit"}, ""},
		{"agent's address check", 403, "Access Denied. Called agent through invalid address, please use either [169.254.170.23 fd00:ec2::23] address not 10.0.0.1\n", false, CauseAgentAddress,
			[]string{envContainerFullURI}, ""},
		{"agent's token check", 400, "Service account token failed basic claim validations: token is expired\n", false, CauseAgentToken, []string{"recreate the pod"}, ""},
		{"agent's own failure", 500, "error getting credentials to cache: invalid response from server: credentials or assumed role empty\n", false, CauseAgentError, []string{"logs"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := signToken(t, podIdentityClaims())
			agent := rawAgent(t, tt.status, text, tt.body, tt.drop)
			env := map[string]string{envContainerFullURI: agent.URL + testAgentPath, envContainerAuthTokenFile: testPodPath, "AWS_REGION": "us-west-2"}
			deps := fakeDeps(env, files{testPodPath: token}, STSFuncs{})
			deps.HTTPClient = agent.Client()
			rec := &recorder{}
			sum, err := Run(context.Background(), testConfig(), deps, rec)
			if err != nil {
				t.Fatal(err)
			}
			ev := rec.find(t, check.TypeCheck, CheckPodIdentityAgent)
			if ev.Status != check.StatusFail || sum.Status != check.StatusFail {
				t.Fatalf("check %s, run %s; want both to fail: %s", ev.Status, sum.Status, ev.Message)
			}
			if got := ev.Data["cause"]; got != tt.wantCause {
				t.Errorf("cause %v, want %s (%s | %s)", got, tt.wantCause, ev.Message, ev.Fix)
			}
			for _, w := range tt.wantFix {
				if !strings.Contains(ev.Fix, w) {
					t.Errorf("fix %q lacks %q", ev.Fix, w)
				}
			}
			if !strings.Contains(ev.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", ev.Message, tt.wantMsg)
			}
		})
	}
}

func TestReadAgentAnswer(t *testing.T) {
	tests := []struct {
		body string
		want eksAuthAnswer
	}{
		{"[]\n", eksAuthAnswer{fromEKSAuthClient: true}},
		{"[abc-1]\n", eksAuthAnswer{fromEKSAuthClient: true, requestID: "abc-1"}},
		{"[abc-1]: (AccessDeniedException): a, b: c, fault: client\n", eksAuthAnswer{true, "abc-1", "AccessDeniedException", "a, b: c", "client"}},
		{"Too Many Requests\n", eksAuthAnswer{}},
		{"[not an id] and more", eksAuthAnswer{}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := readAgentAnswer([]byte(tt.body)); got != tt.want {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
}

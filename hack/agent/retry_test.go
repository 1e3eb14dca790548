package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// goodAnswer is a complete AssumeRoleForPodIdentity answer.
const goodAnswer = `{"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/r/s","assumeRoleId":"AROA:s"},` +
	`"credentials":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"sk","sessionToken":"st","expiration":%d},` +
	`"podIdentityAssociation":{"associationArn":"arn:aws:eks:us-west-2:111122223333:podidentityassociation/local/a-1","associationId":"a-1"}}`

// reply is one answer of the fake EKS Auth.
type reply struct {
	status int
	code   string // X-Amzn-ErrorType
	body   string
	hang   bool
}

// fakeEKSAuth answers in turn with replies (the last one over again) and counts the calls.
func fakeEKSAuth(t *testing.T, replies ...reply) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // read: the server then sees the client go away
		i := int(n.Add(1)) - 1
		rp := replies[min(i, len(replies)-1)]
		if rp.hang {
			<-r.Context().Done()
			// Never an answer: a handler that returns would send an empty 200, which the
			// agent reads as an answer without credentials if the client still listens.
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("X-Amzn-Requestid", "rid-1")
		if rp.code != "" {
			w.Header().Set("X-Amzn-Errortype", rp.code)
		}
		w.WriteHeader(rp.status)
		_, _ = w.Write([]byte(rp.body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newTestAgent(t *testing.T, endpoint string, client *http.Client) *Agent {
	t.Helper()
	a, err := New(Config{ClusterName: "local", Endpoint: endpoint, Region: "us-west-2", HTTPClient: client,
		AttemptTimeout: 300 * time.Millisecond,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: nodeKeyID, SecretAccessKey: nodeSecret}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	a.auth.sleep = func(context.Context, time.Duration) error { return nil }
	return a
}

// a pod's token, valid for an hour; EKS Auth is fake here, so it is not signed.
func unsignedToken() string {
	return "eyJhbGciOiJSUzI1NiJ9." + "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVtbzphcHAifQ" + ".c2ln"
}

func TestEKSAuthAnswers(t *testing.T) {
	good := reply{status: 200, body: strings.Replace(goodAnswer, "%d", "4102444800", 1)}
	tests := []struct {
		name        string
		replies     []reply
		wantStatus  int // 0: the connection is dropped with no answer
		wantBody    string
		wantType    string
		wantAttempt int32
	}{
		{"ok", []reply{good}, 200, `"AccessKeyId":"ASIAEXAMPLE"`, "application/json", 1},
		{"fails once (500), retried", []reply{{status: 500, code: "InternalServerException", body: `{"message":"x"}`}, good}, 200, `"AccountId":"111122223333"`, "application/json", 2},
		{"throttled once, retried", []reply{{status: 429, code: "ThrottlingException", body: `{"message":"Rate exceeded"}`}, good}, 200, "ASIAEXAMPLE", "application/json", 2},
		{"503 twice then ok", []reply{{status: 503, code: "ServiceUnavailableException"}, {status: 503, code: "ServiceUnavailableException"}, good}, 200, "ASIAEXAMPLE", "application/json", 3},
		{"fails always: three attempts", []reply{{status: 500, code: "InternalServerException", body: `{"message":"An internal error occurred."}`}}, 500,
			"[rid-1]: (InternalServerException): An internal error occurred., fault: server\n", "text/plain; charset=utf-8", 3},
		{"throttled always", []reply{{status: 429, code: "ThrottlingException", body: `{"message":"Rate exceeded"}`}}, 429,
			"[rid-1]: (ThrottlingException): Rate exceeded, fault: client\n", "text/plain; charset=utf-8", 3},
		{"a proxy's page: retried, then the request id alone", []reply{{status: 502, body: "<html>bad gateway</html>"}}, 502, "[rid-1]\n", "text/plain; charset=utf-8", 3},
		{"node denied: not retried", []reply{{status: 403, code: "AccessDeniedException", body: `{"message":"User: arn:aws:sts::1:assumed-role/node/i-1 is not authorized to perform: eks-auth:AssumeRoleForPodIdentity"}`}}, 403,
			"[rid-1]: (AccessDeniedException): User: arn:aws:sts::1:assumed-role/node/i-1 is not authorized to perform: eks-auth:AssumeRoleForPodIdentity, fault: client\n", "text/plain; charset=utf-8", 1},
		{"node unknown: not modeled, fault unknown", []reply{{status: 403, code: "UnrecognizedClientException", body: `{"message":"The security token included in the request is invalid."}`}}, 403,
			"[rid-1]: (UnrecognizedClientException): The security token included in the request is invalid., fault: unknown\n", "text/plain; charset=utf-8", 1},
		{"code from the body, message defaults to the code", []reply{{status: 400, body: `{"__type":"com.amazon#SomethingException"}`}}, 400,
			"[rid-1]: (SomethingException): SomethingException, fault: unknown\n", "text/plain; charset=utf-8", 1},
		{"undecodable 2xx: 200 text with the request id", []reply{{status: 200, body: `{"credentials": `}}, 200, "[rid-1]\n", "text/plain; charset=utf-8", 1},
		{"no credentials", []reply{{status: 200, body: `{"assumedRoleUser":{"arn":"arn:aws:sts::1:assumed-role/r/s","assumeRoleId":"x"}}`}}, 500,
			"error getting credentials to cache: invalid response from server: credentials or assumed role empty\n", "text/plain; charset=utf-8", 1},
		{"no association: the connection is dropped", []reply{{status: 200, body: strings.Replace(good.body, `,"podIdentityAssociation":{"associationArn":"arn:aws:eks:us-west-2:111122223333:podidentityassociation/local/a-1","associationId":"a-1"}`, "", 1)}},
			0, "", "", 1},
		{"hangs: three attempts, no request id", []reply{{hang: true}}, 500, "[]\n", "text/plain; charset=utf-8", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eks, calls := fakeEKSAuth(t, tt.replies...)
			a := newTestAgent(t, eks.URL, eks.Client())
			srv := httptest.NewServer(a)
			t.Cleanup(srv.Close)
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/credentials", nil)
			req.Host = IPv4Host
			req.Header.Set("Authorization", unsignedToken())
			resp, err := srv.Client().Do(req)
			if tt.wantStatus == 0 {
				if err == nil {
					t.Fatalf("answered %d; want the connection dropped", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body := new(strings.Builder)
				_, _ = io.Copy(body, resp.Body)
				if resp.StatusCode != tt.wantStatus || !strings.Contains(body.String(), tt.wantBody) || resp.Header.Get("Content-Type") != tt.wantType {
					t.Errorf("%d %s %q; want %d %s containing %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.wantStatus, tt.wantType, tt.wantBody)
				}
			}
			if got := calls.Load(); got != tt.wantAttempt {
				t.Errorf("%d EKS Auth attempts, want %d", got, tt.wantAttempt)
			}
		})
	}
}

// TestEKSAuthDown: nothing listens where EKS Auth should be: three attempts, then 500 "[]".
func TestEKSAuthDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	a := newTestAgent(t, "https://"+addr, &http.Client{})
	var slept []time.Duration
	a.auth.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	req := httptest.NewRequest(http.MethodGet, "http://169.254.170.23/v1/credentials", nil)
	req.Header.Set("Authorization", unsignedToken())
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	if rec.Code != 500 || rec.Body.String() != "[]\n" {
		t.Errorf("%d %q; want 500 \"[]\"", rec.Code, rec.Body)
	}
	if len(slept) != 2 || slept[0] >= 2*time.Second || slept[1] >= 4*time.Second {
		t.Errorf("backoffs %v; want two, under 2 s then under 4 s", slept)
	}
}

func TestRetryQuota(t *testing.T) {
	eks, calls := fakeEKSAuth(t, reply{status: 500, code: "InternalServerException"})
	a := newTestAgent(t, eks.URL, eks.Client())
	a.auth.tokens = 7 // room for one retry
	_, err := a.auth.assumeRoleForPodIdentity(context.Background(), "local", unsignedToken())
	if err == nil || !strings.Contains(err.Error(), "retry quota exceeded, 2 available, 5 requested") || calls.Load() != 2 {
		t.Errorf("%v after %d attempts; want the quota exceeded after 2", err, calls.Load())
	}
	var ce *callError
	if errors.As(err, &ce) {
		t.Errorf("the quota error is not an EKS Auth answer: %v", err)
	}
}

func TestPaths(t *testing.T) {
	a := newTestAgent(t, "https://127.0.0.1:1", &http.Client{})
	tests := []struct {
		path       string
		wantStatus int
		wantLoc    string
	}{
		{"//v1/credentials", http.StatusTemporaryRedirect, "/v1/credentials"},
		{"/v1/credentials/../credentials", http.StatusTemporaryRedirect, "/v1/credentials"},
		{"/v1/other", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://169.254.170.23/", nil)
			req.URL.Path = tt.path
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Header().Get("Location") != tt.wantLoc {
				t.Errorf("%d Location %q; want %d %q", rec.Code, rec.Header().Get("Location"), tt.wantStatus, tt.wantLoc)
			}
		})
	}
}

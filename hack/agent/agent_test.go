package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/time/rate"

	"github.com/kubectl-wi/kubectl-wi/hack/sts"
)

const (
	nodeKeyID  = "AKIAEXAMPLENODE0001"
	nodeSecret = "node-secret-key-000000000000000000000"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bed is an OIDC issuer, the AWS stand-in trusting it, and an agent calling the stand-in.
type bed struct {
	key      *rsa.PrivateKey
	issuer   *httptest.Server
	aws      *httptest.Server
	requests *syncBuffer // the stand-in's JSON request log
	agentLog *syncBuffer
	secrets  []string
}

func newBed(t *testing.T, limit rate.Limit, burst int) (*bed, *Agent) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{key: key, requests: &syncBuffer{}, agentLog: &syncBuffer{}, secrets: []string{nodeSecret}}
	mux := http.NewServeMux()
	b.issuer = httptest.NewTLSServer(mux)
	t.Cleanup(b.issuer.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": b.issuer.URL, "jwks_uri": b.issuer.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.issuer.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	trust := func(actions string) string {
		return `{Statement: [{Effect: Allow, Principal: {Service: pods.eks.amazonaws.com}, Action: ` + actions + `}]}`
	}
	cfg, err := sts.ParseConfig([]byte(`account: "111122223333"
providers: [{issuer: ` + b.issuer.URL + `, clientIDs: [sts.amazonaws.com], caFile: ` + ca + `}]
roles:
- {name: pod-app, trustPolicy: ` + trust("[sts:AssumeRole, sts:TagSession]") + `}
- {name: pod-notag, trustPolicy: ` + trust("sts:AssumeRole") + `}
users:
- {arn: "arn:aws:iam::111122223333:user/node", accessKeyId: ` + nodeKeyID + `, secretAccessKey: ` + nodeSecret + `}
clusters:
- {name: local, region: us-west-2, issuer: ` + b.issuer.URL + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sts.New(cfg, sts.WithRequestLog(b.requests))
	if err != nil {
		t.Fatal(err)
	}
	b.aws = httptest.NewTLSServer(srv)
	t.Cleanup(b.aws.Close)
	a, err := New(Config{
		ClusterName: "local", Endpoint: b.aws.URL, Region: "us-west-2",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: nodeKeyID, SecretAccessKey: nodeSecret}, nil
		}),
		HTTPClient: b.aws.Client(), RequestsPerSecond: limit, Burst: burst, Log: b.agentLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logs := b.agentLog.String() + b.requests.String()
		for _, s := range b.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a log holds a secret (%d characters)", len(s))
			}
		}
	})
	return b, a
}

func (b *bed) associate(t *testing.T, sa, role string) {
	t.Helper()
	const ns = "demo"
	c := eks.New(eks.Options{Region: "us-west-2", BaseEndpoint: aws.String(b.aws.URL), HTTPClient: b.aws.Client(), Retryer: aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: nodeKeyID, SecretAccessKey: nodeSecret}, nil
		})})
	if _, err := c.CreatePodIdentityAssociation(context.Background(), &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String("local"),
		Namespace: aws.String(ns), ServiceAccount: aws.String(sa), RoleArn: aws.String("arn:aws:iam::111122223333:role/" + role)}); err != nil {
		t.Fatal(err)
	}
}

// token is a Pod Identity token of demo/sa, issued at iat for an hour.
func (b *bed) token(t *testing.T, sa string, iat time.Time) string {
	t.Helper()
	const ns = "demo"
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: b.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(map[string]any{
		"iss": b.issuer.URL, "sub": "system:serviceaccount:" + ns + ":" + sa, "aud": []string{"pods.eks.amazonaws.com"},
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
		"kubernetes.io": map[string]any{"namespace": ns, "serviceaccount": map[string]string{"name": sa, "uid": "u1"},
			"pod": map[string]string{"name": "web", "uid": "p1"}},
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	b.secrets = append(b.secrets, tok)
	return tok
}

// get asks the agent as a pod's SDK does.
func (b *bed) get(t *testing.T, a *Agent, host, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/v1/credentials", nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	var c struct{ SecretAccessKey, Token string }
	if json.Unmarshal(rec.Body.Bytes(), &c) == nil {
		b.secrets = append(b.secrets, c.SecretAccessKey, c.Token)
	}
	return rec.Code, rec.Body.String()
}

// eksAuthCalls counts the calls that reached EKS Auth.
func (b *bed) eksAuthCalls() int {
	return strings.Count(b.requests.String(), `"action":"AssumeRoleForPodIdentity"`)
}

func TestCredentials(t *testing.T) {
	b, a := newBed(t, 0, 0)
	b.associate(t, "app", "pod-app")
	b.associate(t, "notag", "pod-notag")
	tok := b.token(t, "app", time.Now())

	code, body := b.get(t, a, "169.254.170.23", tok)
	if code != 200 {
		t.Fatalf("GET /v1/credentials: %d %s", code, body)
	}
	var c struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		AccountID       string `json:"AccountId"`
		Expiration      time.Time
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.Token == "" || c.AccountID != "111122223333" || c.Expiration.Before(time.Now().Add(time.Hour)) {
		t.Errorf("credentials = akid %q account %q expiration %v", c.AccessKeyID, c.AccountID, c.Expiration)
	}
	// cached per token: the second ask, on the IPv6 address with a port, does not reach EKS Auth
	if code, _ := b.get(t, a, "[fd00:ec2::23]:80", tok); code != 200 || b.eksAuthCalls() != 1 {
		t.Errorf("second ask: %d, %d EKS Auth calls; want 200 from the cache", code, b.eksAuthCalls())
	}
	// another token is another entry (issued ten minutes earlier: a second apart could fall in
	// the same whole second, and make the same token)
	if code, _ := b.get(t, a, "169.254.170.23", b.token(t, "app", time.Now().Add(-10*time.Minute))); code != 200 || b.eksAuthCalls() != 2 {
		t.Errorf("another token: %d, %d EKS Auth calls", code, b.eksAuthCalls())
	}
}

func TestErrors(t *testing.T) {
	b, a := newBed(t, 0, 0)
	b.associate(t, "notag", "pod-notag")
	for _, tc := range []struct {
		name, host, token string
		code              int
		body              string
	}{
		{"another address", "10.244.0.1:8901", b.token(t, "app", time.Now()), 403,
			"Access Denied. Called agent through invalid address, please use either [169.254.170.23 fd00:ec2::23] address not 10.244.0.1"},
		{"no token", "169.254.170.23", "", 400, "Service account token cannot be empty"},
		{"not a JWT", "169.254.170.23", "not-a-token", 400, "Service account token cannot be parsed: token is malformed: token contains an invalid number of segments"},
		{"header not base64", "169.254.170.23", "a!.b.c", 400, "Service account token cannot be parsed: token is malformed: could not base64 decode header: illegal base64 data at input byte 1"},
		{"no alg", "169.254.170.23", "e30.e30.c2ln", 400, "Service account token cannot be parsed: token is unverifiable: signing method (alg) is unspecified"},
		{"aud not strings", "169.254.170.23", "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOjF9.c2ln", 400, "Service account token cannot be parsed: token is malformed: could not JSON decode claim: invalid type for claim"},
		{"expired", "169.254.170.23", b.token(t, "app", time.Now().Add(-2*time.Hour)), 400,
			"Service account token failed basic claim validations: token is expired"},
		{"no association", "169.254.170.23", b.token(t, "app", time.Now()), 404,
			"(ResourceNotFoundException): No Pod Identity Association found for service account app in namespace demo of cluster local., fault: client"},
		{"trust without sts:TagSession", "169.254.170.23", b.token(t, "notag", time.Now()), 400,
			"(AccessDeniedException): Unable to assume role arn:aws:iam::111122223333:role/pod-notag for the service principal pods.eks.amazonaws.com: the role does not exist or its trust policy does not allow sts:AssumeRole and sts:TagSession., fault: client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := b.get(t, a, tc.host, tc.token)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("%d %q; want %d containing %q", code, body, tc.code, tc.body)
			}
			if tc.code == 404 || (tc.code == 400 && strings.Contains(tc.body, "fault")) {
				if !strings.HasPrefix(body, "[") {
					t.Errorf("body %q: want the EKS Auth request id first, as the real agent writes it", body)
				}
			}
		})
	}
	if n := b.eksAuthCalls(); n != 2 {
		t.Errorf("%d EKS Auth calls; want only the two requests that passed the agent's own checks", n)
	}
}

func TestRateLimit(t *testing.T) {
	b, a := newBed(t, rate.Every(time.Hour), 1)
	if code, _ := b.get(t, a, "169.254.170.23", ""); code != 400 {
		t.Fatalf("first request: %d, want it through the limiter (400 for no token)", code)
	}
	if code, body := b.get(t, a, "169.254.170.23", ""); code != 429 || strings.TrimSpace(body) != "Too Many Requests" {
		t.Errorf("second request: %d %q, want 429 Too Many Requests", code, body)
	}
}

// TestConcurrentAsks: pods asking at once with one token share one EKS Auth call.
func TestConcurrentAsks(t *testing.T) {
	b, a := newBed(t, 0, 0)
	b.associate(t, "app", "pod-app")
	tok := b.token(t, "app", time.Now())
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "http://169.254.170.23/v1/credentials", nil)
			req.Header.Set("Authorization", tok)
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("ask %d: %d", i, c)
		}
	}
	if n := b.eksAuthCalls(); n != 1 {
		t.Errorf("%d EKS Auth calls for one token asked 8 times at once; want 1", n)
	}
}

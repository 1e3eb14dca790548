package probe

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// Fixed facts every test shares.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	testIssuer    = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	testSubject   = "system:serviceaccount:shop:checkout"
	testRoleARN   = "arn:aws:iam::111122223333:role/team/checkout-role"
	testTokenPath = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
	testPodPath   = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
	testAgentPath = "/v1/credentials"

	// The credentials in testdata/sts/assume-role-ok.xml.
	stsAccessKeyID  = "ASIAEXAMPLESTSKEYID1"
	stsSecretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSTSSECRETKEY"
	stsSessionToken = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENfromSTSfakeFAKEfake0123456789"
)

var testKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// tokenClaims are the claims of a good IRSA token; tests change one at a time.
type tokenClaims struct {
	jwt.Claims
	Kubernetes map[string]any `json:"kubernetes.io,omitempty"`
}

func goodClaims() tokenClaims {
	iat := testNow.Add(-time.Minute)
	return tokenClaims{
		Claims: jwt.Claims{
			Issuer:    testIssuer,
			Subject:   testSubject,
			Audience:  jwt.Audience{DefaultAudience},
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			Expiry:    jwt.NewNumericDate(iat.Add(86400 * time.Second)),
		},
		Kubernetes: map[string]any{"namespace": "shop", "serviceaccount": map[string]any{"name": "checkout"}},
	}
}

// signToken signs claims with the test key, as the apiserver signs a service account token.
func signToken(tb testing.TB, c any) string {
	tb.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: testKey()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test-key"))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// files is a fake file system: a path holds contents or an error.
type files map[string]any

func (f files) ReadFile(path string) ([]byte, error) {
	switch v := f[path].(type) {
	case string:
		return []byte(v), nil
	case error:
		return nil, &fs.PathError{Op: "open", Path: path, Err: v}
	default:
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
}

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func irsaEnv() map[string]string {
	return map[string]string{
		envRoleARN:              testRoleARN,
		envWebIdentityTokenFile: testTokenPath,
		"AWS_REGION":            "us-west-2",
	}
}

func testConfig() Config {
	return Config{
		ExpectedAudience:   DefaultAudience,
		ExpectedExpiration: 86400,
		ExpectedIssuer:     testIssuer,
		ExpectedSubject:    testSubject,
		ExpectedRoleARN:    testRoleARN,
		Region:             "us-west-2",
		StepTimeout:        10 * time.Second,
	}
}

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []check.Event
}

func (r *recorder) Emit(ev check.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ev.Valid(); err != nil {
		return err
	}
	r.events = append(r.events, ev)
	return nil
}

// statuses maps each check to its status.
func (r *recorder) statuses() map[string]check.Status {
	out := map[string]check.Status{}
	for _, ev := range r.events {
		if ev.Type == check.TypeCheck {
			out[ev.Check] = ev.Status
		}
	}
	return out
}

func (r *recorder) find(t *testing.T, typ check.EventType, name string) check.Event {
	t.Helper()
	for _, ev := range r.events {
		if ev.Type == typ && ev.Check == name {
			return ev
		}
	}
	t.Fatalf("no %s event for %q in %v", typ, name, r.events)
	return check.Event{}
}

func (r *recorder) last(t *testing.T) check.Event {
	t.Helper()
	if len(r.events) == 0 {
		t.Fatal("no events")
	}
	return r.events[len(r.events)-1]
}

// okSTS answers both calls as AWS does when everything is right.
func okSTS() STSFuncs {
	return STSFuncs{
		AssumeRoleWithWebIdentityFn: func(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
			return assumeRoleOutput(), nil
		},
		GetCallerIdentityFn: func(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
			return &sts.GetCallerIdentityOutput{
				Arn:     aws.String("arn:aws:sts::111122223333:assumed-role/checkout-role/kubectl-wi-probe"),
				Account: aws.String("111122223333"),
			}, nil
		},
	}
}

func assumeRoleOutput() *sts.AssumeRoleWithWebIdentityOutput {
	return &sts.AssumeRoleWithWebIdentityOutput{
		AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/checkout-role/kubectl-wi-probe")},
		Credentials: &ststypes.Credentials{
			AccessKeyId:     aws.String(stsAccessKeyID),
			SecretAccessKey: aws.String(stsSecretKey),
			SessionToken:    aws.String(stsSessionToken),
			Expiration:      aws.Time(testNow.Add(time.Hour)),
		},
	}
}

func fakeDeps(env map[string]string, fsys files, client STSClient) Deps {
	return Deps{
		Getenv:   envFunc(env),
		ReadFile: fsys.ReadFile,
		Now:      func() time.Time { return testNow },
		Getuid:   func() int { return 65532 },
		NewSTS:   func(STSTarget, aws.CredentialsProvider) STSClient { return client },
	}
}

// stsReply is what the fake STS server answers one action with: a testdata file and a status.
type stsReply struct {
	file   string
	status int
}

// fakeSTSServer is an httptest STS that answers with recorded bodies, and checks what the real
// SDK client sends: AssumeRoleWithWebIdentity unsigned with the token, GetCallerIdentity
// signed with the session credentials.
func fakeSTSServer(t *testing.T, token string, replies map[string]stsReply) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(fakeSTSHandler(t, token, replies))
	t.Cleanup(srv.Close)
	return srv
}

// fakeSTSHandler is fakeSTSServer's handler, for a server of a test's own (TLS).
func fakeSTSHandler(t *testing.T, token string, replies map[string]stsReply) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := req.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		action := req.PostForm.Get("Action")
		reply, ok := replies[action]
		if !ok {
			t.Errorf("unexpected STS action %q", action)
			http.Error(w, "unexpected action", http.StatusBadRequest)
			return
		}
		switch action {
		case opAssumeRoleWithWebIdentity:
			if got := req.Header.Get("Authorization"); got != "" {
				t.Errorf("AssumeRoleWithWebIdentity was signed: %q", got)
			}
			if got := req.PostForm.Get("WebIdentityToken"); got != token {
				t.Errorf("WebIdentityToken is not the file's contents")
			}
			if got := req.PostForm.Get("RoleSessionName"); got == "" {
				t.Errorf("no RoleSessionName")
			}
		case opGetCallerIdentity:
			if reply.status == http.StatusOK &&
				(!strings.Contains(req.Header.Get("Authorization"), "Credential="+stsAccessKeyID+"/") ||
					req.Header.Get("X-Amz-Security-Token") != stsSessionToken) {
				reply = stsReply{"invalid-client-token-id.xml", http.StatusForbidden}
			}
		}
		body, err := os.ReadFile(filepath.Join("testdata", "sts", reply.file))
		if err != nil {
			t.Errorf("read fixture: %v", err)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("x-amzn-RequestId", "test-request-id")
		w.WriteHeader(reply.status)
		_, _ = w.Write(body)
	})
}

// realSTS builds the real SDK client for srv's HTTP client, without retries. The endpoint
// comes from the env (AWS_ENDPOINT_URL_STS), as in the pod.
func realSTS(srv *httptest.Server) func(STSTarget, aws.CredentialsProvider) STSClient {
	return func(target STSTarget, creds aws.CredentialsProvider) STSClient {
		return NewSTSClient(target, creds, srv.Client(), func(o *sts.Options) { o.RetryMaxAttempts = 1 })
	}
}

// jsonOutput runs the probe into a JSONSink and returns the bytes, as the pod's log has them.
func jsonOutput(t *testing.T, cfg Config, deps Deps) (Summary, []byte) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Run(context.Background(), cfg, deps, check.NewJSONSink(&buf))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, buf.Bytes()
}

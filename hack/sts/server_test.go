package sts

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	testAccount  = "111122223333"
	testAudience = "sts.amazonaws.com"
	testSubject  = "system:serviceaccount:default:app"
)

// testIssuer is an OIDC issuer served over TLS: discovery document and JWKS.
type testIssuer struct {
	srv    *httptest.Server
	caFile string

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	jwksFetches int
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	iss := &testIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.srv.URL,
			"jwks_uri":                              iss.srv.URL + "/openid/v1/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/openid/v1/jwks", func(w http.ResponseWriter, _ *http.Request) {
		iss.mu.Lock()
		iss.jwksFetches++
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.keys...)}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)

	iss.caFile = filepath.Join(t.TempDir(), "ca.crt")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.srv.Certificate().Raw})
	if err := os.WriteFile(iss.caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return iss
}

func (i *testIssuer) publish(k testKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, jose.JSONWebKey{Key: k.public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
}

func (i *testIssuer) fetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksFetches
}

// testKey is a private signing key and the kid/alg it signs with.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
}

func (k testKey) public() any {
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	}
	panic("unknown key type")
}

// withKid is the same key signing under another key id.
func (k testKey) withKid(kid string) testKey {
	k.kid = kid
	return k
}

var (
	keysOnce          sync.Once
	rsaKey, otherRSA  testKey
	ecKey, rotatedKey testKey
	errKeyGen         error
)

// testKeys generates the test keys once per test binary.
func testKeys(t *testing.T) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				errKeyGen = err
			}
			return k
		}
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			errKeyGen = err
		}
		rsaKey = testKey{kid: "rsa-1", alg: jose.RS256, priv: gen()}
		otherRSA = testKey{kid: "rsa-other", alg: jose.RS256, priv: gen()}
		rotatedKey = testKey{kid: "rsa-2", alg: jose.RS256, priv: gen()}
		ecKey = testKey{kid: "ec-1", alg: jose.ES256, priv: ec}
	})
	if errKeyGen != nil {
		t.Fatal(errKeyGen)
	}
}

// mint signs claims with k.
func mint(t *testing.T, k testKey, claims any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// kubeClaims are the claims of a projected service account token.
//
//nolint:unparam // any lifetime; the tests so far issue hour-long tokens
func kubeClaims(iss, sub string, aud []string, iat time.Time, ttl time.Duration) jwt.Claims {
	return jwt.Claims{
		Issuer:    iss,
		Subject:   sub,
		Audience:  aud,
		IssuedAt:  jwt.NewNumericDate(iat),
		NotBefore: jwt.NewNumericDate(iat),
		Expiry:    jwt.NewNumericDate(iat.Add(ttl)),
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
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

// testEnv is an issuer, an STS stand-in configured for it, and the secrets seen so far.
type testEnv struct {
	iss    *testIssuer
	sts    *httptest.Server
	log    *syncBuffer
	offset atomic.Int64 // added to the server's clock

	mu      sync.Mutex
	secrets []string
}

func (e *testEnv) remember(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, secrets...)
}

// testConfig is the stand-in's configuration for issuer; hp is the issuer's host:port.
func testConfig(issuer, caFile string) string {
	hp := issuerHostPath(issuer)
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", testAccount, hp)
	policy := func(op, sub string) string {
		return fmt.Sprintf(`
  trustPolicy:
    Version: "2012-10-17"
    Statement:
    - Effect: Allow
      Principal: {Federated: %q}
      Action: sts:AssumeRoleWithWebIdentity
      Condition:
        %s:
          "%s:sub": %q
          "%s:aud": %s`, provider, op, hp, sub, hp, testAudience)
	}
	return fmt.Sprintf(`account: %q
providers:
- issuer: %s
  clientIDs: [%s, other-client]
  caFile: %s
- issuer: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE
  clientIDs: [sts.amazonaws.com]
roles:
- name: app%s
- name: other-sub%s
- name: ns-wide%s
- name: literal-star%s
- name: other-provider
  trustPolicy:
    Statement:
    - Effect: Allow
      Principal:
        Federated: arn:aws:iam::%s:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE
      Action: [sts:AssumeRoleWithWebIdentity]
- name: other-aud
  trustPolicy:
    Statement:
    - Effect: Allow
      Principal: {Federated: [%q]}
      Action: sts:AssumeRoleWithWebIdentity
      Condition:
        StringEquals: {"%s:aud": other-client}
- name: denied
  trustPolicy:
    Statement:
    - {Effect: Allow, Principal: {Federated: %q}, Action: "sts:*"}
    - {Effect: Deny, Principal: {Federated: %q}, Action: sts:AssumeRoleWithWebIdentity, Condition: {StringLike: {"%s:sub": "system:serviceaccount:default:*"}}}
- name: team/team-app
  maxSessionDuration: 7200
  trustPolicy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"%s"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"%s:sub":["system:serviceaccount:team:app","%s"]}}}}'
`,
		testAccount, issuer, testAudience, caFile,
		policy("StringEquals", testSubject),
		policy("StringEquals", "system:serviceaccount:default:someone-else"),
		policy("StringLike", "system:serviceaccount:ns:*"),
		policy("StringEquals", "system:serviceaccount:ns:*"),
		testAccount,
		provider, hp,
		provider, provider, hp,
		provider, hp, testSubject,
	)
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	testKeys(t)
	env := &testEnv{iss: newTestIssuer(t), log: &syncBuffer{}}
	env.iss.publish(rsaKey)
	env.iss.publish(ecKey)

	cfg, err := ParseConfig([]byte(testConfig(env.iss.srv.URL, env.iss.caFile)))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	srv, err := New(cfg, WithLog(env.log), WithClock(func() time.Time {
		return time.Now().Add(time.Duration(env.offset.Load()))
	}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.sts = httptest.NewServer(srv)
	t.Cleanup(env.sts.Close)
	t.Cleanup(func() {
		log := env.log.String()
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, s := range env.secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("server log contains a secret (%d characters)", len(s))
			}
		}
	})
	return env
}

func (e *testEnv) client(creds aws.CredentialsProvider) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.sts.URL),
		Credentials:  creds,
		Retryer:      aws.NopRetryer{},
	})
}

// token mints a kube-like token from this env's issuer and remembers it as a secret.
func (e *testEnv) token(t *testing.T, k testKey, claims jwt.Claims) string {
	t.Helper()
	tok := mint(t, k, claims)
	e.remember(tok)
	return tok
}

func roleARN(name string) string {
	return "arn:aws:iam::" + testAccount + ":role/" + name
}

func staticCreds(akid, secret, token string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token, Source: "test"}, nil
	})
}

// assertAPIError checks the SDK's error: code, message (exactly, or as a prefix) and HTTP
// status.
func assertAPIError(t *testing.T, err error, code, msg string, prefix bool, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want smithy.APIError, got %T: %v", err, err)
	}
	if got := apiErr.ErrorCode(); got != code {
		t.Errorf("ErrorCode() = %q, want %q (message %q)", got, code, apiErr.ErrorMessage())
	}
	if got := apiErr.ErrorMessage(); (prefix && !strings.HasPrefix(got, msg)) || (!prefix && got != msg) {
		t.Errorf("ErrorMessage() = %q, want %q (prefix %v)", got, msg, prefix)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) {
		t.Fatalf("want *http.ResponseError, got %T", err)
	}
	if got := respErr.HTTPStatusCode(); got != status {
		t.Errorf("HTTP status = %d, want %d", got, status)
	}
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	env := newTestEnv(t)
	iss := env.iss.srv.URL
	hp := issuerHostPath(iss)
	now := time.Now()
	good := func(sub string) func(t *testing.T) string {
		return func(t *testing.T) string {
			t.Helper()
			return env.token(t, rsaKey, kubeClaims(iss, sub, []string{testAudience}, now, time.Hour))
		}
	}

	tests := []struct {
		name       string
		role       string
		session    string
		duration   int32
		token      func(t *testing.T) string
		wantARN    string // on success
		wantAud    string
		wantCode   string // on failure
		wantMsg    string
		wantPrefix bool
		wantStatus int
	}{
		{
			name:    "success RS256",
			role:    roleARN("app"),
			token:   good(testSubject),
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/test-session",
			wantAud: testAudience,
		},
		{
			name: "success ES256",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, ecKey, kubeClaims(iss, testSubject, []string{testAudience}, now, time.Hour))
			},
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/test-session",
			wantAud: testAudience,
		},
		{
			name: "aud list includes a client ID",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, rsaKey, kubeClaims(iss, testSubject, []string{"https://kubernetes.default.svc", testAudience}, now, time.Hour))
			},
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/test-session",
			wantAud: testAudience,
		},
		{
			name:    "role with a path, policy given as a JSON string, longer session",
			role:    roleARN("team/team-app"),
			session: "botocore-session-1700000000",
			token:   good(testSubject),
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/team-app/botocore-session-1700000000",
			wantAud: testAudience,
		},
		{
			name:    "StringLike ns:* admits any service account of the namespace",
			role:    roleARN("ns-wide"),
			token:   good("system:serviceaccount:ns:worker"),
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/ns-wide/test-session",
			wantAud: testAudience,
		},
		{
			name: "issuer with a trailing slash is the same provider",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, rsaKey, kubeClaims(iss+"/", testSubject, []string{testAudience}, now, time.Hour))
			},
			wantARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/test-session",
			wantAud: testAudience,
		},
		{
			name: "no provider for iss",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, rsaKey, kubeClaims("https://issuer.example.com", testSubject, []string{testAudience}, now, time.Hour))
			},
			wantCode:   "InvalidIdentityToken",
			wantMsg:    "No OpenIDConnect provider found in your account for https://issuer.example.com",
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "wrong audience",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, rsaKey, kubeClaims(iss, testSubject, []string{"vault"}, now, time.Hour))
			},
			wantCode:   "InvalidIdentityToken",
			wantMsg:    "Incorrect token audience",
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "expired",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, rsaKey, kubeClaims(iss, testSubject, []string{testAudience}, now.Add(-2*time.Hour), time.Hour))
			},
			wantCode:   "ExpiredTokenException",
			wantMsg:    "Token expired: current date/time ",
			wantPrefix: true,
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "bad signature: another key under the published kid",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, otherRSA.withKid(rsaKey.kid), kubeClaims(iss, testSubject, []string{testAudience}, now, time.Hour))
			},
			wantCode:   "InvalidIdentityToken",
			wantMsg:    msgBadSignature,
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "unknown kid",
			role: roleARN("app"),
			token: func(t *testing.T) string {
				t.Helper()
				return env.token(t, otherRSA, kubeClaims(iss, testSubject, []string{testAudience}, now, time.Hour))
			},
			wantCode:   "InvalidIdentityToken",
			wantMsg:    msgNoKey,
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "not a JWT",
			role: roleARN("app"),
			token: func(*testing.T) string {
				env.remember("opaque-access-token")
				return "opaque-access-token"
			},
			wantCode:   "InvalidIdentityToken",
			wantMsg:    msgNotJWT,
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "trust policy admits another sub",
			role:       roleARN("other-sub"),
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "StringLike ns:* does not admit another namespace",
			role:       roleARN("ns-wide"),
			token:      good("system:serviceaccount:nsx:worker"),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "a wildcard in StringEquals is literal",
			role:       roleARN("literal-star"),
			token:      good("system:serviceaccount:ns:worker"),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "principal names another provider",
			role:       roleARN("other-provider"),
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "aud condition names another client ID",
			role:       roleARN("other-aud"),
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "explicit Deny wins over Allow",
			role:       roleARN("denied"),
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "unknown role",
			role:       roleARN("nope"),
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "role of another account",
			role:       "arn:aws:iam::999999999999:role/app",
			token:      good(testSubject),
			wantCode:   "AccessDenied",
			wantMsg:    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "not a role ARN",
			role:       "arn:aws:iam::" + testAccount + ":user/app",
			token:      good(testSubject),
			wantCode:   "ValidationError",
			wantMsg:    "Request ARN is invalid",
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "DurationSeconds above the role's maximum",
			role:       roleARN("app"),
			duration:   7200,
			token:      good(testSubject),
			wantCode:   "ValidationError",
			wantMsg:    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			session := tt.session
			if session == "" {
				session = "test-session"
			}
			in := &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(tt.role),
				RoleSessionName:  aws.String(session),
				WebIdentityToken: aws.String(tt.token(t)),
			}
			if tt.duration != 0 {
				in.DurationSeconds = aws.Int32(tt.duration)
			}
			out, err := env.client(aws.AnonymousCredentials{}).AssumeRoleWithWebIdentity(ctx, in)
			if tt.wantCode != "" {
				assertAPIError(t, err, tt.wantCode, tt.wantMsg, tt.wantPrefix, tt.wantStatus)
				return
			}
			if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			c := out.Credentials
			env.remember(aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
			if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(aws.ToString(c.AccessKeyId)) {
				t.Errorf("AccessKeyId = %q, want ASIA + 16 uppercase alphanumerics", aws.ToString(c.AccessKeyId))
			}
			if len(aws.ToString(c.SecretAccessKey)) != 40 || aws.ToString(c.SessionToken) == "" {
				t.Errorf("secret key of %d characters, session token of %d", len(aws.ToString(c.SecretAccessKey)), len(aws.ToString(c.SessionToken)))
			}
			if exp := aws.ToTime(c.Expiration); exp.Before(now.Add(59*time.Minute)) || exp.After(now.Add(61*time.Minute)) {
				t.Errorf("Expiration = %v, want about an hour from now", exp)
			}
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != tt.wantARN {
				t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, tt.wantARN)
			}
			if got := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !regexp.MustCompile(`^AROA[A-Z0-9]{17}:` + session + `$`).MatchString(got) {
				t.Errorf("AssumedRoleId = %q, want AROA...:%s", got, session)
			}
			if got := aws.ToString(out.SubjectFromWebIdentityToken); got == "" {
				t.Errorf("SubjectFromWebIdentityToken is empty")
			}
			if got, want := aws.ToString(out.Provider), "arn:aws:iam::"+testAccount+":oidc-provider/"+hp; got != want {
				t.Errorf("Provider = %q, want %q", got, want)
			}
			if got := aws.ToString(out.Audience); got != tt.wantAud {
				t.Errorf("Audience = %q, want %q", got, tt.wantAud)
			}

			who, err := env.client(staticCreds(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).
				GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity with the issued credentials: %v", err)
			}
			if got := aws.ToString(who.Arn); got != tt.wantARN {
				t.Errorf("GetCallerIdentity Arn = %q, want %q", got, tt.wantARN)
			}
			if got := aws.ToString(who.Account); got != testAccount {
				t.Errorf("GetCallerIdentity Account = %q, want %q", got, testAccount)
			}
			if got, want := aws.ToString(who.UserId), aws.ToString(out.AssumedRoleUser.AssumedRoleId); got != want {
				t.Errorf("GetCallerIdentity UserId = %q, want %q", got, want)
			}
		})
	}

	log := env.log.String()
	want := len(tests) // one line per AssumeRoleWithWebIdentity, one more per GetCallerIdentity
	for _, tt := range tests {
		if tt.wantCode == "" {
			want++
		}
	}
	if got := strings.Count(log, "\n"); got != want {
		t.Errorf("log has %d lines, want %d:\n%s", got, want, log)
	}
	for _, want := range []string{
		`action="AssumeRoleWithWebIdentity" role="` + roleARN("app") + `" session="test-session" sub="` + testSubject + `" akid="ASIA`,
		"status=403 outcome=AccessDenied",
		"status=400 outcome=ExpiredTokenException",
		`action="GetCallerIdentity" principal="arn:aws:sts::` + testAccount + `:assumed-role/app/test-session" akid="ASIA`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestGetCallerIdentityErrors(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	tok := env.token(t, rsaKey, kubeClaims(env.iss.srv.URL, testSubject, []string{testAudience}, time.Now(), time.Hour))
	out, err := env.client(aws.AnonymousCredentials{}).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	akid := aws.ToString(out.Credentials.AccessKeyId)
	secret := aws.ToString(out.Credentials.SecretAccessKey)
	session := aws.ToString(out.Credentials.SessionToken)
	env.remember(secret, session)

	tests := []struct {
		name       string
		creds      aws.CredentialsProvider
		clockSkew  time.Duration
		wantCode   string
		wantMsg    string
		wantPrefix bool
		wantStatus int
	}{
		{
			name:       "unknown access key id",
			creds:      staticCreds("ASIAAAAAAAAAAAAAAAAA", secret, session),
			wantCode:   "InvalidClientTokenId",
			wantMsg:    "The security token included in the request is invalid.",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "session token of another session",
			creds:      staticCreds(akid, secret, "bm90IHRoZSBzZXNzaW9uIHRva2Vu"),
			wantCode:   "InvalidClientTokenId",
			wantMsg:    "The security token included in the request is invalid.",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "no session token",
			creds:      staticCreds(akid, secret, ""),
			wantCode:   "InvalidClientTokenId",
			wantMsg:    "The security token included in the request is invalid.",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "wrong secret key",
			creds:      staticCreds(akid, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", session),
			wantCode:   "SignatureDoesNotMatch",
			wantMsg:    msgSignatureMismatch,
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "request signed 20 minutes ago",
			creds:      staticCreds(akid, secret, session),
			clockSkew:  20 * time.Minute,
			wantCode:   "SignatureDoesNotMatch",
			wantMsg:    "Signature expired: ",
			wantPrefix: true,
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "credentials expired",
			creds:      staticCreds(akid, secret, session),
			clockSkew:  2 * time.Hour,
			wantCode:   "ExpiredToken",
			wantMsg:    "The security token included in the request is expired",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "unsigned",
			creds:      aws.AnonymousCredentials{},
			wantCode:   "MissingAuthenticationToken",
			wantMsg:    "Request is missing Authentication Token",
			wantStatus: http.StatusForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.offset.Store(int64(tt.clockSkew))
			defer env.offset.Store(0)
			_, err := env.client(tt.creds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			assertAPIError(t, err, tt.wantCode, tt.wantMsg, tt.wantPrefix, tt.wantStatus)
		})
	}
}

func TestJWKSCacheAndRotation(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	iss := env.iss.srv.URL
	assume := func(k testKey) error {
		tok := env.token(t, k, kubeClaims(iss, testSubject, []string{testAudience}, time.Now(), time.Hour))
		out, err := env.client(aws.AnonymousCredentials{}).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("rotation"), WebIdentityToken: aws.String(tok),
		})
		if err == nil {
			env.remember(aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		}
		return err
	}

	steps := []struct {
		name        string
		publish     *testKey
		sign        testKey
		wantErr     bool
		wantFetches int
	}{
		{name: "first token fetches the keys", sign: rsaKey, wantFetches: 1},
		{name: "a known kid uses the cache", sign: ecKey, wantFetches: 1},
		{name: "a rotated key is fetched once", publish: &rotatedKey, sign: rotatedKey, wantFetches: 2},
		{name: "the rotated key is then cached", sign: rotatedKey, wantFetches: 2},
		{name: "an unknown kid fetches once more, then fails", sign: otherRSA, wantErr: true, wantFetches: 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.publish != nil {
				env.iss.publish(*st.publish)
			}
			err := assume(st.sign)
			if st.wantErr {
				assertAPIError(t, err, "InvalidIdentityToken", msgNoKey, false, http.StatusBadRequest)
			} else if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			if got := env.iss.fetches(); got != st.wantFetches {
				t.Errorf("JWKS fetched %d times, want %d", got, st.wantFetches)
			}
		})
	}
}

var requestIDPattern = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

func TestWireFormat(t *testing.T) {
	env := newTestEnv(t)
	iss := env.iss.srv.URL
	tok := env.token(t, rsaKey, kubeClaims(iss, testSubject, []string{testAudience}, time.Now(), time.Hour))
	query := func(action, role string) url.Values {
		v := url.Values{"Action": {action}, "Version": {APIVersion}}
		if role != "" {
			v.Set("RoleArn", roleARN(role))
			v.Set("RoleSessionName", "wire")
			v.Set("WebIdentityToken", tok)
		}
		return v
	}

	tests := []struct {
		name       string
		method     string
		params     url.Values
		inQuery    bool
		wantStatus int
		wantBody   string // a regexp matched against the whole body
	}{
		{
			name:       "GET with the query string",
			method:     http.MethodGet,
			params:     query("AssumeRoleWithWebIdentity", "app"),
			inQuery:    true,
			wantStatus: http.StatusOK,
			wantBody: `<AssumeRoleWithWebIdentityResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/">` +
				`<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA[A-Z0-9]{16}</AccessKeyId>` +
				`<SecretAccessKey>[A-Za-z0-9+/]{40}</SecretAccessKey><SessionToken>[A-Za-z0-9+/=]+</SessionToken>` +
				`<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</Expiration></Credentials>` +
				`<SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>` +
				`<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/app/wire</Arn><AssumedRoleId>AROA[A-Z0-9]{17}:wire</AssumedRoleId></AssumedRoleUser>` +
				`<Provider>arn:aws:iam::111122223333:oidc-provider/` + regexp.QuoteMeta(issuerHostPath(iss)) + `</Provider>` +
				`<Audience>sts\.amazonaws\.com</Audience></AssumeRoleWithWebIdentityResult>` +
				`<ResponseMetadata><RequestId>` + requestIDPattern + `</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		},
		{
			name:       "POST form, access denied",
			method:     http.MethodPost,
			params:     query("AssumeRoleWithWebIdentity", "other-sub"),
			wantStatus: http.StatusForbidden,
			wantBody: `<ErrorResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
				`<Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>` +
				`<RequestId>` + requestIDPattern + `</RequestId></ErrorResponse>`,
		},
		{
			name:       "missing parameter",
			method:     http.MethodPost,
			params:     url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {APIVersion}, "RoleArn": {roleARN("app")}},
			wantStatus: http.StatusBadRequest,
			wantBody: `<ErrorResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
				`<Code>ValidationError</Code><Message>1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null</Message></Error>` +
				`<RequestId>` + requestIDPattern + `</RequestId></ErrorResponse>`,
		},
		{
			name:       "unknown action",
			method:     http.MethodPost,
			params:     query("AssumeRole", ""),
			wantStatus: http.StatusBadRequest,
			wantBody: `<ErrorResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
				`<Code>InvalidAction</Code><Message>Could not find operation AssumeRole for version 2011-06-15</Message></Error>` +
				`<RequestId>` + requestIDPattern + `</RequestId></ErrorResponse>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := env.sts.URL + "/"
			var body io.Reader
			if tt.inQuery {
				u += "?" + tt.params.Encode()
			} else {
				body = strings.NewReader(tt.params.Encode())
			}
			req, err := http.NewRequestWithContext(context.Background(), tt.method, u, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile(`<SecretAccessKey>([^<]*)</SecretAccessKey><SessionToken>([^<]*)<`).FindSubmatch(got); m != nil {
				env.remember(string(m[1]), string(m[2]))
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type = %q, want text/xml", ct)
			}
			if !regexp.MustCompile(`^` + tt.wantBody + `$`).Match(got) {
				t.Errorf("body does not match\n got: %s\nwant: %s", got, tt.wantBody)
			}
		})
	}
}

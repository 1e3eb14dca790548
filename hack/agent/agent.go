package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// The addresses pods reach the agent at.
const (
	IPv4Host = "169.254.170.23"
	IPv6Host = "fd00:ec2::23"
)

const (
	// requestRate is the real agent's limit of requests a second, with a burst of half.
	requestRate = 1000
	// minCredentialTTL: credentials closer to expiry are not served from the cache.
	minCredentialTTL = 15 * time.Second
	// renewalTTL is the longest a credential stays cached.
	renewalTTL = 3 * time.Hour
	// maxCacheSize bounds the cache.
	maxCacheSize = 2000
	// attemptTimeout and dialTimeout bound one EKS Auth attempt, as the real agent's HTTP
	// client does (internal/cloud/eksauth/service.go).
	attemptTimeout = time.Second
	dialTimeout    = 500 * time.Millisecond
)

// Config is what the agent needs: its cluster and how to reach EKS Auth.
type Config struct {
	// ClusterName is the EKS cluster the node belongs to.
	ClusterName string
	// Endpoint is EKS Auth's base URL, https://HOST:PORT.
	Endpoint string
	// Region is the region requests are signed for.
	Region string
	// Credentials are the node's.
	Credentials aws.CredentialsProvider
	// HTTPClient reaches EKS Auth (with the CA that signed its certificate).
	HTTPClient *http.Client
	// RequestsPerSecond and Burst override the rate limit (tests).
	RequestsPerSecond rate.Limit
	Burst             int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log gets one line per request; io.Discard when nil.
	Log io.Writer
	// AttemptTimeout bounds one EKS Auth attempt; the real agent's 1 s when zero.
	AttemptTimeout time.Duration
}

// Agent is the Pod Identity agent stand-in, an http.Handler.
type Agent struct {
	cluster string
	auth    *eksAuth
	limiter *rate.Limiter
	now     func() time.Time
	mux     *http.ServeMux

	inflight singleflight.Group

	mu    sync.Mutex
	cache map[string]*entry // by token
	order []string          // tokens, oldest first

	logMu sync.Mutex
	log   io.Writer
}

type entry struct {
	creds  *credentials
	expire time.Time // when the entry stops being served
}

// New builds an agent.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.ClusterName == "":
		return nil, fmt.Errorf("the cluster name is required")
	case !strings.HasPrefix(cfg.Endpoint, "https://"):
		return nil, fmt.Errorf("the EKS Auth endpoint %q is not an https:// URL", cfg.Endpoint)
	case cfg.Region == "":
		return nil, fmt.Errorf("the region is required")
	case cfg.Credentials == nil:
		return nil, fmt.Errorf("the node's credentials are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	client := *cfg.HTTPClient
	client.Timeout = cfg.AttemptTimeout
	if client.Timeout == 0 {
		client.Timeout = attemptTimeout
	}
	if t, ok := client.Transport.(*http.Transport); ok || client.Transport == nil {
		if !ok {
			t = http.DefaultTransport.(*http.Transport)
		}
		t = t.Clone()
		t.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
		client.Transport = t
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond, cfg.Burst = requestRate, requestRate/2
	}
	a := &Agent{
		cluster: cfg.ClusterName,
		auth: &eksAuth{endpoint: strings.TrimRight(cfg.Endpoint, "/"), region: cfg.Region,
			credentials: cfg.Credentials, client: &client, now: cfg.Now, sleep: sleepContext, tokens: retryQuota},
		limiter: rate.NewLimiter(cfg.RequestsPerSecond, cfg.Burst),
		now:     cfg.Now,
		cache:   map[string]*entry{},
		log:     cfg.Log,
		mux:     http.NewServeMux(),
	}
	// A ServeMux, as the real agent's (pkg/server/server.go): another path is 404, a path
	// that is not clean ("//v1/credentials") is a 307 to the clean one; the rate limit guards
	// the handler only.
	a.mux.HandleFunc("/v1/credentials", a.serveCredentials)
	return a, nil
}

// ServeHTTP serves /v1/credentials.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

func (a *Agent) serveCredentials(w http.ResponseWriter, r *http.Request) {
	if !a.limiter.Allow() {
		a.fail(w, r, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	if host := targetHost(r.Host); host != IPv4Host && host != IPv6Host {
		a.fail(w, r, fmt.Sprintf("Access Denied. Called agent through invalid address, please use either [%s %s] address not %s", IPv4Host, IPv6Host, host), http.StatusForbidden)
		return
	}
	token := r.Header.Get("Authorization")
	if msg := checkToken(token, a.now()); msg != "" {
		a.fail(w, r, msg, http.StatusBadRequest)
		return
	}
	creds, cached, err := a.credentials(r.Context(), token)
	if errors.Is(err, errDropConnection) {
		a.logf("%s GET %s dropped the connection without an answer: %v", r.RemoteAddr, r.URL.Path, err)
		panic(http.ErrAbortHandler) // as the real agent's nil dereference ends the request
	}
	if err != nil {
		msg, status := answerFor(err)
		a.fail(w, r, msg, status)
		return
	}
	out, err := json.Marshal(struct {
		*credentials
		Expiration string `json:"Expiration"`
	}{creds, creds.Expiration.Format(time.RFC3339Nano)})
	if err != nil {
		a.fail(w, r, "Unable to serialize credentials", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	a.logf("%s GET /v1/credentials 200 account=%s akid=%s cached=%v", r.RemoteAddr, creds.AccountID, creds.AccessKeyID, cached)
}

// targetHost is the request's Host without port or IPv6 brackets.
func targetHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// answerFor is the real agent's text and status for a failed fetch (pkg/errors/errors.go):
// for an SDK error, "[REQUEST-ID]" and, when the answer decoded as an API error,
// ": (CODE): MESSAGE, fault: FAULT", with the answer's status (500 when none came); for any
// other error its text and 500.
func answerFor(err error) (string, int) {
	var e *callError
	if !errors.As(err, &e) {
		return err.Error(), http.StatusInternalServerError
	}
	status := e.status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := "[" + e.requestID + "]"
	if e.code != "" {
		msg += fmt.Sprintf(": (%s): %s, fault: %s", e.code, e.message, e.fault)
	}
	return msg, status
}

// credentials serves a token from the cache or from EKS Auth; concurrent requests for one
// token share one call.
func (a *Agent) credentials(ctx context.Context, token string) (*credentials, bool, error) {
	if c := a.cached(token); c != nil {
		return c, true, nil
	}
	v, err, _ := a.inflight.Do(token, func() (any, error) {
		if c := a.cached(token); c != nil {
			return c, nil
		}
		c, err := a.auth.assumeRoleForPodIdentity(context.WithoutCancel(ctx), a.cluster, token)
		if err != nil {
			return nil, err
		}
		left := c.Expiration.Sub(a.now())
		if left <= minCredentialTTL {
			return nil, fmt.Errorf("fetched credentials are expired or will expire within the next %0.2f seconds", left.Seconds())
		}
		a.store(token, c, a.now().Add(min(left-minCredentialTTL, renewalTTL)))
		return c, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*credentials), false, nil
}

func (a *Agent) cached(token string) *credentials {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.cache[token]; ok && a.now().Before(e.expire) {
		return e.creds
	}
	return nil
}

func (a *Agent) store(token string, c *credentials, expire time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.cache[token]; !ok {
		a.order = append(a.order, token)
	}
	a.cache[token] = &entry{creds: c, expire: expire}
	for len(a.order) > maxCacheSize {
		delete(a.cache, a.order[0])
		a.order = a.order[1:]
	}
}

// fail answers an error as the real agent does, in plain text, and logs it.
func (a *Agent) fail(w http.ResponseWriter, r *http.Request, msg string, status int) {
	http.Error(w, msg, status)
	a.logf("%s GET %s %d %s", r.RemoteAddr, r.URL.Path, status, msg)
}

func (a *Agent) logf(format string, args ...any) {
	line := fmt.Sprintf("%s "+format+"\n", append([]any{a.now().UTC().Format(time.RFC3339)}, args...)...)
	a.logMu.Lock()
	defer a.logMu.Unlock()
	_, _ = io.WriteString(a.log, line)
}

package sts

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// EKSAuthFault makes EKS Auth fail for the pods of one namespace (and, when set, one service
// account), so that a test drives each way the agent's call to EKS Auth goes wrong without
// disturbing the tests beside it. The configuration file holds the list (eksAuthFaults); the
// server reads it again when it changes, so a test adds and removes its fault while running.
type EKSAuthFault struct {
	// Namespace is the namespace of the pods whose tokens get the fault.
	Namespace string `json:"namespace"`
	// ServiceAccount, when set, narrows the fault to one service account.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Fault is one of the Fault* names.
	Fault string `json:"fault"`
}

// The faults EKS Auth can be told to make.
const (
	// FaultDown: the connection is reset with no answer, as a closed port or a firewall does.
	FaultDown = "down"
	// FaultHang: no answer until the client gives up.
	FaultHang = "hang"
	// FaultFailOnce: 500 InternalServerException for a token's first call, then the answer.
	FaultFailOnce = "fail-once"
	// FaultFail: 500 InternalServerException always.
	FaultFail = "fail"
	// FaultUnavailable: 503 ServiceUnavailableException always.
	FaultUnavailable = "unavailable"
	// FaultThrottleOnce: 429 ThrottlingException for a token's first call, then the answer.
	FaultThrottleOnce = "throttle-once"
	// FaultThrottle: 429 ThrottlingException always.
	FaultThrottle = "throttle"
	// FaultMalformed: 200 with a body that is not JSON.
	FaultMalformed = "malformed"
	// FaultMissingField: 200 with the answer less its podIdentityAssociation.
	FaultMissingField = "missing-field"
	// FaultMissingCredentials: 200 with the answer less its credentials.
	FaultMissingCredentials = "missing-credentials"
	// FaultProxy: 502 with an HTML page, as a proxy on the node's way answers.
	FaultProxy = "proxy"
	// FaultNodeDenied: 403 AccessDeniedException naming the caller (the node) and
	// eks-auth:AssumeRoleForPodIdentity, as IAM's authorization refuses a node role without
	// the permission.
	FaultNodeDenied = "node-denied"
	// FaultNodeUnknown: 403 UnrecognizedClientException, the node's key unknown.
	FaultNodeUnknown = "node-unknown"
	// FaultNodeExpired: 403 ExpiredTokenException, the node's session expired.
	FaultNodeExpired = "node-expired"
	// FaultNodeSignature: 403 InvalidSignatureException, the node's secret or clock wrong.
	FaultNodeSignature = "node-signature"
	// FaultRoleMissing: the association's role is taken as not existing.
	FaultRoleMissing = "role-missing"
)

var eksAuthFaults = map[string]bool{
	FaultDown: true, FaultHang: true, FaultFailOnce: true, FaultFail: true, FaultUnavailable: true,
	FaultThrottleOnce: true, FaultThrottle: true, FaultMalformed: true, FaultMissingField: true,
	FaultMissingCredentials: true, FaultProxy: true, FaultNodeDenied: true, FaultNodeUnknown: true,
	FaultNodeExpired: true, FaultNodeSignature: true, FaultRoleMissing: true,
}

// maxHang bounds a hanging answer, should the client never give up.
const maxHang = 2 * time.Minute

func (c *Config) validateFaults() []error {
	var errs []error
	for i, f := range c.EKSAuthFaults {
		if f.Namespace == "" {
			errs = append(errs, fmt.Errorf("eksAuthFaults[%d]: namespace is required", i))
		}
		if !eksAuthFaults[f.Fault] {
			errs = append(errs, fmt.Errorf("eksAuthFaults[%d]: unknown fault %q", i, f.Fault))
		}
	}
	return errs
}

// faultFor is the fault set for the pod whose token is in an AssumeRoleForPodIdentity body,
// or "". The token is read without checking it: the fault picks the pod, EKS Auth checks
// the token afterwards as ever.
func (st *configState) faultFor(body []byte) (fault, ns, sa string) {
	if len(st.cfg.EKSAuthFaults) == 0 {
		return "", "", ""
	}
	var req struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(body, &req) != nil {
		return "", "", ""
	}
	tok, err := jwt.ParseSigned(req.Token, signatureAlgorithms)
	if err != nil {
		return "", "", ""
	}
	var c jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&c) != nil {
		return "", "", ""
	}
	ns, sa, ok := serviceAccountOf(c.Subject)
	if !ok {
		return "", "", ""
	}
	for _, f := range st.cfg.EKSAuthFaults {
		if f.Namespace == ns && (f.ServiceAccount == "" || f.ServiceAccount == sa) {
			return f.Fault, ns, sa
		}
	}
	return "", ns, sa
}

// onceFaults remembers the tokens that already had their one failure.
type onceFaults struct {
	mu   sync.Mutex
	seen map[[32]byte]bool
}

// first says whether this is the token's first call, and remembers it.
func (o *onceFaults) first(body []byte) bool {
	key := sha256.Sum256(body)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil || len(o.seen) > 10000 {
		o.seen = map[[32]byte]bool{}
	}
	if o.seen[key] {
		return false
	}
	o.seen[key] = true
	return true
}

// serveFaultBeforeAuth answers the faults that come before EKS Auth reads the request: no
// answer, a server or throttling error, a proxy's page, a node the front end refuses. It
// returns false when the request goes on (no fault, a fault that passes this time, or one
// applied later).
func (s *Server) serveFaultBeforeAuth(w http.ResponseWriter, r *http.Request, fault string, body []byte, entry *logEntry) bool {
	entry.detail = "injected fault " + fault
	switch fault {
	case FaultDown:
		s.logRequest(r, "", 0, "ConnectionReset", *entry)
		resetConnection(w)
	case FaultHang:
		s.logRequest(r, "", 0, "NoAnswer", *entry)
		select {
		case <-r.Context().Done():
		case <-time.After(maxHang):
		}
		resetConnection(w)
	case FaultFail:
		s.writeJSONError(w, r, &apiError{status: http.StatusInternalServerError, code: "InternalServerException", message: "An internal error occurred."}, entry)
	case FaultUnavailable:
		s.writeJSONError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailableException", message: "The service is unavailable. Try again later."}, entry)
	case FaultThrottle:
		s.writeJSONError(w, r, &apiError{status: http.StatusTooManyRequests, code: "ThrottlingException", message: "Rate exceeded"}, entry)
	case FaultFailOnce, FaultThrottleOnce:
		if !s.once.first(body) {
			entry.detail = "injected fault " + fault + ": passed, not the token's first call"
			return false
		}
		if fault == FaultFailOnce {
			s.writeJSONError(w, r, &apiError{status: http.StatusInternalServerError, code: "InternalServerException", message: "An internal error occurred."}, entry)
		} else {
			s.writeJSONError(w, r, &apiError{status: http.StatusTooManyRequests, code: "ThrottlingException", message: "Rate exceeded"}, entry)
		}
	case FaultProxy:
		page := []byte("<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\n")
		s.logRequest(r, "", http.StatusBadGateway, "ProxyPage", *entry)
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(page)
	case FaultNodeUnknown:
		s.writeJSONError(w, r, &apiError{status: http.StatusForbidden, code: "UnrecognizedClientException", message: msgInvalidClientID}, entry)
	case FaultNodeExpired:
		s.writeJSONError(w, r, &apiError{status: http.StatusForbidden, code: "ExpiredTokenException", message: msgExpiredClientID}, entry)
	case FaultNodeSignature:
		s.writeJSONError(w, r, &apiError{status: http.StatusForbidden, code: "InvalidSignatureException", message: msgSignatureMismatch}, entry)
	default:
		entry.detail = ""
		if fault != "" {
			entry.detail = "injected fault " + fault
		}
		return false
	}
	return true
}

// resetConnection ends the exchange with no answer: the connection is reset (SO_LINGER 0).
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := netConn(conn).(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// netConn is the TCP connection under a TLS one.
func netConn(c net.Conn) net.Conn {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		return u.NetConn()
	}
	return c
}

// faultAnswer changes a successful answer as a fault asks: the whole body broken, or one
// field left out.
func (s *Server) writeFaultAnswer(w http.ResponseWriter, r *http.Request, fault string, out map[string]any, entry *logEntry) bool {
	switch fault {
	case FaultMalformed:
		body := []byte(`{"assumedRoleUser": {"arn": `)
		requestID := uuid.NewString()
		s.logRequest(r, requestID, http.StatusOK, "Malformed", *entry)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", requestID)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return true
	case FaultMissingField:
		delete(out, "podIdentityAssociation")
	case FaultMissingCredentials:
		delete(out, "credentials")
	}
	return false
}

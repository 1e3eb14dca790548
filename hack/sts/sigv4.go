package sts

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	maxSignatureAge = 15 * time.Minute
)

// Messages of AWS's own authentication errors.
const (
	msgMissingAuth       = "Request is missing Authentication Token"
	msgInvalidClientID   = "The security token included in the request is invalid."
	msgExpiredClientID   = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders string
	signature     string
}

func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return a, fmt.Errorf("authorization is not %s", sigV4Algorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return a, fmt.Errorf("malformed credential scope")
			}
			a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || a.signedHeaders == "" || a.signature == "" {
		return a, fmt.Errorf("authorization lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// principal is who signed a request: a session this server issued, or a configured user.
type principal struct {
	arn, userID     string
	accessKeyID     string
	secretAccessKey string
	sessionToken    string    // empty for a user
	expiration      time.Time // zero for a user
	region          string    // of the request's credential scope
	user            *User     // nil for a session
	session         *session  // nil for a user
	allow           []string  // a session's: its role's Allow
}

func (s *Server) lookupPrincipal(accessKeyID string) *principal {
	st := s.config.Load()
	if sess := s.lookupSession(accessKeyID); sess != nil {
		p := &principal{arn: sess.arn, userID: sess.userID, accessKeyID: sess.accessKeyID,
			secretAccessKey: sess.secretAccessKey, sessionToken: sess.sessionToken, expiration: sess.expiration, session: sess}
		// The role's permissions as configured now, as IAM evaluates a role's policies at each
		// call: a role removed since allows nothing but STS.
		if r, ok := st.roles[sess.roleARN]; ok {
			p.allow = r.cfg.Allow
		}
		return p
	}
	if u, ok := st.users[accessKeyID]; ok {
		return &principal{arn: u.ARN, userID: userID(u.ARN), accessKeyID: u.AccessKeyID, secretAccessKey: u.SecretAccessKey, user: u}
	}
	return nil
}

// userID is the unique id of a user, AIDA..., stable for its ARN.
func userID(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return "AIDA" + strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:]), "=")[:17]
}

// authenticate checks the SigV4 signature of a request for service against the credentials
// this server issued and the configured users. It returns the principal when the access key
// id is known, even on error, so that the caller can log which key was used. Errors carry
// the query protocol's codes; the JSON services rename them (jsonAuthCode).
func (s *Server) authenticate(r *http.Request, body []byte, service string) (*principal, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, &apiError{status: http.StatusForbidden, code: "MissingAuthenticationToken", message: msgMissingAuth}
	}
	auth, err := parseAuthorization(h)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "IncompleteSignature", message: "Authorization header is malformed", detail: err.Error()}
	}
	invalid := &apiError{status: http.StatusForbidden, code: "InvalidClientTokenId", message: msgInvalidClientID}
	p := s.lookupPrincipal(auth.accessKeyID)
	if p == nil {
		invalid.detail = "unknown access key id " + auth.accessKeyID
		return nil, invalid
	}
	p.region = auth.region
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(p.sessionToken)) != 1 {
		invalid.detail = "session token does not match the access key id"
		return p, invalid
	}
	now := s.now()
	if !p.expiration.IsZero() && !now.Before(p.expiration) {
		return p, &apiError{status: http.StatusForbidden, code: "ExpiredToken", message: msgExpiredClientID}
	}

	mismatch := &apiError{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: msgSignatureMismatch}
	amzDate := r.Header.Get("X-Amz-Date")
	signTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return p, &apiError{status: http.StatusBadRequest, code: "IncompleteSignature", message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	switch {
	case signTime.Before(now.Add(-maxSignatureAge)):
		mismatch.message = fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-maxSignatureAge).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
		return p, mismatch
	case signTime.After(now.Add(maxSignatureAge)):
		mismatch.message = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(maxSignatureAge).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
		return p, mismatch
	case auth.date != amzDate[:8]:
		mismatch.detail = "credential scope date differs from X-Amz-Date"
		return p, mismatch
	case auth.service != service:
		mismatch.message = "Credential should be scoped to correct service: '" + service + "'. "
		return p, mismatch
	}

	want, err := s.resign(r, body, auth, p, signTime)
	if err != nil {
		mismatch.detail = err.Error()
		return p, mismatch
	}
	if want.signedHeaders != auth.signedHeaders {
		mismatch.detail = fmt.Sprintf("signed headers %q, recomputed %q", auth.signedHeaders, want.signedHeaders)
		return p, mismatch
	}
	if !hmac.Equal([]byte(want.signature), []byte(auth.signature)) {
		mismatch.detail = "signature differs"
		return p, mismatch
	}
	return p, nil
}

// jsonAuthCode is the code a JSON protocol service (EKS, EKS Auth) gives an authentication
// error that the query protocol services (STS, IAM) call code.
func jsonAuthCode(code string) string {
	switch code {
	case "InvalidClientTokenId":
		return "UnrecognizedClientException"
	case "SignatureDoesNotMatch":
		return "InvalidSignatureException"
	case "ExpiredToken":
		return "ExpiredTokenException"
	case "MissingAuthenticationToken":
		return "MissingAuthenticationTokenException"
	case "IncompleteSignature":
		return "IncompleteSignatureException"
	}
	return code
}

// resign signs a copy of the request, holding only the headers the client signed, with the
// stored secret key, the client's region and the client's time, and returns the resulting
// authorization.
func (s *Server) resign(r *http.Request, body []byte, auth authorization, p *principal, signTime time.Time) (authorization, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	if err != nil {
		return authorization{}, fmt.Errorf("failed to rebuild request: %w", err)
	}
	req.Host = r.Host
	for _, name := range strings.Split(auth.signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			if v := r.Header.Values(name); len(v) > 0 {
				req.Header[textproto.CanonicalMIMEHeaderKey(name)] = v
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{
		AccessKeyID:     p.accessKeyID,
		SecretAccessKey: p.secretAccessKey,
		SessionToken:    p.sessionToken,
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, req, hex.EncodeToString(sum[:]), auth.service, auth.region, signTime); err != nil {
		return authorization{}, fmt.Errorf("failed to sign: %w", err)
	}
	return parseAuthorization(req.Header.Get("Authorization"))
}

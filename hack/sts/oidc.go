package sts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clockSkew is how far exp, nbf and iat may be off before a token is refused.
const clockSkew = 5 * time.Second

// maxDocumentSize bounds the discovery document and the JWKS.
const maxDocumentSize = 1 << 20

// signatureAlgorithms are the JWS algorithms accepted for web identity tokens.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
}

// Messages of AWS's own errors for AssumeRoleWithWebIdentity.
const (
	msgNotJWT         = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgNoProvider     = "No OpenIDConnect provider found in your account for %s"
	msgNoKey          = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgBadSignature   = "Couldn't verify token signature"
	msgExpired        = "Token expired: current date/time %d must be before the expiration date/time %d"
	msgNotYetValid    = "Token is not yet valid: current date/time %d must be after the not-before date/time %d"
	msgIssuedInFuture = "Token used before issued: current date/time %d must be after the issued-at date/time %d"
	msgMissingClaim   = "Missing a required claim: %s"
	msgAudience       = "Incorrect token audience"
)

// keySource fetches and caches the signing keys of one issuer.
type keySource struct {
	issuer string
	caFile string
	client *http.Client

	mu   sync.Mutex
	keys *jose.JSONWebKeySet
}

func newKeySource(p Provider) (*keySource, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the issuer is local; never go through a proxy from the environment
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read CA file for %s: %w", p.Issuer, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s for %s holds no PEM certificate", p.CAFile, p.Issuer)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &keySource{
		issuer: normalizeIssuer(p.Issuer),
		caFile: p.CAFile,
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}, nil
}

// errUnknownKey is returned when the issuer publishes no key with the token's kid.
var errUnknownKey = errors.New("no signing key with the token's key id")

// candidates returns the keys that may have signed a token with key id kid (all signing
// keys when kid is empty). The keys are fetched on first use, and fetched again, once per
// call, when kid is not among the cached ones (the issuer may have rotated its keys).
func (k *keySource) candidates(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fetched := false
	if k.keys == nil {
		if err := k.fetch(ctx); err != nil {
			return nil, err
		}
		fetched = true
	}
	keys := k.find(kid)
	if len(keys) == 0 && !fetched {
		if err := k.fetch(ctx); err != nil {
			return nil, err
		}
		keys = k.find(kid)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w %q at %s", errUnknownKey, kid, k.issuer)
	}
	return keys, nil
}

func (k *keySource) find(kid string) []jose.JSONWebKey {
	all := k.keys.Keys
	if kid != "" {
		all = k.keys.Key(kid)
	}
	var out []jose.JSONWebKey
	for _, key := range all {
		if key.Use == "" || key.Use == "sig" {
			out = append(out, key)
		}
	}
	return out
}

// fetch reads the discovery document, then the JWKS it points to. Called with mu held.
func (k *keySource) fetch(ctx context.Context) error {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := k.getJSON(ctx, k.issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return err
	}
	if disc.JWKSURI == "" {
		return fmt.Errorf("discovery document of %s has no jwks_uri", k.issuer)
	}
	var set jose.JSONWebKeySet
	if err := k.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return err
	}
	k.keys = &set
	return nil
}

func (k *keySource) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("failed to build request for %s: %w", url, err)
	}
	// the apiserver serves the JWKS as application/jwk-set+json and answers 406 to a narrower Accept
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed to get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize))
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("failed to get %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("failed to decode %s: %w", url, err)
	}
	return nil
}

// identity is what a verified web identity token says.
type identity struct {
	provider *providerState
	subject  string
	audience string // the client ID that matched
}

// verifyToken checks a web identity token as AWS does, in AWS's order: the issuer is a
// registered provider, the signature verifies with one of its keys, the token is within
// its validity window, and its audience includes one of the provider's client IDs.
// Errors are *apiError; none of them includes the token.
func (s *Server) verifyToken(ctx context.Context, raw string) (*identity, error) {
	tok, err := jwt.ParseSigned(raw, signatureAlgorithms)
	if err != nil {
		return nil, invalidToken(msgNotJWT, "parse: "+err.Error())
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, invalidToken(msgNotJWT, "claims: "+err.Error())
	}
	if unverified.Issuer == "" {
		return nil, invalidToken(fmt.Sprintf(msgMissingClaim, "iss"), "")
	}
	ps, ok := s.config.Load().providers[normalizeIssuer(unverified.Issuer)]
	if !ok {
		return nil, invalidToken(fmt.Sprintf(msgNoProvider, unverified.Issuer), "")
	}
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys, err := ps.keys.candidates(ctx, kid)
	if err != nil {
		return nil, invalidToken(msgNoKey, err.Error())
	}
	var claims jwt.Claims
	verified := false
	for i := range keys {
		if err := tok.Claims(&keys[i], &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalidToken(msgBadSignature, fmt.Sprintf("signature does not verify with key id %q", kid))
	}

	now := s.now()
	switch {
	case claims.Expiry == nil:
		return nil, invalidToken(fmt.Sprintf(msgMissingClaim, "exp"), "")
	case now.After(claims.Expiry.Time().Add(clockSkew)):
		return nil, &apiError{
			status: http.StatusBadRequest, code: "ExpiredTokenException",
			message: fmt.Sprintf(msgExpired, now.Unix(), claims.Expiry.Time().Unix()),
		}
	case claims.NotBefore != nil && now.Add(clockSkew).Before(claims.NotBefore.Time()):
		return nil, invalidToken(fmt.Sprintf(msgNotYetValid, now.Unix(), claims.NotBefore.Time().Unix()), "")
	case claims.IssuedAt != nil && now.Add(clockSkew).Before(claims.IssuedAt.Time()):
		return nil, invalidToken(fmt.Sprintf(msgIssuedInFuture, now.Unix(), claims.IssuedAt.Time().Unix()), "")
	}

	aud := ""
	for _, a := range claims.Audience {
		for _, id := range ps.cfg.ClientIDs {
			if a == id {
				aud = a
				break
			}
		}
		if aud != "" {
			break
		}
	}
	if aud == "" {
		return nil, invalidToken(msgAudience, fmt.Sprintf("aud %q, client IDs %q", []string(claims.Audience), ps.cfg.ClientIDs))
	}
	return &identity{provider: ps, subject: claims.Subject, audience: aud}, nil
}

func invalidToken(msg, detail string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidIdentityToken", message: msg, detail: detail}
}

// providerState is a registered provider with its key cache.
type providerState struct {
	cfg  Provider
	arn  string
	keys *keySource
}

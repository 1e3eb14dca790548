package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// tokenAlgorithms are the signature algorithms a service account token may carry. The probe
// does not verify the signature (it has no keys; STS verifies); ParseSigned still wants a list.
var tokenAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// TokenClaims are the claims of a service account token the probe looks at. None is secret.
type TokenClaims struct {
	Issuer   string
	Subject  string
	Audience []string
	IssuedAt *time.Time
	Expiry   *time.Time
}

// DecodeToken reads the claims of a JWT without verifying its signature.
func DecodeToken(raw string) (TokenClaims, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return TokenClaims{}, errors.New("the token is empty")
	}
	tok, err := jwt.ParseSigned(raw, tokenAlgorithms)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("the token is not a signed JWT: %w", err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return TokenClaims{}, fmt.Errorf("the token's claims do not decode: %w", err)
	}
	tc := TokenClaims{Issuer: c.Issuer, Subject: c.Subject, Audience: []string(c.Audience)}
	if c.IssuedAt != nil {
		t := c.IssuedAt.Time().UTC()
		tc.IssuedAt = &t
	}
	if c.Expiry != nil {
		t := c.Expiry.Time().UTC()
		tc.Expiry = &t
	}
	return tc, nil
}

// tokenChecks names the checks of one token, so the IRSA and Pod Identity paths share code.
// An empty name is a check that path does not make.
type tokenChecks struct {
	file, format, audience, lifetime, expiry, issuer, subject string

	envVar string // the env var that names the file
	volume string // the projected volume that holds it, for fixes
}

var (
	irsaTokenChecks = tokenChecks{
		file: "token.file", format: "token.format", audience: "token.audience",
		lifetime: "token.lifetime", expiry: "token.expiry", issuer: "token.issuer", subject: "token.subject",
		envVar: envWebIdentityTokenFile, volume: "aws-iam-token",
	}
	podIdentityTokenChecks = tokenChecks{
		file: "podidentity.token_file", format: "podidentity.token_format", audience: "podidentity.audience",
		expiry: "podidentity.expiry", issuer: "podidentity.issuer", subject: "podidentity.subject",
		envVar: envContainerAuthTokenFile, volume: "eks-pod-identity-token",
	}
)

// names lists the checks in the order they run.
func (n tokenChecks) names() []string {
	var out []string
	for _, s := range []string{n.file, n.format, n.audience, n.lifetime, n.expiry, n.issuer, n.subject} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkToken reads the token file at path and checks its claims. It returns the token (for
// STS, never for output) and its claims; raw is empty when the file could not be read.
func (r *runner) checkToken(path string, n tokenChecks, wantAudience string, wantLifetime int64) (raw string, claims TokenClaims, ok bool) {
	b, err := r.deps.ReadFile(path)
	if err != nil {
		r.check(n.file, check.StatusFail, tokenFileMessage(path, err, r.uid()), tokenFileFix(path, err, n), map[string]any{"path": path})
		r.skipAll(n.names()[1:], n.file)
		return "", TokenClaims{}, false
	}
	raw = string(b)
	r.addSecret(raw)
	r.check(n.file, check.StatusPass, fmt.Sprintf("%s is readable", path), "", map[string]any{"path": path})

	claims, err = DecodeToken(raw)
	if err != nil {
		r.check(n.format, check.StatusFail, err.Error(),
			fmt.Sprintf("the file named by %s must hold a service account token: check that nothing else writes to it", n.envVar), nil)
		r.skipAll(n.names()[2:], n.format)
		return raw, TokenClaims{}, true
	}
	r.check(n.format, check.StatusPass, "the token is a JWT", "", nil)

	r.checkAudience(n, claims, wantAudience)
	if n.lifetime != "" {
		r.checkLifetime(n, claims, wantLifetime)
	}
	r.checkExpiry(n, claims)
	r.checkIssuer(n, claims)
	r.checkSubject(n, claims)
	return raw, claims, true
}

func (r *runner) checkAudience(n tokenChecks, c TokenClaims, want string) {
	data := map[string]any{"aud": nonNil(c.Audience)}
	if slices.Contains(c.Audience, want) {
		r.check(n.audience, check.StatusPass, fmt.Sprintf("aud contains %s", want), "", data)
		return
	}
	fix := fmt.Sprintf("set the service account annotation eks.amazonaws.com/audience=%s (or remove it for the default sts.amazonaws.com) and restart the pod", want)
	if n.audience == podIdentityTokenChecks.audience {
		fix = "the eks-pod-identity-token volume must request audience pods.eks.amazonaws.com: check the pod identity webhook"
	}
	r.check(n.audience, check.StatusFail, fmt.Sprintf("aud is %s, not %s", formatList(c.Audience), want), fix, data)
}

func (r *runner) checkLifetime(n tokenChecks, c TokenClaims, want int64) {
	if want <= 0 {
		r.check(n.lifetime, check.StatusSkip, "no expected expiration given", "", nil)
		return
	}
	if c.IssuedAt == nil || c.Expiry == nil {
		r.check(n.lifetime, check.StatusFail, "the token has no iat or no exp claim",
			"the token is not a projected service account token: check the aws-iam-token volume", nil)
		return
	}
	got := int64(c.Expiry.Sub(*c.IssuedAt) / time.Second)
	data := map[string]any{
		"iat": c.IssuedAt.Format(time.RFC3339), "exp": c.Expiry.Format(time.RFC3339),
		"lifetime_seconds": got, "expected_seconds": want,
	}
	if got == want {
		r.check(n.lifetime, check.StatusPass, fmt.Sprintf("exp - iat is %ds, as requested", got), "", data)
		return
	}
	r.check(n.lifetime, check.StatusWarn,
		fmt.Sprintf("exp - iat is %ds, expected %ds", got, want),
		fmt.Sprintf("the apiserver issued %ds for a request of %ds: --service-account-max-token-expiration caps it, or the pod's eks.amazonaws.com/token-expiration annotation overrides the service account's", got, want),
		data)
}

func (r *runner) checkExpiry(n tokenChecks, c TokenClaims) {
	now := r.deps.Now().UTC()
	if c.Expiry == nil {
		r.check(n.expiry, check.StatusFail, "the token has no exp claim",
			"the token is not a projected service account token: check the "+n.volume+" volume", nil)
		return
	}
	left := c.Expiry.Sub(now).Truncate(time.Second)
	data := map[string]any{"exp": c.Expiry.Format(time.RFC3339), "expires_in_seconds": int64(left / time.Second)}
	if left > 0 {
		r.check(n.expiry, check.StatusPass, fmt.Sprintf("exp is in %s", left), "", data)
		return
	}
	r.check(n.expiry, check.StatusFail, fmt.Sprintf("the token expired at %s, %s ago", c.Expiry.Format(time.RFC3339), -left),
		"the kubelet rewrites the token at 80% of its lifetime: check the kubelet on this node and the node's clock (NTP)", data)
}

func (r *runner) checkIssuer(n tokenChecks, c TokenClaims) {
	want := r.cfg.ExpectedIssuer
	data := map[string]any{"iss": c.Issuer}
	switch {
	case want == "":
		r.check(n.issuer, check.StatusSkip, "the cluster's issuer is not known; iss is "+orPlaceholder(c.Issuer, "empty"), "", data)
	case strings.TrimSuffix(c.Issuer, "/") == strings.TrimSuffix(want, "/"):
		r.check(n.issuer, check.StatusPass, fmt.Sprintf("iss is %s", c.Issuer), "", data)
	default:
		data["expected_iss"] = want
		r.check(n.issuer, check.StatusFail, fmt.Sprintf("iss is %s, not the cluster's issuer %s", orPlaceholder(c.Issuer, "empty"), want),
			"the apiserver's --service-account-issuer must be the issuer of the IAM OIDC provider: check the apiserver flags and /.well-known/openid-configuration", data)
	}
}

func (r *runner) checkSubject(n tokenChecks, c TokenClaims) {
	want := r.cfg.ExpectedSubject
	data := map[string]any{"sub": c.Subject}
	switch {
	case want == "":
		r.check(n.subject, check.StatusSkip, "no expected subject given; sub is "+orPlaceholder(c.Subject, "empty"), "", data)
	case c.Subject == want:
		r.check(n.subject, check.StatusPass, fmt.Sprintf("sub is %s", c.Subject), "", data)
	default:
		data["expected_sub"] = want
		r.check(n.subject, check.StatusFail, fmt.Sprintf("sub is %s, not %s", orPlaceholder(c.Subject, "empty"), want),
			"the pod runs as another service account: check spec.serviceAccountName", data)
	}
}

func tokenFileMessage(path string, err error, uid string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		if uid != "" {
			return fmt.Sprintf("%s is not readable by uid %s", path, uid)
		}
		return fmt.Sprintf("%s is not readable by this user", path)
	default:
		return fmt.Sprintf("cannot read %s: %v", path, err)
	}
}

func tokenFileFix(path string, err error, n tokenChecks) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the %s projected volume is not mounted where %s points: the container set %s itself, or mounts over %s", n.volume, n.envVar, n.envVar, path)
	case errors.Is(err, fs.ErrPermission):
		return "a non-root container without fsGroup cannot read the token: set the pod's securityContext.fsGroup (any group; the kubelet makes the token readable by it)"
	default:
		return fmt.Sprintf("check the %s volume mount", n.volume)
	}
}

func formatList(s []string) string {
	if len(s) == 0 {
		return "empty"
	}
	return "[" + strings.Join(s, ",") + "]"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

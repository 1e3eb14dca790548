package applog

import (
	"regexp"
	"strings"
	"unicode"
)

// Redacted replaces a secret value.
const Redacted = "[REDACTED]"

// secretKey is a key whose value is a secret, in any spelling: SecretAccessKey,
// aws_session_token, X-Amz-Security-Token, password, api_key, Signature. (SigV4's
// Credential= holds an access key ID, which has its own rule, then a date and a region.)
const secretKey = `(?P<key>[\w.-]*(?:secret|passw(?:or)?d|token|api[_-]?key|private[_-]?key|signature)[\w.-]*)`

// distinctKey is a secretKey that prose does not use before a colon, so `key: value` is
// taken as a key and its value (a bare "token:" is often prose: "failed fetching token: ...").
const distinctKey = `(?P<key>[\w.-]*(?:secret|passw(?:or)?d|session[_-]?token|security[_-]?token|access[_-]?token|refresh[_-]?token|api[_-]?key|private[_-]?key)[\w.-]*)`

// locator is the end of a key that names where a secret is, or something about it, not the
// secret: AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/..., token_type=Bearer.
var locator = regexp.MustCompile(`(?i)(file|path|dir|uri|url|type|expiration|expires|expiry|duration|ttl|name|source|provider|providers|error|code|exception)$`)

// redactions run in order: the keyed forms first, so that the value of a known key goes
// whole, then the values that are secret whatever names them. A match whose key is a
// locator is kept.
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	// Authorization headers: the raw Pod Identity token, a Bearer token, a SigV4 signature.
	{regexp.MustCompile(`(?i)(\bauthorization\b["']?\s*[:=]\s*)"[^"]*"`), `$1"` + Redacted + `"`},
	{regexp.MustCompile(`(?i)(\bauthorization\b["']?\s*[:=]\s*)'[^']*'`), `$1'` + Redacted + `'`},
	{regexp.MustCompile(`(?i)(\bauthorization\b["']?\s*[:=]\s*)[^"'\s].*`), `${1}` + Redacted},
	// JSON and Python reprs: "SecretAccessKey": "...", 'SessionToken': '...'.
	{regexp.MustCompile(`(?i)("` + secretKey + `"\s*:\s*)(?:"(?:[^"\\]|\\.)*"|[^\s,{}\[\]"]+)`), `$1"` + Redacted + `"`},
	{regexp.MustCompile(`(?i)('` + secretKey + `'\s*:\s*)'[^']*'`), `$1'` + Redacted + `'`},
	// key=value: logfmt, query strings (X-Amz-Security-Token=...), SigV4's Signature=.
	{regexp.MustCompile(`(?i)(\b` + secretKey + `=)(?:"[^"]*"|[^\s"',;&)}\[\]]+)`), `${1}` + Redacted},
	// key: value for keys prose does not use: headers, YAML.
	{regexp.MustCompile(`(?i)(\b` + distinctKey + `:\s*)[^\s"',;\[\]]+`), `${1}` + Redacted},
	// JWTs: service account tokens, the Pod Identity token.
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`), Redacted},
	// Access key IDs (long-term AKIA, temporary ASIA) and the other unique IDs of IAM; the
	// prefix says which kind and is kept.
	{regexp.MustCompile(`\b(AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA|AIPA)[A-Z0-9]{12,}\b`), `${1}` + Redacted},
}

// tokenRun is a run of base64 characters long enough to be a secret key or a session token.
// '-' splits runs: ARNs, names and UUIDs stay readable, and base64url tokens (JWTs) are
// handled above.
var tokenRun = regexp.MustCompile(`[A-Za-z0-9+/=_]{32,}`)

// Redact returns line without the secrets it may carry, safe to print: access key IDs, secret
// access keys, session tokens, JWTs, Authorization values, the values of keys that name a
// secret, and any long run of mixed-case letters and digits (a secret key or a token in no
// recognisable form). Prose, ARNs, request IDs and error codes are kept. Redact(Redact(s)) is
// Redact(s).
func Redact(line string) string {
	for _, r := range redactions {
		key := r.re.SubexpIndex("key")
		line = r.re.ReplaceAllStringFunc(line, func(m string) string {
			loc := r.re.FindStringSubmatchIndex(m)
			if loc == nil {
				return m
			}
			if key > 0 && loc[2*key] >= 0 && locator.MatchString(m[loc[2*key]:loc[2*key+1]]) {
				return m
			}
			return string(r.re.ExpandString(nil, r.with, m, loc))
		})
	}
	return tokenRun.ReplaceAllStringFunc(line, func(run string) string {
		if tokenLike(run) {
			return Redacted
		}
		return run
	})
}

// tokenLike is true for a run with upper and lower case letters and digits, as random base64
// has; identifiers, hex digests and words rarely have all three.
func tokenLike(run string) bool {
	return strings.ContainsFunc(run, unicode.IsUpper) &&
		strings.ContainsFunc(run, unicode.IsLower) &&
		strings.ContainsFunc(run, unicode.IsDigit)
}

//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Credentials of the AWS stand-in's sessions (ASIA and 16 base32 characters, a base64 secret
// key of 40 characters, a base64 session token of 256) and projected tokens (JWTs).
var (
	sessionKeyID = regexp.MustCompile(`ASIA[A-Z2-7]{16}`)
	jwt          = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)
	longBase64   = regexp.MustCompile(`[A-Za-z0-9+/]{40,}`)
)

// secretsIn says what in out is a secret: one of known (by its index, not its value), a
// session's access key id, a token, a run of base64 as long as a secret key or a session token.
func secretsIn(out string, known ...string) []string {
	var found []string
	for i, s := range known {
		if strings.Contains(out, s) {
			found = append(found, fmt.Sprintf("known secret %d of %d", i, len(known)))
		}
	}
	if m := sessionKeyID.FindString(out); m != "" {
		found = append(found, fmt.Sprintf("a session's access key id: %q", m))
	}
	if m := jwt.FindString(out); m != "" {
		found = append(found, fmt.Sprintf("what looks like a token: %q", m))
	}
	for _, m := range longBase64.FindAllString(out, -1) {
		if (len(m) == 40 || len(m) >= 256) && strings.ContainsAny(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(m, "abcdefghijklmnopqrstuvwxyz") {
			found = append(found, fmt.Sprintf("what looks like a secret key or session token: %q", m))
		}
	}
	return found
}

// noSecrets fails the test for each secret out holds (secretsIn); where names out.
func noSecrets(t *testing.T, where, out string, known ...string) {
	t.Helper()
	for _, f := range secretsIn(out, known...) {
		t.Errorf("%s holds %s", where, f)
	}
}

// TestSecretsIn: the scan every e2e test's output goes through finds each kind of secret it
// looks for, planted, and passes output without one. It needs no cluster.
func TestSecretsIn(t *testing.T) {
	// Made up, shaped as the stand-in's: a session's key id, secret key and token, and a JWT.
	const (
		keyID     = "ASIAEXAMPLE234567ABC"
		secretKey = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY40"
		token     = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDphcHAifQ.c2lnbmF0dXJl"
	)
	sessionToken := strings.Repeat("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH", 6)[:256]
	tests := []struct {
		name  string
		out   string
		known []string
		want  []string // a prefix of each finding, in order
	}{
		{name: "clean output", out: "pass sts.assume_role: assumed arn:aws:iam::111122223333:role/app\n"},
		{name: "a known secret", out: "key=static-SECRET-value in the log", known: []string{"AKIAEXAMPLE", "static-SECRET-value"}, want: []string{"known secret 1 of 2"}},
		{name: "a known secret absent", out: "nothing here", known: []string{"static-SECRET-value"}},
		{name: "a session's access key id", out: "AWS_ACCESS_KEY_ID=" + keyID, want: []string{"a session's access key id"}},
		{name: "a JWT", out: "token: " + token, want: []string{"what looks like a token"}},
		{name: "a secret key of 40", out: "secret " + secretKey + " end", want: []string{"what looks like a secret key or session token"}},
		{name: "a session token of 256", out: "session " + sessionToken, want: []string{"what looks like a secret key or session token"}},
		{name: "a run of 39", out: secretKey[:39]},
		{name: "a run of 100, neither key nor token", out: strings.Repeat("aB", 50)},
		{name: "one case only, a hex digest", out: "sha1 0123456789abcdef0123456789abcdef01234567"},
		{name: "a JWT that is also known", out: token, known: []string{token}, want: []string{"known secret 0 of 1", "what looks like a token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := secretsIn(tt.out, tt.known...)
			ok := len(got) == len(tt.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], tt.want[i])
			}
			if !ok {
				t.Errorf("secretsIn = %q, want findings starting %q", got, tt.want)
			}
		})
	}
}

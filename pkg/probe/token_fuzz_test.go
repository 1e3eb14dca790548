package probe

import (
	"strings"
	"testing"
)

// FuzzDecodeToken: decoding a token never panics, and no error repeats the token or its
// signature: the token is a secret that must not reach any output.
func FuzzDecodeToken(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2siLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6YXBwIiwiYXVkIjpbInN0cy5hbWF6b25hd3MuY29tIl0sImlhdCI6MSwiZXhwIjo4NjQwMX0.c2lnbmF0dXJlLXNlY3JldA",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"a.b.c", "a.b", "....", "", " \n", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		"eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOjF9.c2ln", "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOiJub3cifQ.c2ln",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := DecodeToken(raw)
		if err == nil {
			return
		}
		msg := err.Error()
		parts := strings.Split(strings.TrimSpace(raw), ".")
		if sig := parts[len(parts)-1]; len(parts) == 3 && len(sig) >= 8 && strings.Contains(msg, sig) {
			t.Fatalf("the error repeats the token's signature: %q", msg)
		}
		if tok := strings.TrimSpace(raw); len(tok) >= 16 && strings.Contains(msg, tok) {
			t.Fatalf("the error repeats the token: %q", msg)
		}
	})
}

// FuzzAgentErrorText: the agent's error body, whatever it is, becomes a short message.
func FuzzAgentErrorText(f *testing.F) {
	for _, s := range []string{`{"Code":"InvalidToken","Message":"bad"}`, `{"code":1}`, "plain", "", strings.Repeat("x", 2000), "{\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg := agentErrorText(body)
		if msg == "" {
			t.Fatal("empty message")
		}
		if len(body) > 600 && len(msg) > 600 && !strings.HasSuffix(msg, "...") {
			t.Fatalf("a %d-byte body gave a %d-byte message", len(body), len(msg))
		}
	})
}

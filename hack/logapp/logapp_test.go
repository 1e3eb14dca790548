package logapp

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	lines := Lines()
	seen := map[Class]int{}
	last := -1
	for _, l := range lines {
		i := slices.Index(Classes(), l.Class)
		if i < 0 {
			t.Errorf("line of unknown class %q", l.Class)
		}
		if i < last {
			t.Errorf("class %q out of Classes' order", l.Class)
		}
		last = i
		seen[l.Class]++
		if l.Signature == "" || !strings.Contains(l.Text, l.Signature) {
			t.Errorf("%s: text does not hold its signature %q:\n%s", l.Class, l.Signature, l.Text)
		}
		if l.Source == "" {
			t.Errorf("%s: %q says nowhere where it is documented", l.Class, l.Signature)
		}
	}
	for _, c := range Classes() {
		if seen[c] == 0 {
			t.Errorf("class %q has no line", c)
		}
	}
	for _, s := range FakeSecrets() {
		if !slices.ContainsFunc(lines, func(l Line) bool { return strings.Contains(l.Text, s) }) {
			t.Errorf("no line carries the fake secret %.12s...", s)
		}
	}
}

// TestFakeSecretsLookReal keeps each fake value in its real kind's shape: a redactor that
// knows those shapes must catch it, so a test that finds none in verify's output means
// something.
func TestFakeSecretsLookReal(t *testing.T) {
	jwtPart := func(s string) bool {
		b, err := base64.RawURLEncoding.DecodeString(s)
		return err == nil && json.Valid(b)
	}
	tests := []struct {
		name  string
		value string
		ok    func(string) bool
	}{
		{"access key id", FakeAccessKeyID, regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString},
		{"temporary access key id", FakeSessionAccessKeyID, regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString},
		{"secret access key", FakeSecretAccessKey, regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`).MatchString},
		{"session token", FakeSessionToken, func(s string) bool {
			_, err := base64.StdEncoding.DecodeString(s)
			return err == nil && strings.HasPrefix(s, "IQoJb3JpZ2luX2Vj") && len(s) >= 200
		}},
		{"JWT", FakeJWT, func(s string) bool {
			p := strings.Split(s, ".")
			if len(p) != 3 || !jwtPart(p[0]) || !jwtPart(p[1]) {
				return false
			}
			_, err := base64.RawURLEncoding.DecodeString(p[2])
			return err == nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok(tt.value) {
				t.Errorf("%q is not shaped like a %s", tt.value, tt.name)
			}
			if !saysFake(tt.value) {
				t.Errorf("%q does not say it is fake, in clear or once decoded", tt.value)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	count := func(cs ...Class) int {
		n := 0
		for _, l := range Lines() {
			if slices.Contains(cs, l.Class) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name        string
		spec        string
		wantClasses []Class
		wantErr     bool
	}{
		{name: "empty is every class", spec: "", wantClasses: Classes()},
		{name: "all", spec: "all", wantClasses: Classes()},
		{name: "one class", spec: "expired-token", wantClasses: []Class{ExpiredToken}},
		{name: "two classes, spaced", spec: " loopback-only , not-loopback ", wantClasses: []Class{LoopbackOnly, NotLoopback}},
		{name: "an unknown class", spec: "expired-token,expired", wantErr: true},
		{name: "all among others is not a class", spec: "all,expired-token", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Select(%q) error = %v, wantErr %v", tt.spec, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if len(got) != count(tt.wantClasses...) {
				t.Errorf("Select(%q) = %d lines, want %d", tt.spec, len(got), count(tt.wantClasses...))
			}
			for _, l := range got {
				if !slices.Contains(tt.wantClasses, l.Class) {
					t.Errorf("Select(%q) holds a %s line", tt.spec, l.Class)
				}
			}
		})
	}
}

func TestLineSecret(t *testing.T) {
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"no secret", "ExpiredToken: The security token included in the request is expired", false},
		{"a session token", "session_token=" + FakeSessionToken, true},
		{"a JWT", "token=" + FakeJWT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Line{Text: tt.text}).Secret(); got != tt.want {
				t.Errorf("Secret() = %v, want %v", got, tt.want)
			}
		})
	}
}

// saysFake reports whether v, or what it decodes to (base64, or each base64url part of a
// JWT), says "fake".
func saysFake(v string) bool {
	texts := []string{v}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		texts = append(texts, string(b))
	}
	for _, p := range strings.Split(v, ".") {
		if b, err := base64.RawURLEncoding.DecodeString(p); err == nil {
			texts = append(texts, string(b))
		}
	}
	return slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(strings.ToLower(s), "fake") })
}

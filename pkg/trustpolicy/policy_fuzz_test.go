package trustpolicy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGlob checks StringLike matching against what the wildcards mean: a pattern without
// wildcards matches only itself, "*" matches anything, and a pattern matches the string it
// was built from by replacing runs of characters with "*" and single characters with "?".
func FuzzGlob(f *testing.F) {
	f.Add("system:serviceaccount:ns:*", "system:serviceaccount:ns:app", 3, 5)
	f.Add("a?c", "abc", 0, 1)
	f.Add("", "", 0, 0)
	f.Fuzz(func(t *testing.T, pattern, s string, from, to int) {
		if !strings.ContainsAny(pattern, "*?") && Glob(pattern, s) != (pattern == s) {
			t.Fatalf("Glob(%q, %q) without wildcards = %t", pattern, s, Glob(pattern, s))
		}
		if !Glob("*", s) || !Glob(s+"*", s) && !strings.ContainsAny(s, "*?") {
			t.Fatalf("%q is not matched by * or by itself followed by *", s)
		}
		r := []rune(s)
		if len(r) == 0 || strings.ContainsAny(s, "*?") || !utf8.ValidString(s) {
			return
		}
		from, to = abs(from)%len(r), abs(to)%len(r)
		if from > to {
			from, to = to, from
		}
		star := string(r[:from]) + "*" + string(r[to:])
		one := string(r[:from]) + "?" + string(r[from+1:])
		if !Glob(star, s) || !Glob(one, s) {
			t.Fatalf("%q: %q or %q does not match it", s, star, one)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzPolicyAllows: any trust policy document, as IAM would hand it over, decodes or is
// refused without a panic, and a decoded one evaluates without one; a policy with no Allow
// statement never admits.
func FuzzPolicyAllows(f *testing.F) {
	p, err := ForIRSA(IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://oidc.example.com/id/X", Audience: "sts.amazonaws.com", Namespace: "ns", ServiceAccount: "app"})
	if err != nil {
		f.Fatal(err)
	}
	good, err := p.JSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "system:serviceaccount:ns:app", "sts.amazonaws.com")
	f.Add([]byte(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}`), "x", "y")
	f.Add([]byte(`{"Statement":{"Effect":"Allow"}}`), "", "")
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":["sts:*"],"Condition":{"StringLike":{"k":"*"}}}]}`), "a", "b")
	f.Fuzz(func(t *testing.T, doc []byte, sub, aud string) {
		var pol Policy
		if json.Unmarshal(doc, &pol) != nil {
			return
		}
		req := WebIdentityRequest{ProviderARN: "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/X", HostPath: "oidc.example.com/id/X", Subject: sub, Audience: aud}
		allowed := pol.Allows(req)
		anyAllow := false
		for _, st := range pol.Statement {
			anyAllow = anyAllow || st.Effect == "Allow"
		}
		if allowed && !anyAllow {
			t.Fatalf("admitted by a policy without an Allow statement: %s", doc)
		}
	})
}

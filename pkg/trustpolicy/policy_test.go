package trustpolicy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	testIssuer  = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	testHP      = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	testAccount = "111122223333"
)

func TestProviderHostPath(t *testing.T) {
	tests := []struct {
		issuer  string
		want    string
		wantErr string
	}{
		{issuer: testIssuer, want: testHP},
		{issuer: testIssuer + "/", want: testHP},
		{issuer: "https://127.0.0.1:6443", want: "127.0.0.1:6443"},
		{issuer: "https://issuer.example.com/", want: "issuer.example.com"},
		{issuer: "http://issuer.example.com", wantErr: "not an https URL"},
		{issuer: "issuer.example.com", wantErr: "not an https URL"},
		{issuer: "", wantErr: "not an https URL"},
		{issuer: "https://", wantErr: "no host"},
		{issuer: "https://issuer.example.com/?x=1", wantErr: "query"},
		{issuer: "https://u:p@issuer.example.com", wantErr: "user info"},
		{issuer: "https://issuer.example.com/#f", wantErr: "fragment"},
		{issuer: "https://[::1", wantErr: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			got, err := ProviderHostPath(tt.issuer)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ProviderHostPath(%q) = %q, %v; want error containing %q", tt.issuer, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ProviderHostPath(%q) = %q, %v; want %q", tt.issuer, got, err, tt.want)
			}
		})
	}
	if _, err := ProviderHostPath("http://x"); !errors.Is(err, ErrIssuerNotHTTPS) {
		t.Fatalf("http issuer error %v is not ErrIssuerNotHTTPS", err)
	}
}

func TestForIRSAShape(t *testing.T) {
	p, err := ForIRSA(IRSA{Partition: "aws", AccountID: testAccount, Issuer: testIssuer, Audience: "sts.amazonaws.com", Namespace: "team", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	// The exact document AWS's IRSA guide shows, keys in this order.
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "arn:aws:iam::111122223333:oidc-provider/` + testHP + `"
      },
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": {
          "` + testHP + `:aud": "sts.amazonaws.com",
          "` + testHP + `:sub": "system:serviceaccount:team:app"
        }
      }
    }
  ]
}
`
	if string(got) != want {
		t.Fatalf("policy:\n%s\nwant:\n%s", got, want)
	}
}

func TestForIRSANamespaceWideKeepsWildcardOutOfStringEquals(t *testing.T) {
	p, err := ForIRSA(IRSA{Partition: "aws", AccountID: testAccount, Issuer: testIssuer, Audience: "sts.amazonaws.com", Namespace: "team", NamespaceWide: true})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Statement[0].Condition
	for _, e := range c.StringEquals {
		if strings.ContainsAny(e.Value, "*?") {
			t.Fatalf("wildcard in StringEquals: %+v", e)
		}
	}
	if v, _ := c.StringLike.Get(testHP + ":sub"); v != "system:serviceaccount:team:*" {
		t.Fatalf("StringLike sub = %q", v)
	}
	if v, _ := c.StringEquals.Get(testHP + ":aud"); v != "sts.amazonaws.com" {
		t.Fatalf("StringEquals aud = %q", v)
	}
	if _, ok := c.StringEquals.Get(testHP + ":sub"); ok {
		t.Fatal("sub in StringEquals for a namespace-wide policy")
	}
}

func TestForIRSAErrors(t *testing.T) {
	ok := IRSA{Partition: "aws", AccountID: testAccount, Issuer: testIssuer, Audience: "a", Namespace: "ns", ServiceAccount: "sa"}
	tests := []struct {
		name    string
		mutate  func(*IRSA)
		wantErr string
	}{
		{"no account", func(in *IRSA) { in.AccountID = "" }, "account"},
		{"no partition", func(in *IRSA) { in.Partition = "" }, "partition"},
		{"no audience", func(in *IRSA) { in.Audience = "" }, "audience"},
		{"no namespace", func(in *IRSA) { in.Namespace = "" }, "namespace"},
		{"no service account", func(in *IRSA) { in.ServiceAccount = "" }, "service account"},
		{"wildcard name", func(in *IRSA) { in.ServiceAccount = "*" }, "wildcards"},
		{"http issuer", func(in *IRSA) { in.Issuer = "http://x" }, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.mutate(&in)
			if _, err := ForIRSA(in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ForIRSA error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestForPodIdentity(t *testing.T) {
	got, err := ForPodIdentity().JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
      "Effect": "Allow",
      "Principal": {
        "Service": "pods.eks.amazonaws.com"
      },
      "Action": [
        "sts:AssumeRole",
        "sts:TagSession"
      ]
    }
  ]
}
`
	if string(got) != want {
		t.Fatalf("policy:\n%s\nwant:\n%s", got, want)
	}
}

// TestAllows evaluates generated policies against tokens of several service accounts: the
// policy admits exactly the account (or namespace) it was made for, with the right audience
// and provider.
func TestAllows(t *testing.T) {
	provider := ProviderARN("aws", testAccount, testHP)
	one, err := ForIRSA(IRSA{Partition: "aws", AccountID: testAccount, Issuer: testIssuer, Audience: "sts.amazonaws.com", Namespace: "team", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	wide, err := ForIRSA(IRSA{Partition: "aws", AccountID: testAccount, Issuer: testIssuer, Audience: "sts.amazonaws.com", Namespace: "team", NamespaceWide: true})
	if err != nil {
		t.Fatal(err)
	}
	req := func(sub string) WebIdentityRequest {
		return WebIdentityRequest{ProviderARN: provider, HostPath: testHP, Subject: sub, Audience: "sts.amazonaws.com"}
	}
	tests := []struct {
		name   string
		policy Policy
		req    WebIdentityRequest
		want   bool
	}{
		{"the account", one, req("system:serviceaccount:team:app"), true},
		{"another account", one, req("system:serviceaccount:team:other"), false},
		{"same name, other namespace", one, req("system:serviceaccount:other:app"), false},
		{"prefix of the name", one, req("system:serviceaccount:team:ap"), false},
		{"longer name", one, req("system:serviceaccount:team:app2"), false},
		{"wrong audience", one, WebIdentityRequest{ProviderARN: provider, HostPath: testHP, Subject: "system:serviceaccount:team:app", Audience: "other"}, false},
		{"wrong provider", one, WebIdentityRequest{ProviderARN: ProviderARN("aws", "999999999999", testHP), HostPath: testHP, Subject: "system:serviceaccount:team:app", Audience: "sts.amazonaws.com"}, false},
		{"wide: any account of the namespace", wide, req("system:serviceaccount:team:anything"), true},
		{"wide: other namespace", wide, req("system:serviceaccount:team2:app"), false},
		{"wide: namespace prefix", wide, req("system:serviceaccount:tea:app"), false},
		{"wide: wrong audience", wide, WebIdentityRequest{ProviderARN: provider, HostPath: testHP, Subject: "system:serviceaccount:team:app", Audience: "x"}, false},
		{"pod identity admits no web identity", ForPodIdentity(), req("system:serviceaccount:team:app"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Allows(tt.req); got != tt.want {
				t.Fatalf("Allows(%+v) = %t, want %t", tt.req, got, tt.want)
			}
		})
	}

	// A policy that survives a JSON round trip evaluates the same.
	b, err := wide.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Allows(req("system:serviceaccount:team:x")) || back.Allows(req("system:serviceaccount:nope:x")) {
		t.Fatal("round-tripped policy evaluates differently")
	}
}

func TestStringEqualsWildcardIsLiteral(t *testing.T) {
	// What users get wrong by hand: a wildcard in StringEquals matches only a literal "*".
	p := Policy{Version: PolicyVersion, Statement: []Statement{{
		Effect: "Allow", Principal: Principal{Federated: "p"}, Action: Actions{ActionWebIdentity},
		Condition: &Condition{StringEquals: Block{{Key: "h:sub", Value: "system:serviceaccount:team:*"}}},
	}}}
	if p.Allows(WebIdentityRequest{ProviderARN: "p", HostPath: "h", Subject: "system:serviceaccount:team:app"}) {
		t.Fatal("StringEquals treated * as a wildcard")
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"a*", "b", false},
		{"*c", "abc", true}, {"a*c", "ac", true}, {"a*c", "abcbc", true}, {"a*c", "abcb", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"ns:*", "ns:", true}, {"ns:*", "ns", false},
		{"a**b", "axxb", true}, {"", "", true}, {"", "a", false}, {"abc", "abc", true},
		{"*x*", "aaxaa", true}, {"*x*", "aaa", false}, {"a*", "*", false}, {"*", "*", true},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %t, want %t", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestActionsJSON(t *testing.T) {
	var a Actions
	if err := json.Unmarshal([]byte(`"sts:AssumeRole"`), &a); err != nil || len(a) != 1 {
		t.Fatalf("string action: %v %v", a, err)
	}
	if err := json.Unmarshal([]byte(`["a","b"]`), &a); err != nil || len(a) != 2 {
		t.Fatalf("list action: %v %v", a, err)
	}
	if err := json.Unmarshal([]byte(`3`), &a); err == nil {
		t.Fatal("number accepted as action")
	}
}

package sts

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"system:serviceaccount:ns:*", "system:serviceaccount:ns:app", true},
		{"system:serviceaccount:ns:*", "system:serviceaccount:ns:", true},
		{"system:serviceaccount:ns:*", "system:serviceaccount:nsx:app", false},
		{"system:serviceaccount:*:app", "system:serviceaccount:a/b:app", true},
		{"system:serviceaccount:ns:ap?", "system:serviceaccount:ns:app", true},
		{"system:serviceaccount:ns:ap?", "system:serviceaccount:ns:ap", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"**", "anything", true},
		{"sts:*", "sts:assumerolewithwebidentity", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := globMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestPolicyAllows(t *testing.T) {
	const (
		fed = "arn:aws:iam::111122223333:oidc-provider/issuer.example/id/1"
		sub = "system:serviceaccount:default:app"
	)
	stmt := func(extra string) string {
		return `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"` + fed + `"},"Action":"sts:AssumeRoleWithWebIdentity"` + extra + `}]}`
	}
	cond := func(c string) string { return stmt(`,"Condition":` + c) }
	keys := map[string][]string{
		"issuer.example/id/1:sub": {sub},
		"issuer.example/id/1:aud": {"sts.amazonaws.com"},
	}
	tests := []struct {
		name   string
		policy string
		action string
		fed    string
		want   bool
	}{
		{name: "no condition", policy: stmt(""), want: true},
		{name: "other provider", policy: stmt(""), fed: "arn:aws:iam::111122223333:oidc-provider/other", want: false},
		{name: "principal *", policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}}`, want: true},
		{name: "principal AWS only", policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRoleWithWebIdentity"}}`, want: false},
		{name: "principal list", policy: `{"Statement":{"Effect":"Allow","Principal":{"Federated":["x","` + fed + `"]},"Action":"sts:AssumeRoleWithWebIdentity"}}`, want: true},
		{name: "other action", policy: stmt(""), action: "sts:AssumeRole", want: false},
		{name: "action wildcard and list", policy: `{"Statement":{"Effect":"Allow","Principal":{"Federated":"` + fed + `"},"Action":["sts:TagSession","sts:*"]}}`, want: true},
		{name: "action case-insensitive", policy: `{"Statement":{"Effect":"Allow","Principal":{"Federated":"` + fed + `"},"Action":"STS:assumeRoleWithWebIdentity"}}`, want: true},
		{name: "StringEquals sub and aud", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":"` + sub + `","issuer.example/id/1:aud":"sts.amazonaws.com"}}`), want: true},
		{name: "StringEquals key case-insensitive", policy: cond(`{"StringEquals":{"ISSUER.example/id/1:SUB":"` + sub + `"}}`), want: true},
		{name: "StringEquals value case-sensitive", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":"System:serviceaccount:default:app"}}`), want: false},
		{name: "StringEqualsIgnoreCase", policy: cond(`{"StringEqualsIgnoreCase":{"issuer.example/id/1:sub":"System:ServiceAccount:default:app"}}`), want: true},
		{name: "StringEquals list is OR", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":["a","` + sub + `"]}}`), want: true},
		{name: "keys are AND", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":"` + sub + `","issuer.example/id/1:aud":"other"}}`), want: false},
		{name: "operators are AND", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":"` + sub + `"},"StringLike":{"issuer.example/id/1:aud":"x*"}}`), want: false},
		{name: "StringEquals wildcard is literal", policy: cond(`{"StringEquals":{"issuer.example/id/1:sub":"system:serviceaccount:default:*"}}`), want: false},
		{name: "StringLike wildcard", policy: cond(`{"StringLike":{"issuer.example/id/1:sub":"system:serviceaccount:default:*"}}`), want: true},
		{name: "StringNotEquals", policy: cond(`{"StringNotEquals":{"issuer.example/id/1:sub":"system:serviceaccount:default:other"}}`), want: true},
		{name: "StringNotLike excludes", policy: cond(`{"StringNotLike":{"issuer.example/id/1:sub":"system:serviceaccount:default:*"}}`), want: false},
		{name: "missing key fails StringEquals", policy: cond(`{"StringEquals":{"issuer.example/id/1:email":"a@b"}}`), want: false},
		{name: "missing key passes IfExists", policy: cond(`{"StringEqualsIfExists":{"issuer.example/id/1:email":"a@b"}}`), want: true},
		{name: "missing key passes StringNotEquals", policy: cond(`{"StringNotEquals":{"issuer.example/id/1:email":"a@b"}}`), want: true},
		{name: "ForAnyValue", policy: cond(`{"ForAnyValue:StringLike":{"issuer.example/id/1:aud":["x","sts.*"]}}`), want: true},
		{name: "ForAllValues", policy: cond(`{"ForAllValues:StringEquals":{"issuer.example/id/1:aud":["x"]}}`), want: false},
		{name: "Deny wins", policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":{"Federated":"` + fed + `"},"Action":"sts:*"}]}`, want: false},
		{name: "policy as a JSON string", policy: `"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Federated\":\"` + fed + `\"},\"Action\":\"sts:AssumeRoleWithWebIdentity\"}}"`, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.policy))
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			rc := RequestContext{Action: "sts:AssumeRoleWithWebIdentity", Federated: fed, Keys: keys}
			if tt.action != "" {
				rc.Action = tt.action
			}
			if tt.fed != "" {
				rc.Federated = tt.fed
			}
			if got := p.Allows(rc); got != tt.want {
				t.Errorf("Allows = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name, policy, wantErr string
	}{
		{name: "empty", policy: ``, wantErr: "no policy document"},
		{name: "not JSON", policy: `{`, wantErr: "failed to parse policy"},
		{name: "no statement", policy: `{"Version":"2012-10-17"}`, wantErr: "no Statement"},
		{name: "bad effect", policy: `{"Statement":{"Effect":"allow","Principal":"*","Action":"*"}}`, wantErr: "neither Allow nor Deny"},
		{name: "no principal", policy: `{"Statement":{"Effect":"Allow","Action":"*"}}`, wantErr: "no Principal"},
		{name: "no action", policy: `{"Statement":{"Effect":"Allow","Principal":"*"}}`, wantErr: "no Action"},
		{name: "NotAction unsupported", policy: `{"Statement":{"Effect":"Allow","Principal":"*","NotAction":"*"}}`, wantErr: `unknown field "NotAction"`},
		{name: "unsupported operator", policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}}`, wantErr: "is not supported"},
		{name: "unsupported set qualifier", policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"ForSome:StringEquals":{"a":"b"}}}}`, wantErr: "unsupported set qualifier"},
		{name: "principal string not *", policy: `{"Statement":{"Effect":"Allow","Principal":"someone","Action":"*"}}`, wantErr: `neither "*" nor an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.policy))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParsePolicy error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

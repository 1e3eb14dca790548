package sts

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Account != "111122223333" {
		t.Errorf("Account = %q", cfg.Account)
	}
	if len(cfg.Providers) != 1 || cfg.Providers[0].CAFile != filepath.Join("testdata", "ca.crt") {
		t.Errorf("Providers = %+v, want one with caFile resolved against testdata/", cfg.Providers)
	}
	if got, want := cfg.providerARN(cfg.Providers[0].Issuer), "arn:aws:iam::111122223333:oidc-provider/127.0.0.1:6443"; got != want {
		t.Errorf("providerARN = %q, want %q", got, want)
	}
	tests := []struct {
		role    string
		sub     string
		wantARN string
		want    bool
	}{
		{role: "app", sub: "system:serviceaccount:default:app", wantARN: "arn:aws:iam::111122223333:role/app", want: true},
		{role: "app", sub: "system:serviceaccount:default:other", wantARN: "arn:aws:iam::111122223333:role/app", want: false},
		{role: "team/ns-wide", sub: "system:serviceaccount:team:anything", wantARN: "arn:aws:iam::111122223333:role/team/ns-wide", want: true},
		{role: "team/ns-wide", sub: "system:serviceaccount:other:anything", wantARN: "arn:aws:iam::111122223333:role/team/ns-wide", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.sub, func(t *testing.T) {
			var role *Role
			for i := range cfg.Roles {
				if cfg.Roles[i].Name == tt.role {
					role = &cfg.Roles[i]
				}
			}
			if role == nil {
				t.Fatalf("role %s not loaded", tt.role)
			}
			if got := cfg.roleARN(role.Name); got != tt.wantARN {
				t.Errorf("roleARN = %q, want %q", got, tt.wantARN)
			}
			pol, err := ParsePolicy(role.TrustPolicy)
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			got := pol.Allows(RequestContext{
				Action:    "sts:AssumeRoleWithWebIdentity",
				Federated: "arn:aws:iam::111122223333:oidc-provider/127.0.0.1:6443",
				Keys:      map[string][]string{"127.0.0.1:6443:sub": {tt.sub}, "127.0.0.1:6443:aud": {"sts.amazonaws.com"}},
			})
			if got != tt.want {
				t.Errorf("Allows = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	const policy = `{Statement: {Effect: Allow, Principal: "*", Action: "sts:AssumeRoleWithWebIdentity"}}`
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "valid", yaml: `{account: "111122223333", roles: [{name: app, trustPolicy: ` + policy + `}]}`},
		{name: "account not 12 digits", yaml: `{account: "1234"}`, wantErr: `account "1234" is not 12 digits`},
		{name: "unknown field", yaml: `{account: "111122223333", role: []}`, wantErr: `unknown field "role"`},
		{name: "issuer not a URL", yaml: `{account: "111122223333", providers: [{issuer: "127.0.0.1:6443", clientIDs: [a]}]}`, wantErr: "is not an http(s) URL"},
		{name: "provider without client IDs", yaml: `{account: "111122223333", providers: [{issuer: "https://127.0.0.1:6443"}]}`, wantErr: "no clientIDs"},
		{name: "provider twice", yaml: `{account: "111122223333", providers: [{issuer: "https://a", clientIDs: [x]}, {issuer: "https://a/", clientIDs: [x]}]}`, wantErr: "registered twice"},
		{name: "bad role name", yaml: `{account: "111122223333", roles: [{name: "a b", trustPolicy: ` + policy + `}]}`, wantErr: "not a valid IAM role name"},
		{name: "role twice", yaml: `{account: "111122223333", roles: [{name: a, trustPolicy: ` + policy + `}, {name: a, trustPolicy: ` + policy + `}]}`, wantErr: "defined twice"},
		{name: "no trust policy", yaml: `{account: "111122223333", roles: [{name: a}]}`, wantErr: "no policy document"},
		{name: "max session too long", yaml: `{account: "111122223333", roles: [{name: a, maxSessionDuration: 50000, trustPolicy: ` + policy + `}]}`, wantErr: "outside 3600..43200"},
		{name: "same role name under two paths", yaml: `{account: "111122223333", roles: [{name: a/app, trustPolicy: ` + policy + `}, {name: b/app, trustPolicy: ` + policy + `}]}`, wantErr: `role name "app" is defined twice`},
		{name: "user of another account", yaml: `{account: "111122223333", users: [{arn: "arn:aws:iam::444455556666:user/dev", accessKeyId: AKIAEXAMPLE0000001, secretAccessKey: 0123456789abcdef0}]}`, wantErr: "is not a user ARN of the account"},
		{name: "user key twice", yaml: `{account: "111122223333", users: [{arn: "arn:aws:iam::111122223333:user/a", accessKeyId: AKIAEXAMPLE0000001, secretAccessKey: 0123456789abcdef0}, {arn: "arn:aws:iam::111122223333:user/b", accessKeyId: AKIAEXAMPLE0000001, secretAccessKey: 0123456789abcdef0}]}`, wantErr: "is used twice"},
		{name: "short secret never quoted", yaml: `{account: "111122223333", users: [{arn: "arn:aws:iam::111122223333:user/a", accessKeyId: AKIAEXAMPLE0000001, secretAccessKey: tiny-secret}]}`, wantErr: "secretAccessKey is shorter than 16 characters"},
		{name: "deny not an action", yaml: `{account: "111122223333", users: [{arn: "arn:aws:iam::111122223333:user/a", accessKeyId: AKIAEXAMPLE0000001, secretAccessKey: 0123456789abcdef0, deny: [GetRole]}]}`, wantErr: `"GetRole" is not an action`},
		{name: "role allow not an action", yaml: `{account: "111122223333", roles: [{name: a, trustPolicy: ` + policy + `, allow: ["GetRole"]}]}`, wantErr: `allow: "GetRole" is not an action`},
		{name: "cluster without region", yaml: `{account: "111122223333", clusters: [{name: local, issuer: "https://127.0.0.1:6443"}]}`, wantErr: `region "" is not a region name`},
		{name: "cluster issuer not a URL", yaml: `{account: "111122223333", clusters: [{name: local, region: us-west-2, issuer: "127.0.0.1"}]}`, wantErr: "is not an http(s) URL"},
		{name: "unsupported operator", yaml: `{account: "111122223333", roles: [{name: a, trustPolicy: {Statement: [{Effect: Allow, Principal: "*", Action: "sts:*", Condition: {NumericLessThan: {x: "1"}}}]}}]}`, wantErr: `"NumericLessThan" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "tiny-secret") {
				t.Fatalf("ParseConfig error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

package probe

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

func TestIRSAChecks(t *testing.T) {
	allPass := map[string]check.Status{
		CheckEnvPath: check.StatusPass, CheckEnvRoleARN: check.StatusPass, CheckEnvTokenFile: check.StatusPass,
		CheckTokenFile: check.StatusPass, CheckTokenFormat: check.StatusPass, CheckTokenAudience: check.StatusPass,
		CheckTokenLifetime: check.StatusPass, CheckTokenExpiry: check.StatusPass, CheckTokenIssuer: check.StatusPass,
		CheckTokenSubject: check.StatusPass, CheckSTSAssumeRole: check.StatusPass, CheckSTSCallerIdentity: check.StatusPass,
	}
	tests := []struct {
		name    string
		claims  func(*tokenClaims)
		env     func(map[string]string)
		file    any // replaces the token file's contents when not nil
		cfg     func(*Config)
		want    map[string]check.Status // checks that differ from allPass
		wantRes check.Status
		wantMsg map[string]string // name -> substring of its message
		wantFix string            // substring of the result's fix
	}{
		{
			name:    "good token",
			wantRes: check.StatusPass,
			wantMsg: map[string]string{CheckTokenAudience: "aud contains sts.amazonaws.com", CheckSTSCallerIdentity: "assumed-role/checkout-role/"},
		},
		{
			name:    "wrong audience",
			claims:  func(c *tokenClaims) { c.Audience = jwt.Audience{"vault"} },
			want:    map[string]check.Status{CheckTokenAudience: check.StatusFail},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckTokenAudience: "aud is [vault], not sts.amazonaws.com"},
			wantFix: "eks.amazonaws.com/audience=sts.amazonaws.com",
		},
		{
			name:    "custom audience expected",
			claims:  func(c *tokenClaims) { c.Audience = jwt.Audience{"my-aud", "other"} },
			cfg:     func(c *Config) { c.ExpectedAudience = "my-aud" },
			wantRes: check.StatusPass,
		},
		{
			name: "wrong lifetime",
			claims: func(c *tokenClaims) {
				c.Expiry = jwt.NewNumericDate(c.IssuedAt.Time().Add(3600 * time.Second))
			},
			want:    map[string]check.Status{CheckTokenLifetime: check.StatusWarn},
			wantRes: check.StatusWarn,
			wantMsg: map[string]string{CheckTokenLifetime: "exp - iat is 3600s, expected 86400s"},
			wantFix: "issued 3600s for a request of 86400s",
		},
		{
			name:    "no expected expiration",
			cfg:     func(c *Config) { c.ExpectedExpiration = 0 },
			want:    map[string]check.Status{CheckTokenLifetime: check.StatusSkip},
			wantRes: check.StatusPass,
		},
		{
			name: "expired",
			claims: func(c *tokenClaims) {
				iat := testNow.Add(-48 * time.Hour)
				c.IssuedAt, c.NotBefore = jwt.NewNumericDate(iat), jwt.NewNumericDate(iat)
				c.Expiry = jwt.NewNumericDate(iat.Add(86400 * time.Second))
			},
			want:    map[string]check.Status{CheckTokenExpiry: check.StatusFail},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckTokenExpiry: "the token expired at 2026-01-01T03:04:05Z, 24h0m0s ago"},
			wantFix: "kubelet rewrites the token",
		},
		{
			name:    "no exp claim",
			claims:  func(c *tokenClaims) { c.Expiry = nil },
			want:    map[string]check.Status{CheckTokenExpiry: check.StatusFail, CheckTokenLifetime: check.StatusFail},
			wantRes: check.StatusFail,
		},
		{
			name:    "wrong issuer",
			claims:  func(c *tokenClaims) { c.Issuer = "https://kubernetes.default.svc" },
			want:    map[string]check.Status{CheckTokenIssuer: check.StatusFail},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckTokenIssuer: "iss is https://kubernetes.default.svc, not the cluster's issuer " + testIssuer},
			wantFix: "--service-account-issuer",
		},
		{
			name:    "issuer with trailing slash",
			claims:  func(c *tokenClaims) { c.Issuer = testIssuer + "/" },
			wantRes: check.StatusPass,
		},
		{
			name:    "no expected issuer",
			cfg:     func(c *Config) { c.ExpectedIssuer = "" },
			want:    map[string]check.Status{CheckTokenIssuer: check.StatusSkip},
			wantRes: check.StatusPass,
			wantMsg: map[string]string{CheckTokenIssuer: "iss is " + testIssuer},
		},
		{
			name:    "wrong subject",
			claims:  func(c *tokenClaims) { c.Subject = "system:serviceaccount:shop:default" },
			want:    map[string]check.Status{CheckTokenSubject: check.StatusFail},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckTokenSubject: "sub is system:serviceaccount:shop:default, not " + testSubject},
			wantFix: "spec.serviceAccountName",
		},
		{
			name: "unreadable file",
			file: fs.ErrPermission,
			want: map[string]check.Status{
				CheckTokenFile: check.StatusFail, CheckTokenFormat: check.StatusSkip, CheckTokenAudience: check.StatusSkip,
				CheckTokenLifetime: check.StatusSkip, CheckTokenExpiry: check.StatusSkip, CheckTokenIssuer: check.StatusSkip,
				CheckTokenSubject: check.StatusSkip, CheckSTSAssumeRole: check.StatusSkip, CheckSTSCallerIdentity: check.StatusSkip,
			},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckTokenFile: testTokenPath + " is not readable by uid 65532"},
			wantFix: "non-root container without fsGroup cannot read the token: set the pod's securityContext.fsGroup",
		},
		{
			name: "missing file",
			file: fs.ErrNotExist,
			want: map[string]check.Status{
				CheckTokenFile: check.StatusFail, CheckTokenFormat: check.StatusSkip, CheckTokenAudience: check.StatusSkip,
				CheckTokenLifetime: check.StatusSkip, CheckTokenExpiry: check.StatusSkip, CheckTokenIssuer: check.StatusSkip,
				CheckTokenSubject: check.StatusSkip, CheckSTSAssumeRole: check.StatusSkip, CheckSTSCallerIdentity: check.StatusSkip,
			},
			wantRes: check.StatusFail,
			wantFix: "aws-iam-token projected volume is not mounted",
		},
		{
			name: "not a JWT",
			file: "hello",
			want: map[string]check.Status{
				CheckTokenFormat: check.StatusFail, CheckTokenAudience: check.StatusSkip, CheckTokenLifetime: check.StatusSkip,
				CheckTokenExpiry: check.StatusSkip, CheckTokenIssuer: check.StatusSkip, CheckTokenSubject: check.StatusSkip,
			},
			wantRes: check.StatusFail,
		},
		{
			name: "token path from env, not hard-coded",
			env: func(e map[string]string) {
				e[envWebIdentityTokenFile] = "/var/run/secrets/openshift/serviceaccount/token"
			},
			wantRes: check.StatusPass,
			wantMsg: map[string]string{CheckTokenFile: "/var/run/secrets/openshift/serviceaccount/token is readable"},
		},
		{
			name: "missing AWS_ROLE_ARN",
			env:  func(e map[string]string) { delete(e, envRoleARN) },
			want: map[string]check.Status{
				CheckEnvRoleARN: check.StatusFail, CheckSTSAssumeRole: check.StatusSkip, CheckSTSCallerIdentity: check.StatusSkip,
			},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckSTSAssumeRole: "not run: env.role_arn failed"},
		},
		{
			name: "missing AWS_WEB_IDENTITY_TOKEN_FILE",
			env:  func(e map[string]string) { delete(e, envWebIdentityTokenFile) },
			want: map[string]check.Status{
				CheckEnvTokenFile: check.StatusFail, CheckTokenFile: check.StatusSkip, CheckTokenFormat: check.StatusSkip,
				CheckTokenAudience: check.StatusSkip, CheckTokenLifetime: check.StatusSkip, CheckTokenExpiry: check.StatusSkip,
				CheckTokenIssuer: check.StatusSkip, CheckTokenSubject: check.StatusSkip, CheckSTSAssumeRole: check.StatusSkip,
				CheckSTSCallerIdentity: check.StatusSkip,
			},
			wantRes: check.StatusFail,
		},
		{
			name:    "AWS_ROLE_ARN is not the expected role",
			env:     func(e map[string]string) { e[envRoleARN] = "arn:aws:iam::111122223333:role/old-role" },
			want:    map[string]check.Status{CheckEnvRoleARN: check.StatusFail},
			wantRes: check.StatusFail,
			wantMsg: map[string]string{CheckEnvRoleARN: "AWS_ROLE_ARN is arn:aws:iam::111122223333:role/old-role, expected " + testRoleARN},
			wantFix: "--overwrite), or expect the role it names",
		},
		{
			name:    "AWS_ROLE_ARN is not an ARN",
			env:     func(e map[string]string) { e[envRoleARN] = "checkout-role" },
			want:    map[string]check.Status{CheckEnvRoleARN: check.StatusFail, CheckSTSAssumeRole: check.StatusSkip, CheckSTSCallerIdentity: check.StatusSkip},
			wantRes: check.StatusFail,
		},
		{
			name:    "no expected role: compare with AWS_ROLE_ARN",
			cfg:     func(c *Config) { c.ExpectedRoleARN = "" },
			wantRes: check.StatusPass,
		},
		{
			name:    "no expected subject",
			cfg:     func(c *Config) { c.ExpectedSubject = "" },
			want:    map[string]check.Status{CheckTokenSubject: check.StatusSkip},
			wantRes: check.StatusPass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodClaims()
			if tt.claims != nil {
				tt.claims(&c)
			}
			env := irsaEnv()
			if tt.env != nil {
				tt.env(env)
			}
			fsys := files{env[envWebIdentityTokenFile]: signToken(t, c)}
			if tt.file != nil {
				fsys[env[envWebIdentityTokenFile]] = tt.file
			}
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			rec := &recorder{}
			sum, err := Run(context.Background(), cfg, fakeDeps(env, fsys, okSTS()), rec)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := map[string]check.Status{}
			for k, v := range allPass {
				want[k] = v
			}
			for k, v := range tt.want {
				want[k] = v
			}
			got := rec.statuses()
			for name, st := range want {
				if got[name] != st {
					t.Errorf("%s: got %q, want %q (%s)", name, got[name], st, messageOf(rec, name))
				}
			}
			for name, sub := range tt.wantMsg {
				if msg := messageOf(rec, name); !strings.Contains(msg, sub) {
					t.Errorf("%s message %q does not contain %q", name, msg, sub)
				}
			}
			res := rec.last(t)
			if res.Type != check.TypeResult || res.Status != tt.wantRes || sum.Status != tt.wantRes {
				t.Errorf("result %+v, summary %+v, want %s", res, sum, tt.wantRes)
			}
			if !strings.Contains(res.Fix, tt.wantFix) {
				t.Errorf("result fix %q does not contain %q", res.Fix, tt.wantFix)
			}
			if sum.Path != PathIRSA {
				t.Errorf("path %q", sum.Path)
			}
		})
	}
}

func messageOf(rec *recorder, name string) string {
	for _, ev := range rec.events {
		if ev.Type == check.TypeCheck && ev.Check == name {
			return ev.Message
		}
	}
	return ""
}

func TestDecodeToken(t *testing.T) {
	c := goodClaims()
	c.Audience = jwt.Audience{"a", "b"}
	tests := []struct {
		name    string
		raw     string
		wantAud []string
		wantErr string
	}{
		{name: "signed token", raw: signToken(t, c), wantAud: []string{"a", "b"}},
		{name: "trailing newline", raw: signToken(t, c) + "\n", wantAud: []string{"a", "b"}},
		{name: "empty", raw: " \n", wantErr: "the token is empty"},
		{name: "garbage", raw: "a.b.c", wantErr: "not a signed JWT"},
		{name: "unsigned alg none", raw: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", wantErr: "not a signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeToken(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Audience, ",") != strings.Join(tt.wantAud, ",") || got.Subject != testSubject || got.Issuer != testIssuer {
				t.Errorf("claims %+v", got)
			}
			if got.Expiry == nil || got.IssuedAt == nil || got.Expiry.Sub(*got.IssuedAt) != 86400*time.Second {
				t.Errorf("times %v %v", got.IssuedAt, got.Expiry)
			}
		})
	}
}

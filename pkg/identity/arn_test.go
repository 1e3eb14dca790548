package identity

import (
	"strings"
	"testing"
)

func TestParseRoleARN(t *testing.T) {
	tests := []struct {
		arn     string
		want    RoleARN
		wantErr string // substring of the error; empty: valid
	}{
		{arn: "arn:aws:iam::123456789012:role/app", want: RoleARN{"aws", "123456789012", "/", "app"}},
		{arn: "arn:aws-cn:iam::123456789012:role/app", want: RoleARN{"aws-cn", "123456789012", "/", "app"}},
		{arn: "arn:aws-us-gov:iam::123456789012:role/app", want: RoleARN{"aws-us-gov", "123456789012", "/", "app"}},
		{arn: "arn:aws-iso:iam::123456789012:role/app", want: RoleARN{"aws-iso", "123456789012", "/", "app"}},
		{arn: "arn:aws-iso-b:iam::123456789012:role/app", want: RoleARN{"aws-iso-b", "123456789012", "/", "app"}},
		{arn: "arn:aws:iam::123456789012:role/team/app", want: RoleARN{"aws", "123456789012", "/team/", "app"}},
		{arn: "arn:aws:iam::123456789012:role/a/b/c/app", want: RoleARN{"aws", "123456789012", "/a/b/c/", "app"}},
		{arn: "arn:aws:iam::123456789012:role/my+role=x,y.z@w_v-u", want: RoleARN{"aws", "123456789012", "/", "my+role=x,y.z@w_v-u"}},
		{arn: "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 64), want: RoleARN{"aws", "123456789012", "/", strings.Repeat("r", 64)}},
		{arn: "", wantErr: "not an ARN"},
		{arn: "app", wantErr: "not an ARN"},
		{arn: "arn:aws:iam::123456789012", wantErr: "not an ARN"},
		{arn: "urn:aws:iam::123456789012:role/app", wantErr: "not an ARN"},
		{arn: "arn:azure:iam::123456789012:role/app", wantErr: "unknown partition"},
		{arn: "arn::iam::123456789012:role/app", wantErr: "unknown partition"},
		{arn: "arn:aws:sts::123456789012:role/app", wantErr: "service iam"},
		{arn: "arn:aws:iam:us-east-1:123456789012:role/app", wantErr: "region field must be empty"},
		{arn: "arn:aws:iam::12345678901:role/app", wantErr: "12 digits"},
		{arn: "arn:aws:iam::1234567890123:role/app", wantErr: "12 digits"},
		{arn: "arn:aws:iam::12345678901a:role/app", wantErr: "12 digits"},
		{arn: "arn:aws:iam::123456789012:user/app", wantErr: "not a role"},
		{arn: "arn:aws:iam::123456789012:role/", wantErr: "role name"},
		{arn: "arn:aws:iam::123456789012:role/app name", wantErr: "role name"},
		{arn: "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65), wantErr: "role name"},
		{arn: "arn:aws:iam::123456789012:role/team//app", wantErr: "invalid path"},
		{arn: "arn:aws:iam::123456789012:role/te am/app", wantErr: "invalid path"},
		{arn: "arn:minio:iam:::role/abc", wantErr: "unknown partition"},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			got, err := ParseRoleARN(tt.arn)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRoleARN(%q) error = %v, want one containing %q", tt.arn, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRoleARN(%q) = %v", tt.arn, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRoleARN(%q) = %+v, want %+v", tt.arn, got, tt.want)
			}
			if got.String() != tt.arn {
				t.Fatalf("String() = %q, want %q", got.String(), tt.arn)
			}
		})
	}
}

// TestAccountIDAndForeignRoleARN: what the account-ID grammar and an STS-compatible service's
// role ARN take, and what they refuse.
func TestAccountIDAndForeignRoleARN(t *testing.T) {
	if !ValidAccountID("123456789012") {
		t.Error("ValidAccountID(123456789012) = false")
	}
	for _, s := range []string{"12345678901", "1234567890123", "12345678901a", ""} {
		if ValidAccountID(s) {
			t.Errorf("ValidAccountID(%q) = true", s)
		}
	}
	if !ForeignRoleARN("arn:minio:iam:::role/abc") {
		t.Error("ForeignRoleARN(arn:minio:iam:::role/abc) = false")
	}
	for _, s := range []string{"arn:aws:iam::123456789012:role/app", "arn:minio:iam:::user/abc", "arn:minio:sts:::role/abc", "arn:minio:iam:::role/a b", "arn:minio:iam"} {
		if ForeignRoleARN(s) {
			t.Errorf("ForeignRoleARN(%q) = true", s)
		}
	}
}

// The ARNs the probe reads: role ARNs of every AWS partition, and the sessions STS names callers
// by, whose partition, account and role name follow the role ARN's grammar.
func TestParseRoleAndAssumedRoleARNs(t *testing.T) {
	roles := []struct {
		arn      string
		wantOK   bool
		wantName string
	}{
		{"arn:aws:iam::111122223333:role/app", true, "app"},
		{"arn:aws:iam::111122223333:role/team/sub/app", true, "app"},
		{"arn:aws-us-gov:iam::111122223333:role/app", true, "app"},
		{"arn:aws-cn:iam::111122223333:role/app", true, "app"},
		{"arn:aws:iam::11112222333:role/app", false, ""},
		{"arn:aws:iam::111122223333:user/app", false, ""},
		{"arn:aws:sts::111122223333:assumed-role/app/s", false, ""},
		{"app", false, ""},
	}
	for _, tt := range roles {
		got, err := ParseRoleARN(tt.arn)
		if (err == nil) != tt.wantOK || got.Name != tt.wantName {
			t.Errorf("ParseRoleARN(%q) = %+v, %v", tt.arn, got, err)
		}
	}
	sessions := []struct {
		arn  string
		want AssumedRoleARN
		ok   bool
	}{
		{"arn:aws:sts::111122223333:assumed-role/app/kubectl-wi-probe", AssumedRoleARN{"aws", "111122223333", "app", "kubectl-wi-probe"}, true},
		{"arn:aws-cn:sts::111122223333:assumed-role/app/s/with/slashes", AssumedRoleARN{"aws-cn", "111122223333", "app", "s/with/slashes"}, true},
		// A partition, account or name the role ARN grammar refuses, a user, no session.
		{"arn:awsx:sts::111122223333:assumed-role/app/s", AssumedRoleARN{}, false},
		{"arn:aws:sts::1111:assumed-role/app/s", AssumedRoleARN{}, false},
		{"arn:aws:sts::111122223333:assumed-role/a b/s", AssumedRoleARN{}, false},
		{"arn:aws:iam::111122223333:user/app", AssumedRoleARN{}, false},
		{"arn:aws:sts::111122223333:assumed-role/app/", AssumedRoleARN{}, false},
		{"arn:aws:sts:us-east-1:111122223333:assumed-role/app/s", AssumedRoleARN{}, false},
	}
	for _, tt := range sessions {
		got, ok := ParseAssumedRoleARN(tt.arn)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseAssumedRoleARN(%q) = %+v, %v; want %+v, %v", tt.arn, got, ok, tt.want, tt.ok)
		}
	}
	role, _ := ParseRoleARN("arn:aws:iam::111122223333:role/path/app")
	if s, _ := ParseAssumedRoleARN("arn:aws:sts::111122223333:assumed-role/app/x"); !s.SessionOf(role) {
		t.Error("a session of the role's name, without its path, is not taken as the role's")
	}
	if s, _ := ParseAssumedRoleARN("arn:aws:sts::999922223333:assumed-role/app/x"); s.SessionOf(role) {
		t.Error("another account's session is taken as the role's")
	}
	foreign, ok := ParseForeignRoleARN("arn:minio:iam:::role/team/abc")
	if !ok || foreign != (RoleARN{Partition: "minio", Path: "/team/", Name: "abc"}) {
		t.Errorf("ParseForeignRoleARN = %+v, %v", foreign, ok)
	}
	for _, s := range []string{"arn:aws:iam::111122223333:role/app", "arn:minio:iam:::role/", "arn:minio:sts:::role/x", "arn::iam:::role/x"} {
		if _, ok := ParseForeignRoleARN(s); ok {
			t.Errorf("ParseForeignRoleARN(%q) took it", s)
		}
	}
}

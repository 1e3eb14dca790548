package identity

import (
	"strings"
	"testing"
)

// FuzzParseRoleARN: ParseRoleARN never panics; what it accepts renders back to exactly the
// input (nothing trimmed or normalised on the way to a write), and what it refuses is named.
func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/app", "arn:aws-cn:iam::123456789012:role/a/b/app",
		"arn:aws-us-gov:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/app ",
		" arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:user/app",
		"arn:aws:iam::12345678901:role/app", "arn:aws:iam:us-east-1:123456789012:role/app",
		"arn:aws:iam::123456789012:role//app", "arn:aws:iam::123456789012:role/" + strings.Repeat("a", 600),
		"arn:aws:iam::123456789012:role/a:b", "", ":::::", "arn:aws:iam::123456789012:role/é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoleARN(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "role ARN ") {
				t.Fatalf("error %q does not name the role ARN", err)
			}
			return
		}
		if got := r.String(); got != s {
			t.Fatalf("accepted %q but renders it as %q", s, got)
		}
		if _, err := ParseRoleARN(r.String()); err != nil {
			t.Fatalf("refuses its own rendering %q: %v", r.String(), err)
		}
	})
}

// FuzzFromAnnotations: reading annotations never panics, keeps the role as written, and
// agrees with what Annotations writes back for a config it reads.
func FuzzFromAnnotations(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/app", "sts.amazonaws.com", "true", "3600", "init, app")
	f.Add(" x ", "", "True", " 60", `"a,b`)
	f.Add("", "aud", "1", "-5", "")
	f.Fuzz(func(t *testing.T, role, aud, regional, exp, skip string) {
		a := map[string]string{AnnotationRoleARN: role, AnnotationAudience: aud, AnnotationSTSRegional: regional, AnnotationTokenExpiration: exp}
		cfg, ok := FromAnnotations(a)
		if ok != (role != "") || (ok && cfg.RoleARN != role) {
			t.Fatalf("FromAnnotations(role %q) = %+v, %t", role, cfg, ok)
		}
		if ok {
			again, _ := FromAnnotations(cfg.Annotations())
			if again.RoleARN != cfg.RoleARN || again.STSRegional != cfg.STSRegional || again.EffectiveAudience() != cfg.EffectiveAudience() {
				t.Fatalf("%+v does not survive Annotations: %+v", cfg, again)
			}
			if e := cfg.EffectiveExpiration(map[string]string{AnnotationTokenExpiration: exp}); e < MinTokenExpiration {
				t.Fatalf("expiration %d below the webhook's floor", e)
			}
		}
		for _, name := range SkippedContainers(map[string]string{AnnotationSkipContainers: skip}) {
			// Unquoted CSV: every name is in the value as written, spaces included.
			if !strings.Contains(skip, `"`) && !strings.Contains(skip, name) {
				t.Fatalf("skip-containers %q names %q", skip, name)
			}
		}
	})
}

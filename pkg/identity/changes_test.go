package identity

import (
	"reflect"
	"testing"
)

func TestAnnotationChanges(t *testing.T) {
	str := func(s string) *string { return &s }
	const other = "arn:aws:iam::123456789012:role/other"
	tests := []struct {
		name        string
		annotations map[string]string
		want        *Config
		wantChanges map[string]*string
	}{
		{name: "new role", annotations: nil, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{AnnotationRoleARN: str(testRole)}},
		{name: "same role", annotations: map[string]string{AnnotationRoleARN: testRole, "keep": "x"}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{}},
		{name: "other role", annotations: map[string]string{AnnotationRoleARN: other}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{AnnotationRoleARN: str(testRole)}},
		{name: "all set", annotations: nil, want: &Config{RoleARN: testRole, Audience: "a", TokenExpiration: 3600, STSRegional: true},
			wantChanges: map[string]*string{AnnotationRoleARN: str(testRole), AnnotationAudience: str("a"), AnnotationTokenExpiration: str("3600"), AnnotationSTSRegional: str("true")}},
		{name: "stale extras removed", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationAudience: "a", AnnotationTokenExpiration: "3600", AnnotationSTSRegional: "true"}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{AnnotationAudience: nil, AnnotationTokenExpiration: nil, AnnotationSTSRegional: nil}},
		{name: "explicit defaults kept", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationAudience: DefaultAudience, AnnotationTokenExpiration: "86400", AnnotationSTSRegional: "false"}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{}},
		{name: "explicit default audience asked", annotations: map[string]string{AnnotationRoleARN: testRole}, want: &Config{RoleARN: testRole, Audience: DefaultAudience},
			wantChanges: map[string]*string{}},
		{name: "expiration same number", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationTokenExpiration: "03600"}, want: &Config{RoleARN: testRole, TokenExpiration: 3600},
			wantChanges: map[string]*string{}},
		{name: "expiration junk replaced", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationTokenExpiration: "soon"}, want: &Config{RoleARN: testRole, TokenExpiration: 3600},
			wantChanges: map[string]*string{AnnotationTokenExpiration: str("3600")}},
		{name: "expiration junk removed", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationTokenExpiration: "soon"}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{AnnotationTokenExpiration: nil}},
		{name: "regional junk removed", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationSTSRegional: "yes"}, want: &Config{RoleARN: testRole},
			wantChanges: map[string]*string{AnnotationSTSRegional: nil}},
		{name: "disable removes all present", annotations: map[string]string{AnnotationRoleARN: testRole, AnnotationAudience: DefaultAudience, AnnotationSkipContainers: "x", "keep": "x"}, want: nil,
			wantChanges: map[string]*string{AnnotationRoleARN: nil, AnnotationAudience: nil}},
		{name: "disable on clean account", annotations: map[string]string{"keep": "x"}, want: nil,
			wantChanges: map[string]*string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AnnotationChanges(tt.annotations, tt.want)
			if !reflect.DeepEqual(got, tt.wantChanges) {
				t.Fatalf("AnnotationChanges() = %v, want %v", render(got), render(tt.wantChanges))
			}
		})
	}
}

func TestChangedKeysOrder(t *testing.T) {
	got := ChangedKeys(map[string]*string{AnnotationTokenExpiration: nil, AnnotationRoleARN: nil, AnnotationAudience: nil})
	want := []string{AnnotationRoleARN, AnnotationAudience, AnnotationTokenExpiration}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ChangedKeys() = %v, want %v", got, want)
	}
}

func render(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v == nil {
			out[k] = "<remove>"
		} else {
			out[k] = *v
		}
	}
	return out
}

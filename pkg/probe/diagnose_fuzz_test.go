package probe

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

// FuzzDiagnoseSTSError: whatever code and message STS (or something posing as it) answers,
// the probe names a cause and a fix, and keeps the code and message it got.
func FuzzDiagnoseSTSError(f *testing.F) {
	for _, c := range [][2]string{
		{"InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://oidc.example.com"},
		{"AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"ExpiredTokenException", "Token expired: current date/time 1 must be before the expiration date/time0"},
		{"IDPCommunicationError", ""}, {"", ""}, {"RegionDisabledException", "x"}, {"\x00", "\xff"},
	} {
		f.Add(c[0], c[1], "AssumeRoleWithWebIdentity")
	}
	f.Add("AccessDenied", "", "GetCallerIdentity")
	f.Fuzz(func(t *testing.T, code, msg, op string) {
		err := &smithy.OperationError{ServiceID: "STS", OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
		d := DiagnoseSTSError(err, DiagnosisContext{Op: op, RoleARN: "arn:aws:iam::111122223333:role/app"})
		if d.Code != code || d.Message != msg {
			t.Fatalf("diagnosis %+v lost the code %q or message %q", d, code, msg)
		}
		if d.Cause == "" || d.Fix == "" {
			t.Fatalf("no cause or fix for %q %q: %+v", code, msg, d)
		}
		if DiagnoseSTSError(errors.New(msg), DiagnosisContext{Op: op}).Fix == "" {
			t.Fatalf("a transport error %q has no fix", msg)
		}
	})
}

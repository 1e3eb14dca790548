package awsconfig

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

func TestCallErrorNamesTheDeniedAction(t *testing.T) {
	tests := []struct {
		name, action, message string
		want, notWant         string
	}{
		{name: "a read", action: "iam:GetRole", message: "User: arn:aws:iam::111122223333:user/u is not authorized to perform: iam:GetRole on resource: role app",
			want: "ask for iam:GetRole, a read-only action"},
		{name: "a write", action: "eks:DeletePodIdentityAssociation", message: "not authorized",
			want: "ask for eks:DeletePodIdentityAssociation", notWant: "read-only"},
		{name: "another action the call needs", action: "eks:CreatePodIdentityAssociation",
			message: "User: arn:aws:iam::111122223333:user/u is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/app because no identity-based policy allows the iam:PassRole action",
			want:    "may not call eks:CreatePodIdentityAssociation on cluster prod (AccessDeniedException: User: arn:aws:iam::111122223333:user/u is not authorized to perform: iam:PassRole", notWant: "read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Wrap(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: tt.message}, tt.action, "cluster prod")
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || (tt.notWant != "" && strings.Contains(msg, tt.notWant)) {
				t.Fatalf("%s\nwant it to contain %q and not %q", msg, tt.want, tt.notWant)
			}
			if tt.name == "another action the call needs" && !strings.HasSuffix(msg, "ask for iam:PassRole") {
				t.Fatalf("%s\ndoes not end asking for iam:PassRole", msg)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || !IsAccessDenied(err) {
				t.Fatalf("the SDK's error is not kept: %v", err)
			}
		})
	}
}

// The SDK's logger would write its own lines to the user's terminal (a fallback to IMDSv1, a
// retry); Load replaces it with one that drops them, whatever the environment asks for.
func TestLoadSilencesTheSDKLogger(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_PROFILE", "")
	cfg, err := Load(context.Background(), Options{Region: "us-west-2", NoIMDS: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("the SDK logs through %T, which writes to the terminal", cfg.Logger)
	}
}

package awsread

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
)

// TestSDKThroughTheUsersConfig: the SDK clients take the user's configuration as the SDK
// reads it: a static key, AWS_ENDPOINT_URL_IAM and AWS_CA_BUNDLE reach a local TLS server,
// and IAM's answers and errors come back as the Reader returns them.
func TestSDKThroughTheUsersConfig(t *testing.T) {
	var auth []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("RoleName") {
		case "app":
			_, _ = w.Write([]byte(`<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>app</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>arn:aws:iam::111122223333:role/app</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument></Role></GetRoleResult></GetRoleResponse>`))
		case "denied":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111122223333:user/dev is not authorized to perform: iam:GetRole</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error><RequestId>2</RequestId></ErrorResponse>`))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret", "AWS_SESSION_TOKEN": "",
		"AWS_ENDPOINT_URL_IAM": srv.URL, "AWS_CA_BUNDLE": ca, "AWS_REGION": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sdk := NewSDK(cfg)
	role, err := sdk.GetRole(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if role.ARN != "arn:aws:iam::111122223333:role/app" || role.TrustPolicy != "%7B%22Version%22%3A%222012-10-17%22%7D" {
		t.Fatalf("role %+v", role)
	}
	if len(auth) != 1 || !strings.Contains(auth[0], "Credential=AKIAEXAMPLE/") || !strings.Contains(auth[0], "/us-east-1/iam/aws4_request") {
		t.Fatalf("request not signed with the user's key for IAM's global region: %q", auth)
	}
	_, err = sdk.GetRole(context.Background(), "gone")
	if !awsconfig.IsNotFound(err) {
		t.Fatalf("NoSuchEntity not recognised: %v", err)
	}
	_, err = sdk.GetRole(context.Background(), "denied")
	var ce *awsconfig.CallError
	if !errors.As(err, &ce) || !awsconfig.IsAccessDenied(err) || !strings.Contains(err.Error(), "your AWS credentials may not call iam:GetRole on role denied") {
		t.Fatalf("AccessDenied: %v", err)
	}
	if strings.Contains(err.Error(), "not-a-real-secret") {
		t.Fatal("the secret key appears in an error")
	}
}

func TestNoCredentialsAndProfiles(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWS_REGION": "us-west-2",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_IAM": "https://127.0.0.1:1",
	} {
		t.Setenv(k, v)
	}
	if _, err := awsconfig.Load(context.Background(), awsconfig.Options{Profile: "nope"}); err == nil || !strings.Contains(err.Error(), `the AWS profile "nope" is not in the shared config`) {
		t.Fatalf("missing profile: %v", err)
	} else if pe := new(awsconfig.ProfileError); !errors.As(err, &pe) {
		t.Fatalf("missing profile is not a ProfileError: %T", err)
	}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSDK(cfg).GetRole(context.Background(), "app")
	if !awsconfig.IsNoCredentials(err) || !strings.Contains(err.Error(), "no AWS credentials for iam:GetRole") {
		t.Fatalf("no credentials: %v", err)
	}
}

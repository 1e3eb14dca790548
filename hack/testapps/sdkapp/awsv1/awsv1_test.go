package awsv1

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"

	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp/internal/awsenv"
)

// These cases run against the aws-sdk-go this module requires, the oldest an app uses
// (v1.46.7, before v1.47.11 added EKS Pod Identity's agent address and token file): they pin
// what the go-sdkv1-old app logs on the test bed.
func TestRetrieve(t *testing.T) {
	if aws.SDKVersion != "1.46.7" {
		t.Fatalf("aws-sdk-go %s: these cases are aws-sdk-go 1.46.7's behaviour", aws.SDKVersion)
	}
	tokenFile := filepath.Join(t.TempDir(), "eks-pod-identity-token")
	if err := os.WriteFile(tokenFile, []byte("pod-identity-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          func(endpoint string) map[string]string
		auth         string // what the endpoint wants as Authorization
		wantSource   string
		wantExpires  bool   // the SDK reports when they expire
		wantErr      string // in the error
		wantLog      string // in the SDK's log
		wantRequests int32
	}{
		{
			name: "static keys from the environment",
			env: func(string) map[string]string {
				return map[string]string{"AWS_ACCESS_KEY_ID": awsenv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": awsenv.SecretAccessKey}
			},
			wantSource: "EnvConfigCredentials", // a session reads them itself, not through the chain
		},
		{
			name: "a container credentials endpoint on loopback, with a token in the environment",
			env: func(endpoint string) map[string]string {
				return map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "static-token"}
			},
			auth:       "static-token",
			wantSource: "CredentialsEndpointProvider",
			// no expiry: v1's chain provider does not pass its provider's on
			wantRequests: 1,
		},
		{
			name: "EKS Pod Identity's agent address is refused before any request",
			env: func(string) map[string]string {
				return map[string]string{
					"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "http://169.254.170.23/v1/credentials",
					"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
				}
			},
			wantErr: "NoCredentialProviders: no valid providers in chain",
			wantLog: `Ignoring, HTTP credential provider invalid endpoint host, "169.254.170.23", only loopback hosts are allowed.`,
		},
		{
			name:    "no credentials anywhere, instance metadata disabled",
			env:     func(string) map[string]string { return nil },
			wantErr: "NoCredentialProviders: no valid providers in chain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint, requests := awsenv.CredentialsServer(t, tt.auth)
			awsenv.Isolate(t, tt.env(endpoint))
			var sdkLog bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			got, err := Retrieve(ctx, &sdkLog)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Retrieve() error = %v, want one holding %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Retrieve() error = %v; SDK log:\n%s", err, sdkLog.String())
			}
			if got.Source != tt.wantSource {
				t.Errorf("Source = %q, want %q", got.Source, tt.wantSource)
			}
			// The SDK may refresh ahead of the endpoint's expiration, never after it.
			if tt.wantExpires && (got.Expires.IsZero() || got.Expires.After(awsenv.Expiration)) {
				t.Errorf("Expires = %v, want a time no later than %v", got.Expires, awsenv.Expiration)
			}
			if !strings.Contains(sdkLog.String(), tt.wantLog) {
				t.Errorf("SDK log lacks %q:\n%s", tt.wantLog, sdkLog.String())
			}
			if n := requests.Load(); n != tt.wantRequests {
				t.Errorf("endpoint requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

package awsv2

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp/internal/awsenv"
)

func TestRetrieve(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "eks-pod-identity-token")
	if err := os.WriteFile(tokenFile, []byte("pod-identity-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		env          func(endpoint string) map[string]string
		auth         string // what the endpoint wants as Authorization
		wantSource   string
		wantExpires  bool     // the SDK reports when they expire
		wantErr      []string // in the error
		wantRequests int32
	}{
		{
			name: "static keys from the environment",
			env: func(string) map[string]string {
				return map[string]string{"AWS_ACCESS_KEY_ID": awsenv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": awsenv.SecretAccessKey}
			},
			wantSource: "EnvConfigCredentials",
		},
		{
			name: "a container credentials endpoint with the token read from a file, as EKS Pod Identity sets it",
			env: func(endpoint string) map[string]string {
				return map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile}
			},
			auth:         "pod-identity-token",
			wantSource:   "CredentialsEndpointProvider",
			wantExpires:  true,
			wantRequests: 1,
		},
		{
			name: "no credentials anywhere: the chain ends at instance metadata, disabled",
			env:  func(string) map[string]string { return nil },
			wantErr: []string{
				"failed to refresh cached credentials, no EC2 IMDS role found",
				"AWS_EC2_METADATA_DISABLED",
			},
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
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Retrieve() error = %v, want one holding %q", err, w)
				}
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Retrieve() error = %v; SDK log:\n%s", err, sdkLog.String())
			}
			if got.Source != tt.wantSource {
				t.Errorf("Source = %q, want %q", got.Source, tt.wantSource)
			}
			// The SDK may refresh ahead of the endpoint's expiration, never after it.
			if tt.wantExpires && (got.Expires.IsZero() || got.Expires.After(awsenv.Expiration)) {
				t.Errorf("Expires = %v, want a time no later than %v", got.Expires, awsenv.Expiration)
			}
			if n := requests.Load(); n != tt.wantRequests {
				t.Errorf("endpoint requests = %d, want %d", n, tt.wantRequests)
			}
		})
	}
}

package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// In its pod the monitor's SDK finds its role as IRSA leaves it (AWS_ROLE_ARN and the token
// file the webhook injects) and exchanges the token at the endpoint install gave it
// (AWS_ENDPOINT_URL_STS), with instance metadata off; a refused exchange leaves AWS reads off.
// The SDK's global AWS_ENDPOINT_URL does not steer that exchange (config resolves it after
// the credentials), which is why install sets the variable per service.
func TestLoadAWSReadsWithWebIdentity(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/kubectl-wi-monitor"
	tests := []struct {
		name        string
		endpointVar string
		region      string
		status      int
		answer      string
		wantEnabled bool
		wantNoCall  bool
	}{
		{name: "the role assumed", endpointVar: "AWS_ENDPOINT_URL_STS", region: "us-west-2", status: http.StatusOK, answer: assumedAnswer, wantEnabled: true},
		{name: "the role assumed, no region given", endpointVar: "AWS_ENDPOINT_URL_STS", status: http.StatusOK, answer: assumedAnswer, wantEnabled: true},
		{name: "the exchange refused", endpointVar: "AWS_ENDPOINT_URL_STS", region: "us-west-2", status: http.StatusForbidden, answer: refusedAnswer},
		{name: "the global endpoint variable: not for the exchange", endpointVar: "AWS_ENDPOINT_URL", region: "us-west-2", status: http.StatusOK, answer: assumedAnswer, wantNoCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				mu.Lock()
				got = append(got, form)
				mu.Unlock()
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			defer srv.Close()
			token := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(token, []byte("projected-token"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_CONFIG_FILE", os.DevNull)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_ROLE_ARN", role)
			t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token)
			t.Setenv(tt.endpointVar, srv.URL)

			reads, why := LoadAWSReads(context.Background(), "", tt.region)
			if (reads != nil) != tt.wantEnabled {
				t.Fatalf("LoadAWSReads: reads %v (%s), want enabled %v", reads != nil, why, tt.wantEnabled)
			}
			if !tt.wantEnabled && !strings.Contains(why, "no AWS credentials") {
				t.Errorf("why = %q, want it to say no credentials were found", why)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantNoCall {
				if len(got) > 0 {
					t.Fatalf("%s reached the web identity exchange: the SDK now honours it, and install could set it alone", tt.endpointVar)
				}
				return
			}
			if len(got) == 0 {
				t.Fatal("no request reached the endpoint")
			}
			if f := got[0]; f.Get("Action") != "AssumeRoleWithWebIdentity" || f.Get("RoleArn") != role || f.Get("WebIdentityToken") != "projected-token" {
				t.Errorf("the endpoint got Action %q RoleArn %q and a token of %d characters, want the role's web identity exchange",
					f.Get("Action"), f.Get("RoleArn"), len(f.Get("WebIdentityToken")))
			}
		})
	}
}

// STS's answers, as its API reference gives them (AssumeRoleWithWebIdentity, and the query
// protocol's ErrorResponse).
const (
	assumedAnswer = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLEEXAMPLE00</AccessKeyId>
      <SecretAccessKey>example-secret-example-secret-example-00</SecretAccessKey>
      <SessionToken>example-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/kubectl-wi-monitor/s</Arn>
      <AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>`
	refusedAnswer = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>
  <RequestId>example</RequestId>
</ErrorResponse>`
)

// Package awsenv gives the SDK packages' tests a process environment with no AWS
// configuration but what a case sets, and a container credentials endpoint on loopback.
package awsenv

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Fake values the endpoint serves; never real.
const (
	AccessKeyID     = "ASIAWITESTSDKAPPFAKE"
	SecretAccessKey = "wiTestSdkappFakeSecretAccessKey0000000000"
	SessionToken    = "wiTestSdkappFakeSessionToken"
)

// Expiration is when the endpoint's credentials expire.
var Expiration = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Isolate clears every variable the SDKs' default chains read, points their shared files at
// nothing and disables instance metadata, for the rest of the test; then sets env.
func Isolate(t *testing.T, env map[string]string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "absent")
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SDK_LOAD_CONFIG", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE",
	} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// CredentialsServer serves container credentials on loopback, at the URL it returns, to a
// request whose Authorization header is wantAuth, and 403 to any other; requests counts them.
func CredentialsServer(t *testing.T, wantAuth string) (url string, requests *atomic.Int32) {
	t.Helper()
	requests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != wantAuth {
			http.Error(w, `{"code":"AccessDeniedException","message":"bad token"}`, http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     AccessKeyID,
			"SecretAccessKey": SecretAccessKey,
			"Token":           SessionToken,
			"Expiration":      Expiration.Format(time.RFC3339),
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/credentials", requests
}

package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
)

// TestReadClusterIssuer drives the discovery read against an HTTP server standing in for the
// apiserver, through a real clientset.
func TestReadClusterIssuer(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     string
		wantErr  []string
		wantCode int
	}{
		{name: "ok", status: 200, body: `{"issuer":"` + tpTestIssuer + `","jwks_uri":"` + tpTestIssuer + `/keys"}`, want: tpTestIssuer},
		{
			name: "forbidden", status: 403,
			body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden: User \"dev\" cannot get path \"/.well-known/openid-configuration\"","reason":"Forbidden","code":403}`,
			// The apiserver's message, which the discovery client does not decode by itself.
			wantErr: []string{"is forbidden", `User "dev" cannot get path`, "--issuer URL", "aws eks describe-cluster"}, wantCode: ExitEnvironment,
		},
		{name: "not found", status: 404, body: `404 page not found`, wantErr: []string{"does not serve", "--issuer"}, wantCode: ExitEnvironment},
		{name: "server error", status: 500, body: `boom`, wantErr: []string{"failed to read the cluster's issuer", "--issuer"}, wantCode: ExitEnvironment},
		{name: "not JSON", status: 200, body: `<html>`, wantErr: []string{"not a JSON discovery document"}, wantCode: ExitEnvironment},
		{name: "no issuer", status: 200, body: `{}`, wantErr: []string{"names no issuer"}, wantCode: ExitEnvironment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != issuerDiscoveryPath || r.Method != http.MethodGet {
					t.Errorf("request %s %s, want GET %s", r.Method, r.URL.Path, issuerDiscoveryPath)
				}
				if strings.HasPrefix(tt.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			got, err := apicall.ClusterIssuer(context.Background(), client)
			if len(tt.wantErr) == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("apicall.ClusterIssuer() = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("apicall.ClusterIssuer() = %q, want an error", got)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if code := ExitCode(err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
		})
	}
}

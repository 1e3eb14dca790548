package webhook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reviewBody is an AdmissionReview as the apiserver posts it, for the pod of role-arn.yaml.
func reviewBody(t *testing.T, apiVersion string) (body []byte, pod *corev1.Pod) {
	t.Helper()
	f := loadFixture(t, "role-arn.yaml")
	req := podRequest(t, testNamespace, &f.Pod)
	req.UID = "705ab4f5-6393-11e8-b7cc-42010a800002"
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body, &f.Pod
}

func roleHandler(log io.Writer) *Handler {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "basic", Namespace: testNamespace,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/test"},
	}}
	return NewHandler(accountsOf(DefaultConfig(), sa), DefaultConfig(), log)
}

// decodeReview decodes a response body into the generic form, to check the wire format.
func decodeReview(t *testing.T, body []byte) admissionv1.AdmissionReview {
	t.Helper()
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v\n%s", err, body)
	}
	return out
}

// TestServeMutate posts AdmissionReviews to the real HTTP handler.
func TestServeMutate(t *testing.T) {
	for _, version := range []string{"admission.k8s.io/v1", "admission.k8s.io/v1beta1"} {
		t.Run(version, func(t *testing.T) {
			var log bytes.Buffer
			srv := httptest.NewServer(roleHandler(&log).Mux())
			defer srv.Close()
			body, pod := reviewBody(t, version)
			resp, err := http.Post(srv.URL+"/mutate", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type = %q", ct)
			}
			// The wire format the apiserver requires: apiVersion and kind echoed, the uid,
			// allowed, patchType and a base64 patch.
			var wire struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Response   struct {
					UID       string `json:"uid"`
					Allowed   *bool  `json:"allowed"`
					PatchType string `json:"patchType"`
					Patch     string `json:"patch"`
				} `json:"response"`
			}
			if err := json.Unmarshal(out, &wire); err != nil {
				t.Fatal(err)
			}
			if wire.APIVersion != version || wire.Kind != "AdmissionReview" {
				t.Errorf("apiVersion, kind = %q, %q", wire.APIVersion, wire.Kind)
			}
			if wire.Response.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" || wire.Response.Allowed == nil || !*wire.Response.Allowed {
				t.Errorf("response = %+v", wire.Response)
			}
			if wire.Response.PatchType != "JSONPatch" || wire.Response.Patch == "" {
				t.Errorf("patchType = %q, patch = %q", wire.Response.PatchType, wire.Response.Patch)
			}

			got := applyPatch(t, pod, decodeReview(t, out).Response)
			assertPodEqual(t, got, loadFixture(t, "role-arn.yaml").Want)
			if !strings.Contains(log.String(), "whtest/c1-basic sa=basic: mutated") {
				t.Errorf("log = %q", log.String())
			}
		})
	}
}

func TestServeMutateBadRequests(t *testing.T) {
	srv := httptest.NewServer(roleHandler(nil).Mux())
	defer srv.Close()
	good, _ := reviewBody(t, "admission.k8s.io/v1")
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		wantStatus  int
	}{
		{"wrong content type", http.MethodPost, "text/plain", string(good), http.StatusUnsupportedMediaType},
		{"not json", http.MethodPost, "application/json", "{", http.StatusBadRequest},
		{"unknown version", http.MethodPost, "application/json", strings.Replace(string(good), "admission.k8s.io/v1", "admission.k8s.io/v2", 1), http.StatusBadRequest},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest},
		{"get", http.MethodGet, "", "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/mutate", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wi-webhook"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestServe runs the server over TLS on loopback, as the apiserver reaches it, and stops it.
func TestServe(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var errLog bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, roleHandler(nil).Mux(), cert, &errLog) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	base := "https://" + ln.Addr().String()

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Errorf("healthz = %d %q", resp.StatusCode, b)
	}

	body, pod := reviewBody(t, "admission.k8s.io/v1")
	resp, err = client.Post(base+"/mutate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mutate = %d: %s", resp.StatusCode, out)
	}
	assertPodEqual(t, applyPatch(t, pod, decodeReview(t, out).Response), loadFixture(t, "role-arn.yaml").Want)

	client.CloseIdleConnections()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

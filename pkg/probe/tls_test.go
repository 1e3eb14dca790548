package probe

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// testCA is a certificate authority of a test's own: a private STS endpoint's, or an
// inspecting proxy's.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T, subject pkix.Name) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue makes a serving certificate for the names (DNS names or IPs), valid now.
func (ca testCA) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	return ca.issueValid(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), names...)
}

// issueValid makes a serving certificate valid from notBefore to notAfter.
func (ca testCA) issueValid(t *testing.T, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsSTS serves the fake STS over HTTPS with cert.
func tlsSTS(t *testing.T, token string, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(fakeSTSHandler(t, token, map[string]stsReply{
		opAssumeRoleWithWebIdentity: {"assume-role-ok.xml", http.StatusOK},
		opGetCallerIdentity:         {"caller-identity-ok.xml", http.StatusOK},
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// connectProxy is an HTTP proxy that tunnels every CONNECT to target, whatever host was asked
// for: what an inspecting proxy does, with target presenting the proxy's own certificate.
func connectProxy(t *testing.T, target string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, bufio.NewReader(buf)); _ = up.Close() }()
		_, _ = io.Copy(conn, up)
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSTSOverTLS drives the probe's own STS client (its roots, AWS_CA_BUNDLE, the proxy env)
// against TLS servers: a private CA passes with the bundle, and each way TLS fails is a
// diagnosis of its own with its fix.
func TestSTSOverTLS(t *testing.T) {
	token := signToken(t, goodClaims())
	private := newTestCA(t, pkix.Name{CommonName: "kubectl-wi test private CA", Organization: []string{"Example Corp"}})
	inspecting := newTestCA(t, pkix.Name{CommonName: "Zscaler Intermediate Root CA", Organization: []string{"Zscaler Inc."}})
	bland := newTestCA(t, pkix.Name{CommonName: "Corp Root CA 2"})

	privateSTS := tlsSTS(t, token, private.issue(t, "127.0.0.1"))
	wrongName := tlsSTS(t, token, private.issue(t, "sts.internal.example"))
	intercepted := tlsSTS(t, token, inspecting.issue(t, "127.0.0.1"))
	proxied := tlsSTS(t, token, bland.issue(t, "sts.example.test"))
	proxy := connectProxy(t, proxied.Listener.Addr().String())
	expired := tlsSTS(t, token, private.issueValid(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), "127.0.0.1"))
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)

	const bundlePath = "/etc/kubectl-wi/ca-bundle/ca.crt"
	tests := []struct {
		name     string
		endpoint string
		env      map[string]string
		files    files
		wantPass bool
		wantFrom string // with wantPass: where sts.endpoint says the bundle came from
		wantMsg  []string
		wantFix  []string
	}{
		{
			name:     "private CA in AWS_CA_BUNDLE",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			files:    files{bundlePath: private.pem},
			wantPass: true,
			wantFrom: bundlePath + " (" + EnvCABundle + ")",
		},
		{
			name:     "private CA in the env, as verify --in-pod passes --ca-bundle",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundlePEM: private.pem},
			wantPass: true,
			wantFrom: "--ca-bundle (" + EnvCABundlePEM + ")",
		},
		{
			name:     "the env's PEM wins over the app's AWS_CA_BUNDLE, a file the probe does not have",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundlePEM: private.pem, EnvCABundle: "/etc/app/ca.pem"},
			wantPass: true,
			wantFrom: "--ca-bundle (" + EnvCABundlePEM + ")",
		},
		{
			name:     "the env's PEM is not certificates",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundlePEM: "not a certificate"},
			wantMsg:  []string{"the --ca-bundle PEM in " + EnvCABundlePEM + " cannot be used: no PEM certificate"},
		},
		{
			name:     "unknown authority",
			endpoint: privateSTS.URL,
			wantMsg:  []string{"issued by \"CN=kubectl-wi test private CA,O=Example Corp\"", "public roots (no --ca-bundle was given)", "(unknown authority)"},
			wantFix:  []string{"--ca-bundle ca.pem", EnvCABundle},
		},
		{
			name:     "unknown authority beside a bundle",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			files:    files{bundlePath: bland.pem},
			wantMsg:  []string{"nor the CA bundle " + bundlePath, "(unknown authority)"},
			wantFix:  []string{"--ca-bundle"},
		},
		{
			name:     "name mismatch",
			endpoint: wrongName.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			files:    files{bundlePath: private.pem},
			wantMsg:  []string{"is for sts.internal.example, not 127.0.0.1 (name mismatch)"},
			wantFix:  []string{"reissue the certificate with 127.0.0.1 in its subjectAltName", "--sts-endpoint"},
		},
		{
			name:     "an inspecting proxy's CA, no proxy env",
			endpoint: intercepted.URL,
			wantMsg:  []string{"is intercepted: a TLS-inspecting proxy answered with a certificate issued by \"CN=Zscaler Intermediate Root CA,O=Zscaler Inc.\"", "(proxy interception)"},
			wantFix:  []string{"trust the proxy's CA", "--ca-bundle", "exempt 127.0.0.1"},
		},
		{
			name:     "through HTTPS_PROXY",
			endpoint: "https://sts.example.test",
			env:      map[string]string{"HTTPS_PROXY": proxy.URL},
			wantMsg:  []string{"TLS to sts.example.test is intercepted: the proxy " + proxy.URL + " answered with a certificate issued by \"CN=Corp Root CA 2\"", "(proxy interception)"},
			wantFix:  []string{"trust the proxy's CA", "--ca-bundle", "exempt sts.example.test"},
		},
		{
			name:     "expired certificate",
			endpoint: expired.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			files:    files{bundlePath: private.pem},
			wantMsg:  []string{"is outside its validity period"},
			wantFix:  []string{"node's clock (NTP)", "renewed"},
		},
		{
			name:     "AWS_CA_BUNDLE missing",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			wantMsg:  []string{EnvCABundle + " " + bundlePath + " cannot be used"},
			wantFix:  []string{"--ca-bundle"},
		},
		{
			name:     "AWS_CA_BUNDLE not certificates",
			endpoint: privateSTS.URL,
			env:      map[string]string{EnvCABundle: bundlePath},
			files:    files{bundlePath: "not a certificate"},
			wantMsg:  []string{"cannot be used: no PEM certificate"},
		},
		{
			name:     "plain HTTP behind an https URL",
			endpoint: strings.Replace(plain.URL, "http://", "https://", 1),
			wantMsg:  []string{"did not answer the TLS handshake with TLS"},
			wantFix:  []string{"HTTPS port"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := irsaEnv()
			env["AWS_ENDPOINT_URL_STS"] = tt.endpoint
			for k, v := range tt.env {
				env[k] = v
			}
			fsys := files{testTokenPath: token}
			for k, v := range tt.files {
				fsys[k] = v
			}
			deps := fakeDeps(env, fsys, nil)
			deps.NewSTS = nil // the probe's own client
			cfg := testConfig()
			cfg.StepTimeout = 5 * time.Second
			rec := &recorder{}
			if _, err := Run(context.Background(), cfg, deps, rec); err != nil {
				t.Fatal(err)
			}
			ev := rec.find(t, check.TypeCheck, CheckSTSAssumeRole)
			if tt.wantPass {
				if ev.Status != check.StatusPass {
					t.Fatalf("%s: %s", ev.Status, ev.Message)
				}
				info := rec.find(t, check.TypeInfo, CheckSTSEndpoint)
				if !strings.Contains(info.Message, "trusting the public roots and 1 CA certificate(s) from "+tt.wantFrom) {
					t.Errorf("sts.endpoint does not name the bundle: %s", info.Message)
				}
				return
			}
			if ev.Status != check.StatusFail || ev.Data["code"] != codeTLS {
				t.Fatalf("got %s %v, want fail tls: %s", ev.Status, ev.Data["code"], ev.Message)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("message %q does not contain %q", ev.Message, s)
				}
			}
			for _, s := range tt.wantFix {
				if !strings.Contains(ev.Fix, s) {
					t.Errorf("fix %q does not contain %q", ev.Fix, s)
				}
			}
		})
	}
}

func TestSTSTransportProxy(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		endpoint string
		want     string
	}{
		{"none", nil, "https://sts.us-west-2.amazonaws.com", ""},
		{"HTTPS_PROXY", map[string]string{"HTTPS_PROXY": "http://proxy.corp:3128"}, "https://sts.us-west-2.amazonaws.com", "http://proxy.corp:3128"},
		{"lower case", map[string]string{"https_proxy": "http://proxy.corp:3128"}, "https://sts.us-west-2.amazonaws.com", "http://proxy.corp:3128"},
		{"HTTP_PROXY is not for https", map[string]string{"HTTP_PROXY": "http://proxy.corp:3128"}, "https://sts.us-west-2.amazonaws.com", ""},
		{"NO_PROXY", map[string]string{"HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": ".amazonaws.com"}, "https://sts.us-west-2.amazonaws.com", ""},
		{"password hidden", map[string]string{"HTTPS_PROXY": "http://user:secret@proxy.corp:3128"}, "https://sts.us-west-2.amazonaws.com", "http://user:xxxxx@proxy.corp:3128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := ResolveSTSTransport(envFunc(tt.env), files{}.ReadFile)
			if got := tr.Proxy(tt.endpoint); got != tt.want {
				t.Errorf("Proxy(%s) = %q, want %q", tt.endpoint, got, tt.want)
			}
		})
	}
}

//go:build e2e

package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The probe trusts the public roots and what --ca-bundle adds, nothing else: without the
// cluster's CA it refuses the STS stand-in's certificate, and says so as a TLS diagnosis with
// the fix.
func TestVerifyRefusesAnUntrustedCertificate(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)

	r := e.wi(t, "verify", "-n", ns, "app", "--sts-endpoint", e.stsEndpoint, "-o", "text")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got := checkLines(t, r.stdout)
	l := lineOf(r.stdout, "sts.assume_role")
	if got["sts.assume_role"] != "FAIL" || !strings.Contains(l, `issued by "CN=kubectl-wi-local-ca"`) || !strings.Contains(l, "(unknown authority)") ||
		!strings.Contains(l, "(tls: ") {
		t.Errorf("no unknown-authority diagnosis: %s", l)
	}
	if !strings.Contains(r.stdout, "fix: ") || !strings.Contains(r.stdout, "--ca-bundle ca.pem") {
		t.Errorf("the verdict's fix does not name --ca-bundle:\n%s", r.stdout)
	}
	if got["sts.caller_identity"] != "SKIP" {
		t.Errorf("sts.caller_identity is %s, want SKIP", got["sts.caller_identity"])
	}
	for _, ch := range []string{"token.issuer", "token.audience", "env.role_arn"} {
		if got[ch] != "PASS" {
			t.Errorf("%s is %s: only TLS is wrong", ch, got[ch])
		}
	}
	noProbePods(t, c, ns)
	noCABundleConfigMaps(t, c, ns)
}

// With --ca-bundle the bundle reaches the probe (sts.endpoint names it), and its ConfigMap is
// gone with the pod.
func TestVerifyCABundleReachesTheProbe(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)

	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, nil)
	if l := lineOf(r.stdout, "sts.endpoint"); !strings.Contains(l, "STS endpoint "+e.stsEndpoint) ||
		!strings.Contains(l, "trusting the public roots and 1 CA certificate(s) from /etc/kubectl-wi/ca-bundle/ca.crt (AWS_CA_BUNDLE)") {
		t.Errorf("sts.endpoint does not name the bundle: %s", l)
	}
	if l := lineOf(r.stdout, "pod.create"); !strings.Contains(l, "with --ca-bundle in the ConfigMap "+ns+"/wi-probe-") {
		t.Errorf("pod.create does not name the ConfigMap: %s", l)
	}
	noProbePods(t, c, ns)
	noCABundleConfigMaps(t, c, ns)
}

// noCABundleConfigMaps fails the test when a --ca-bundle ConfigMap (labelled as probe pods
// are) is left in ns.
func noCABundleConfigMaps(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	cms, err := c.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		t.Errorf("ConfigMap %s/%s left behind", ns, cm.Name)
	}
}

// connectProxy is an HTTP proxy where pods reach the host that tunnels CONNECTs to allowed
// (the test bed's own addresses) and refuses any other; it records what it tunnelled.
type connectProxy struct {
	url string
	mu  sync.Mutex
	hit []string
}

func (p *connectProxy) tunnelled() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hit...)
}

func startConnectProxy(t *testing.T, e env, allowed string) *connectProxy {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{url: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != allowed {
			http.Error(w, "this proxy tunnels only to "+allowed, http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", allowed)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		p.hit = append(p.hit, r.Host)
		p.mu.Unlock()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, buf); _ = up.Close() }()
		_, _ = io.Copy(conn, up)
		_ = conn.Close()
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

// For a workload, the probe takes the workload's proxy: a deployment whose container sets
// https_proxy reaches STS through that proxy, and verify says so.
func TestVerifyTakesTheWorkloadsProxy(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startConnectProxy(t, e, u.Host)
	_, err = c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{
					Name: "web", Image: e.idleImage,
					Env: []corev1.EnvVar{{Name: "https_proxy", Value: proxy.url}, {Name: "LOG_LEVEL", Value: "debug"}},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireAllPass(t, r, nil)
	if got := proxy.tunnelled(); len(got) == 0 {
		t.Errorf("the proxy tunnelled nothing: the probe did not take the workload's proxy")
	}
	if l := lineOf(r.stdout, "sts.endpoint"); !strings.Contains(l, "through the proxy "+proxy.url) {
		t.Errorf("sts.endpoint does not name the proxy: %s", l)
	}
	if l := lineOf(r.stdout, "pod.create"); !strings.Contains(l, "that steers the AWS SDK: https_proxy") {
		t.Errorf("pod.create does not name the proxy env: %s", l)
	}
	noProbePods(t, c, ns)
}

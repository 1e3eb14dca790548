//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// monitorProcess is `kubectl-wi monitor run` started by a test, out of the cluster.
type monitorProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	addr chan string
}

var servingAddr = regexp.MustCompile(`"serving /metrics and /healthz".* address="([^"]+)"`)

// startMonitor runs the monitor with args and POD_NAMESPACE=ns, without AWS credentials, and
// returns once it serves.
func (e env) startMonitor(t *testing.T, ns string, args ...string) *monitorProcess {
	t.Helper()
	return e.startMonitorEnv(t, ns, nil, args...)
}

// startMonitorEnv is startMonitor with env (KEY=value) set last, over the cleared AWS
// settings: the monitor's own AWS credentials, say.
func (e env) startMonitorEnv(t *testing.T, ns string, env []string, args ...string) *monitorProcess {
	t.Helper()
	p := &monitorProcess{addr: make(chan string, 1)}
	p.cmd = exec.Command(e.bin, append([]string{"monitor", "run"}, args...)...)
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "KUBECTL_WI_STS_ENDPOINT=", "KUBECTL_WI_CA_BUNDLE=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_CONTAINER_CREDENTIALS_FULL_URI=",
		"POD_NAMESPACE="+ns, "POD_NAME=monitor-e2e")
	// The last value of a duplicate key wins.
	p.cmd.Env = append(p.cmd.Env, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.mu.Lock()
			p.log.WriteString(s.Text() + "\n")
			p.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(s.Text()); m != nil {
				p.addr <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_, _ = p.cmd.Process.Wait()
		t.Logf("monitor log:\n%s", p.logText())
	})
	select {
	case a := <-p.addr:
		p.addr <- a
	case <-time.After(30 * time.Second):
		t.Fatalf("the monitor did not serve its metrics:\n%s", p.logText())
	}
	return p
}

func (p *monitorProcess) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *monitorProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	a := <-p.addr
	p.addr <- a
	resp, err := http.Get("http://" + a + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// awaitSeries waits until /metrics has the series line (name{labels} value, labels sorted as
// the client library writes them).
func (p *monitorProcess) awaitSeries(t *testing.T, timeout time.Duration, line string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, body := p.get(t, "/metrics")
		if strings.Contains(body, "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in /metrics after %s:\n%s\nmonitor log:\n%s", line, timeout, grepLines(body, "kubectl_wi_"), p.logText())
		}
		time.Sleep(time.Second)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func eventsOf(t *testing.T, c kubernetes.Interface, ns, sa, reason string) []corev1.Event {
	t.Helper()
	l, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, ev := range l.Items {
		if ev.InvolvedObject.Kind == "ServiceAccount" && ev.InvolvedObject.Name == sa && ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

// The monitor, out of the cluster: it proves a healthy and a broken account on its own,
// says so in /metrics, an Event and its status object; a fixed annotation is proven again
// within the debounce, long before the interval, and recovers with a Normal Event; without
// AWS credentials it says so once; SIGTERM leaves no probe pod.
func TestMonitorRunOutOfCluster(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	wrong := e.addSTSRole(t, "monitor-wrong-"+randSuffix(), e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":someone-else"))
	serviceAccount(t, c, ns, "broken", map[string]string{"eks.amazonaws.com/role-arn": wrong})

	p := e.startMonitor(t, ns, "--interval", "5m", "--jitter", "0.05", "--debounce", "3s", "--leader-elect=false",
		"--metrics-addr", "127.0.0.1:0", "--namespaces", ns, "--parallel", "2",
		"--sts-endpoint", e.stsEndpoint, "--ca-bundle", e.caFile, "--cluster-name", "e2e", "--image", e.probeImage)

	if code, body := p.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	acct := func(sa string) string { return `cluster="e2e",namespace="` + ns + `",service_account="` + sa + `"` }
	p.awaitSeries(t, 2*time.Minute, `kubectl_wi_identity_verified{cluster="e2e",identity_type="irsa",namespace="`+ns+`",service_account="app"} 1`)
	p.awaitSeries(t, 2*time.Minute, `kubectl_wi_identity_verified{cluster="e2e",identity_type="irsa",namespace="`+ns+`",service_account="broken"} 0`)
	p.awaitSeries(t, 10*time.Second, `kubectl_wi_aws_reads_enabled{cluster="e2e"} 0`)
	// The webhook answers the apiserver's dry-run admission of a pod of the account.
	p.awaitSeries(t, 30*time.Second, `kubectl_wi_webhook_up{cluster="e2e"} 1`)
	_, body := p.get(t, "/metrics")
	if !strings.Contains(body, `kubectl_wi_identity_check_failed{check="sts.assume_role",`+acct("broken")+`} 1`) {
		t.Errorf("no failed sts.assume_role check for the broken account:\n%s", grepLines(body, "check_failed"))
	}
	if strings.Contains(body, `kubectl_wi_identity_check_failed{check="sts.assume_role",`+acct("app")) {
		t.Errorf("a failed check for the healthy account:\n%s", grepLines(body, "check_failed"))
	}
	if n := strings.Count(p.logText(), "AWS reads are off"); n != 1 {
		t.Errorf("the monitor said %d times that AWS reads are off, want once", n)
	}

	warnings := eventsOf(t, c, ns, "broken", "IdentityProofFailed")
	if len(warnings) != 1 || warnings[0].Type != corev1.EventTypeWarning || !strings.Contains(warnings[0].Message, "sts.assume_role") {
		t.Fatalf("want one Warning IdentityProofFailed naming sts.assume_role on the broken account, got %+v", warnings)
	}
	if got := eventsOf(t, c, ns, "app", "IdentityProofFailed"); len(got) != 0 {
		t.Errorf("a Warning on the healthy account: %+v", got)
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), "kubectl-wi-monitor-status", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Leader   string `json:"leader"`
		AWSReads string `json:"awsReads"`
		Accounts []struct {
			ServiceAccount string `json:"serviceAccount"`
			Verified       bool   `json:"verified"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(cm.Data["status.json"]), &st); err != nil {
		t.Fatal(err)
	}
	if st.Leader != "monitor-e2e" || !strings.HasPrefix(st.AWSReads, "not configured: ") || len(st.Accounts) != 2 ||
		st.Accounts[0].ServiceAccount != "app" || !st.Accounts[0].Verified || st.Accounts[1].Verified {
		t.Errorf("status object: %s", cm.Data["status.json"])
	}

	// The fix: a role that trusts the account. The annotation's change is proven within the
	// debounce, not at the next interval (5m).
	fixed := e.addSTSRole(t, "monitor-fixed-"+randSuffix(), e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":broken"))
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "broken", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.Annotations["eks.amazonaws.com/role-arn"] = fixed
	if _, err := c.CoreV1().ServiceAccounts(ns).Update(context.Background(), sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p.awaitSeries(t, 90*time.Second, `kubectl_wi_identity_verified{cluster="e2e",identity_type="irsa",namespace="`+ns+`",service_account="broken"} 1`)
	_, body = p.get(t, "/metrics")
	if strings.Contains(body, `check_failed{check="sts.assume_role",`+acct("broken")) {
		t.Errorf("the passing check's series is still there:\n%s", grepLines(body, "check_failed"))
	}
	if got := eventsOf(t, c, ns, "broken", "IdentityProofRecovered"); len(got) != 1 || got[0].Type != corev1.EventTypeNormal {
		t.Errorf("want one Normal IdentityProofRecovered, got %+v", got)
	}
	if got := eventsOf(t, c, ns, "broken", "IdentityProofFailed"); len(got) != 1 {
		t.Errorf("want still one Warning, got %d", len(got))
	}

	// SIGTERM in the middle of a proof: the annotation changed back starts one within the
	// debounce, and the monitor ends leaving no probe pod.
	sa, err = c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "broken", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.Annotations["eks.amazonaws.com/role-arn"] = wrong
	if _, err := c.CoreV1().ServiceAccounts(ns).Update(context.Background(), sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a probe pod of the monitor's proof of the changed account", func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: monitorProbeSelector})
		if err != nil {
			return false, err
		}
		for _, pod := range list.Items {
			if pod.DeletionTimestamp == nil {
				return true, nil
			}
		}
		return false, nil
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("the monitor did not end within 40s of SIGTERM")
	}
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: monitorProbeSelector})
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil {
			t.Errorf("probe pod %s left behind", pod.Name)
		}
	}
}

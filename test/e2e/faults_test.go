//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// fault is a failure of the world around a command, and what must hold after it.
type fault struct {
	name string
	// run provokes the fault in namespace ns and says whether the command named it as it
	// should (its diagnosis and exit code); writesLost counts the writes of the run that are
	// not in the cluster afterwards.
	run func(t *testing.T, ns string) (diagnosed bool, writesLost int)
}

// faults are the faults TestChaosFaults provokes; each one logs what it saw when it was not
// diagnosed as expected.
func (e env) faults(c kubernetes.Interface) []fault {
	logUnless := func(t *testing.T, ok bool, r result) bool {
		t.Helper()
		if !ok {
			t.Logf("not diagnosed as expected: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		return ok
	}
	return []fault{
		{"probe image not pullable", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			repo, _, _ := strings.Cut(e.probeImage, ":")
			image := repo + ":no-such-tag-" + randSuffix()
			r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text", "--image", image)...)
			l := lineOf(r.stdout, "pod.start")
			return logUnless(t, r.code == 3 && strings.HasPrefix(l, "FAIL pod.start") && strings.Contains(l, image) && strings.Contains(r.stdout, "--image"), r), 0
		}},
		{"STS refusing connections", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			r := e.wi(t, e.verifyArgs(ns, "app", closedEndpoint(t, e), "-o", "text")...)
			l := lineOf(r.stdout, "sts.assume_role")
			return logUnless(t, r.code == 1 && strings.HasPrefix(l, "FAIL sts.assume_role") && strings.Contains(l, "connection refused"), r), 0
		}},
		{"STS throttling", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			endpoint, calls := throttlingSTS(t, e)
			r := e.wi(t, e.verifyArgs(ns, "app", endpoint, "-o", "text")...)
			l := lineOf(r.stdout, "sts.assume_role")
			// The SDK retries a throttled call before it gives up.
			return logUnless(t, r.code == 1 && strings.HasPrefix(l, "FAIL sts.assume_role") && strings.Contains(l, "STS throttled the call") &&
				strings.Contains(r.stdout, "retry later") && calls.Load() >= 2, r), 0
		}},
		{"STS slower than --timeout", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			endpoint, _ := hangingSTS(t, e)
			r := e.wi(t, e.verifyArgs(ns, "app", endpoint, "-o", "text", "--timeout", "15s")...)
			return logUnless(t, r.code == 3 && strings.Contains(r.stdout+r.stderr, "timed out after 15s") && strings.Contains(r.stdout, "raise --timeout"), r), 0
		}},
		// The webhook stopped (its process paused, so it holds the connection and answers
		// nothing): the apiserver waits out the webhook's timeout, then admits the pod
		// unmutated (failure policy Ignore). verify blames the webhook; resumed, it passes.
		{"webhook not answering during verify", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			pause(t, e, "wi-webhook")
			r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
			resume(t, e, "wi-webhook")
			l := lineOf(r.stdout, "pod.mutation")
			ok := logUnless(t, r.code == 1 && strings.HasPrefix(l, "FAIL pod.mutation") && strings.Contains(l, "webhook"), r)
			r = e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
			return ok && logUnless(t, r.code == 0, r), 0
		}},
		// enable while the webhook answers nothing: the annotation is written (and stays), the
		// admission check gives up with a warning, and --wait names the new pods that came up
		// without the role. Once the webhook is back, a rerun writes nothing and restarts
		// the workload into pods that have it.
		{"webhook not answering during enable's restart", func(t *testing.T, ns string) (bool, int) {
			role := e.addSTSRole(t, "fault-"+randSuffix(), e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
			serviceAccount(t, c, ns, "app", nil)
			e.idleDeployment(t, c, ns, "web", "app")
			pause(t, e, "wi-webhook")
			r := e.wi(t, "enable", "-n", ns, "serviceaccount/app", "--role-arn", role, "--wait", "--timeout", "2m")
			resume(t, e, "wi-webhook")
			ok := logUnless(t, r.code == 1 && strings.Contains(r.stderr, "restarting anyway") && strings.Contains(r.stderr, "new pod web-") &&
				strings.Contains(r.stderr, "did not get the identity"), r)
			lost := 0
			if sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{}); err != nil || sa.Annotations["eks.amazonaws.com/role-arn"] != role {
				lost++
			}
			awaitWebhookRole(t, c, ns, "app", role)
			r = e.wi(t, "enable", "-n", ns, "serviceaccount/app", "--role-arn", role, "--wait", "--timeout", "2m")
			ok = ok && logUnless(t, r.code == 0 && strings.Contains(r.stdout, "serviceaccount/app unchanged") && strings.Contains(r.stdout, "deployment.apps/web restarted"), r)
			return ok, lost
		}},
		{"probe pod evicted while the probe runs", func(t *testing.T, ns string) (bool, int) {
			r := e.takeProbePod(t, c, ns, func(p *corev1.Pod) { evict(t, c, p) })
			l := lineOf(r.stdout, "probe.exit")
			return logUnless(t, r.code == 3 && strings.HasPrefix(l, "FAIL probe.exit") && strings.Contains(l, "evicted through the Eviction API"), r), 0
		}},
		{"probe pod deleted while the probe runs", func(t *testing.T, ns string) (bool, int) {
			r := e.takeProbePod(t, c, ns, func(p *corev1.Pod) {
				if err := c.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			l := lineOf(r.stdout, "probe.exit")
			return logUnless(t, r.code == 3 && strings.HasPrefix(l, "FAIL probe.exit") && strings.Contains(l, "deleted before the probe finished (not by verify)"), r), 0
		}},
		{"probe container killed by SIGKILL", func(t *testing.T, ns string) (bool, int) {
			r := e.takeProbePod(t, c, ns, func(p *corev1.Pod) { killContainer(t, p) })
			l := lineOf(r.stdout, "probe.exit")
			return logUnless(t, r.code == 3 && strings.HasPrefix(l, "FAIL probe.exit") && strings.Contains(l, "killed by signal 9"), r), 0
		}},
		// The node's kubelet stopped and the node unreachable: the probe pod cannot be placed,
		// and verify says that a Ready node, not a change to the pod, is the fix.
		{"node NotReady", func(t *testing.T, ns string) (bool, int) {
			e.happyServiceAccount(t, c, ns)
			e.nodeUnreachable(t, c)
			r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text", "--timeout", "60s")...)
			l := lineOf(r.stdout, "pod.start")
			return logUnless(t, r.code == 3 && strings.HasPrefix(l, "FAIL pod.start") && strings.Contains(l, "node.kubernetes.io/unreachable") &&
				strings.Contains(r.stdout, "NotReady or unreachable"), r), 0
		}},
		// The apiserver killed and restarted while enable -l writes 300 accounts: enable stops
		// and says how to finish; a rerun writes the rest. No account is patched twice, none
		// reported written is lost.
		{"apiserver restarted during enable -l (300 accounts)", func(t *testing.T, ns string) (bool, int) {
			const n = 300
			r := e.enableThroughRestart(t, c, ns, n)
			done, rest := enabled(r.first.stdout, "annotated"), enabled(r.second.stdout, "annotated")
			lost := n - len(r.afterSecond)
			for name := range done {
				if !r.afterFirst[name] {
					lost++
				}
			}
			twice := 0
			for name, p := range r.patches {
				if p > 1 || done[name] && rest[name] {
					twice++
				}
			}
			ok := logUnless(t, r.first.code == 3 && len(done) > 0 && len(done) < n && strings.Contains(r.first.stderr, "rerun"), r.first) &&
				logUnless(t, r.second.code == 0 && len(rest)+len(enabled(r.second.stdout, "unchanged")) == n, r.second)
			if twice > 0 {
				t.Logf("%d accounts written twice", twice)
			}
			return ok && twice == 0, lost
		}},
	}
}

// TestChaosFaults provokes each fault WI_CHAOS_FAULT_RUNS times (once by default; make chaos
// runs more) and prints, per fault: runs, diagnoses as expected, probe pods left behind and
// writes lost, the last two expected 0.
func TestChaosFaults(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	runs := envCount(t, "WI_CHAOS_FAULT_RUNS", 1)
	type tally struct{ runs, diagnosed, podsLeft, writesLost int }
	var table []string
	for _, f := range e.faults(c) {
		var got tally
		t.Run(f.name, func(t *testing.T) {
			for range runs {
				ns := e.namespace(t, c, nil)
				diagnosed, lost := f.run(t, ns)
				got.runs++
				if diagnosed {
					got.diagnosed++
				}
				got.writesLost += lost
				pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
				if err != nil {
					t.Fatal(err)
				}
				got.podsLeft += len(pods.Items)
			}
			if got.diagnosed != got.runs || got.podsLeft != 0 || got.writesLost != 0 {
				t.Errorf("%d runs: %d diagnosed as expected, %d probe pods left, %d writes lost", got.runs, got.diagnosed, got.podsLeft, got.writesLost)
			}
		})
		if got.runs == 0 {
			continue // not selected by -run
		}
		table = append(table, fmt.Sprintf("%-52s %5d %10d %10d %12d", f.name, got.runs, got.diagnosed, got.podsLeft, got.writesLost))
	}
	fmt.Printf("\n%-52s %5s %10s %10s %12s\n%s\n", "FAULT", "RUNS", "DIAGNOSED", "PODS LEFT", "WRITES LOST", strings.Join(table, "\n"))
}

// throttlingSTS is an STS endpoint on the host pods reach, with the STS stand-in's own
// certificate, that answers every call as STS does when it throttles; it counts the calls.
func throttlingSTS(t *testing.T, e env) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	pki := filepath.Join(e.state, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "sts.crt"), filepath.Join(pki, "sts.key"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	calls := &atomic.Int64{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>`+randSuffix()+`</RequestId></ErrorResponse>`)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + l.Addr().String(), calls
}

// closedEndpoint is an https URL on the host pods reach where nothing listens.
func closedEndpoint(t *testing.T, e env) string {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "https://" + addr
}

// pause stops a test bed process by its PID (SIGSTOP) until resume or the test's end.
func pause(t *testing.T, e env, name string) {
	t.Helper()
	pid := pidOf(t, e, name)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

func resume(t *testing.T, e env, name string) {
	t.Helper()
	if err := syscall.Kill(pidOf(t, e, name), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the paused connections drain
}

func pidOf(t *testing.T, e env, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.state, "run", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A workload whose HTTPS_PROXY cannot be reached: its STS calls never leave for STS, so the
// failure names the proxy (and the env that set it) first, not egress to STS.
func TestVerifySTSThroughUnreachableProxy(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.happyServiceAccount(t, c, ns)
	awaitWebhookRole(t, c, ns, "app", role)
	proxy := "http://" + strings.TrimPrefix(closedEndpoint(t, e), "https://")
	e.idleDeployment(t, c, ns, "web", "app", corev1.EnvVar{Name: "HTTPS_PROXY", Value: proxy})

	r := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	l := lineOf(r.stdout, "sts.assume_role")
	if r.code != 1 || !strings.HasPrefix(l, "FAIL sts.assume_role") ||
		!strings.Contains(l, "the pod cannot reach its proxy "+proxy+" (HTTPS_PROXY)") {
		t.Fatalf("exit %d, want 1 with sts.assume_role naming the proxy\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(l, "cannot reach STS") || strings.Contains(l, "no answer from STS") {
		t.Errorf("sts.assume_role blames STS's egress although the proxy failed: %s", l)
	}
	host := strings.TrimPrefix(e.stsEndpoint, "https://")
	if !strings.Contains(r.stdout, "add "+host+" to NO_PROXY in the container's env") {
		t.Errorf("the fix does not offer NO_PROXY for %s:\n%s", host, r.stdout)
	}
	noProbePods(t, c, ns)
}

// Ctrl-C while a command reads the cluster: the apiserver is reached through a link that
// stops carrying bytes, so the LIST is in flight when SIGINT comes. The run exits 130 at once
// with the project's own interrupted line: no request URL, no client-go log line.
func TestInterruptWhileListing(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	kubeconfig, sent := stalledAPIServer(t, e)
	for _, args := range [][]string{
		{"status", "-n", ns},
		{"verify", "-n", ns, "-o", "text"},
		{"verify", "-n", ns, "-o", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(e.bin, append(args, "--kubeconfig", kubeconfig)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Env = append(os.Environ(), "NO_COLOR=1", "KUBECONFIG=")
			// A connection an earlier run left must not stand for this one's: the signal would
			// then reach a process that has not yet set up its handler.
			for drained := false; !drained; {
				select {
				case <-sent:
				default:
					drained = true
				}
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-sent:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("kubectl-wi never reached the apiserver")
			}
			signalled := time.Now()
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Fatalf("exit %v after Ctrl-C, want 130\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			if took := time.Since(signalled); took > 5*time.Second {
				t.Errorf("exit came %s after Ctrl-C, want it at once", took)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if !strings.HasPrefix(l, "note: kubectl-wi ") { // the development build's note
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: interrupted") {
				t.Errorf("stderr is not the one interrupted line:\n%s", stderr.String())
			}
			if out := stdout.String() + stderr.String(); strings.Contains(out, "https://") || strings.Contains(out, "continue=") || strings.Contains(out, "limit=") {
				t.Errorf("the output names the request's URL:\n%s", out)
			}
		})
	}
}

// stalledAPIServer is a kubeconfig whose apiserver is reached through a forwarder on this host
// that accepts connections and carries no byte: each request hangs in its TLS handshake, as
// on a link that stopped. sent gets a value per connection once the client's first bytes (its
// TLS hello) have arrived: the request is on the wire and will never be answered.
func stalledAPIServer(t *testing.T, e env) (kubeconfig string, sent <-chan struct{}) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan struct{}, 64)
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
			go func() {
				if _, err := conn.Read(make([]byte, 1)); err != nil {
					return
				}
				select {
				case conns <- struct{}{}:
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	for _, cl := range cfg.Clusters {
		u, err := url.Parse(cl.Server)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = l.Addr().String() // the certificate names 127.0.0.1: the port does not matter to TLS
		cl.Server = u.String()
	}
	path := filepath.Join(t.TempDir(), "stalled.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path, conns
}

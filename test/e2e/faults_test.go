//go:build e2e

package e2e

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Faults of the world around verify, each with its diagnosis, its exit code, and no probe pod
// left behind.
func TestVerifyFaults(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)

	t.Run("probe image not pullable", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		repo, _, _ := strings.Cut(e.probeImage, ":")
		image := repo + ":no-such-tag-" + randSuffix()
		r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text", "--image", image)...)
		l := lineOf(r.stdout, "pod.start")
		if r.code != 3 || !strings.HasPrefix(l, "FAIL pod.start") || !strings.Contains(l, image) || !strings.Contains(r.stdout, "--image") {
			t.Fatalf("exit %d, want 3 naming the image and --image\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noProbePods(t, c, ns)
	})

	t.Run("STS unreachable", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		r := e.wi(t, e.verifyArgs(ns, "app", closedEndpoint(t, e), "-o", "text")...)
		l := lineOf(r.stdout, "sts.assume_role")
		if r.code != 1 || !strings.HasPrefix(l, "FAIL sts.assume_role") || !strings.Contains(l, "connection refused") {
			t.Fatalf("exit %d, want 1 with the refused connection named\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noProbePods(t, c, ns)
	})

	t.Run("STS slower than --timeout", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		endpoint, _ := hangingSTS(t, e)
		r := e.wi(t, e.verifyArgs(ns, "app", endpoint, "-o", "text", "--timeout", "15s")...)
		if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "timed out after 15s") || !strings.Contains(r.stdout, "raise --timeout") {
			t.Fatalf("exit %d, want 3 saying it timed out\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noProbePods(t, c, ns)
	})

	// The webhook stopped (its process paused, so it holds the connection and answers
	// nothing): the apiserver waits out the webhook's timeout, then admits the pod unmutated
	// (failure policy Ignore). verify names the webhook that did not answer; resumed, it passes.
	t.Run("webhook not answering", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		pause(t, e, "wi-webhook")
		r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
		resume(t, e, "wi-webhook")
		l := lineOf(r.stdout, "pod.mutation")
		if r.code != 1 || !strings.HasPrefix(l, "FAIL pod.mutation") || !strings.Contains(l, "webhook") {
			t.Fatalf("exit %d, want 1 blaming the webhook\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		noProbePods(t, c, ns)
		r = e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
		if r.code != 0 {
			t.Fatalf("after the webhook came back: exit %d\n%s", r.code, r.stdout)
		}
	})
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

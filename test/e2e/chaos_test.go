//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chaosRuns is how many times TestChaosInterruptVerify interrupts verify; WI_CHAOS_RUNS
// changes it.
func chaosRuns(t *testing.T) int {
	t.Helper()
	if v := os.Getenv("WI_CHAOS_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WI_CHAOS_RUNS=%q: want a positive number", v)
		}
		return n
	}
	return 50
}

// TestChaosInterruptVerify sends SIGINT to verify at random moments, spread over a whole run
// (outside checks, pod creation, the wait for the pod, the probe), and checks after each that
// verify exited 130 (or 0, when it finished first) and left no probe pod. It prints one line per
// phase that was interrupted, and the totals.
func TestChaosInterruptVerify(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	runs := chaosRuns(t)

	// One uninterrupted run measures how long a whole run takes.
	start := time.Now()
	if r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...); r.code != 0 {
		t.Fatalf("the uninterrupted run failed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	whole := time.Since(start)

	phases := map[string]int{}
	codes := map[int]int{}
	left := 0
	for i := range runs {
		// Spread over the whole run on a grid, each moment jittered within its slot, so every
		// phase is reached whatever the draw.
		slot := whole / time.Duration(runs)
		delay := slot*time.Duration(i) + time.Duration(rand.Int64N(int64(slot)+1))
		cmd := exec.Command(e.bin, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(delay):
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("run %d: verify did not exit within 60s of SIGINT", i)
			}
		}
		code := cmd.ProcessState.ExitCode()
		phase := lastPhase(stdout.Bytes())
		// Killed by the signal itself (-1) only before verify set up its handler: nothing
		// of it had started then.
		if code != 130 && code != 0 && (code != -1 || phase != "none") {
			t.Errorf("run %d, interrupted after %s in %s: exit %d, want 130 or 0\nstderr:\n%s", i, delay.Round(time.Millisecond), phase, code, stderr.String())
		}
		pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(pods.Items); n > 0 {
			t.Errorf("run %d, interrupted after %s in %s: %d probe pod(s) left behind", i, delay.Round(time.Millisecond), phase, n)
			left += n
		}
		phases[phase]++
		codes[code]++
	}

	names := make([]string, 0, len(phases))
	for p := range phases {
		names = append(names, p)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: verify interrupted %d times (a whole run takes %s); pods left behind: %d (expected 0); exits %v\n", runs, whole.Round(time.Millisecond), left, codes)
	for _, p := range names {
		fmt.Fprintf(&b, "  %-28s %3d runs\n", p, phases[p])
	}
	t.Log(b.String())
	if len(phases) < 2 {
		t.Errorf("the interruptions hit only %v: want them spread over the run's phases", names)
	}
}

// lastPhase names where a run was when it stopped, from its JSON events: the group of the last
// check or info event seen (outside, pod, token, sts...), "none" before the first, "finished"
// after the verdict.
func lastPhase(stdout []byte) string {
	last := "none"
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Type  string `json:"type"`
			Check string `json:"check"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type != "" {
			switch {
			case ev.Type == "result":
				last = "finished"
			case ev.Check != "":
				last, _, _ = strings.Cut(ev.Check, ".")
			}
		}
	}
	return last
}

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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chaosRuns is how many times TestChaosInterruptVerify interrupts verify; WI_CHAOS_RUNS
// changes it.
func chaosRuns(t *testing.T) int {
	t.Helper()
	return envCount(t, "WI_CHAOS_RUNS", 50)
}

// TestChaosInterruptVerify sends SIGINT to verify at moments spread over every phase of a run
// (before its first event, the outside checks, pod creation and the wait for the pod, the
// probe): run i is interrupted a random few milliseconds after the k-th event
// of its JSON stream appears, k going round the events of a whole run, so each phase is hit
// whatever the draw and however fast the machine. After each it checks that verify exited 130
// (or 0, when it finished first) and left no probe pod, and it prints the runs per phase in
// which verify was interrupted, and the totals.
func TestChaosInterruptVerify(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	runs := chaosRuns(t)

	// One uninterrupted run counts the events of a whole run.
	start := time.Now()
	r := e.wi(t, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("the uninterrupted run failed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	whole := time.Since(start)
	started, probeTime := probeStart(t, r.stdout)
	hanging, _ := hangingSTS(t, e)

	phases := map[string]int{}
	codes := map[int]int{}
	left := 0
	for i := range runs {
		// after: interrupt once that many events are out (0: from the start), then wait a
		// random 0-30 ms, inside the step the event opened. The last target is pod.start: the
		// probe runs then, for a few tens of milliseconds that the pod's Running status often
		// reports late, so these runs send it to an STS that never answers, and the probe is
		// still running whenever the signal comes.
		after := i % (started + 1)
		jitter := time.Duration(rand.Int64N(int64(30 * time.Millisecond)))
		endpoint := e.stsEndpoint
		if after == started {
			endpoint = hanging
			jitter = time.Duration(rand.Int64N(int64(500 * time.Millisecond)))
		}
		cmd := exec.Command(e.bin, e.verifyArgs(ns, "app", endpoint, "-o", "json")...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		reached := make(chan struct{})
		read := make(chan struct{})
		go func() {
			defer close(read)
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			n := 0
			for sc.Scan() {
				out.Write(sc.Bytes())
				out.WriteByte('\n')
				if n++; n == after {
					close(reached)
				}
			}
		}()
		if after == 0 {
			close(reached)
		}
		select {
		case <-read:
		case <-reached:
			time.Sleep(jitter)
			_ = cmd.Process.Signal(os.Interrupt)
		}
		select {
		case <-read:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("run %d: verify did not exit within 60s of SIGINT", i)
		}
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		phase := lastPhase(out.Bytes())
		// Killed by the signal itself (-1) only before verify set up its handler: nothing
		// of it had started then.
		if code != 130 && code != 0 && (code != -1 || phase != "none") {
			t.Errorf("run %d, interrupted after event %d in %s: exit %d, want 130 or 0\nstderr:\n%s", i, after, phase, code, stderr.String())
		}
		pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: probeSelector})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(pods.Items); n > 0 {
			t.Errorf("run %d, interrupted after event %d in %s: %d probe pod(s) left behind", i, after, phase, n)
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
	fmt.Fprintf(&b, "chaos: verify interrupted %d times (a whole run: %s, pod.start its event %d, the probe %s after it); pods left behind: %d (expected 0); exits %v\n",
		runs, whole.Round(time.Millisecond), started, probeTime.Round(time.Millisecond), left, codes)
	for _, p := range names {
		fmt.Fprintf(&b, "  %-28s %3d runs\n", p, phases[p])
	}
	t.Log(b.String())
	for _, want := range []string{"outside", "pod", "probe"} {
		if phases[want] == 0 {
			t.Errorf("no run was interrupted in phase %s (%v): want every phase hit", want, names)
		}
	}
}

// probeStart finds, in a whole run's JSON events, which event (from 1) is pod.start and how
// long after it the verdict came: the time the probe ran.
func probeStart(t *testing.T, stdout string) (int, time.Duration) {
	t.Helper()
	n, started, at := 0, 0, time.Time{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev struct {
			Type  string    `json:"type"`
			Check string    `json:"check"`
			Time  time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not an event: %q", line)
		}
		n++
		switch {
		case ev.Check == "pod.start":
			started, at = n, ev.Time
		case ev.Type == "result" && started > 0:
			return started, ev.Time.Sub(at)
		}
	}
	t.Fatalf("no pod.start and verdict in\n%s", stdout)
	return 0, 0
}

// lastPhase names where a run was when it stopped, from its JSON events: the group of the last
// check or info event seen (outside, pod), "probe" once the probe pod runs (its own events
// included), "none" before the first event, "finished" after the verdict.
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
			case ev.Check == "pod.start":
				// The pod runs: verify waits for the probe's events.
				last = "probe"
			case ev.Check != "":
				last, _, _ = strings.Cut(ev.Check, ".")
				if last != "outside" && last != "pod" {
					last = "probe" // env, token, sts: the probe's own checks
				}
			}
		}
	}
	return last
}

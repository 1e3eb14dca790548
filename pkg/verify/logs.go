package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// LogFunc opens a container's log from its start: following it until the container ends, or
// as it is now.
type LogFunc func(ctx context.Context, namespace, pod, container string, follow bool) (io.ReadCloser, error)

// PodLogs reads logs through the apiserver.
func PodLogs(c kubernetes.Interface) LogFunc {
	return func(ctx context.Context, namespace, pod, container string, follow bool) (io.ReadCloser, error) {
		return c.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: follow}).Stream(ctx)
	}
}

// maxLogReopens bounds how often a log stream that broke while the probe ran is reopened.
const maxLogReopens = 3

// maxQuietPolls bounds the reads without follow in one quiet spell: by then the kubelet's own
// periodic check (every second) has caught up.
const maxQuietPolls = 3

// maxLogSnapshot bounds one read of the log without follow.
const maxLogSnapshot = 4 << 20

// numbered is the n-th line of the log (from 1), or the end of a followed stream.
type numbered struct {
	n    int
	line check.Line
	end  bool
	err  error
}

// follow reads the probe's log until its result. It follows the log and, when the stream is
// quiet for a while before the result came, reads the log once as it is: the kubelet can hold
// the last lines of a container that just exited for up to a second (its forced check), and
// the result is the last line. Lines are numbered from the log's start, so each is handled
// once, whichever read brings it. A stream that breaks while the container runs is reopened.
func (r *runner) follow(ctx context.Context, pod *corev1.Pod) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := 0
	take := func(n int, l check.Line) {
		if n == seen+1 {
			seen = n
			r.line(l)
		}
	}
	for attempt := 0; ; attempt++ {
		lines := make(chan numbered)
		streamCtx, cancelStream := context.WithCancel(ctx)
		streamDone := make(chan struct{})
		go func() {
			defer close(streamDone)
			r.stream(streamCtx, pod, lines)
		}()
		// stopStream ends the stream and waits for its reader, so none outlives follow.
		stopStream := func() {
			cancelStream()
			<-streamDone
		}
		var streamErr error
		quiet, polls := r.deps.QuietPoll, 0
		timer := time.NewTimer(quiet)
	read:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				stopStream()
				return r.probeCtxErr(ctx)
			case m := <-lines:
				if m.end {
					streamErr = m.err
					break read
				}
				take(m.n, m.line)
				quiet, polls = r.deps.QuietPoll, 0
			case <-timer.C:
				if polls < maxQuietPolls {
					polls++
					r.snapshot(ctx, pod, take)
					quiet *= 2
				}
			}
			if r.probeResult != nil {
				timer.Stop()
				stopStream()
				return nil
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(quiet)
		}
		timer.Stop()
		stopStream()
		if ctx.Err() != nil {
			return r.probeCtxErr(ctx)
		}
		if streamErr != nil && attempt == 0 && seen == 0 {
			return fmt.Errorf("failed to read the log of %s: %w", r.where(), streamErr)
		}
		// The stream ended without a verdict: did the container end, or the stream break?
		r.snapshot(ctx, pod, take)
		if r.probeResult != nil {
			return nil
		}
		cur, msg, fix, taken := r.fate.disruption(ctx)
		if taken {
			return r.disrupted(CheckProbeExit, StepProbe, msg, fix)
		}
		if cur != nil {
			if msg, fix, ok := Killed(containerTerminated(cur, r.container), cur.Spec.NodeName); ok {
				return r.disrupted(CheckProbeExit, StepProbe, msg, fix)
			}
			if t := containerTerminated(cur, r.container); t != nil {
				msg := fmt.Sprintf("the probe ended without a verdict: its container exited with code %d (%s)", t.ExitCode, orNone(t.Reason))
				return r.probeIncomplete(msg, map[string]any{"exit_code": t.ExitCode, "reason": t.Reason})
			}
		}
		if attempt >= maxLogReopens {
			why := "the log stream ended"
			if streamErr != nil {
				why += ": " + streamErr.Error()
			}
			return r.probeIncomplete("the probe's log ended without a verdict ("+why+")", nil)
		}
	}
}

// stream follows the log, sending each line numbered, then the end.
func (r *runner) stream(ctx context.Context, pod *corev1.Pod, out chan<- numbered) {
	send := func(m numbered) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	rc, err := r.deps.Logs(ctx, pod.Namespace, pod.Name, r.container, true)
	if err != nil {
		send(numbered{end: true, err: err})
		return
	}
	// Closing the body ends a read blocked on a stream the context no longer wants.
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	defer func() { _ = rc.Close() }()
	n := 0
	err = check.ReadLines(rc, func(l check.Line) error {
		n++
		if !send(numbered{n: n, line: l}) {
			return ctx.Err()
		}
		return nil
	})
	send(numbered{end: true, err: err})
}

// snapshot reads the log as it is now, once, and hands each complete line to take.
func (r *runner) snapshot(ctx context.Context, pod *corev1.Pod, take func(int, check.Line)) {
	rc, err := r.deps.Logs(ctx, pod.Namespace, pod.Name, r.container, false)
	if err != nil {
		return
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, maxLogSnapshot))
	if err != nil {
		return
	}
	// A last line without its newline may still be growing: leave it to the stream.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		return
	}
	n := 0
	_ = check.ReadLines(bytes.NewReader(b), func(l check.Line) error {
		n++
		take(n, l)
		return nil
	})
}

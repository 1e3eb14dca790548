package verify

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/applog"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// CheckOutsideAppLogs is the check of what the workload's own containers log.
const CheckOutsideAppLogs = "outside.app_logs"

// DefaultAppLogLines is how many of each container's last log lines CheckAppLogs reads when
// it is not told.
const DefaultAppLogLines = 500

const (
	maxAppLogPods   = 3       // pods whose logs are read: the newest, which run the current template
	maxAppLogReads  = 4       // log reads at once
	maxAppLogBytes  = 4 << 20 // bytes read of one container's log, whatever its line count
	maxShownPerKind = 3       // log lines shown under one check
)

// tailFunc opens the last lines of a container's current log.
type tailFunc func(ctx context.Context, namespace, pod, container string, lines int64) (io.ReadCloser, error)

func tailLogs(c kubernetes.Interface) tailFunc {
	return func(ctx context.Context, namespace, pod, container string, lines int64) (io.ReadCloser, error) {
		limit := int64(maxAppLogBytes)
		opts := &corev1.PodLogOptions{Container: container, TailLines: &lines, LimitBytes: &limit}
		return c.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	}
}

// CheckAppLogs reads the last maxLines lines (DefaultAppLogLines when not positive) of the
// current log of each app container (not init containers) of the newest running pods of a
// workload, at most maxAppLogPods of them, and looks for the AWS SDKs' credential failures
// (pkg/applog). Each kind of failure found is one check, its lines redacted in Detail; none
// found is a pass that says what was read and what that does not prove; a log that cannot
// be read is a skip with the reason. It costs one log read per container.
func CheckAppLogs(ctx context.Context, c kubernetes.Interface, namespace string, pods []corev1.Pod, maxLines int64) []check.Event {
	return checkAppLogs(ctx, tailLogs(c), namespace, pods, maxLines)
}

// containerLog is what one container's log gave.
type containerLog struct {
	pod, container string
	lines          int
	findings       []applog.Finding
	err            error
}

func (l *containerLog) ref() string { return l.pod + "/" + l.container }

func checkAppLogs(ctx context.Context, tail tailFunc, namespace string, pods []corev1.Pod, maxLines int64) []check.Event {
	if maxLines <= 0 {
		maxLines = DefaultAppLogLines
	}
	running := newestRunning(pods)
	if len(running) == 0 {
		return []check.Event{check.New(CheckOutsideAppLogs, check.StatusSkip, "no running pod of the workload: no log to read", "", nil)}
	}
	chosen := running[:min(len(running), maxAppLogPods)]
	var logs []*containerLog
	for _, p := range chosen {
		for _, c := range p.Spec.Containers {
			logs = append(logs, &containerLog{pod: p.Name, container: c.Name})
		}
	}
	var g errgroup.Group
	g.SetLimit(maxAppLogReads)
	for _, l := range logs {
		g.Go(func() error {
			l.read(ctx, tail, namespace, maxLines)
			return nil
		})
	}
	_ = g.Wait() // every read records its own error

	which := podsRead(chosen, len(running))
	events := findingEvents(logs)
	var read []*containerLog
	for _, l := range logs {
		if l.err == nil {
			read = append(read, l)
		}
	}
	if len(events) == 0 && len(read) > 0 {
		total := 0
		for _, l := range read {
			total += l.lines
		}
		events = append(events, check.New(CheckOutsideAppLogs, check.StatusPass,
			fmt.Sprintf("no AWS SDK credential failure in the logs of %d containers of %s (%d lines, the last %d of each at most); that does not prove the app gets its credentials: an app that has not called AWS since it started, logs elsewhere or drops the SDK's errors shows nothing here",
				len(read), which, total, maxLines),
			"", map[string]any{"containers": len(read), "lines": total}))
	}
	if ev, ok := unreadEvent(logs, which); ok {
		events = append(events, ev)
	}
	return events
}

// read tails one container's log and scans it.
func (l *containerLog) read(ctx context.Context, tail tailFunc, namespace string, maxLines int64) {
	rc, err := tail(ctx, namespace, l.pod, l.container, maxLines)
	if err != nil {
		l.err = apicall.Wrap(err, "get", "pods/log", namespace, l.pod)
		return
	}
	defer rc.Close()
	lc := &lineCounter{r: rc}
	l.findings = applog.Scan(lc, int(maxLines))
	l.lines = min(lc.count(), int(maxLines))
	if lc.err != nil && len(l.findings) == 0 && l.lines == 0 {
		l.err = fmt.Errorf("failed to read the log of pod %s container %s: %w", l.pod, l.container, lc.err)
	}
}

// newestRunning are the running pods that are not being deleted, newest first: they run the
// workload's current template.
func newestRunning(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// podsRead names the pods whose logs were read, and says so when they are not all.
func podsRead(chosen []corev1.Pod, running int) string {
	names := make([]string, len(chosen))
	for i, p := range chosen {
		names[i] = p.Name
	}
	s := "pod " + names[0]
	if len(names) > 1 {
		s = "pods " + strings.Join(names, ", ")
	}
	if running > len(chosen) {
		s += fmt.Sprintf(" (the %d newest of %d running)", len(chosen), running)
	}
	return s
}

// hit is one finding in one container's log.
type hit struct {
	log *containerLog
	applog.Finding
}

// findingEvents makes one check per class of signature found, in the table's order.
func findingEvents(logs []*containerLog) []check.Event {
	byClass := map[applog.Class][]hit{}
	for _, l := range logs {
		for _, f := range l.findings {
			byClass[f.Signature.Class] = append(byClass[f.Signature.Class], hit{l, f})
		}
	}
	var events []check.Event
	for _, class := range classOrder() {
		if hits := byClass[class]; len(hits) > 0 {
			events = append(events, classEvent(class, hits))
		}
	}
	return events
}

func classOrder() []applog.Class {
	var order []applog.Class
	for _, s := range applog.Signatures() {
		if !slices.Contains(order, s.Class) {
			order = append(order, s.Class)
		}
	}
	return order
}

// classEvent words the findings of one class: where, which SDK, what it means, the fix, and
// the first redacted lines.
func classEvent(class applog.Class, hits []hit) check.Event {
	status := check.StatusWarn
	type place struct{ container, sig string }
	counts := map[place]int{}
	sigs := map[string]applog.Signature{}
	var places []place
	var ids, causes, fixes, containers, detail []string
	for _, h := range hits {
		s := h.Signature
		if s.Severity == applog.Fail {
			status = check.StatusFail
		}
		p := place{h.log.ref(), s.ID}
		if counts[p] == 0 {
			places = append(places, p)
		}
		counts[p]++
		sigs[s.ID] = s
		ids, causes, fixes = addOnce(ids, s.ID), addOnce(causes, s.Cause), addOnce(fixes, s.Fix)
		containers = addOnce(containers, h.log.ref())
		if len(detail) < maxShownPerKind {
			detail = append(detail, fmt.Sprintf("%s line %d: %s", h.log.ref(), h.Number, h.Line))
		}
	}
	where := make([]string, len(places))
	for i, p := range places {
		sig := sigs[p.sig]
		where[i] = fmt.Sprintf("%s: %d %s of %s (%s)", p.container, counts[p], plural(counts[p], "line", "lines"), sig.ID, sig.SDK)
	}
	if len(hits) > maxShownPerKind {
		detail = append(detail, fmt.Sprintf("(%d more)", len(hits)-maxShownPerKind))
	}
	msg := fmt.Sprintf("the app's log shows %s: %s; %s", class.Title(), strings.Join(where, "; "), strings.Join(causes, "; "))
	data := map[string]any{"class": string(class), "signatures": ids, "containers": containers, "lines": len(hits)}
	ev := check.New(CheckOutsideAppLogs, status, msg, strings.Join(fixes, "\n"), data)
	ev.Detail = strings.Join(detail, "\n")
	return ev
}

func addOnce(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// unreadEvent is the skip for the logs that could not be read, one reason each.
func unreadEvent(logs []*containerLog, which string) (check.Event, bool) {
	var reasons []string
	byReason := map[string][]string{}
	unread := 0
	for _, l := range logs {
		if l.err == nil {
			continue
		}
		unread++
		r := l.err.Error()
		if _, ok := byReason[r]; !ok {
			reasons = append(reasons, r)
		}
		byReason[r] = append(byReason[r], l.ref())
	}
	if len(reasons) == 0 {
		return check.Event{}, false
	}
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = strings.Join(byReason[r], ", ") + ": " + r
	}
	return check.New(CheckOutsideAppLogs, check.StatusSkip,
		fmt.Sprintf("%d of %d container logs of %s cannot be read, so what they hold is not checked: %s", unread, len(logs), which, strings.Join(parts, "; ")),
		"", nil), true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lineCounter counts the lines read through it and keeps the first read error.
type lineCounter struct {
	r       io.Reader
	lines   int
	partial bool // the last byte read was not a newline
	err     error
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.lines += bytes.Count(p[:n], []byte{'\n'})
		c.partial = p[n-1] != '\n'
	}
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *lineCounter) count() int {
	if c.partial {
		return c.lines + 1
	}
	return c.lines
}

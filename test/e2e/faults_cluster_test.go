//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Faults of the cluster itself: what takes the probe pod away, a node that stops, an
// apiserver that restarts. They are provoked on the real components, by their PID.

// runningProbePod waits until the one probe pod in ns runs, and returns it.
func runningProbePod(t *testing.T, c kubernetes.Interface, ns string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	// The kubelet reports the pod running a little after its container started.
	waitFor(t, 30*time.Second, "the probe pod running", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: probeSelector})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false, err
		}
		pod = &pods.Items[0]
		return true, nil
	})
	return pod
}

// takeProbePod runs verify against an STS that never answers, so the probe waits, and lets
// take do something to the running probe pod; it returns verify's run.
func (e env) takeProbePod(t *testing.T, c kubernetes.Interface, ns string, take func(*corev1.Pod)) result {
	t.Helper()
	e.happyServiceAccount(t, c, ns)
	endpoint, connected := hangingSTS(t, e)
	return e.disruptedRun(t, e.verifyArgs(ns, "app", endpoint, "-o", "text", "--timeout", "60s"), connected, func(*os.Process) {
		take(runningProbePod(t, c, ns))
	})
}

// evict evicts a pod through the Eviction API, as a node drain does.
func evict(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) {
	t.Helper()
	err := c.PolicyV1().Evictions(pod.Namespace).Evict(context.Background(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
	if err != nil {
		t.Fatal(err)
	}
}

// killContainer kills the probe's process in a pod with SIGKILL, as the kernel's OOM killer
// or a node agent would: the process whose cgroup is the pod's and whose command is the probe.
func killContainer(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	uid := string(pod.UID)
	for _, f := range procs {
		cg, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(cg, []byte("pod"+uid)) && !bytes.Contains(cg, []byte("pod"+strings.ReplaceAll(uid, "-", "_"))) {
			continue
		}
		dir := filepath.Dir(f)
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || !bytes.HasPrefix(cmdline, []byte("/wi-probe\x00")) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no probe process of pod %s/%s (uid %s) on this node", pod.Namespace, pod.Name, uid)
}

// nodeUnreachable stops the node's kubelet (by its PID) and marks the node's Ready condition
// Unknown, as the node controller does once the kubelet has not posted status for its grace
// period (50 s, not waited for here); the node controller then taints it. When the test ends,
// the kubelet resumes and the node is Ready again, untainted.
func (e env) nodeUnreachable(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Fatalf("want the test bed's one node: %v", err)
	}
	name := nodes.Items[0].Name
	pause(t, e, "kubelet")
	t.Cleanup(func() {
		resume(t, e, "kubelet")
		awaitNodeReady(t, c, name)
	})
	node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for i, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			node.Status.Conditions[i] = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
				Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.", LastHeartbeatTime: cond.LastHeartbeatTime, LastTransitionTime: now}
		}
	}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the node controller's unreachable taint", func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && hasTaint(n, "node.kubernetes.io/unreachable"), err
	})
}

// awaitNodeReady waits until the node is Ready and untainted again.
func awaitNodeReady(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	waitFor(t, 90*time.Second, "node "+name+" Ready again", func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue && !hasTaint(n, "node.kubernetes.io/unreachable") && !hasTaint(n, "node.kubernetes.io/not-ready"), nil
			}
		}
		return false, nil
	})
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// restartAPIServer kills kube-apiserver (SIGKILL, by its PID, as a crash would) and starts it
// again with the same command line and environment, its log appended and its new PID where
// cluster-down finds it; it returns once the apiserver is ready.
func (e env) restartAPIServer(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	pid := pidOf(t, e, "kube-apiserver")
	proc := fmt.Sprintf("/proc/%d/", pid)
	cmdline, err := os.ReadFile(proc + "cmdline")
	if err != nil {
		t.Fatal(err)
	}
	environ, err := os.ReadFile(proc + "environ")
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Gone, or a zombie nobody reaped yet: either way its port is closed.
	waitFor(t, 30*time.Second, "kube-apiserver gone", func(context.Context) (bool, error) {
		stat, err := os.ReadFile(proc + "stat")
		return err != nil || regexp.MustCompile(`^\d+ \(.*\) Z`).Match(stat), nil
	})
	logFile, err := os.OpenFile(filepath.Join(e.state, "logs", "kube-apiserver.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }() // reaped if it ends while the tests run
	if err := os.WriteFile(filepath.Join(e.state, "run", "kube-apiserver.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A loaded machine has been seen to take over two minutes; the log's tail says why when
	// it takes longer still.
	err = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 300*time.Second, true, func(ctx context.Context) (bool, error) {
		b, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(b) == "ok", nil
	})
	if err != nil {
		log, _ := os.ReadFile(logFile.Name())
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		t.Fatalf("kube-apiserver (PID %d) not ready again: %v; its log ends:\n%s", cmd.Process.Pid, err, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

// enableLines are the accounts a run of enable reports, by what it did to them.
var enableLine = regexp.MustCompile(`(?m)^serviceaccount/(\S+) (annotated|unchanged)`)

func enabled(stdout, verb string) map[string]bool {
	out := map[string]bool{}
	for _, m := range enableLine.FindAllStringSubmatch(stdout, -1) {
		if m[2] == verb {
			out[m[1]] = true
		}
	}
	return out
}

// restartRuns are enable's two runs over accounts, with the apiserver restarted in the first.
type restartRuns struct {
	first, second result
	// afterFirst and afterSecond are the accounts that carry the role after each run.
	afterFirst, afterSecond map[string]bool
	// patches counts the patches of each account the apiserver answered with success, from its
	// audit log (a lower bound: an apiserver killed as it answers may not have logged that one).
	patches map[string]int
}

// enableThroughRestart runs enable -l over n service accounts of ns and restarts the
// apiserver once the first tenth of them is annotated; then it runs enable again.
func (e env) enableThroughRestart(t *testing.T, c kubernetes.Interface, ns string, n int) restartRuns {
	t.Helper()
	ctx := context.Background()
	role := "arn:aws:iam::" + e.stsAccount + ":role/fault-" + randSuffix()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("batch-%03d", i), Labels: map[string]string{"batch": "fault"}}}, metav1.CreateOptions{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	withRole := func() map[string]bool {
		list, err := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch=fault"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, sa := range list.Items {
			if sa.Annotations["eks.amazonaws.com/role-arn"] == role {
				out[sa.Name] = true
			}
		}
		return out
	}
	start, err := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch=fault"})
	if err != nil {
		t.Fatal(err)
	}
	mark := e.enAuditMark(t)
	args := []string{"enable", "-n", ns, "-l", "batch=fault", "--role-arn", role}
	cmd := exec.Command(e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	awaitAnnotated(t, c, ns, start.ResourceVersion, role, n/10)
	e.restartAPIServer(t, c)
	requireExited(t, cmd.Wait())
	var r restartRuns
	r.first = result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	r.afterFirst = withRole()
	r.second = e.wi(t, args...)
	r.afterSecond = withRole()
	r.patches = map[string]int{}
	for _, ev := range mark.since(t, c, ns) {
		if ev.Verb == "patch" && ev.ResponseStatus.Code == 200 && ev.ObjectRef != nil && ev.ObjectRef.Resource == "serviceaccounts" && ev.ObjectRef.Namespace == ns {
			r.patches[ev.ObjectRef.Name]++
		}
	}
	return r
}

// awaitAnnotated waits until want accounts of ns labelled batch=fault carry role, watching
// from resourceVersion rv. A watch the apiserver ends early is opened again from the last
// event seen, so the apiserver is never restarted before enable has written anything.
func awaitAnnotated(t *testing.T, c kubernetes.Interface, ns, rv, role string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < want {
		w, err := c.CoreV1().ServiceAccounts(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "batch=fault", ResourceVersion: rv})
		if err != nil {
			t.Fatalf("watching the accounts enable writes (%d of %d seen with the role): %v", len(seen), want, err)
		}
		for ev := range w.ResultChan() {
			sa, ok := ev.Object.(*corev1.ServiceAccount)
			if !ok {
				continue
			}
			rv = sa.ResourceVersion
			if ev.Type == watch.Modified && sa.Annotations["eks.amazonaws.com/role-arn"] == role {
				if seen[sa.Name] = true; len(seen) == want {
					break
				}
			}
		}
		w.Stop()
	}
}

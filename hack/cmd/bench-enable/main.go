// Command bench-enable is the Go half of hack/bench-enable.sh (`make bench-enable`): it seeds
// the service accounts and Deployments that `kubectl wi enable -l` is measured on, waits for
// the controllers to settle between the measured runs, and counts the API requests of a run
// in the apiserver's audit log.
//
//	bench-enable seed   -namespace NS -n N [-workers 8] [-qps 200 -burst 400]
//	bench-enable settle -namespace NS -n N [-timeout 10m]
//	bench-enable mark                       # prints the audit log's position
//	bench-enable count  -mark POS -agent NAME -namespace NS
//
// seed creates namespace NS, N service accounts bench-0000.. labelled kubectl-wi/bench=enable,
// and for each a Deployment of one replica running as it, then waits until every Deployment
// has its pod. The pods stay Pending: their nodeSelector matches no node and they name a
// scheduler that does not run, so neither the node nor the scheduler works on them. Their pod
// template carries an emptyDir volume named aws-iam-token, which the pod identity webhook
// stand-in takes for its own mark and so skips the pod without reading its account: the
// thousands of pods the bench creates then add no account lookups that the pods of every other
// user of the cluster would queue behind. For enable the pods still lack the injection, having
// no projected token, so --restart=auto restarts every Deployment, which is what the kubectl
// loop does.
//
// count makes a request of its own, waits until the audit log shows it, and then counts the
// requests logged since POS whose User-Agent starts with NAME/ (client-go puts the base name
// of argv[0] there, so `exec -a NAME` gives a run a name of its own). It prints one line of
// key=value pairs: list, get, patch, other and total.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

const (
	benchLabel    = "kubectl-wi/bench"
	benchValue    = "enable"
	schedulerName = "kubectl-wi-bench-none" // no such scheduler runs: the pods stay Pending
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-enable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: bench-enable seed|settle|mark|count [flags]")
	}
	fs := flag.NewFlagSet("bench-enable "+args[0], flag.ContinueOnError)
	namespace := fs.String("namespace", "", "namespace of the seeded objects")
	n := fs.Int("n", 500, "number of service accounts, each with one Deployment")
	workers := fs.Int("workers", 8, "parallel creators")
	qps := fs.Float64("qps", 200, "client QPS")
	burst := fs.Int("burst", 400, "client burst")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long seed and settle wait for the controllers")
	mark := fs.String("mark", "", "the audit log position that mark printed")
	agent := fs.String("agent", "", "the program name whose requests count counts")
	auditLog := fs.String("audit-log", os.Getenv("WI_AUDIT_LOG"), "the apiserver's audit log")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	image := fs.String("image", envOr("WI_IDLE_IMAGE", "wi.local/idle:v1"), "image of the pods (never pulled: they never start)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "mark" {
		pos, err := markLog(*auditLog)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, pos)
		return nil
	}
	if *namespace == "" {
		return errors.New("-namespace is required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	switch args[0] {
	case "seed":
		return seed(ctx, client, *namespace, *n, *workers, *image, *timeout, stdout)
	case "settle":
		return settle(ctx, client, *namespace, *n, *timeout, stdout)
	case "count":
		if *mark == "" || *agent == "" {
			return errors.New("count needs -mark and -agent")
		}
		return count(ctx, client, *auditLog, *mark, *agent, *namespace, stdout)
	}
	return fmt.Errorf("unknown subcommand %q: seed, settle, mark or count", args[0])
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func name(i int) string { return fmt.Sprintf("bench-%04d", i) }

func seed(ctx context.Context, c kubernetes.Interface, ns string, n, workers int, image string, timeout time.Duration, out io.Writer) error {
	start := time.Now()
	labels := map[string]string{benchLabel: benchValue}
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := create(ctx, c, ns, name(i), image, labels); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var failed error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case failed = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if failed == nil && len(errs) > 0 {
		failed = <-errs
	}
	if failed != nil {
		return failed
	}
	created := time.Since(start)
	// Every Deployment must have its live pod before enable runs, or --restart=auto would
	// rightly leave the ones without pods alone.
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: benchLabel + "=" + benchValue})
		if err != nil {
			return false, nil
		}
		return len(pods.Items) >= n, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the %d pods of namespace %s: %w", n, ns, err)
	}
	fmt.Fprintf(out, "seeded %s: %d service accounts and Deployments in %.1fs, their %d pods Pending after %.1fs\n",
		ns, n, created.Seconds(), n, time.Since(start).Seconds())
	return nil
}

func create(ctx context.Context, c kubernetes.Interface, ns, name, image string, labels map[string]string) error {
	_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	podLabels := map[string]string{benchLabel: benchValue, "app": name}
	_, err = c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            name,
					SchedulerName:                 schedulerName,
					NodeSelector:                  map[string]string{benchLabel: "none"},
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{
						Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
					}},
					// Not the webhook's projected token: it makes the webhook stand-in skip the
					// pod without reading the account (see the package comment).
					Volumes: []corev1.Volume{{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// settle waits until the deployment controller has acted on every Deployment's latest
// generation and each has its updated pod, so one measured run's restarts do not load the
// next one.
func settle(ctx context.Context, c kubernetes.Interface, ns string, n int, timeout time.Duration, out io.Writer) error {
	start := time.Now()
	behind := 0
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		l, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: benchLabel + "=" + benchValue})
		if err != nil {
			return false, nil
		}
		behind = n - len(l.Items)
		for _, d := range l.Items {
			if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < 1 {
				behind++
			}
		}
		return behind == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d Deployments of %s still rolling after %s: %w", behind, ns, timeout, err)
	}
	fmt.Fprintf(out, "settled %s in %.1fs\n", ns, time.Since(start).Seconds())
	return nil
}

// markLog prints the audit log's identity and size: "DEV:INODE:SIZE".
func markLog(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("no inode for " + path)
	}
	return fmt.Sprintf("%d:%d:%d", st.Dev, st.Ino, fi.Size()), nil
}

type event struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Name string `json:"name"`
	} `json:"objectRef"`
}

func count(ctx context.Context, c kubernetes.Interface, path, mark, agent, ns string, out io.Writer) error {
	parts := strings.Split(mark, ":")
	if len(parts) != 3 {
		return fmt.Errorf("bad -mark %q: expected DEV:INODE:SIZE", mark)
	}
	var nums [3]uint64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return fmt.Errorf("bad -mark %q: %w", mark, err)
		}
		nums[i] = v
	}
	marker := "wi-bench-marker-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, _ = c.CoreV1().ConfigMaps(ns).Get(ctx, marker, metav1.GetOptions{})
	var events []event
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		evs, err := readSince(path, nums[0], nums[1], int64(nums[2]))
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if ev.ObjectRef != nil && ev.ObjectRef.Name == marker {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the audit log to show %s: %w", marker, err)
	}
	// An event is logged when the apiserver's handler returns, a moment after the client has
	// the response: leave a margin for the last requests before the marker's.
	time.Sleep(time.Second)
	if events, err = readSince(path, nums[0], nums[1], int64(nums[2])); err != nil {
		return err
	}
	n := map[string]int{}
	total := 0
	for _, ev := range events {
		if !strings.HasPrefix(ev.UserAgent, agent+"/") {
			continue
		}
		total++
		switch ev.Verb {
		case "list", "get", "patch":
			n[ev.Verb]++
		default:
			n["other"]++
		}
	}
	fmt.Fprintf(out, "list=%d get=%d patch=%d other=%d total=%d\n", n["list"], n["get"], n["patch"], n["other"], total)
	return nil
}

// readSince parses the ResponseComplete events logged after offset in the file dev:ino, which
// is path or, once the apiserver rotated it, its backup next to it.
func readSince(path string, dev, ino uint64, off int64) ([]event, error) {
	same := func(p string) bool {
		fi, err := os.Stat(p)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		return ok && uint64(st.Dev) == dev && st.Ino == ino
	}
	var data []byte
	if same(path) {
		b, err := readFrom(path, off)
		if err != nil {
			return nil, err
		}
		data = b
	} else {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		backups, _ := filepath.Glob(filepath.Join(filepath.Dir(path), base+"-*"))
		found := false
		for _, b := range backups {
			if same(b) {
				old, err := readFrom(b, off)
				if err != nil {
					return nil, err
				}
				data, found = old, true
			}
		}
		if !found {
			return nil, fmt.Errorf("the audit log %s was rotated and its old part is gone", path)
		}
		cur, err := readFrom(path, 0)
		if err != nil {
			return nil, err
		}
		data = append(data, cur...)
	}
	var events []event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // the last line, still being written
		}
		if ev.Stage == "ResponseComplete" || ev.Stage == "Panic" {
			events = append(events, ev)
		}
	}
	return events, sc.Err()
}

func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

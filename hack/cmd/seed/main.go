// Command seed fills the local cluster with the objects `make bench-status` measures
// `kubectl wi status -A` on, and removes them again.
//
//	seed [-namespaces 10] [-serviceaccounts 1000] [-pods 5000] [-workers 8] [-qps 200 -burst 400]
//	seed -delete [-timeout 10m]
//
// Every object carries the label kubectl-wi/bench=status, and the namespaces are named
// PREFIX0..PREFIXn-1 (bench-status-0, ...). Of the service accounts, nine in ten carry a role
// (two in a hundred with a token-expiration of 300, which status reports). The pods stay
// Pending: their nodeSelector matches no node and they name a scheduler that does not run, so
// neither the node nor the scheduler spends anything on them.
//
// The pods are created as the pod identity webhook leaves them, so that its stand-in has
// nothing to look up: the pods of accounts with a role carry the injection already (most with
// the account's role, one in twenty with an older one, so status reports them stale), and the
// pods that would need the webhook to read their account (those of accounts without a role)
// carry the skip label, which status ignores for such accounts and which keeps them from the
// webhook. One in fifty pods of an account with a role opts out with the skip label. The
// webhook stand-in reads accounts with a client limited to 5 requests per second; sending it
// thousands of lookups would take minutes and slow every other user of the cluster.
//
// It prints what status should count for the seeded namespaces, and the time it took.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

const (
	benchLabel    = "kubectl-wi/bench"
	benchValue    = "status"
	schedulerName = "kubectl-wi-bench-none" // no such scheduler runs: the pods stay Pending
)

type options struct {
	kubeconfig      string
	prefix          string
	namespaces      int
	serviceAccounts int
	pods            int
	workers         int
	qps             float64
	burst           int
	image           string
	account         string
	delete          bool
	timeout         time.Duration
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := options{}
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	fs.StringVar(&o.prefix, "prefix", "bench-status-", "namespace name prefix")
	fs.IntVar(&o.namespaces, "namespaces", 10, "namespaces to spread the objects over")
	fs.IntVar(&o.serviceAccounts, "serviceaccounts", 1000, "service accounts in all")
	fs.IntVar(&o.pods, "pods", 5000, "pods in all")
	fs.IntVar(&o.workers, "workers", 8, "parallel creators")
	fs.Float64Var(&o.qps, "qps", 200, "client QPS")
	fs.IntVar(&o.burst, "burst", 400, "client burst")
	fs.StringVar(&o.image, "image", envOr("WI_IDLE_IMAGE", "wi.local/idle:v1"), "pod image (never pulled: the pods stay Pending)")
	fs.StringVar(&o.account, "account", envOr("WI_STS_ACCOUNT", "111122223333"), "AWS account of the role ARNs")
	fs.BoolVar(&o.delete, "delete", false, "delete the bench namespaces and wait until they are gone")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long -delete waits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.namespaces < 1 || o.workers < 1 || o.serviceAccounts < o.namespaces || o.pods < 0 {
		return errors.New("need at least one namespace and worker, and a service account per namespace")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if o.delete {
		return deleteAll(ctx, client, o, stdout)
	}
	return seed(ctx, client, o, stdout)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// expected is what status should count for the seeded namespaces.
type expected struct {
	accounts, withRole                int
	total, injected, stale, skipped   int
	expirationFindings, staleFindings int
}

func seed(ctx context.Context, client kubernetes.Interface, o options, stdout io.Writer) error {
	start := time.Now()
	labels := map[string]string{benchLabel: benchValue}
	nsName := func(i int) string { return fmt.Sprintf("%s%d", o.prefix, i) }

	// Namespaces first, serially: few, and everything else needs them.
	for i := range o.namespaces {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: nsName(i), Labels: labels},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", nsName(i), err)
		}
	}

	saPerNS := o.serviceAccounts / o.namespaces
	podsPerNS := o.pods / o.namespaces
	roleOf := func(j int) string { // "" for an account without a role
		if j%10 == 0 {
			return ""
		}
		return fmt.Sprintf("arn:aws:iam::%s:role/bench-%d", o.account, j)
	}
	shortExpiration := func(j int) bool { return j%50 == 7 }

	var exp expected
	var saJobs, podJobs []func(context.Context) error
	for n := range o.namespaces {
		ns := nsName(n)
		for j := range saPerNS {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%03d", j), Namespace: ns, Labels: labels}}
			if role := roleOf(j); role != "" {
				sa.Annotations = map[string]string{identity.AnnotationRoleARN: role}
				if shortExpiration(j) {
					sa.Annotations[identity.AnnotationTokenExpiration] = "300"
					exp.expirationFindings++
				}
				exp.withRole++
			}
			exp.accounts++
			saJobs = append(saJobs, func(ctx context.Context) error {
				_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
				return err
			})
		}
		for i := range podsPerNS {
			j := i % saPerNS
			pod := benchPod(ns, fmt.Sprintf("pod-%04d", i), fmt.Sprintf("sa-%03d", j), o.image, labels)
			role := roleOf(j)
			switch {
			case role == "":
				// The webhook would look the account up to find no role: spare it the lookup.
				pod.Labels[identity.LabelSkipPodIdentityWebhook] = "true"
			case i%50 == 9:
				pod.Labels[identity.LabelSkipPodIdentityWebhook] = "true"
				exp.total++
				exp.skipped++
			default:
				expiration := identity.DefaultTokenExpiration
				if shortExpiration(j) {
					expiration = identity.MinTokenExpiration
				}
				if i%20 == 1 {
					role = fmt.Sprintf("arn:aws:iam::%s:role/bench-old", o.account)
					exp.stale++
					exp.staleFindings++ // bare pods: one finding each
				} else {
					exp.injected++
				}
				exp.total++
				inject(pod, role, identity.DefaultAudience, expiration)
			}
			podJobs = append(podJobs, func(ctx context.Context) error {
				_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
				return err
			})
		}
	}

	t0 := time.Now()
	if err := runJobs(ctx, o.workers, saJobs); err != nil {
		return fmt.Errorf("service accounts: %w", err)
	}
	saTime := time.Since(t0)
	t0 = time.Now()
	if err := runJobs(ctx, o.workers, podJobs); err != nil {
		return fmt.Errorf("pods: %w", err)
	}
	podTime := time.Since(t0)
	total := time.Since(start)

	fmt.Fprintf(stdout, "seeded %d namespaces, %d service accounts (%d with a role) in %.1fs, %d pods in %.1fs: %.1fs in all (%d workers, QPS %.0f, burst %d)\n",
		o.namespaces, len(saJobs), exp.withRole, saTime.Seconds(), len(podJobs), podTime.Seconds(), total.Seconds(), o.workers, o.qps, o.burst)
	fmt.Fprintf(stdout, "expected from status: accounts=%d pods=%d injected=%d stale=%d skipped=%d findings: stale-pods=%d token-expiration=%d\n",
		exp.withRole, exp.total, exp.injected, exp.stale, exp.skipped, exp.staleFindings, exp.expirationFindings)
	return nil
}

// benchPod is a small pod that stays Pending.
func benchPod(ns, name, sa, image string, labels map[string]string) *corev1.Pod {
	l := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
		Spec: corev1.PodSpec{
			ServiceAccountName:            sa,
			NodeSelector:                  map[string]string{benchLabel: "none"},
			SchedulerName:                 schedulerName,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
			}},
		},
	}
}

// inject adds what the pod identity webhook adds for role, audience and expiration.
func inject(pod *corev1.Pod, role, audience string, expiration int64) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Env = append(c.Env,
			corev1.EnvVar{Name: identity.EnvRoleARN, Value: role},
			corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name: identity.TokenVolumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: audience, ExpirationSeconds: ptr.To(expiration), Path: "token",
			}}},
		}},
	})
}

// runJobs runs jobs on workers goroutines, retrying what the apiserver may refuse for a moment
// (throttling, a service account its admission cache does not know yet). An object that exists
// already counts as created, so a run can be repeated.
func runJobs(ctx context.Context, workers int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range ch {
				if err := retry(ctx, job); err != nil {
					if firstErr.CompareAndSwap(nil, &err) {
						cancel()
					}
				}
			}
		}()
	}
	for _, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- job
	}
	close(ch)
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	return ctx.Err()
}

func retry(ctx context.Context, job func(context.Context) error) error {
	var err error
	backoff := 100 * time.Millisecond
	for attempt := 0; attempt < 10; attempt++ {
		err = job(ctx)
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
			return nil
		case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
			apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err),
			apierrors.IsForbidden(err) && strings.Contains(err.Error(), "service account"):
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return err
}

// deleteAll deletes the bench namespaces and waits until the apiserver no longer has them.
func deleteAll(ctx context.Context, client kubernetes.Interface, o options, stdout io.Writer) error {
	start := time.Now()
	sel := metav1.ListOptions{LabelSelector: benchLabel + "=" + benchValue}
	l, err := client.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return err
	}
	if len(l.Items) == 0 {
		return nil
	}
	for _, ns := range l.Items {
		if !strings.HasPrefix(ns.Name, o.prefix) {
			continue // labelled by hand: not ours to delete
		}
		err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, o.timeout, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			return false, nil //nolint:nilerr // keep polling through a transient failure
		}
		for _, ns := range l.Items {
			if strings.HasPrefix(ns.Name, o.prefix) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the bench namespaces are not gone after %s: %w", o.timeout, err)
	}
	fmt.Fprintf(stdout, "deleted the bench namespaces in %.1fs\n", time.Since(start).Seconds())
	return nil
}

package restart

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// Snapshot is what may use the accounts in one scope (a namespace, or every namespace), read
// with one LIST per kind however many accounts and workloads there are.
type Snapshot struct {
	Pods         []corev1.Pod
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	DaemonSets   []appsv1.DaemonSet
	// Jobs are read only when a live pod using one of the accounts is owned by a Job, to tell
	// a CronJob's runs from a plain Job.
	Jobs []batchv1.Job
}

// Scope is the namespace to LIST in for the accounts: theirs when they share one, else ""
// (every namespace, one LIST per kind rather than one per namespace).
func Scope(accounts []Account) string {
	if len(accounts) == 0 {
		return ""
	}
	ns := accounts[0].Namespace
	for _, a := range accounts[1:] {
		if a.Namespace != ns {
			return ""
		}
	}
	return ns
}

// Load reads the snapshot for accounts in namespace ("" for all): the live pods, the
// Deployments, StatefulSets and DaemonSets, and the Jobs when a pod needs them.
func Load(ctx context.Context, c kubernetes.Interface, namespace string, accounts []Account) (*Snapshot, error) {
	snap := &Snapshot{}
	var err error
	// Live pods only; with a single account, only its pods. The selectors save bytes on the
	// wire; Plan filters again, so a server (or fake) that ignores them is still right.
	fields := []string{"status.phase!=" + string(corev1.PodSucceeded), "status.phase!=" + string(corev1.PodFailed)}
	if names := accountNames(accounts); len(names) == 1 {
		fields = append(fields, "spec.serviceAccountName="+names[0])
	}
	snap.Pods, err = apicall.ListAll(ctx, metav1.ListOptions{FieldSelector: strings.Join(fields, ",")},
		func(ctx context.Context, o metav1.ListOptions) ([]corev1.Pod, metav1.ListMeta, error) {
			l, err := c.CoreV1().Pods(namespace).List(ctx, o)
			if err != nil {
				return nil, metav1.ListMeta{}, err
			}
			return l.Items, l.ListMeta, nil
		})
	if err != nil {
		return nil, apicall.Wrap(err, "list", "pods", namespace, "")
	}
	if snap.Deployments, err = listDeployments(ctx, c, namespace); err != nil {
		return nil, err
	}
	if snap.StatefulSets, err = listStatefulSets(ctx, c, namespace); err != nil {
		return nil, err
	}
	if snap.DaemonSets, err = listDaemonSets(ctx, c, namespace); err != nil {
		return nil, err
	}
	if !podsOwnedByJobs(snap.Pods, accounts) {
		return snap, nil
	}
	snap.Jobs, err = apicall.ListAll(ctx, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]batchv1.Job, metav1.ListMeta, error) {
			l, err := c.BatchV1().Jobs(namespace).List(ctx, o)
			if err != nil {
				return nil, metav1.ListMeta{}, err
			}
			return l.Items, l.ListMeta, nil
		})
	if err != nil {
		return nil, apicall.Wrap(err, "list", "jobs.batch", namespace, "")
	}
	return snap, nil
}

func accountNames(accounts []Account) []string {
	seen := map[string]bool{}
	var names []string
	for _, a := range accounts {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	return names
}

func podsOwnedByJobs(pods []corev1.Pod, accounts []Account) bool {
	idx := indexAccounts(accounts)
	for i := range pods {
		p := &pods[i]
		if !live(p) || idx[key(p.Namespace, identity.ServiceAccountName(&p.Spec))] == nil {
			continue
		}
		if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "Job" {
			return true
		}
	}
	return false
}

// live is true for a pod that runs or will run: not terminating, not finished.
func live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func listDeployments(ctx context.Context, c kubernetes.Interface, ns string) ([]appsv1.Deployment, error) {
	items, err := apicall.ListAll(ctx, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.Deployment, metav1.ListMeta, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, o)
			if err != nil {
				return nil, metav1.ListMeta{}, err
			}
			return l.Items, l.ListMeta, nil
		})
	return items, apicall.Wrap(err, "list", "deployments.apps", ns, "")
}

func listStatefulSets(ctx context.Context, c kubernetes.Interface, ns string) ([]appsv1.StatefulSet, error) {
	items, err := apicall.ListAll(ctx, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.StatefulSet, metav1.ListMeta, error) {
			l, err := c.AppsV1().StatefulSets(ns).List(ctx, o)
			if err != nil {
				return nil, metav1.ListMeta{}, err
			}
			return l.Items, l.ListMeta, nil
		})
	return items, apicall.Wrap(err, "list", "statefulsets.apps", ns, "")
}

func listDaemonSets(ctx context.Context, c kubernetes.Interface, ns string) ([]appsv1.DaemonSet, error) {
	items, err := apicall.ListAll(ctx, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]appsv1.DaemonSet, metav1.ListMeta, error) {
			l, err := c.AppsV1().DaemonSets(ns).List(ctx, o)
			if err != nil {
				return nil, metav1.ListMeta{}, err
			}
			return l.Items, l.ListMeta, nil
		})
	return items, apicall.Wrap(err, "list", "daemonsets.apps", ns, "")
}

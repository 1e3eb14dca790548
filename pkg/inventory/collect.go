package inventory

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// PageSize is the number of objects asked for per LIST request, as kubectl's --chunk-size.
const PageSize = apicall.PageSize

// listPages calls page for each page of a LIST of resource in namespace; nothing is kept across
// pages. A failure is an apicall.Error: it names the permission to ask for.
func listPages(ctx context.Context, resource, namespace string, page func(context.Context, metav1.ListOptions) (string, error)) error {
	return apicall.Wrap(apicall.EachPage(ctx, metav1.ListOptions{}, page), "list", resource, namespace, "")
}

// Collect reads the cluster and builds the report for namespace ("" for every namespace).
// Service accounts and pods must be readable: their failure is the error. Workloads and
// webhook configurations only add detail: a forbidden LIST of those becomes a warning.
//
// API calls: one paginated LIST each of serviceaccounts and pods (in namespace or all),
// deployments, statefulsets, daemonsets, jobs, cronjobs, and the cluster-scoped
// mutatingwebhookconfigurations. The optional kinds are read concurrently with the required
// ones; pods are read after service accounts, so each page is classified and dropped.
func Collect(ctx context.Context, client kubernetes.Interface, namespace string) (*Report, error) {
	return CollectSelected(ctx, client, namespace, "")
}

// CollectSelected is Collect for the service accounts that match a label selector ("" for
// every one): their pods, and no other account's, are counted and checked.
func CollectSelected(ctx context.Context, client kubernetes.Interface, namespace, selector string) (*Report, error) {
	return CollectScope(ctx, client, Scope{Namespace: namespace, Selector: selector})
}

// Scope is what CollectScope reports on.
type Scope struct {
	Namespace string // "" for every namespace
	Selector  string // a label selector of service accounts; "" for every one
	// Cluster and Associations are the EKS cluster's Pod Identity associations, when they
	// were read: each account of one (in Namespace) is reported, its pods judged against it,
	// whether or not they carry its credentials. Nil: only pods show Pod Identity.
	Cluster      string
	Associations []Association
}

// Association is an EKS Pod Identity association, as the report uses it.
type Association struct {
	ID, Namespace, ServiceAccount, RoleARN string
}

// CollectScope is Collect for a Scope.
func CollectScope(ctx context.Context, client kubernetes.Interface, scope Scope) (*Report, error) {
	namespace, selector := scope.Namespace, scope.Selector
	c := newCollector()
	c.selective = selector != ""
	c.cluster = scope.Cluster
	for _, a := range scope.Associations {
		if namespace == "" || a.Namespace == namespace {
			c.addAssociation(a)
		}
	}
	g, ctx := errgroup.WithContext(ctx)

	g.Go(func() error {
		err := listPages(ctx, "serviceaccounts", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
			opts.LabelSelector = selector
			l, err := client.CoreV1().ServiceAccounts(namespace).List(ctx, opts)
			if err != nil {
				return "", err
			}
			for i := range l.Items {
				c.addServiceAccount(&l.Items[i])
			}
			return l.Continue, nil
		})
		if err != nil {
			return err
		}
		return listPages(ctx, "pods", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
			l, err := client.CoreV1().Pods(namespace).List(ctx, opts)
			if err != nil {
				return "", err
			}
			for i := range l.Items {
				c.addPod(&l.Items[i])
			}
			return l.Continue, nil
		})
	})

	optional := func(resource, ns string, page func(context.Context, metav1.ListOptions) (string, error)) {
		g.Go(func() error {
			err := listPages(ctx, resource, ns, page)
			if err != nil && optionalListFailure(err) {
				c.warn(err.Error() + "; its part of the report is left out")
				return nil
			}
			return err
		})
	}
	optional("deployments.apps", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.AppsV1().Deployments(namespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			d := &l.Items[i]
			c.addWorkload("deployment", &d.ObjectMeta, &d.Spec.Template.Spec, restartfix.Workload{Paused: d.Spec.Paused})
		}
		return l.Continue, nil
	})
	optional("statefulsets.apps", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.AppsV1().StatefulSets(namespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			s := &l.Items[i]
			c.addWorkload("statefulset", &s.ObjectMeta, &s.Spec.Template.Spec,
				restartfix.Workload{OnDelete: s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType})
		}
		return l.Continue, nil
	})
	optional("daemonsets.apps", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.AppsV1().DaemonSets(namespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			d := &l.Items[i]
			c.addWorkload("daemonset", &d.ObjectMeta, &d.Spec.Template.Spec,
				restartfix.Workload{OnDelete: d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType})
		}
		return l.Continue, nil
	})
	optional("jobs.batch", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.BatchV1().Jobs(namespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			if ref := metav1.GetControllerOf(&l.Items[i]); ref != nil && ref.Kind == "CronJob" {
				c.addCronJobRun(l.Items[i].Namespace, l.Items[i].Name, ref.Name)
				continue // listed as its cronjob
			}
			c.addWorkload("job", &l.Items[i].ObjectMeta, &l.Items[i].Spec.Template.Spec, restartfix.Workload{})
		}
		return l.Continue, nil
	})
	optional("cronjobs.batch", namespace, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.BatchV1().CronJobs(namespace).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			c.addWorkload("cronjob", &l.Items[i].ObjectMeta, &l.Items[i].Spec.JobTemplate.Spec.Template.Spec, restartfix.Workload{})
		}
		return l.Continue, nil
	})
	optional("mutatingwebhookconfigurations.admissionregistration.k8s.io", "", func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range l.Items {
			c.addWebhookConfiguration(&l.Items[i])
		}
		if l.Continue == "" {
			c.markWebhooksChecked() // every page read
		}
		return l.Continue, nil
	})

	if err := g.Wait(); err != nil {
		return nil, err
	}
	return c.report(), nil
}

// optionalListFailure is a failure of an optional LIST that the report can do without: the
// user may not read that kind, or the cluster does not serve it.
func optionalListFailure(err error) bool {
	var le *apicall.Error
	if !errors.As(err, &le) {
		return false
	}
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
}

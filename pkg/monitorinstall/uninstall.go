package monitorinstall

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

// UninstallOptions are how uninstall deletes.
type UninstallOptions struct {
	// DryRunServer sends every delete with dryRun=All, and waits for nothing.
	DryRunServer bool
	// Wait is how long to wait for the monitor's pods, its probe pods and its namespace to be
	// gone; Poll how often to look.
	Wait, Poll time.Duration
}

// Deleted is one object uninstall deleted, as kubectl prints it (deployment.apps/NAME).
type Deleted struct {
	Object    string `json:"object"`
	Namespace string `json:"namespace,omitempty"`
}

// Uninstall removes what Install wrote from namespace ns (the monitor's): the Deployment
// first, so no new probe pod starts, then its probe pods in every namespace, then the rest,
// the namespace last when install created it. Objects already gone are skipped: a rerun does
// nothing. It waits until the monitor's pods, its probe pods and its namespace are gone.
func Uninstall(ctx context.Context, d Deps, ns string, o UninstallOptions) ([]Deleted, error) {
	u := uninstaller{d: d, ns: ns, o: o, opts: metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}}
	if o.DryRunServer {
		u.opts.DryRun = []string{metav1.DryRunAll}
	}
	return u.run(ctx)
}

type uninstaller struct {
	d       Deps
	ns      string
	o       UninstallOptions
	opts    metav1.DeleteOptions
	deleted []Deleted
}

func (u *uninstaller) run(ctx context.Context) ([]Deleted, error) {
	c := u.d.Client
	selector := metav1.ListOptions{LabelSelector: LabelName + "=" + LabelValue}
	steps := []func(context.Context) error{
		func(ctx context.Context) error {
			return u.del(ctx, "deployment.apps", "deployments.apps", u.ns, Name, c.AppsV1().Deployments(u.ns).Delete)
		},
		// The monitor's own pods first: a running one would start new probe pods.
		func(ctx context.Context) error {
			return u.waitPodsGone(ctx, u.ns, selector.LabelSelector, "the monitor's pods")
		},
		u.deleteProbePods,
		func(ctx context.Context) error {
			return u.del(ctx, "service", "services", u.ns, Name, c.CoreV1().Services(u.ns).Delete)
		},
		func(ctx context.Context) error {
			return u.del(ctx, "configmap", "configmaps", u.ns, StatusConfigMap, c.CoreV1().ConfigMaps(u.ns).Delete)
		},
		func(ctx context.Context) error {
			return u.del(ctx, "configmap", "configmaps", u.ns, CAConfigMap, c.CoreV1().ConfigMaps(u.ns).Delete)
		},
		func(ctx context.Context) error {
			return u.del(ctx, "lease.coordination.k8s.io", "leases.coordination.k8s.io", u.ns, Name, c.CoordinationV1().Leases(u.ns).Delete)
		},
		u.deletePrometheusRule,
		u.deleteRBAC,
		func(ctx context.Context) error {
			return u.del(ctx, "serviceaccount", "serviceaccounts", u.ns, Name, c.CoreV1().ServiceAccounts(u.ns).Delete)
		},
		u.deleteNamespace,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return u.deleted, err
		}
	}
	return u.deleted, nil
}

// del deletes one object; gone already is fine.
func (u *uninstaller) del(ctx context.Context, printed, resource, ns, name string, del func(context.Context, string, metav1.DeleteOptions) error) error {
	err := del(ctx, name, u.opts)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return apicall.Wrap(err, "delete", resource, ns, name)
	}
	u.deleted = append(u.deleted, Deleted{Object: printed + "/" + name, Namespace: ns})
	return nil
}

// deleteProbePods deletes the monitor's probe pods wherever they run, and waits for them.
func (u *uninstaller) deleteProbePods(ctx context.Context) error {
	pods := u.d.Client.CoreV1().Pods(metav1.NamespaceAll)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: monitor.ProbeSelector().String()})
	if err != nil {
		return apicall.Wrap(err, "list", "pods", "", "")
	}
	for _, p := range list.Items {
		if err := u.del(ctx, "pod", "pods", p.Namespace, p.Name, u.d.Client.CoreV1().Pods(p.Namespace).Delete); err != nil {
			return err
		}
	}
	return u.waitPodsGone(ctx, metav1.NamespaceAll, monitor.ProbeSelector().String(), "the monitor's probe pods")
}

func (u *uninstaller) waitPodsGone(ctx context.Context, ns, selector, what string) error {
	return u.waitGone(ctx, what, func(ctx context.Context) (bool, error) {
		list, err := u.d.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, apicall.Wrap(err, "list", "pods", ns, "")
		}
		return len(list.Items) == 0, nil
	})
}

// waitGone polls gone until it says so, for at most Wait; a server dry run waits for nothing.
func (u *uninstaller) waitGone(ctx context.Context, what string, gone func(context.Context) (bool, error)) error {
	if u.o.DryRunServer {
		return nil
	}
	poll := u.o.Poll
	if poll <= 0 {
		poll = time.Second
	}
	err := wait.PollUntilContextTimeout(ctx, poll, u.o.Wait, true, gone)
	if err != nil && ctx.Err() == nil && wait.Interrupted(err) {
		return fmt.Errorf("%s are still there after %s", what, u.o.Wait)
	}
	return err
}

func (u *uninstaller) deletePrometheusRule(ctx context.Context) error {
	served, err := PrometheusRuleServed(u.d.Discovery)
	if err != nil || !served || u.d.Dynamic == nil {
		return err
	}
	return u.del(ctx, "prometheusrule.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com", u.ns, Name, func(ctx context.Context, name string, opts metav1.DeleteOptions) error {
		return u.d.Dynamic.Resource(PrometheusRuleGVR).Namespace(u.ns).Delete(ctx, name, opts)
	})
}

// deleteRBAC deletes the roles and bindings install wrote: by label, and by one of the names
// install gives them, wherever --namespaces put them.
func (u *uninstaller) deleteRBAC(ctx context.Context) error {
	rbac := u.d.Client.RbacV1()
	opts := metav1.ListOptions{LabelSelector: LabelName + "=" + LabelValue}
	ours := map[string]bool{Name: true, Name + "-self": true, Name + "-agent": true}
	bindings, err := rbac.RoleBindings(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return apicall.Wrap(err, "list", "rolebindings.rbac.authorization.k8s.io", "", "")
	}
	for _, b := range bindings.Items {
		if ours[b.Name] {
			if err := u.del(ctx, "rolebinding.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io", b.Namespace, b.Name, rbac.RoleBindings(b.Namespace).Delete); err != nil {
				return err
			}
		}
	}
	roles, err := rbac.Roles(metav1.NamespaceAll).List(ctx, opts)
	if err != nil {
		return apicall.Wrap(err, "list", "roles.rbac.authorization.k8s.io", "", "")
	}
	for _, r := range roles.Items {
		if ours[r.Name] {
			if err := u.del(ctx, "role.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io", r.Namespace, r.Name, rbac.Roles(r.Namespace).Delete); err != nil {
				return err
			}
		}
	}
	if err := u.del(ctx, "clusterrolebinding.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io", "", Name, rbac.ClusterRoleBindings().Delete); err != nil {
		return err
	}
	return u.del(ctx, "clusterrole.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io", "", Name, rbac.ClusterRoles().Delete)
}

// deleteNamespace deletes the monitor's namespace when install created it (it carries the
// label), and waits until it is gone.
func (u *uninstaller) deleteNamespace(ctx context.Context) error {
	nss := u.d.Client.CoreV1().Namespaces()
	got, err := nss.Get(ctx, u.ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return apicall.Wrap(err, "get", "namespaces", "", u.ns)
	case got.Labels[LabelName] != LabelValue:
		return nil
	}
	if got.DeletionTimestamp == nil {
		if err := u.del(ctx, "namespace", "namespaces", "", u.ns, nss.Delete); err != nil {
			return err
		}
	}
	return u.waitGone(ctx, "namespace "+u.ns, func(ctx context.Context) (bool, error) {
		_, err := nss.Get(ctx, u.ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

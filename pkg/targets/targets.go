// Package targets parses the TARGET argument of enable and disable (NAME, serviceaccount/NAME,
// deployment/NAME, storagecluster/NAME, ...) and says where the identity goes: the
// annotations of a service account, or a field of a custom resource whose operator takes the
// role itself. A kind is a table entry: a service account or workload kind is a row of
// coreKinds; a custom resource kind is data, an entry of builtin.yaml or of a user's targets
// file (see File), and Custom.Apply makes the edit it describes.
package targets

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// Kind is a kind of object a TARGET may name.
type Kind struct {
	// Name is the kind as kubectl prints it in TYPE/NAME: serviceaccount, deployment.apps.
	Name string
	// Resource is the plural resource with its group, as RBAC names it: deployments.apps.
	Resource string
	// Aliases are what a user may type before the slash, lowercase; the first is the usual one.
	Aliases []string
	// Short is the alias error messages suggest next to the first one.
	Short string
	// podSpec reads the pod template of the named object; nil for a service account.
	podSpec func(ctx context.Context, c kubernetes.Interface, namespace, name string) (*corev1.PodSpec, error)
	// names lists the names of the kind's objects in a namespace, one page; nil for a custom
	// resource kind.
	names func(ctx context.Context, c kubernetes.Interface, namespace string) ([]string, error)
	// Custom is set for a custom resource kind: where its role goes.
	Custom *Custom
}

// ServiceAccount is the kind of a bare NAME.
var ServiceAccount = &Kind{
	Name: "serviceaccount", Resource: "serviceaccounts", Aliases: []string{"serviceaccount", "serviceaccounts", "sa"}, Short: "sa",
	names: func(ctx context.Context, c kubernetes.Interface, ns string) ([]string, error) {
		l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, namesPage)
		if err != nil {
			return nil, err
		}
		return itemNames(l.Items), nil
	},
}

// itemNames are the names of a LIST's items.
func itemNames[T any, P interface {
	*T
	GetName() string
}](items []T) []string {
	out := make([]string, len(items))
	for i := range items {
		out[i] = P(&items[i]).GetName()
	}
	return out
}

// namesPage bounds the LIST behind suggestions and completion to one page: a name that is
// not among the first 500 is not suggested.
var namesPage = metav1.ListOptions{Limit: 500}

// Kinds are the kinds a TARGET may name by default: the service account, the workload kinds
// and the built-in custom resource kinds. Registry adds a user's kinds to them.
var Kinds = Builtin().Kinds()

// coreKinds are the kinds whose identity is a service account's annotations.
var coreKinds = []*Kind{
	ServiceAccount,
	{
		Name: "deployment.apps", Resource: "deployments.apps",
		Aliases: []string{"deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"}, Short: "deploy",
		podSpec: func(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.PodSpec, error) {
			obj, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return &obj.Spec.Template.Spec, nil
		},
		names: func(ctx context.Context, c kubernetes.Interface, ns string) ([]string, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, namesPage)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items), nil
		},
	},
	{
		Name: "statefulset.apps", Resource: "statefulsets.apps",
		Aliases: []string{"statefulset", "statefulsets", "sts", "statefulset.apps", "statefulsets.apps"}, Short: "sts",
		podSpec: func(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.PodSpec, error) {
			obj, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return &obj.Spec.Template.Spec, nil
		},
		names: func(ctx context.Context, c kubernetes.Interface, ns string) ([]string, error) {
			l, err := c.AppsV1().StatefulSets(ns).List(ctx, namesPage)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items), nil
		},
	},
	{
		Name: "daemonset.apps", Resource: "daemonsets.apps",
		Aliases: []string{"daemonset", "daemonsets", "ds", "daemonset.apps", "daemonsets.apps"}, Short: "ds",
		podSpec: func(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.PodSpec, error) {
			obj, err := c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return &obj.Spec.Template.Spec, nil
		},
		names: func(ctx context.Context, c kubernetes.Interface, ns string) ([]string, error) {
			l, err := c.AppsV1().DaemonSets(ns).List(ctx, namesPage)
			if err != nil {
				return nil, err
			}
			return itemNames(l.Items), nil
		},
	},
}

// Ref is a parsed TARGET.
type Ref struct {
	Kind *Kind
	Name string
}

// String renders the reference as kubectl prints objects: deployment.apps/web.
func (r Ref) String() string { return r.Kind.Name + "/" + r.Name }

// IsServiceAccount is true when the target names the service account itself.
func (r Ref) IsServiceAccount() bool { return r.Kind == ServiceAccount }

// IsCustom is true when the target is a custom resource that takes the role itself.
func (r Ref) IsCustom() bool { return r.Kind.Custom != nil }

var defaultRegistry = &Registry{kinds: Kinds, charts: builtinFile.Charts}

// Parse reads NAME or TYPE/NAME against the built-in kinds. The error says what is wrong and
// which forms are accepted.
func Parse(arg string) (Ref, error) { return defaultRegistry.Parse(arg) }

// KindList names the built-in kinds for error messages: serviceaccount (sa), deployment (deploy), ...
func KindList() string { return defaultRegistry.KindList() }

// ValidName checks a DNS subdomain name, which every kind here uses (verify's pod/NAME too):
// what is wrong with it, "" when nothing is. It does without the apimachinery validation
// package (and its init work) for one regular expression.
func ValidName(name string) string {
	if len(name) > 253 {
		return "must be no more than 253 characters"
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if alnum || (r == '-' || r == '.') && i > 0 && i < len(name)-1 {
			continue
		}
		return "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
	}
	return ""
}

// ServiceAccountName resolves ref in namespace to the service account its pods run as: the
// name itself for a service account, the pod template's serviceAccountName ("default" when
// unset) for a workload, which costs one GET. A missing workload is an *apicall.Error that
// apierrors.IsNotFound recognises.
func ServiceAccountName(ctx context.Context, c kubernetes.Interface, namespace string, ref Ref) (string, error) {
	if ref.IsCustom() {
		return "", fmt.Errorf("%s is a custom resource: its operator manages its service account", ref)
	}
	if ref.Kind.podSpec == nil {
		return ref.Name, nil
	}
	spec, err := ref.Kind.podSpec(ctx, c, namespace, ref.Name)
	if err != nil {
		return "", apicall.Wrap(err, "get", ref.Kind.Resource, namespace, ref.Name)
	}
	return identity.ServiceAccountName(spec), nil
}

// Names lists the names of the kind's objects in namespace (the first page of 500), for
// suggestions and completion. A custom resource kind has none here: nil.
func (k *Kind) Names(ctx context.Context, c kubernetes.Interface, namespace string) ([]string, error) {
	if k.names == nil {
		return nil, nil
	}
	names, err := k.names(ctx, c, namespace)
	return names, apicall.Wrap(err, "list", k.Resource, namespace, "")
}

// HasNames is true when Names can list the kind's objects.
func (k *Kind) HasNames() bool { return k.names != nil }

// WorkloadKinds are the kinds whose objects run pods under a service account: deployment,
// statefulset, daemonset.
func WorkloadKinds() []*Kind { return coreKinds[1:] }

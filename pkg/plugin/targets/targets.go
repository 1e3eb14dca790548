// Package targets parses the TARGET argument of enable and disable (NAME, serviceaccount/NAME,
// deployment/NAME, ...) and resolves it to the service account whose annotations carry the
// identity. A kind is a table entry: adding one adds a row to Kinds.
package targets

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/apicall"
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
}

// ServiceAccount is the kind of a bare NAME.
var ServiceAccount = &Kind{Name: "serviceaccount", Resource: "serviceaccounts", Aliases: []string{"serviceaccount", "serviceaccounts", "sa"}, Short: "sa"}

// Kinds are the kinds a TARGET may name.
var Kinds = []*Kind{
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

// Parse reads NAME or TYPE/NAME. The error says what is wrong and which forms are accepted.
func Parse(arg string) (Ref, error) {
	kindText, name, hasKind := strings.Cut(arg, "/")
	if !hasKind {
		kindText, name = "serviceaccount", arg
	}
	if name == "" {
		return Ref{}, fmt.Errorf("target %q has no name: expected NAME or TYPE/NAME, TYPE one of %s", arg, KindList())
	}
	if strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("target %q has more than one slash: expected NAME or TYPE/NAME", arg)
	}
	if msgs := validName(name); msgs != "" {
		return Ref{}, fmt.Errorf("target %q: %q is not a valid object name: %s", arg, name, msgs)
	}
	kind := lookup(kindText)
	if kind == nil {
		return Ref{}, fmt.Errorf("target %q has unknown kind %q: expected one of %s", arg, kindText, KindList())
	}
	return Ref{Kind: kind, Name: name}, nil
}

// KindList names the accepted kinds for error messages: serviceaccount (sa), deployment (deploy), ...
func KindList() string {
	parts := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		parts = append(parts, fmt.Sprintf("%s (%s)", k.Aliases[0], k.Short))
	}
	return strings.Join(parts, ", ")
}

func lookup(text string) *Kind {
	text = strings.ToLower(text)
	for _, k := range Kinds {
		for _, a := range k.Aliases {
			if a == text {
				return k
			}
		}
	}
	return nil
}

// validName checks a DNS subdomain name, which every kind here uses, without importing the
// apimachinery validation package (and its init work) for one regular expression.
func validName(name string) string {
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
	if ref.Kind.podSpec == nil {
		return ref.Name, nil
	}
	spec, err := ref.Kind.podSpec(ctx, c, namespace, ref.Name)
	if err != nil {
		return "", apicall.Wrap(err, "get", ref.Kind.Resource, namespace, ref.Name)
	}
	return identity.ServiceAccountName(spec), nil
}

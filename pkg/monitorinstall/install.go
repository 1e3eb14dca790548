package monitorinstall

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
)

// Deps are the clients install, uninstall and status use. Dynamic and Discovery are needed
// only for the PrometheusRule; nil: it is never written or removed.
type Deps struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
}

// Options are how install writes.
type Options struct {
	// DryRunServer sends every write with dryRun=All: the apiserver validates and admits it
	// and stores nothing.
	DryRunServer bool
	// PrometheusRules writes the alert rules as a PrometheusRule when its CRD is served;
	// otherwise Result.RulesFile holds them for a Prometheus configured by hand.
	PrometheusRules bool
}

// The actions of Applied.
const (
	ActionCreated    = "created"
	ActionConfigured = "configured"
	ActionUnchanged  = "unchanged"
	// ActionKept is an existing namespace that install did not create: it writes nothing to
	// it, and uninstall leaves it.
	ActionKept = "kept"
)

// Applied is one object install wrote, in kubectl's words.
type Applied struct {
	Object *unstructured.Unstructured
	Action string
}

// Result is what install did.
type Result struct {
	Applied []Applied
	// RulesFile is the alert rules file when PrometheusRules was asked and no PrometheusRule
	// CRD is served.
	RulesFile []byte
}

// Install applies the monitor's objects with server-side apply under FieldManager: a rerun
// changes nothing, fields other managers own stay as they are. c must have passed Validate.
func Install(ctx context.Context, d Deps, c Config, o Options) (Result, error) {
	var res Result
	manifests, err := c.Manifests(false)
	if err != nil {
		return res, err
	}
	if o.PrometheusRules {
		served, err := PrometheusRuleServed(d.Discovery)
		if err != nil {
			return res, err
		}
		if served && d.Dynamic != nil {
			pr, err := c.PrometheusRule()
			if err != nil {
				return res, err
			}
			manifests = append(manifests, pr)
		} else if res.RulesFile, err = c.RulesYAML(); err != nil {
			return res, err
		}
	}
	w := writer{d: d, opts: metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)}}
	if o.DryRunServer {
		w.opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, u := range manifests {
		action, err := w.apply(ctx, u)
		if err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, Applied{Object: u, Action: action})
	}
	return res, nil
}

// PrometheusRuleServed reports whether the apiserver serves monitoring.coreos.com/v1
// prometheusrules (the prometheus-operator's CRD is installed).
func PrometheusRuleServed(disc discovery.DiscoveryInterface) (bool, error) {
	if disc == nil {
		return false, nil
	}
	list, err := disc.ServerResourcesForGroupVersion(PrometheusRuleGVR.GroupVersion().String())
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to discover %s: %w", PrometheusRuleGVR.GroupVersion(), err)
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == PrometheusRuleGVR.Resource }), nil
}

type writer struct {
	d    Deps
	opts metav1.PatchOptions
}

// typedClient is what every typed client of the objects install writes has.
type typedClient[T metav1.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}

func (w writer) apply(ctx context.Context, u *unstructured.Unstructured) (string, error) {
	c := w.d.Client
	ns, name := u.GetNamespace(), u.GetName()
	switch u.GetKind() {
	case "Namespace":
		existing, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err == nil && existing.Labels[LabelName] != LabelValue {
			return ActionKept, nil
		}
		return applyTyped(ctx, c.CoreV1().Namespaces(), u, w.opts)
	case "ServiceAccount":
		return applyTyped(ctx, c.CoreV1().ServiceAccounts(ns), u, w.opts)
	case "ConfigMap":
		return applyTyped(ctx, c.CoreV1().ConfigMaps(ns), u, w.opts)
	case "Service":
		return applyTyped(ctx, c.CoreV1().Services(ns), u, w.opts)
	case "Deployment":
		return applyTyped(ctx, c.AppsV1().Deployments(ns), u, w.opts)
	case "ClusterRole":
		return applyTyped(ctx, c.RbacV1().ClusterRoles(), u, w.opts)
	case "ClusterRoleBinding":
		return applyTyped(ctx, c.RbacV1().ClusterRoleBindings(), u, w.opts)
	case "Role":
		return applyTyped(ctx, c.RbacV1().Roles(ns), u, w.opts)
	case "RoleBinding":
		return applyTyped(ctx, c.RbacV1().RoleBindings(ns), u, w.opts)
	case "PrometheusRule":
		return applyTyped[*unstructured.Unstructured](ctx, dynamicClient{w.d.Dynamic.Resource(PrometheusRuleGVR).Namespace(ns)}, u, w.opts)
	}
	return "", fmt.Errorf("no client for %s %s", u.GetKind(), name)
}

// applyTyped applies u and says whether that created the object, changed it or left it as it
// was.
func applyTyped[T metav1.Object](ctx context.Context, api typedClient[T], u *unstructured.Unstructured, opts metav1.PatchOptions) (string, error) {
	what := resourceOf(u)
	existing, err := api.Get(ctx, u.GetName(), metav1.GetOptions{})
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return "", apicall.Wrap(err, "get", what, u.GetNamespace(), u.GetName())
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return "", err
	}
	got, err := api.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts)
	if err != nil {
		return "", apicall.Wrap(err, "apply", what, u.GetNamespace(), u.GetName())
	}
	switch {
	case !existed:
		return ActionCreated, nil
	case sameContent(existing, got):
		return ActionUnchanged, nil
	}
	return ActionConfigured, nil
}

// sameContent compares two versions of an object by what they hold, not by their bookkeeping
// (resourceVersion, managedFields' times): a no-op apply leaves the content as it was.
func sameContent(a, b any) bool {
	norm := func(o any) string {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return ""
		}
		unstructured.RemoveNestedField(m, "metadata", "resourceVersion")
		unstructured.RemoveNestedField(m, "metadata", "managedFields")
		out, err := json.Marshal(m)
		if err != nil {
			return ""
		}
		return string(out)
	}
	na := norm(a)
	return na != "" && na == norm(b)
}

// dynamicClient gives a dynamic resource client typedClient's methods.
type dynamicClient struct{ dynamic.ResourceInterface }

func (d dynamicClient) Get(ctx context.Context, name string, opts metav1.GetOptions) (*unstructured.Unstructured, error) {
	return d.ResourceInterface.Get(ctx, name, opts)
}

func (d dynamicClient) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*unstructured.Unstructured, error) {
	return d.ResourceInterface.Patch(ctx, name, pt, data, opts, subresources...)
}

// resourceOf is u's resource as kubectl names it: deployments.apps, serviceaccounts.
func resourceOf(u *unstructured.Unstructured) string {
	return ResourceName(u.GetKind(), u.GroupVersionKind().Group)
}

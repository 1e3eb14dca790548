package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// customClients are what custom resource targets need besides the typed client: discovery,
// to tell a kind that is not installed, and the dynamic client, to read and write objects of
// kinds this binary has no types for.
type customClients struct {
	discovery discovery.DiscoveryInterface
	dynamic   dynamic.Interface
}

// newIdentityCustomClients builds the clients of custom resource targets; tests swap it.
var newIdentityCustomClients = newCustomClients

// newCustomClients builds them from the kubectl flags. Discovery is not cached: a CRD
// installed a moment ago must be found.
func newCustomClients(cf *genericclioptions.ConfigFlags) (*customClients, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS = -1 // as newClientset: no client-side rate limiter
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a dynamic client: %w", err)
	}
	return &customClients{discovery: disc, dynamic: dyn}, nil
}

// loadRegistry is the built-in target kinds plus the user's: the default targets file when
// it exists, then file (--targets), which must exist. A malformed file is an InputError that
// names the file and the line.
func loadRegistry(file string) (*targets.Registry, error) {
	r := targets.Builtin()
	def := targets.DefaultFile()
	if def != "" && !samePath(def, file) {
		if err := r.Load(def, true); err != nil {
			return nil, &InputError{Err: err}
		}
	}
	if file != "" {
		if err := r.Load(file, false); err != nil {
			return nil, &InputError{Err: err}
		}
	}
	return r, nil
}

func samePath(a, b string) bool {
	if b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// customTarget is one custom resource and what this run does to it.
type customTarget struct {
	ref       targets.Ref
	namespace string // "" for a cluster-scoped kind
	live      *unstructured.Unstructured
	edit      *targets.Edit
	result    *unstructured.Unstructured // as stored (or as it would be) after the run
	referrers []string                   // KIND.GROUP/NAME of the objects that name it
	refNote   string                     // why the referrers could not be read
}

func (t *customTarget) resource(cc *customClients) dynamic.ResourceInterface {
	ri := cc.dynamic.Resource(t.ref.Kind.Custom.GVR())
	if t.namespace != "" {
		return ri.Namespace(t.namespace)
	}
	return ri
}

// validateCustom checks the flags against the custom resource targets; no API call.
func (o *identityOptions) validateCustom() error {
	if len(o.customRefs) == 0 {
		return nil
	}
	if o.Wait && len(o.refs) == 0 {
		return FlagErrorf("--wait waits for the workloads this command restarts, and %s is restarted by its operator", o.customRefs[0])
	}
	return nil
}

// planCustom reads every custom resource target and works out its edit: the checks (the CRD
// is installed, the object exists and has a shape the edit fits) come before any write.
func (o *identityOptions) planCustom(ctx context.Context, client kubernetes.Interface, want *identity.Config) ([]*customTarget, error) {
	if len(o.customRefs) == 0 {
		return nil, nil
	}
	cc, err := o.customClients()
	if err != nil {
		return nil, err
	}
	var out []*customTarget
	seen := map[string]bool{}
	for _, ref := range o.customRefs {
		c := ref.Kind.Custom
		if seen[ref.String()] {
			continue
		}
		seen[ref.String()] = true
		if err := served(cc.discovery, c); err != nil {
			return nil, err
		}
		t := &customTarget{ref: ref}
		if c.Namespaced() {
			t.namespace = o.namespace
		}
		live, err := t.resource(cc).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && c.Namespaced():
			return nil, o.notFound(ctx, client, ref.Kind, ref.Name, "")
		case apierrors.IsNotFound(err):
			return nil, InputErrorf("%s %q not found", ref.Kind.Name, ref.Name)
		case err != nil:
			return nil, apicall.Wrap(err, "get", c.CRDName(), t.namespace, ref.Name)
		}
		t.live = live
		if t.edit, err = c.ApplyKeeping(live, want, o.keep); err != nil {
			return nil, InputErrorf("cannot set the role in %s: %v", ref, err)
		}
		if t.edit.Changed {
			o.findReferrers(ctx, cc, t)
		}
		out = append(out, t)
	}
	return out, nil
}

func (o *identityOptions) customClients() (*customClients, error) {
	if o.newCustom == nil {
		return nil, errors.New("no client for custom resources")
	}
	return o.newCustom()
}

// served checks that the API server serves the kind: its CRD is installed and serves the
// version. When it is not, the InputError names the CRD and the product, and the versions
// the group does serve.
func served(d discovery.DiscoveryInterface, c *targets.Custom) error {
	list, err := d.ServerResourcesForGroupVersion(c.APIVersion())
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to discover the resources of %s: %w", c.APIVersion(), err)
	}
	if err == nil {
		for _, r := range list.APIResources {
			if r.Name == c.Resource {
				return nil
			}
		}
	}
	msg := fmt.Sprintf("%s is not installed in this cluster: no CustomResourceDefinition %s serves %s %s",
		c.ProductName(), c.CRDName(), c.APIVersion(), c.Kind)
	if groups, gerr := d.ServerGroups(); gerr == nil {
		for _, g := range groups.Groups {
			if g.Name != c.Group {
				continue
			}
			var vs []string
			for _, v := range g.Versions {
				vs = append(vs, v.Version)
			}
			return InputErrorf("%s (the cluster serves %s in version %s only: add an entry for that version to a targets file, --targets)",
				msg, c.Group, strings.Join(vs, ", "))
		}
	}
	return InputErrorf("%s; install %s first, or check the kubeconfig's context", msg, c.ProductName())
}

// findReferrers lists the objects of the kinds that refer to the target (Crossplane Providers
// naming a DeploymentRuntimeConfig). It only informs: a kind that is not installed or cannot
// be listed becomes a note.
func (o *identityOptions) findReferrers(ctx context.Context, cc *customClients, t *customTarget) {
	for i := range t.ref.Kind.Custom.ReferencedBy {
		r := &t.ref.Kind.Custom.ReferencedBy[i]
		if _, err := cc.discovery.ServerResourcesForGroupVersion(r.Group + "/" + r.Version); err != nil {
			continue // not installed: nothing can refer to the target yet
		}
		ns := ""
		if r.Scope == targets.ScopeNamespaced {
			ns = t.namespace
		}
		ri := cc.dynamic.Resource(r.GVR())
		items, err := listCustom(ctx, ri, ns)
		if err != nil {
			t.refNote = apicall.Wrap(err, "list", r.Resource+"."+r.Group, ns, "").Error()
			continue
		}
		for j := range items {
			if r.Refers(&items[j], t.ref.Name) {
				t.referrers = append(t.referrers, r.Name()+"/"+items[j].GetName())
			}
		}
	}
	sort.Strings(t.referrers)
}

// writeCustom writes the edits and prints a line for each target, and what happens next.
// A list is replaced with a resourceVersion precondition: on a Conflict the object is read
// again and the edit redone on what is there now, so another writer's items are kept.
func (o *identityOptions) writeCustom(ctx context.Context, w io.Writer, custom []*customTarget, want *identity.Config) error {
	if len(custom) == 0 {
		return nil
	}
	cc, err := o.customClients()
	if err != nil {
		return err
	}
	for _, t := range custom {
		if err := o.writeOne(ctx, cc, t, want); err != nil {
			return err
		}
		o.customLines(w, t, want)
	}
	return nil
}

func (o *identityOptions) writeOne(ctx context.Context, cc *customClients, t *customTarget, want *identity.Config) error {
	t.result = t.live
	if !t.edit.Changed {
		return nil
	}
	if o.DryRun == "client" {
		t.result = t.edit.Result
		return nil
	}
	c := t.ref.Kind.Custom
	rc := t.resource(cc)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := rc.Patch(ctx, t.ref.Name, types.MergePatchType, t.edit.Patch, metav1.PatchOptions{DryRun: o.serverDryRun()})
		if err == nil {
			t.result = got
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		// Changed since it was read: redo the edit on the object as it is now.
		live, gerr := rc.Get(ctx, t.ref.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		edit, aerr := c.ApplyKeeping(live, want, o.keep)
		if aerr != nil {
			return InputErrorf("cannot set the role in %s: %v", t.ref, aerr)
		}
		t.live, t.edit, t.result = live, edit, live
		if !edit.Changed {
			return nil // someone else made the same change
		}
		return err // retried with the new edit
	})
	return apicall.Wrap(err, "patch", c.CRDName(), t.namespace, t.ref.Name)
}

// customLines prints what happened to one custom resource, kubectl style, then who picks the
// change up and the next step:
// storagecluster.core.libopenstorage.org/px configured (spec.workloadIdentity.credentials[cloudProvider=aws]).
func (o *identityOptions) customLines(w io.Writer, t *customTarget, want *identity.Config) {
	c := t.ref.Kind.Custom
	if !t.edit.Changed {
		fmt.Fprintf(w, "%s unchanged\n", t.ref)
		return
	}
	verb := "configured"
	switch {
	case want == nil:
		verb = "identity removed"
	case c.Role.Annotations != nil:
		verb = "annotated"
	}
	fmt.Fprintf(w, "%s %s (%s)%s\n", t.ref, verb, strings.Join(t.edit.What, ", "), o.dryRunSuffix())
	for _, r := range t.referrers {
		effect := ""
		for _, ref := range c.ReferencedBy {
			if strings.HasPrefix(r, ref.Name()+"/") && ref.Effect != "" {
				effect = ": " + ref.Effect
			}
		}
		fmt.Fprintf(w, "  %s uses it%s\n", r, effect)
	}
	if len(c.ReferencedBy) > 0 && len(t.referrers) == 0 && want != nil {
		if t.refNote != "" {
			fmt.Fprintf(w, "  (could not tell what uses it: %s)\n", t.refNote)
		} else {
			var kinds []string
			for _, ref := range c.ReferencedBy {
				kinds = append(kinds, fmt.Sprintf("%s (%s)", ref.Name(), ref.Field))
			}
			fmt.Fprintf(w, "  nothing uses it yet: no %s names it\n", strings.Join(kinds, " or "))
		}
	}
	if next := c.NextStep(t.ref.Name, t.namespace, want); next != "" {
		fmt.Fprintf(w, "Next, for %s:\n", t.ref)
		for _, l := range strings.Split(strings.TrimRight(next, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

// customObjects are the resulting custom resources, for -o.
func customObjects(custom []*customTarget) []runtime.Object {
	var out []runtime.Object
	for _, t := range custom {
		obj := t.result.DeepCopy()
		obj.SetManagedFields(nil)
		out = append(out, obj)
	}
	return out
}

// helmManaged is true for a service account a Helm release owns.
func helmManaged(sa *corev1.ServiceAccount) bool {
	return sa.Labels["app.kubernetes.io/managed-by"] == "Helm" || sa.Annotations["meta.helm.sh/release-name"] != ""
}

// warnChart warns about the service account of a chart the registry knows (Upbound Spaces'
// mxp-controller): its annotations live under another values key than serviceAccount.annotations,
// so the warning prints the exact --set line, and says how the chart was recognised.
func (o *identityOptions) warnChart(a *account, want *identity.Config, chart *targets.Chart, how string) {
	what := chart.Product
	if chart.Component != "" {
		what += "' " + chart.Component
	}
	upgrade := chart.Upgrade
	if upgrade == "" {
		upgrade = "the chart's values (helm upgrade --reuse-values ...)"
	}
	if want == nil {
		fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is %s (recognised by %s); remove the eks.amazonaws.com/ annotations from %s in %s too, or the next upgrade puts them back\n",
			a.name, what, how, chart.Values, upgrade)
		return
	}
	var sets []string
	for _, k := range identity.ChangedKeys(a.changes) {
		if v := a.changes[k]; v != nil {
			sets = append(sets, helmSet(chart.Values, k, *v))
		}
	}
	fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is %s (recognised by %s); the next upgrade drops annotations its values do not set. Set them in %s:\n  %s\n",
		a.name, what, how, upgrade, strings.Join(sets, " "))
}

// helmSet is the --set flag that makes a chart write annotation key=value under the values
// key path: --set path."eks\.amazonaws\.com/role-arn"=VALUE. The shell removes the double
// quotes and keeps the backslashes, which tell Helm the dots are part of the key. A value Helm
// would read as a number or a boolean goes through --set-string, as annotations are strings.
func helmSet(path, key, value string) string {
	flag := "--set"
	switch value {
	case "true", "false":
		flag = "--set-string"
	default:
		if strings.Trim(value, "0123456789") == "" {
			flag = "--set-string"
		}
	}
	return fmt.Sprintf(`%s %s."%s"=%s`, flag, path, strings.ReplaceAll(key, ".", `\.`), value)
}

// listCustom lists every object of a custom resource in pages, in namespace ns or, when ns is
// empty, cluster-wide (a cluster-scoped kind, or all namespaces).
func listCustom(ctx context.Context, ri dynamic.NamespaceableResourceInterface, ns string) ([]unstructured.Unstructured, error) {
	return apicall.ListAll(ctx, metav1.ListOptions{}, func(ctx context.Context, opts metav1.ListOptions) ([]unstructured.Unstructured, metav1.ListMeta, error) {
		var l *unstructured.UnstructuredList
		var err error
		if ns != "" {
			l, err = ri.Namespace(ns).List(ctx, opts)
		} else {
			l, err = ri.List(ctx, opts)
		}
		if err != nil {
			return nil, metav1.ListMeta{}, err
		}
		return l.Items, metav1.ListMeta{Continue: l.GetContinue()}, nil
	})
}

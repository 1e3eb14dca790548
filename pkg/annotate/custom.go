package annotate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// CustomTarget is one custom resource and what this run does to it.
type CustomTarget struct {
	Ref       targets.Ref
	Namespace string // "" for a cluster-scoped kind
	Live      *unstructured.Unstructured
	Edit      *targets.Edit
	Result    *unstructured.Unstructured // as stored (or as it would be) after the run
	Referrers []string                   // KIND.GROUP/NAME of the objects that name it
	RefNote   string                     // why the referrers could not be read
}

func (t *CustomTarget) resource(cc *CustomClients) dynamic.ResourceInterface {
	ri := cc.Dynamic.Resource(t.Ref.Kind.Custom.GVR())
	if t.Namespace != "" {
		return ri.Namespace(t.Namespace)
	}
	return ri
}

// planCustom reads every custom resource target and works out its edit: the checks (the CRD
// is installed, the object exists and has a shape the edit fits) come before any write.
func (r *runner) planCustom(ctx context.Context) ([]*CustomTarget, error) {
	if len(r.cfg.CustomRefs) == 0 {
		return nil, nil
	}
	cc := r.deps.Custom
	if cc == nil {
		return nil, errors.New("no client for custom resources")
	}
	var out []*CustomTarget
	seen := map[string]bool{}
	for _, ref := range r.cfg.CustomRefs {
		c := ref.Kind.Custom
		if seen[ref.String()] {
			continue
		}
		seen[ref.String()] = true
		if err := Served(cc.Discovery, c); err != nil {
			return nil, err
		}
		t := &CustomTarget{Ref: ref}
		if c.Namespaced() {
			t.Namespace = r.cfg.Namespace
		}
		live, err := t.resource(cc).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && c.Namespaced():
			return nil, r.notFound(ctx, ref.Kind, ref.Name, "")
		case apierrors.IsNotFound(err):
			return nil, inputErrorf("%s %q not found", ref.Kind.Name, ref.Name)
		case err != nil:
			return nil, apicall.Wrap(err, "get", c.CRDName(), t.Namespace, ref.Name)
		}
		t.Live = live
		if t.Edit, err = c.ApplyKeeping(live, r.cfg.Want, r.cfg.Keep); err != nil {
			return nil, inputErrorf("cannot set the role in %s: %v", ref, err)
		}
		if t.Edit.Changed {
			findReferrers(ctx, cc, t)
		}
		out = append(out, t)
	}
	return out, nil
}

// Served checks that the API server serves the kind: its CRD is installed and serves the
// version. When it is not, the InputError names the CRD and the product, and the versions
// the group does serve.
func Served(d discovery.DiscoveryInterface, c *targets.Custom) error {
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
			return inputErrorf("%s (the cluster serves %s in version %s only: add an entry for that version to a targets file, --targets)",
				msg, c.Group, strings.Join(vs, ", "))
		}
	}
	return inputErrorf("%s; install %s first, or check the kubeconfig's context", msg, c.ProductName())
}

// findReferrers lists the objects of the kinds that refer to the target (Crossplane Providers
// naming a DeploymentRuntimeConfig). It only informs: a kind that is not installed or cannot
// be listed becomes a note.
func findReferrers(ctx context.Context, cc *CustomClients, t *CustomTarget) {
	for i := range t.Ref.Kind.Custom.ReferencedBy {
		r := &t.Ref.Kind.Custom.ReferencedBy[i]
		if _, err := cc.Discovery.ServerResourcesForGroupVersion(r.Group + "/" + r.Version); err != nil {
			continue // not installed: nothing can refer to the target yet
		}
		ns := ""
		if r.Scope == targets.ScopeNamespaced {
			ns = t.Namespace
		}
		ri := cc.Dynamic.Resource(r.GVR())
		items, err := ListCustom(ctx, ri, ns)
		if err != nil {
			t.RefNote = apicall.Wrap(err, "list", r.Resource+"."+r.Group, ns, "").Error()
			continue
		}
		for j := range items {
			if r.Refers(&items[j], t.Ref.Name) {
				t.Referrers = append(t.Referrers, r.Name()+"/"+items[j].GetName())
			}
		}
	}
	sort.Strings(t.Referrers)
}

// writeCustom writes the edits and reports each target.
func (r *runner) writeCustom(ctx context.Context, custom []*CustomTarget) error {
	for _, t := range custom {
		if err := r.writeOne(ctx, t); err != nil {
			return err
		}
		r.rep.Custom(t)
	}
	return nil
}

// writeOne writes one edit. A list is replaced with a resourceVersion precondition: on a
// Conflict the object is read again and the edit redone on what is there now, so another
// writer's items are kept.
func (r *runner) writeOne(ctx context.Context, t *CustomTarget) error {
	t.Result = t.Live
	if !t.Edit.Changed {
		return nil
	}
	if r.cfg.DryRun == DryRunClient {
		t.Result = t.Edit.Result
		return nil
	}
	c := t.Ref.Kind.Custom
	rc := t.resource(r.deps.Custom)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := rc.Patch(ctx, t.Ref.Name, types.MergePatchType, t.Edit.Patch, metav1.PatchOptions{DryRun: r.serverDryRun()})
		if err == nil {
			t.Result = got
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		// Changed since it was read: redo the edit on the object as it is now.
		live, gerr := rc.Get(ctx, t.Ref.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		edit, aerr := c.ApplyKeeping(live, r.cfg.Want, r.cfg.Keep)
		if aerr != nil {
			return inputErrorf("cannot set the role in %s: %v", t.Ref, aerr)
		}
		t.Live, t.Edit, t.Result = live, edit, live
		if !edit.Changed {
			return nil // someone else made the same change
		}
		return err // retried with the new edit
	})
	return apicall.Wrap(err, "patch", c.CRDName(), t.Namespace, t.Ref.Name)
}

// ListCustom lists every object of a custom resource in pages, in namespace ns or, when ns is
// empty, cluster-wide (a cluster-scoped kind, or all namespaces).
func ListCustom(ctx context.Context, ri dynamic.NamespaceableResourceInterface, ns string) ([]unstructured.Unstructured, error) {
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

package plugin

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
)

// statusDocument is the `status -o json` document: the inventory report, and the custom
// resources that carry a role. Adding fields is allowed; renaming or retyping one is not.
type statusDocument struct {
	*inventory.Report
	// CustomResources are sorted by namespace, kind and name; omitted when there are none.
	CustomResources []customStatus `json:"customResources,omitempty"`
}

// customStatus is a custom resource that carries a role for its operator.
type customStatus struct {
	Namespace string `json:"namespace,omitempty"` // "" for a cluster-scoped kind
	Kind      string `json:"kind"`                // KIND.GROUP: storagecluster.core.libopenstorage.org
	Name      string `json:"name"`
	Product   string `json:"product"`
	RoleARN   string `json:"roleARN"`
}

// collectCustom lists the objects of every installed custom resource kind of the registry and
// keeps those that carry a role: one discovery call and one paginated LIST per kind. A kind
// that is not installed is skipped; one that cannot be listed becomes a warning, as status
// is a report.
func (o *StatusOptions) collectCustom(ctx context.Context) ([]customStatus, error) {
	if o.deps.newCustom == nil || o.registry == nil || o.Selector != "" {
		return nil, nil
	}
	var cc *annotate.CustomClients
	var out []customStatus
	for _, k := range o.registry.CustomKinds() {
		c := k.Custom
		if !c.Namespaced() && !o.AllNamespaces {
			continue
		}
		if cc == nil {
			var err error
			if cc, err = o.deps.newCustom(o.configFlags); err != nil {
				return nil, err
			}
		}
		list, err := cc.Discovery.ServerResourcesForGroupVersion(c.APIVersion())
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: cannot tell whether %s is installed: %v\n", c.CRDName(), err)
			continue
		}
		installed := false
		for _, r := range list.APIResources {
			installed = installed || r.Name == c.Resource
		}
		if !installed {
			continue
		}
		ri := cc.Dynamic.Resource(c.GVR())
		ns := ""
		if c.Namespaced() {
			ns = o.namespace
		}
		items, err := listCustom(ctx, ri, ns)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: %v\n", apicall.Wrap(err, "list", c.CRDName(), ns, ""))
			continue
		}
		for i := range items {
			if role := c.RoleARN(&items[i]); role != "" {
				out = append(out, customStatus{Namespace: items[i].GetNamespace(), Kind: k.Name, Name: items[i].GetName(), Product: c.ProductName(), RoleARN: role})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out, nil
}

// printCustom prints the custom resources that carry a role, after the service accounts and
// findings of r.
func (o *StatusOptions) printCustom(r *inventory.Report, custom []customStatus) error {
	if len(custom) == 0 {
		return nil
	}
	var b bytes.Buffer
	if len(r.ServiceAccounts) > 0 || len(r.Findings) > 0 {
		fmt.Fprintln(&b)
	}
	fmt.Fprintln(&b, "CUSTOM RESOURCES WITH A ROLE (their operators restart their own pods)")
	tw := tabwriter.NewWriter(&b, 6, 4, 3, ' ', 0)
	head := []string{"TARGET", "PRODUCT", "ROLE"}
	if o.AllNamespaces {
		head = append([]string{"NAMESPACE"}, head...)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, c := range custom {
		row := []string{c.Kind + "/" + c.Name, c.Product, c.RoleARN}
		if o.AllNamespaces {
			row = append([]string{c.Namespace}, row...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := o.Out.Write(b.Bytes())
	return err
}

package plugin

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

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

// served checks that the API server serves the kind of a custom resource target
// (annotate.Served), with the exit code of bad input when it does not.
func served(d discovery.DiscoveryInterface, c *targets.Custom) error {
	return fromEngine(annotate.Served(d, c))
}

// listCustom lists every object of a custom resource (annotate.ListCustom).
func listCustom(ctx context.Context, ri dynamic.NamespaceableResourceInterface, ns string) ([]unstructured.Unstructured, error) {
	return annotate.ListCustom(ctx, ri, ns)
}

// customLines prints what happened to one custom resource, kubectl style, then who picks the
// change up and the next step:
// storagecluster.core.libopenstorage.org/px configured (spec.workloadIdentity.credentials[cloudProvider=aws]).
func (o *identityOptions) customLines(w io.Writer, t *annotate.CustomTarget) {
	c := t.Ref.Kind.Custom
	if !t.Edit.Changed {
		fmt.Fprintf(w, "%s unchanged\n", t.Ref)
		return
	}
	verb := "configured"
	switch {
	case o.want == nil:
		verb = "identity removed"
	case c.Role.Annotations != nil:
		verb = "annotated"
	}
	fmt.Fprintf(w, "%s %s (%s)%s\n", t.Ref, verb, strings.Join(t.Edit.What, ", "), o.dryRunSuffix())
	for _, r := range t.Referrers {
		effect := ""
		for _, ref := range c.ReferencedBy {
			if strings.HasPrefix(r, ref.Name()+"/") && ref.Effect != "" {
				effect = ": " + ref.Effect
			}
		}
		fmt.Fprintf(w, "  %s uses it%s\n", r, effect)
	}
	if len(c.ReferencedBy) > 0 && len(t.Referrers) == 0 && o.want != nil {
		if t.RefNote != "" {
			fmt.Fprintf(w, "  (could not tell what uses it: %s)\n", t.RefNote)
		} else {
			var kinds []string
			for _, ref := range c.ReferencedBy {
				kinds = append(kinds, fmt.Sprintf("%s (%s)", ref.Name(), ref.Field))
			}
			fmt.Fprintf(w, "  nothing uses it yet: no %s names it\n", strings.Join(kinds, " or "))
		}
	}
	if next := c.NextStep(t.Ref.Name, t.Namespace, o.want); next != "" {
		fmt.Fprintf(w, "Next, for %s:\n", t.Ref)
		for _, l := range strings.Split(strings.TrimRight(next, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

package plugin

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
)

// printer renders a run of pkg/annotate for enable and disable, kubectl style: a line per
// object on stdout (stderr with -o), warnings on stderr, the objects for -o.
type printer struct{ o *identityOptions }

var _ annotate.Reporter = (*printer)(nil)

func (p *printer) Custom(t *annotate.CustomTarget) { p.o.customLines(p.o.summaryOut(), t) }

func (p *printer) Account(a *annotate.Account) {
	fmt.Fprintln(p.o.summaryOut(), p.o.accountLine(a))
	p.o.warnHelm(a)
}

func (p *printer) Association(c *podidentity.Change, cluster string) {
	fmt.Fprintln(p.o.summaryOut(), p.o.associationLine(c, cluster))
}

func (p *printer) Restart(a *restart.Action) { fmt.Fprintln(p.o.summaryOut(), p.o.actionLine(a)) }

func (p *printer) Written(res *annotate.Result) error {
	if p.o.PodIdentity {
		return p.o.printAssociations(res.Associations, res.Cluster)
	}
	return p.o.printAccounts(res.Accounts, customObjects(res.Custom))
}

func (p *printer) Checked(line string) { fmt.Fprintln(p.o.summaryOut(), line) }

func (p *printer) Warn(line string) { fmt.Fprintln(p.o.ErrOut, line) }

func (p *printer) Streams() (out, progress io.Writer) { return p.o.summaryOut(), p.o.ErrOut }

func (o *identityOptions) dryRunSuffix() string {
	switch o.dryRun {
	case dryRunClient:
		return " (dry run)"
	case dryRunServer:
		return " (server dry run)"
	case dryRunNone:
	}
	return ""
}

// summaryOut is where the per-object summary goes: Out, unless Out carries -o data.
func (o *identityOptions) summaryOut() io.Writer {
	if o.Output != "" {
		return o.ErrOut
	}
	return o.Out
}

// ref renders kind/name, with the namespace when the run spans namespaces.
func (o *identityOptions) ref(kindName, namespace string) string {
	return (&annotate.Config{AllNamespaces: o.AllNamespaces}).Ref(kindName, namespace)
}

// accountLine is the summary of one account, kubectl style:
// serviceaccount/app annotated (role-arn, audience-).
func (o *identityOptions) accountLine(a *annotate.Account) string {
	ref := o.ref("serviceaccount/"+a.Name, a.Namespace)
	switch {
	case a.SA == nil && len(a.Changes) == 0: // --pod-identity --create: an account with no annotation
		return ref + " created" + o.dryRunSuffix()
	case len(a.Changes) == 0:
		return ref + " unchanged"
	}
	keys := identity.ChangedKeys(a.Changes)
	parts := make([]string, len(keys))
	for i, k := range keys {
		short := strings.TrimPrefix(k, identity.AnnotationPrefix)
		switch v := a.Changes[k]; {
		case v == nil && o.want != nil:
			parts[i] = short + "-"
		case v == nil:
			parts[i] = short
		case o.dryRun != dryRunNone:
			parts[i] = short + "=" + *v
		default:
			parts[i] = short
		}
	}
	verb := "annotated"
	switch {
	case a.SA == nil:
		verb = "created"
	case o.want == nil:
		verb = "identity removed"
	}
	return fmt.Sprintf("%s %s (%s)%s", ref, verb, strings.Join(parts, ", "), o.dryRunSuffix())
}

// actionLine is the summary of one workload decision.
func (o *identityOptions) actionLine(a *restart.Action) string {
	ref := o.ref(a.Ref(), a.Namespace)
	switch a.Type {
	case restart.Restart:
		return fmt.Sprintf("%s restarted%s: %s", ref, o.dryRunSuffix(), a.Reason)
	case restart.Manual:
		return fmt.Sprintf("%s needs a manual restart: %s  # %s", ref, a.Command, a.Reason)
	case restart.InProgress:
		return fmt.Sprintf("%s not restarted: %s", ref, a.Reason)
	case restart.Current, restart.NoPods:
		return fmt.Sprintf("%s unchanged: %s", ref, a.Reason)
	}
	return ref
}

// printAccounts prints the resulting service accounts and custom resources for -o: one
// object, or a v1 List when a selector or several targets were used.
func (o *identityOptions) printAccounts(accounts []*annotate.Account, custom []runtime.Object) error {
	if o.Output == "" {
		return nil
	}
	objs := make([]runtime.Object, 0, len(accounts))
	for _, a := range accounts {
		sa := a.Result.DeepCopy()
		sa.ManagedFields = nil
		sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
		objs = append(objs, sa)
	}
	objs = append(objs, custom...)
	var p printers.ResourcePrinter
	switch o.Output {
	case "name":
		p = &printers.NamePrinter{}
		for _, obj := range objs {
			if err := p.PrintObj(obj, o.Out); err != nil {
				return err
			}
		}
		return nil
	case "json":
		p = &printers.JSONPrinter{}
	case "yaml":
		p = &printers.YAMLPrinter{}
	default: // jsonpath=TEMPLATE, checked by validate
		tmpl, _ := strings.CutPrefix(o.Output, "jsonpath=")
		jp, err := printers.NewJSONPathPrinter(tmpl)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("-o jsonpath: %w", err)}
		}
		jp.AllowMissingKeys(true)
		p = jp
	}
	if len(objs) == 1 && o.Selector == "" {
		return p.PrintObj(objs[0], o.Out)
	}
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, obj := range objs {
		list.Items = append(list.Items, runtime.RawExtension{Object: obj})
	}
	return p.PrintObj(list, o.Out)
}

// printAssociations prints the resulting associations for -o, as the EKS API returns them
// (podidentity.Document): the association alone, or {"associations": [...]} when a selector
// or several targets were used. A dry run prints them as they would be.
func (o *identityOptions) printAssociations(changes []podidentity.Change, cluster string) error {
	if o.Output == "" {
		return nil
	}
	docs := []podidentity.Document{}
	for _, c := range changes {
		switch {
		case o.dryRun != dryRunNone:
			if d := c.Planned(cluster); d != nil {
				docs = append(docs, *d)
			}
		case c.Result != nil:
			docs = append(docs, podidentity.DocumentOf(c.Result, cluster))
		}
	}
	if len(docs) == 1 && o.Selector == "" && len(o.args) == 1 {
		return printDocument(o.Out, o.Output, docs[0])
	}
	return printDocument(o.Out, o.Output, struct {
		Associations []podidentity.Document `json:"associations"`
	}{docs})
}

// customObjects are the resulting custom resources, for -o.
func customObjects(custom []*annotate.CustomTarget) []runtime.Object {
	var out []runtime.Object
	for _, t := range custom {
		obj := t.Result.DeepCopy()
		obj.SetManagedFields(nil)
		out = append(out, obj)
	}
	return out
}

package annotate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Account is one service account and what this run does to it.
type Account struct {
	Namespace, Name string
	SA              *corev1.ServiceAccount // nil: missing, to be created
	Changes         map[string]*string     // identity.AnnotationChanges, less the settings kept
	Want            *identity.Config       // the identity it asks for after the run; nil: none
	Result          *corev1.ServiceAccount // as stored (or as it would be) after the run
}

// resolve finds the service accounts: one LIST for a selector, else a GET per workload target
// and per service account. A missing one is an InputError naming it (and its namespace when
// that is what is missing), unless create is set.
func (r *runner) resolve(ctx context.Context, create bool) ([]*Account, error) {
	c, cfg := r.deps.Client, r.cfg
	if cfg.Selector != "" {
		ns := cfg.Namespace
		if cfg.AllNamespaces {
			ns = ""
		}
		items, err := apicall.ListAll(ctx, metav1.ListOptions{LabelSelector: cfg.Selector},
			func(ctx context.Context, opts metav1.ListOptions) ([]corev1.ServiceAccount, metav1.ListMeta, error) {
				l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, opts)
				if err != nil {
					return nil, metav1.ListMeta{}, err
				}
				return l.Items, l.ListMeta, nil
			})
		if err != nil {
			return nil, apicall.Wrap(err, "list", "serviceaccounts", ns, "")
		}
		if len(items) == 0 {
			where := fmt.Sprintf("in namespace %q", ns)
			if ns == "" {
				where = "in any namespace"
			}
			return nil, inputErrorf("no service accounts match -l %s %s", cfg.Selector, where)
		}
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].Namespace != items[j].Namespace {
				return items[i].Namespace < items[j].Namespace
			}
			return items[i].Name < items[j].Name
		})
		accounts := make([]*Account, len(items))
		for i := range items {
			accounts[i] = &Account{Namespace: items[i].Namespace, Name: items[i].Name, SA: &items[i]}
		}
		return accounts, nil
	}

	seen := map[string]bool{}
	var accounts []*Account
	for _, ref := range cfg.Refs {
		name, err := targets.ServiceAccountName(ctx, c, cfg.Namespace, ref)
		if apierrors.IsNotFound(err) {
			return nil, r.notFound(ctx, ref.Kind, ref.Name, r.didYouMean(ctx, ref.Kind, ref.Name))
		}
		if err != nil {
			return nil, err
		}
		if name == defaultAccount && !ref.IsServiceAccount() {
			return nil, r.refuseDefault(ctx, ref)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		sa, err := c.CoreV1().ServiceAccounts(cfg.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && create && ref.IsServiceAccount():
			if err := r.namespaceExists(ctx); err != nil {
				return nil, err
			}
			sa = nil
		case apierrors.IsNotFound(err):
			return nil, r.notFound(ctx, targets.ServiceAccount, name, r.accountHint(ctx, ref, name))
		case err != nil:
			return nil, apicall.Wrap(err, "get", "serviceaccounts", cfg.Namespace, name)
		}
		accounts = append(accounts, &Account{Namespace: cfg.Namespace, Name: name, SA: sa})
	}
	return accounts, nil
}

// notFound says which object is missing: the namespace when it is the namespace.
func (r *runner) notFound(ctx context.Context, kind *targets.Kind, name, hint string) error {
	if err := r.namespaceExists(ctx); err != nil {
		return err
	}
	return inputErrorf("%s %q not found in namespace %q%s", kind.Name, name, r.cfg.Namespace, hint)
}

// didYouMean is "; did you mean KIND/NAME?" with the closest name of that kind in the
// namespace, or "" when none is close or the names cannot be read.
func (r *runner) didYouMean(ctx context.Context, kind *targets.Kind, name string) string {
	names, err := kind.Names(ctx, r.deps.Client, r.cfg.Namespace)
	if err != nil {
		return ""
	}
	if near := targets.Suggest(name, names); near != "" {
		return fmt.Sprintf("; did you mean %s/%s?", kind.Aliases[0], near)
	}
	return ""
}

// accountHint is what the error about a missing service account adds: whose account it is,
// then a close name that exists, else how to create it. --create creates only accounts that
// TARGET names, so a workload's missing account is named for the user to create.
func (r *runner) accountHint(ctx context.Context, ref targets.Ref, name string) string {
	hint := ""
	if !ref.IsServiceAccount() {
		hint = fmt.Sprintf(" (the service account of %s)", ref)
	}
	if ref.IsServiceAccount() {
		if near := r.didYouMean(ctx, targets.ServiceAccount, name); near != "" {
			return hint + near
		}
	}
	switch {
	case !r.cfg.CanCreate:
	case ref.IsServiceAccount():
		hint += fmt.Sprintf("; create it with --create, or kubectl create serviceaccount %s -n %s", name, r.cfg.Namespace)
	default:
		hint += fmt.Sprintf("; create it first: kubectl wi enable serviceaccount/%s -n %s --create --role-arn ARN", name, r.cfg.Namespace)
	}
	return hint
}

// defaultAccount is the account pods run as when their template names none.
const defaultAccount = "default"

// refuseDefault refuses to give a role to the namespace's default account because a workload
// target runs as it: every pod of the namespace without its own account would get the role.
// The error names the workloads that share the account; naming serviceaccount/default
// explicitly is how to mean it.
func (r *runner) refuseDefault(ctx context.Context, ref targets.Ref) error {
	ns := r.cfg.Namespace
	shared := "no other workload runs as it now"
	acc := []restart.Account{{Namespace: ns, Name: defaultAccount}}
	if inv, err := restart.Load(ctx, r.deps.Client, ns, acc); err == nil {
		var others []string
		for _, a := range restart.Plan(inv, restart.Always, acc) {
			if a.Kind == ref.Kind.Name && a.Name == ref.Name {
				continue
			}
			others = append(others, a.Ref())
		}
		if len(others) > 0 {
			shared = "it is shared by " + listSome(others, 10)
		}
	}
	verb, cmd := "give it a role", "enable"
	if !r.cfg.CanCreate {
		verb, cmd = "remove its role", "disable"
	}
	return inputErrorf("%s runs as serviceaccount/%s, the account of every pod in namespace %q that names none: %s, and every such pod created later gets what it carries; refusing to %s for one workload. "+
		"Give the workload its own account (kubectl create serviceaccount NAME -n %s, then set serviceAccountName in its pod template), "+
		"or name the shared account to mean it: kubectl wi %s serviceaccount/%s -n %s ...",
		ref, defaultAccount, ns, shared, verb, ns, cmd, defaultAccount, ns)
}

// listSome joins up to limit items, then says how many more there are.
func listSome(items []string, limit int) string {
	if len(items) <= limit {
		return joinAnd(items)
	}
	return strings.Join(items[:limit], ", ") + fmt.Sprintf(" and %d more", len(items)-limit)
}

// joinAnd joins a, b and c.
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// namespaceExists is nil unless the namespace is certainly missing; a forbidden GET of the
// namespace proves nothing and is not an error here.
func (r *runner) namespaceExists(ctx context.Context) error {
	_, err := r.deps.Client.CoreV1().Namespaces().Get(ctx, r.cfg.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inputErrorf("namespace %q not found: check -n or the kubeconfig's context", r.cfg.Namespace)
	}
	return nil
}

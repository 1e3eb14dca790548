package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// fleet reports whether this run proves many accounts: no TARGET, or a custom resource
// whose operator runs its pods as accounts of its own.
func (o *VerifyOptions) fleet() bool { return o.custom != nil || o.target.Name == "" }

// fleetAccounts finds the accounts of a fleet run: the identity service accounts of the
// namespace, of every namespace (-A) or matching -l; or those a custom resource's operator
// uses. title names them for the TUI.
func (o *VerifyOptions) fleetAccounts(ctx context.Context) (accounts []verify.Account, title string, err error) {
	if o.custom != nil {
		return o.customAccounts(ctx)
	}
	ns := o.namespace
	scope := "-n " + ns
	if o.AllNamespaces {
		ns, scope = "", "-A"
	}
	if o.Selector != "" {
		scope += " -l " + o.Selector
	}
	if ns != "" {
		if _, err := o.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, "", InputErrorf("namespace %q not found: check -n or the kubeconfig's context", ns)
		}
	}
	// The cluster's associations, read once: their accounts are proven whatever their pods
	// carry, and each run knows its account's.
	assoc := readAssociations(ctx, o.deps, o.EKSCluster, o.deps.kubeconfig(o.configFlags), ns, "")
	o.engine.Association = func(_ context.Context, ns, sa string) verify.AssociationLookup { return lookupOf(assoc, ns, sa) }
	rows, err := identityAccounts(ctx, o.client, ns, o.Selector, assoc)
	if err == nil && !assoc.Read {
		fmt.Fprintln(o.ErrOut, associationsNotReadNote(assoc))
	}
	for _, r := range rows {
		if !o.InPod {
			accounts = append(accounts, verify.Account{Namespace: r.Namespace, Name: r.Name})
			continue
		}
		accounts = append(accounts, inPodAccounts(r)...)
	}
	if o.InPod {
		scope += " --in-pod"
	}
	return accounts, "kubectl wi verify " + scope, err
}

// inPodAccounts are the workloads of an account an in-pod fleet run proves, one pod each: its
// deployments, statefulsets and daemonsets. Jobs run to their end, and their pods are not
// there to join.
func inPodAccounts(r inventory.ServiceAccount) []verify.Account {
	var out []verify.Account
	for _, w := range r.Workloads {
		t, err := checktarget.Parse(w)
		if err != nil {
			continue // a kind verify does not prove: a job, a cronjob
		}
		switch t.Kind {
		case checktarget.KindDeployment, checktarget.KindStatefulSet, checktarget.KindDaemonSet:
			out = append(out, verify.Account{Namespace: r.Namespace, Name: r.Name, Workload: t})
		case checktarget.KindServiceAccount, checktarget.KindPod:
		}
	}
	return out
}

// identityAccounts are the accounts status finds with an identity (a role annotation, Pod
// Identity's credentials in their pods, or an association when they were read), sorted by
// namespace and name.
func identityAccounts(ctx context.Context, c kubernetes.Interface, namespace, selector string, assoc podidentity.ClusterAssociations) ([]inventory.ServiceAccount, error) {
	report, err := collectWithAssociations(ctx, c, namespace, selector, assoc)
	if err != nil {
		return nil, err
	}
	var out []inventory.ServiceAccount
	for _, r := range report.ServiceAccounts {
		if r.Identity != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// customAccounts resolves a custom resource target to the service accounts its operator
// runs as: those that carry the role the object sets, in the object's namespace (every
// namespace for a cluster-scoped kind), since the operator copies the role onto them.
func (o *VerifyOptions) customAccounts(ctx context.Context) ([]verify.Account, string, error) {
	ref, c := *o.custom, o.custom.Kind.Custom
	cc, err := o.deps.newCustom(o.configFlags)
	if err != nil {
		return nil, "", err
	}
	if err := served(cc.Discovery, c); err != nil {
		return nil, "", err
	}
	ns := ""
	if c.Namespaced() {
		ns = o.namespace
	}
	ri := cc.Dynamic.Resource(c.GVR())
	get := ri.Get
	if ns != "" {
		get = ri.Namespace(ns).Get
	}
	obj, err := get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && ns != "":
		if _, nsErr := o.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
			return nil, "", InputErrorf("namespace %q not found: check -n or the kubeconfig's context", ns)
		}
		return nil, "", InputErrorf("%s %q not found in namespace %q", ref.Kind.Name, ref.Name, ns)
	case apierrors.IsNotFound(err):
		return nil, "", InputErrorf("%s %q not found", ref.Kind.Name, ref.Name)
	case err != nil:
		return nil, "", apicall.Wrap(err, "get", c.CRDName(), ns, ref.Name)
	}
	where := ""
	if ns != "" {
		where = " -n " + ns
	}
	role := c.RoleARN(obj)
	if role == "" {
		return nil, "", &customNotReady{msg: fmt.Sprintf("%s%s sets no role", ref, where),
			fix: fmt.Sprintf("kubectl wi enable %s%s --role-arn <role ARN>", ref, where)}
	}
	all, err := identityAccounts(ctx, o.client, ns, "", podidentity.ClusterAssociations{})
	if err != nil {
		return nil, "", err
	}
	var accounts []verify.Account
	for _, a := range all {
		if a.RoleARN == role {
			accounts = append(accounts, verify.Account{Namespace: a.Namespace, Name: a.Name})
		}
	}
	if len(accounts) == 0 {
		scope := "namespace " + ns
		if ns == "" {
			scope = "any namespace"
		}
		return nil, "", &customNotReady{
			msg: fmt.Sprintf("no service account in %s carries the role %s that %s sets: %s has not applied it to the accounts its pods run as", scope, role, ref, c.ProductName()),
			fix: fmt.Sprintf("check that the %s operator runs and reconciles %s (its logs name the error); kubectl wi status%s shows the accounts that carry a role", c.ProductName(), ref, map[bool]string{true: " -A", false: where}[ns == ""]),
		}
	}
	return accounts, "kubectl wi verify " + ref.String() + where, nil
}

// customNotReady is a custom resource target whose operator's accounts cannot be proven yet.
type customNotReady struct{ msg, fix string }

func (e *customNotReady) Error() string { return e.msg }

// runFleet proves the accounts, rendering as asked. Any account that did not pass gives a
// *ChecksFailedError; an interruption, context.Canceled.
func (o *VerifyOptions) runFleet(ctx context.Context) error {
	accounts, title, err := o.fleetAccounts(ctx)
	if nr := (*customNotReady)(nil); errors.As(err, &nr) {
		fmt.Fprintf(o.Out, "FAIL %s\n  fix: %s\n", nr.msg, nr.fix)
		return &ChecksFailedError{Failed: 1}
	}
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		ns := o.namespace
		if o.AllNamespaces {
			ns = ""
		}
		verb, noun, judged := "verify", "service accounts", "with an identity: an "+identity.AnnotationRoleARN+
			" annotation, or pods with EKS Pod Identity's container credentials (kubectl wi status lists them)"
		if o.InPod {
			verb, noun, judged = "verify --in-pod", "workloads", "that run as a service account with an identity: deployments, statefulsets and daemonsets (kubectl wi status lists them)"
		}
		return emptySelection(o.ErrOut, o.AllowEmpty, verb, noun, selectionWhere(ns, o.Selector), judged)
	}
	base := o.config()
	base.Target, base.Container = checktarget.Target{}, ""
	var results []verify.AccountResult
	work := func(ctx context.Context, rep verify.FleetReporter) error {
		var err error
		results, err = verify.RunFleet(ctx, base, accounts, o.Parallel, o.engine, rep)
		return err
	}
	var runErr error
	switch o.Output {
	case "tui":
		klog.SetLogger(logr.Discard())
		defer klog.ClearLogger()
		runErr = tui.RunFleet(ctx, o.In, o.Out, title, accounts, work)
	case "json":
		j := render.NewFleetJSON(o.Out, o.deps.now)
		runErr = work(ctx, j)
		j.Summary(results) // the verdict last, as text's summary; interrupted too
		if err := j.Err(); err != nil && runErr == nil {
			return fmt.Errorf("failed to write the events: %w", err)
		}
	default:
		t := render.NewFleetText(o.Out)
		runErr = work(ctx, t)
		t.Summary(results)
		if err := t.Err(); err != nil && runErr == nil {
			return fmt.Errorf("failed to write the output: %w", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	failed := 0
	var refused []string
	for _, r := range results {
		if !r.Passed() {
			failed++
		}
		// A workload with no running pod has no app to prove: its probe pod's result stands.
		if ref := r.Outcome.InPod.Refusal; ref != nil && ref.Reason != verify.RefusedNotRunning {
			refused = append(refused, fmt.Sprintf("%s (%s)", r.Account, ref.Reason))
		}
	}
	unit := "service account(s)"
	if o.InPod {
		unit = "workload(s)"
	}
	switch {
	case failed > 0:
		return &ChecksFailedError{Failed: failed, Unit: unit}
	case len(refused) > 0:
		// Their probe pods passed, but --in-pod asked for their own pods.
		return fmt.Errorf("--in-pod: %d workload(s) did not take the probe, and a probe pod proved them instead: %s", len(refused), strings.Join(refused, ", "))
	}
	return nil
}

// Package restart decides which workloads must get new pods after a service account's
// identity annotations change, and restarts them the way `kubectl rollout restart` does.
//
// The decision is made in memory from one LIST per kind (see Load): a Deployment, StatefulSet
// or DaemonSet that uses an account is restarted when one of its live pods is stale per
// identity.Staleness (auto), or always (always). What a restart cannot fix (paused
// Deployments, OnDelete update strategies, Jobs, CronJobs, bare pods, pods of unknown
// controllers) is listed as needing a manual restart, with the command.
package restart

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// Mode is the --restart flag.
type Mode string

// Restart modes.
const (
	Auto   Mode = "auto"   // restart workloads with stale pods
	Always Mode = "always" // restart every workload using the account
	Never  Mode = "never"  // restart nothing
)

// ParseMode reads --restart.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, Always, Never:
		return m, nil
	}
	return "", fmt.Errorf("--restart must be one of auto, always, never, not %q", s)
}

// Account is a service account whose identity annotations enable or disable set.
type Account struct {
	Namespace, Name string
	// Want is the identity the account asks for after this run; nil for none (disable).
	Want *identity.Config
	// Changed is true when this run changes the account's annotations (or its Pod Identity
	// association). An unchanged account's workloads that are mid-rollout are not restarted
	// again.
	Changed bool
	// PodIdentity, when set, judges the account's pods by EKS Pod Identity's container
	// credentials instead of by Want.
	PodIdentity PodIdentityWant
}

// PodIdentityWant is what an account's pods must carry of EKS Pod Identity.
type PodIdentityWant string

// What the pods must carry.
const (
	PodIdentityUnjudged PodIdentityWant = ""    // judged by the annotations (Want) alone
	PodIdentityOn       PodIdentityWant = "on"  // the account has an association: the container credentials
	PodIdentityOff      PodIdentityWant = "off" // the account has none: no container credentials
)

// staleness judges one pod of a as identity does: by the container credentials when a judges
// Pod Identity, else by the annotations.
func staleness(p *corev1.Pod, a *Account) (identity.PodState, string) {
	switch a.PodIdentity {
	case PodIdentityOn:
		return identity.PodIdentityStaleness(p, true)
	case PodIdentityOff:
		return identity.PodIdentityStaleness(p, false)
	case PodIdentityUnjudged:
	}
	return identity.Staleness(p, wantOf(a), a.Want != nil)
}

// Type is what Plan decided for one workload.
type Type string

// Decisions.
const (
	Restart    Type = "restart"     // patch the pod template's restartedAt
	Manual     Type = "manual"      // a restart is needed that this tool cannot do; Command says how
	InProgress Type = "in-progress" // stale pods, but a rollout is under way and the account did not change
	Current    Type = "current"     // every live pod already matches the account
	NoPods     Type = "no-pods"     // no live pods
)

// Action is the decision for one workload (or one bare pod, Job, CronJob) using an account.
type Action struct {
	Type    Type
	Account *Account
	// Kind is the kind as kubectl prints it: deployment.apps, job.batch, pod.
	Kind      string
	Namespace string
	Name      string
	// Reason says why, for the summary line.
	Reason string
	// Command is what the user runs, for Manual.
	Command string
	// Live and Stale count the workload's live pods and the stale ones among them.
	Live, Stale int
	// StalePods names the stale pods.
	StalePods []string
	// LivePods are the workload's live pods, as listed.
	LivePods []*corev1.Pod

	object     runtime.Object // the workload to restart
	generation int64          // the generation the restart produced, for Wait
}

// Ref is kind/name, as kubectl prints objects.
func (a *Action) Ref() string { return a.Kind + "/" + a.Name }

// group collects the live pods of one owner that use one account.
type group struct {
	kind, name, namespace string
	account               *Account
	object                runtime.Object
	order                 int
	live                  []*corev1.Pod
	stale                 []*corev1.Pod
	firstReason           string
	job                   string // for a CronJob group: the running Job
	owner                 string // for pods of a controller this package does not know
}

// Plan decides, for every Deployment, StatefulSet and DaemonSet using one of the accounts and
// every other owner of live pods using one, what to do in mode. Never is not planned: it
// returns nil. Actions come in account order, then kind, then name.
func Plan(snap *Snapshot, mode Mode, accounts []Account) []Action {
	if mode == Never {
		return nil
	}
	idx := indexAccounts(accounts)
	groups := map[string]*group{}
	var ordered []*group
	add := func(kind, ns, name string, acc *Account, obj runtime.Object, order int) *group {
		k := kind + "/" + ns + "/" + name + "/" + acc.Name
		g := groups[k]
		if g == nil {
			g = &group{kind: kind, name: name, namespace: ns, account: acc, object: obj, order: order}
			groups[k] = g
			ordered = append(ordered, g)
		}
		return g
	}

	// The workloads, by the kind and name a controller reference names them with; each one
	// that uses an account is planned, whether or not it has live pods.
	workloads := map[string]*workload{}
	for _, w := range slices.Concat(
		workloadsOf(snap.Deployments, "Deployment", 0, func(d *appsv1.Deployment) (*metav1.LabelSelector, *corev1.PodSpec) {
			return d.Spec.Selector, &d.Spec.Template.Spec
		}),
		workloadsOf(snap.StatefulSets, "StatefulSet", 1, func(s *appsv1.StatefulSet) (*metav1.LabelSelector, *corev1.PodSpec) {
			return s.Spec.Selector, &s.Spec.Template.Spec
		}),
		workloadsOf(snap.DaemonSets, "DaemonSet", 2, func(d *appsv1.DaemonSet) (*metav1.LabelSelector, *corev1.PodSpec) {
			return d.Spec.Selector, &d.Spec.Template.Spec
		}),
	) {
		workloads[w.refKind+"/"+key(w.namespace, w.name)] = w
		if acc := idx[key(w.namespace, w.serviceAccount)]; acc != nil {
			add(w.kind, w.namespace, w.name, acc, w.object, w.order)
		}
	}
	jobOwner := map[string]string{}
	for i := range snap.Jobs {
		j := &snap.Jobs[i]
		if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == "CronJob" {
			jobOwner[key(j.Namespace, j.Name)] = ref.Name
		}
	}

	for i := range snap.Pods {
		p := &snap.Pods[i]
		acc := idx[key(p.Namespace, identity.ServiceAccountName(&p.Spec))]
		if acc == nil || !live(p) {
			continue
		}
		var g *group
		var w *workload // the Deployment, StatefulSet or DaemonSet the pod belongs to
		ref := metav1.GetControllerOf(p)
		switch {
		case ref == nil:
			g = add("pod", p.Namespace, p.Name, acc, nil, 5)
		case ref.Kind == "ReplicaSet":
			if w = deploymentOf(p, ref.Name, workloads); w == nil {
				g = add("replicaset.apps", p.Namespace, ref.Name, acc, nil, 6)
				g.owner = "replicaset.apps/" + ref.Name
			}
		case (ref.Kind == "StatefulSet" || ref.Kind == "DaemonSet") && workloads[ref.Kind+"/"+key(p.Namespace, ref.Name)] != nil:
			w = workloads[ref.Kind+"/"+key(p.Namespace, ref.Name)]
		case ref.Kind == "Job":
			if cron := jobOwner[key(p.Namespace, ref.Name)]; cron != "" {
				g = add("cronjob.batch", p.Namespace, cron, acc, nil, 4)
				g.job = ref.Name
			} else {
				g = add("job.batch", p.Namespace, ref.Name, acc, nil, 3)
			}
		default:
			kind := strings.ToLower(ref.Kind)
			if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && gv.Group != "" {
				kind += "." + gv.Group
			}
			g = add("pod", p.Namespace, p.Name, acc, nil, 6)
			g.owner = kind + "/" + ref.Name
		}
		if w != nil {
			if w.serviceAccount != acc.Name {
				continue // an old pod of a workload moving to another account: its rollout replaces it
			}
			g = add(w.kind, p.Namespace, w.name, acc, w.object, w.order)
		}
		g.live = append(g.live, p)
		state, reason := staleness(p, acc)
		if state == identity.PodStale {
			if len(g.stale) == 0 {
				g.firstReason = podReason(p.Name, reason)
			}
			g.stale = append(g.stale, p)
		}
	}

	// Pods of the same foreign controller are one line.
	ordered = mergeForeign(ordered)
	accOrder := map[*Account]int{}
	for i := range accounts {
		accOrder[idx[key(accounts[i].Namespace, accounts[i].Name)]] = i
	}
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if accOrder[a.account] != accOrder[b.account] {
			return accOrder[a.account] < accOrder[b.account]
		}
		if a.order != b.order {
			return a.order < b.order
		}
		return a.name < b.name
	})

	actions := make([]Action, 0, len(ordered))
	for _, g := range ordered {
		if a, ok := decide(g, mode); ok {
			actions = append(actions, a)
		}
	}
	return actions
}

func decide(g *group, mode Mode) (Action, bool) {
	a := Action{Account: g.account, Kind: g.kind, Namespace: g.namespace, Name: g.name, Live: len(g.live), Stale: len(g.stale), LivePods: g.live, object: g.object}
	for _, p := range g.stale {
		a.StalePods = append(a.StalePods, p.Name)
	}
	needed := len(g.stale) > 0
	why := g.firstReason
	if len(g.stale) > 1 {
		why += fmt.Sprintf("; %d more stale %s", len(g.stale)-1, plural(len(g.stale)-1, "pod", "pods"))
	}
	if mode == Always {
		needed = len(g.live) > 0 || g.object != nil
		why = "--restart=always"
	}
	if !needed {
		if len(g.live) == 0 {
			a.Type, a.Reason = NoPods, "no live pods"
			return a, g.object != nil // a workload is worth a line; a foreign owner without pods is not
		}
		a.Type, a.Reason = Current, fmt.Sprintf("%d live %s already %s", len(g.live), plural(len(g.live), "pod", "pods"), matchText(g.account, len(g.live)))
		return a, true
	}
	w := restartfix.Workload{Kind: g.kind, Name: g.name, Namespace: g.namespace, Job: g.job, Pods: podNames(g, mode)}
	switch obj := g.object.(type) {
	case *appsv1.Deployment:
		w.Paused = obj.Spec.Paused
	case *appsv1.StatefulSet:
		w.OnDelete = obj.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType
	case *appsv1.DaemonSet:
		w.OnDelete = obj.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType
	}
	if fix := restartfix.For(w); !fix.Rollout || g.object == nil {
		a.Type, a.Command, a.Reason = Manual, fix.Command, why
		if fix.Note != "" {
			a.Reason += "; " + fix.Note
		}
		return a, true
	}
	if mode == Auto && !g.account.Changed {
		if done, msg, err := rolloutStatus(g.object); err == nil && !done {
			a.Type, a.Reason = InProgress, "rollout in progress ("+strings.TrimSuffix(msg, "...")+"), not restarted again; "+why
			return a, true
		}
	}
	a.Type, a.Reason = Restart, why
	return a, true
}

// StalePod is a live pod of a restarted workload that still lacks its account's identity.
type StalePod struct {
	Workload  string // kind/name
	Namespace string
	Pod       string
	Reason    string // why the first stale pod of the workload is stale
}

// StalePods finds in snap the stale live pods of the restarted workloads.
func StalePods(snap *Snapshot, accounts []Account, restarted []*Action) []StalePod {
	want := map[string]bool{}
	for _, a := range restarted {
		want[a.Namespace+"/"+a.Ref()] = true
	}
	var out []StalePod
	for _, a := range Plan(snap, Auto, accounts) {
		if !want[a.Namespace+"/"+a.Ref()] {
			continue
		}
		for _, p := range a.StalePods {
			out = append(out, StalePod{Workload: a.Ref(), Namespace: a.Namespace, Pod: p, Reason: a.Reason})
		}
	}
	return out
}

// mergeForeign folds the one-pod groups of a controller this package does not know into one
// group per controller.
func mergeForeign(groups []*group) []*group {
	out := groups[:0]
	byOwner := map[string]*group{}
	for _, g := range groups {
		if g.kind != "pod" || g.owner == "" {
			out = append(out, g)
			continue
		}
		k := g.namespace + "/" + g.owner + "/" + g.account.Name
		if m := byOwner[k]; m != nil {
			m.live = append(m.live, g.live...)
			if m.firstReason == "" {
				m.firstReason = g.firstReason
			}
			m.stale = append(m.stale, g.stale...)
			continue
		}
		kind, name, _ := strings.Cut(g.owner, "/")
		g.kind, g.name = kind, name
		byOwner[k] = g
		out = append(out, g)
	}
	return out
}

// podNames are the pods a manual restart deletes: the stale ones, or every live one for
// --restart=always.
func podNames(g *group, mode Mode) []string {
	pods := g.stale
	if mode == Always {
		pods = g.live
	}
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

// workload is a Deployment, StatefulSet or DaemonSet as Plan sees it.
type workload struct {
	refKind         string // as a controller reference names the kind: Deployment
	kind            string // as an Action names it: deployment.apps
	order           int    // the kind's rank in the plan
	object          runtime.Object
	namespace, name string
	selector        *metav1.LabelSelector
	serviceAccount  string // its pod template's
}

// workloadsOf lists the items of one workload kind of the apps group; spec reads an item's
// selector and pod template.
func workloadsOf[T any, P interface {
	*T
	metav1.Object
	runtime.Object
}](items []T, refKind string, order int, spec func(P) (*metav1.LabelSelector, *corev1.PodSpec)) []*workload {
	out := make([]*workload, len(items))
	for i := range items {
		obj := P(&items[i])
		sel, pod := spec(obj)
		out[i] = &workload{refKind: refKind, kind: strings.ToLower(refKind) + ".apps", order: order, object: obj,
			namespace: obj.GetNamespace(), name: obj.GetName(), selector: sel, serviceAccount: identity.ServiceAccountName(pod)}
	}
	return out
}

// deploymentOf finds the Deployment whose ReplicaSet rsName owns p: the ReplicaSet is named
// <deployment>-<pod-template-hash>, and the Deployment's selector must select the pod.
func deploymentOf(p *corev1.Pod, rsName string, workloads map[string]*workload) *workload {
	name := ""
	if hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" {
		name, _ = strings.CutSuffix(rsName, "-"+hash)
	}
	if name == "" || name == rsName {
		if i := strings.LastIndex(rsName, "-"); i > 0 {
			name = rsName[:i]
		}
	}
	d := workloads["Deployment/"+key(p.Namespace, name)]
	if d == nil || d.selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
		return nil
	}
	return d
}

func indexAccounts(accounts []Account) map[string]*Account {
	idx := make(map[string]*Account, len(accounts))
	for i := range accounts {
		idx[key(accounts[i].Namespace, accounts[i].Name)] = &accounts[i]
	}
	return idx
}

func key(ns, name string) string { return ns + "/" + name }

func wantOf(a *Account) identity.Config {
	if a.Want == nil {
		return identity.Config{}
	}
	return *a.Want
}

func matchText(a *Account, n int) string {
	verb := plural(n, "carries", "carry")
	switch a.PodIdentity {
	case PodIdentityOn:
		return verb + " EKS Pod Identity's container credentials"
	case PodIdentityOff:
		return verb + " no Pod Identity credentials"
	case PodIdentityUnjudged:
	}
	if a.Want == nil {
		return verb + " no injected identity"
	}
	return verb + " the identity"
}

// podReason names the pod in a Staleness reason: "pod lacks ..." -> "pod web-1 lacks ...".
func podReason(name, reason string) string {
	if rest, ok := strings.CutPrefix(reason, "pod "); ok {
		return "pod " + name + " " + rest
	}
	return "pod " + name + ": " + reason
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

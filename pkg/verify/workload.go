package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// Check names of a workload target's own pods.
const (
	CheckOutsideWorkloadPods = "outside.workload_pods"
	CheckOutsideCredentials  = "outside.credentials"
)

// CheckWorkloadPods judges, for a deployment, statefulset or daemonset target, the pods that
// run now: whether they carry the identity the service account asks for (the probe pod is
// new, so it proves only what new pods get; pods created before the account changed keep
// what they got), and for each container, the credential source the AWS SDKs' default chain
// picks there and the role it names. The fixes are the commands enable and status give. It
// costs one LIST each of the account's pods and of the namespace's deployments, statefulsets
// and daemonsets. It also returns the workload's live pods, for the checks of the app itself.
func CheckWorkloadPods(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, account string, cfg identity.Config, hasRole bool) ([]check.Event, []*corev1.Pod) {
	if t.Kind == checktarget.KindServiceAccount || t.Kind == checktarget.KindPod {
		// A pod target's own identity is inpod.identity's, or the probe pod's copy's.
		return nil, nil
	}
	var want *identity.Config
	if hasRole {
		want = &cfg
	}
	acc := []restart.Account{{Namespace: namespace, Name: account, Want: want, Changed: true}}
	inv, err := restart.Load(ctx, c, namespace, acc)
	if err != nil {
		return []check.Event{check.New(CheckOutsideWorkloadPods, check.StatusSkip, "cannot read the workload's pods: "+err.Error(), "", nil)}, nil
	}
	ref := t.String()
	for _, a := range restart.Plan(inv, restart.Auto, acc) {
		if a.Kind != string(t.Kind)+".apps" || a.Name != t.Name {
			continue
		}
		data := map[string]any{"live": a.Live, "stale": a.Stale}
		restartFix := restartfix.For(restartfix.Workload{Kind: a.Kind, Name: a.Name, Namespace: namespace}).Command
		var ev check.Event
		switch a.Type {
		case restart.Restart, restart.Manual, restart.InProgress:
			fix := a.Command
			if a.Type != restart.Manual {
				fix = restartFix
			}
			ev = check.New(CheckOutsideWorkloadPods, check.StatusWarn,
				fmt.Sprintf("%d of %d live pods of %s run without the identity serviceaccount/%s asks now: %s", a.Stale, a.Live, ref, account, a.Reason),
				fix, data)
		case restart.Current:
			ev = check.New(CheckOutsideWorkloadPods, check.StatusPass, fmt.Sprintf("the %d live pods of %s carry the identity serviceaccount/%s asks", a.Live, ref, account), "", data)
		default:
			return []check.Event{check.New(CheckOutsideWorkloadPods, check.StatusPass, ref+" has no live pods", "", data)}, nil
		}
		return append([]check.Event{ev}, credentialChecks(a, namespace, ref, want, restartFix)...), a.LivePods
	}
	return []check.Event{check.New(CheckOutsideWorkloadPods, check.StatusPass, ref+" has no live pods", "", nil)}, nil
}

// sourceUse is one credential source seen in a container of the workload's pods.
type sourceUse struct {
	cred identity.Credentials
	pods []string
}

// credentialChecks says, per container of the workload's live pods, which source the default
// chain picks and whether that is the account's identity. Pods of one workload normally
// agree; when they do not (some stale), each source is named with its pods.
func credentialChecks(a restart.Action, namespace, ref string, want *identity.Config, restartFix string) []check.Event {
	var order []string
	uses := map[string][]*sourceUse{}
	for _, p := range a.LivePods {
		for _, cr := range identity.ContainerCredentials(p) {
			if !slices.Contains(order, cr.Container) {
				order = append(order, cr.Container)
			}
			i := slices.IndexFunc(uses[cr.Container], func(u *sourceUse) bool {
				return u.cred.Source == cr.Source && u.cred.RoleARN == cr.RoleARN && u.cred.OwnRole == cr.OwnRole
			})
			if i < 0 {
				uses[cr.Container] = append(uses[cr.Container], &sourceUse{cred: cr})
				i = len(uses[cr.Container]) - 1
			}
			uses[cr.Container][i].pods = append(uses[cr.Container][i].pods, p.Name)
		}
	}
	var evs []check.Event
	for _, name := range order {
		worst, parts, fixes := check.StatusPass, []string(nil), []string(nil)
		data := map[string]any{"container": name}
		var sources []map[string]any
		for _, u := range uses[name] {
			status, text, fix := judgeSource(u.cred, want, ref, namespace, restartFix)
			if len(uses[name]) > 1 {
				text += fmt.Sprintf(" (%d of %d pods: %s)", len(u.pods), a.Live, strings.Join(firstN(u.pods, 3), ", "))
			}
			if u.cred.EnvFrom {
				text += "; it also takes env from ConfigMaps or Secrets (envFrom), which could set AWS_ACCESS_KEY_ID first: kubectl wi does not read them"
			}
			parts = append(parts, text)
			if fix != "" && !slices.Contains(fixes, fix) {
				fixes = append(fixes, fix)
			}
			worst = worse(worst, status)
			sources = append(sources, map[string]any{"source": string(u.cred.Source), "role_arn": u.cred.RoleARN, "own_role": u.cred.OwnRole, "pods": len(u.pods)})
		}
		data["sources"] = sources
		evs = append(evs, check.New(CheckOutsideCredentials, worst, "container "+name+": "+strings.Join(parts, "; "), strings.Join(fixes, "\n"), data))
	}
	return evs
}

// judgeSource words one container's credential source against the account's identity (want
// is nil when the account names no role), with a status and the fix.
func judgeSource(cr identity.Credentials, want *identity.Config, ref, namespace, restartFix string) (check.Status, string, string) {
	setEnv := func(names ...string) string {
		args := make([]string, len(names))
		for i, n := range names {
			args[i] = n + "-"
		}
		return fmt.Sprintf("kubectl set env %s -n %s -c %s %s", ref, namespace, cr.Container, strings.Join(args, " "))
	}
	shadowed := ""
	if len(cr.Shadowed) > 0 {
		names := make([]string, len(cr.Shadowed))
		for i, s := range cr.Shadowed {
			names[i] = sourceName(s)
		}
		shadowed = ", ahead of " + strings.Join(names, " and ")
	}
	switch cr.Source {
	case identity.SourceStaticKeys:
		return check.StatusWarn,
			"static keys in its env (" + identity.EnvAccessKeyID + "), which the AWS SDKs use first" + shadowed + ": it acts as the keys' IAM user, not as a role of the pod's identity",
			"remove the keys so the SDK takes the pod's identity: " + setEnv(identity.EnvAccessKeyID, identity.EnvSecretAccessKey, identity.EnvSessionToken)
	case identity.SourceWebIdentity:
		switch {
		case cr.OwnRole && want != nil && cr.RoleARN != want.RoleARN:
			return check.StatusWarn,
				fmt.Sprintf("web identity with the role %s, which the container sets itself in %s; the service account names %s, which this container never uses (the webhook leaves a container's own %s alone)", orNone(cr.RoleARN), identity.EnvRoleARN, want.RoleARN, identity.EnvRoleARN),
				"to use the service account's role, drop the container's own variables: " + setEnv(identity.EnvRoleARN, identity.EnvTokenFile)
		case cr.OwnRole:
			return check.StatusPass, fmt.Sprintf("web identity with the role %s, set in the container's own env", orNone(cr.RoleARN)) + shadowed, ""
		}
		return check.StatusPass, "web identity with the role " + cr.RoleARN + ", injected by the webhook" + shadowed, ""
	case identity.SourceContainer:
		return check.StatusPass, "container credentials (EKS Pod Identity's agent), which the AWS SDKs use before the node's role" + shadowed, ""
	case identity.SourceIMDS, identity.SourceNone:
	}
	fallback := "no credentials in its env: the AWS SDKs fall back to the node's instance role through instance metadata (IMDS), where it is reachable"
	if cr.Source == identity.SourceNone {
		fallback = "no credentials in its env and " + identity.EnvMetadataDisabled + " is true: the AWS SDKs find no credentials at all"
	}
	fix := "the pods were admitted without the webhook's injection (created before the annotation, or while the webhook was down): " + restartFix
	switch {
	case cr.Skipped:
		fix = fmt.Sprintf("the pod's %s annotation names the container %s: remove it from the annotation in the pod template", identity.AnnotationSkipContainers, cr.Container)
	case cr.SkipLabel:
		fix = fmt.Sprintf("the pod carries the %s label, which the webhook's registration may honour: remove it from the pod template", identity.LabelSkipPodIdentityWebhook)
	}
	if want == nil {
		return check.StatusWarn, fallback, "give the service account a role: kubectl wi enable serviceaccount/<name> -n " + namespace + " --role-arn <role ARN>, or an EKS Pod Identity association"
	}
	return check.StatusFail, fallback + ", not the role " + want.RoleARN + " of the service account", fix
}

func sourceName(s identity.Source) string {
	switch s {
	case identity.SourceWebIdentity:
		return "web identity"
	case identity.SourceContainer:
		return "container credentials"
	case identity.SourceStaticKeys, identity.SourceIMDS, identity.SourceNone:
	}
	return string(s)
}

// worse is the more severe of two statuses.
func worse(a, b check.Status) check.Status {
	rank := map[check.Status]int{check.StatusSkip: 0, check.StatusPass: 1, check.StatusWarn: 2, check.StatusFail: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

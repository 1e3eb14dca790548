package inventory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// Placeholders in fixes, for what the cluster cannot tell.
const (
	placeholderRoleARN = "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"
	// defaultProjectedMode is the apiserver's default for a projected volume's defaultMode.
	defaultProjectedMode int32 = 0o644
)

type saKey struct{ namespace, name string }

type account struct {
	row     ServiceAccount
	cfg     identity.Config
	hasRole bool
	// notPodIdentity are its live pods without Pod Identity's credentials. Once every pod is
	// in, they are stale for Pod Identity when another pod of the account has them, and the
	// stale ones among them are stale for IRSA otherwise.
	notPodIdentity []livePod
	// association is its EKS Pod Identity association, when the associations were read.
	association *Association
	exists      bool // the service account was listed
}

// livePod is what report needs of a pod: where it is, and its IRSA staleness.
type livePod struct {
	namespace, name, owner string
	stale                  bool
	reason                 string
}

type findingKey struct {
	check     Check
	namespace string
	object    string
	message   string
}

// collector folds objects into the report. Its methods are safe for concurrent use; the pods
// must come after the service accounts.
type collector struct {
	mu sync.Mutex
	// accounts carry a role, or carried none while some pod still had one.
	accounts  map[saKey]*account
	workloads map[saKey][]string
	findings  map[findingKey]*Finding
	warnings  []string
	// restarts says how each workload renews its pods ("ns/kind/name"), cronJobOf which
	// CronJob runs a Job ("ns/job"), and stalePods which pods a stale-pods finding covers:
	// the fix of a stale-pods finding is written from them once every LIST is done.
	restarts  map[string]restartfix.Workload
	cronJobOf map[string]string
	stalePods map[findingKey][]string
	// accountOf is the account of a pod-identity-uninjected finding, whose fix proves it.
	accountOf map[findingKey]string
	// selective: only the pods of the listed accounts (selected) count, for status -l.
	selective bool
	selected  map[saKey]bool

	webhooksChecked bool
	podWebhooks     []string // configurations with a webhook on pods CREATE

	cluster string // the EKS cluster whose associations were read
}

func newCollector() *collector {
	return &collector{
		accounts:  map[saKey]*account{},
		workloads: map[saKey][]string{},
		findings:  map[findingKey]*Finding{},
		restarts:  map[string]restartfix.Workload{},
		cronJobOf: map[string]string{},
		stalePods: map[findingKey][]string{},
		accountOf: map[findingKey]string{},
		selected:  map[saKey]bool{},
	}
}

func (c *collector) warn(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warnings = append(c.warnings, msg)
}

// add records a finding, or adds pods to the same one (same check, object and message).
func (c *collector) add(f Finding) {
	k := findingKey{f.Check, f.Namespace, f.Object, f.Message}
	if have, ok := c.findings[k]; ok {
		have.Pods += f.Pods
		return
	}
	c.findings[k] = &f
}

func (c *collector) addServiceAccount(sa *corev1.ServiceAccount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.selective {
		c.selected[saKey{sa.Namespace, sa.Name}] = true
	}
	prev := c.accounts[saKey{sa.Namespace, sa.Name}] // its association's, when read
	if prev != nil {
		prev.exists = true
	}
	cfg, ok := identity.FromAnnotations(sa.Annotations)
	if !ok {
		return
	}
	obj := "serviceaccount/" + sa.Name
	enableCmd := func(role string, extra string) string {
		return fmt.Sprintf("kubectl wi enable serviceaccount/%s -n %s --role-arn %s%s", sa.Name, sa.Namespace, role, extra)
	}
	role := cfg.RoleARN
	if _, err := identity.ParseRoleARN(cfg.RoleARN); err != nil {
		role = placeholderRoleARN
		c.add(Finding{
			Severity: SeverityError, Check: CheckRoleARNInvalid, Namespace: sa.Namespace, Object: obj,
			Message: err.Error() + "; no pod can assume it",
			Fix:     "set a valid role ARN: " + enableCmd(role, " --overwrite"),
		})
	}
	if v, has := sa.Annotations[identity.AnnotationTokenExpiration]; has {
		if msg := expirationProblem(v); msg != "" {
			c.add(Finding{
				Severity: SeverityWarning, Check: CheckTokenExpiration, Namespace: sa.Namespace, Object: obj,
				Message: fmt.Sprintf("annotation %s=%q: %s", identity.AnnotationTokenExpiration, v, msg),
				Fix:     "set a value from 600 to 86400 seconds: " + enableCmd(role, " --token-expiration 86400"),
			})
		}
	}
	c.accounts[saKey{sa.Namespace, sa.Name}] = &account{
		row: ServiceAccount{
			Namespace:            sa.Namespace,
			Name:                 sa.Name,
			RoleARN:              cfg.RoleARN,
			Audience:             cfg.EffectiveAudience(),
			TokenExpiration:      cfg.EffectiveExpiration(nil),
			STSRegionalEndpoints: cfg.STSRegional,
		},
		cfg:     cfg,
		hasRole: true,
		exists:  true,
	}
	if prev != nil {
		c.accounts[saKey{sa.Namespace, sa.Name}].association = prev.association
	}
}

// addAssociation records an association before the service accounts are listed: its account
// is reported whatever its pods carry.
func (c *collector) addAssociation(a Association) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := saKey{a.Namespace, a.ServiceAccount}
	acct := c.accounts[k]
	if acct == nil {
		acct = &account{row: ServiceAccount{Namespace: a.Namespace, Name: a.ServiceAccount}}
		c.accounts[k] = acct
	}
	acct.association = &a
}

// expirationProblem says what is wrong with a token-expiration annotation value, or "".
func expirationProblem(v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return "not a number of seconds; the webhook ignores it"
	}
	if err := identity.ValidateTokenExpiration(n); err != nil {
		return err.Error()
	}
	return ""
}

// addWorkload records a workload: the account its pods run as, and how it renews its pods
// (w.Paused, w.OnDelete; the rest is filled in here).
func (c *collector) addWorkload(kind string, meta *metav1.ObjectMeta, spec *corev1.PodSpec, w restartfix.Workload) {
	k := saKey{meta.Namespace, identity.ServiceAccountName(spec)}
	w.Kind, w.Name, w.Namespace = kind, meta.Name, meta.Namespace
	c.mu.Lock()
	defer c.mu.Unlock()
	c.workloads[k] = append(c.workloads[k], kind+"/"+meta.Name)
	c.restarts[meta.Namespace+"/"+kind+"/"+meta.Name] = w
}

// addCronJobRun records that CronJob cron runs Job job, so the fix for its stale pods is the
// CronJob's.
func (c *collector) addCronJobRun(namespace, job, cron string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cronJobOf[namespace+"/"+job] = cron
}

func (c *collector) addWebhookConfiguration(cfg *admissionregistrationv1.MutatingWebhookConfiguration) {
	for _, wh := range cfg.Webhooks {
		for _, r := range wh.Rules {
			if ruleMatchesPodCreate(r) {
				c.mu.Lock()
				c.podWebhooks = append(c.podWebhooks, cfg.Name)
				c.mu.Unlock()
				return
			}
		}
	}
}

func (c *collector) markWebhooksChecked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.webhooksChecked = true
}

// ruleMatchesPodCreate is true when the rule sends the CREATE of core/v1 pods to the webhook.
func ruleMatchesPodCreate(r admissionregistrationv1.RuleWithOperations) bool {
	anyOf := func(have []string, want ...string) bool {
		for _, h := range have {
			if slices.Contains(want, h) {
				return true
			}
		}
		return false
	}
	ops := make([]string, len(r.Operations))
	for i, op := range r.Operations {
		ops[i] = string(op)
	}
	return anyOf(ops, string(admissionregistrationv1.Create), string(admissionregistrationv1.OperationAll)) &&
		anyOf(r.APIGroups, "", "*") &&
		anyOf(r.APIVersions, "v1", "*") &&
		anyOf(r.Resources, "pods", "*", "*/*")
}

// addPod classifies one pod and records its findings. Nothing of the pod is kept.
func (c *collector) addPod(pod *corev1.Pod) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return // a terminated pod runs with no identity any more
	}
	k := saKey{pod.Namespace, identity.ServiceAccountName(&pod.Spec)}
	if c.selective {
		c.mu.Lock()
		picked := c.selected[k]
		c.mu.Unlock()
		if !picked {
			return // an account -l did not select
		}
	}
	id := identity.InspectPod(pod)
	owner := ownerOf(pod)
	pf := func(sev Severity, check Check, msg, fix string) Finding {
		return Finding{Severity: sev, Check: check, Namespace: pod.Namespace, Object: owner, Pods: 1, Message: msg, Fix: fix}
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	if id.PodIdentity && pod.Spec.HostNetwork {
		c.add(pf(SeverityWarning, CheckHostNetworkIdentity,
			"pod uses hostNetwork on the EKS Pod Identity path: it shares the node's network, so it can also reach the node's instance metadata and the node's role",
			fmt.Sprintf("run it without hostNetwork if it can; then check which role it really gets: kubectl wi verify serviceaccount/%s -n %s", k.name, pod.Namespace)))
	}

	acct := c.accounts[k]
	if acct == nil && !id.Injected && !id.PodIdentity {
		return // an account without a role, and a pod without one: nothing to report
	}
	if acct == nil {
		// The account asks for no role (or no longer does) and the pod has one: through an
		// association (Pod Identity) or left over from the annotation.
		acct = &account{row: ServiceAccount{Namespace: k.namespace, Name: k.name}}
		c.accounts[k] = acct
	}

	state, reason := identity.Staleness(pod, acct.cfg, acct.hasRole)
	acct.row.Pods.Total++
	if state != identity.PodPodIdentity {
		acct.notPodIdentity = append(acct.notPodIdentity, livePod{namespace: pod.Namespace, name: pod.Name, owner: owner, stale: state == identity.PodStale, reason: reason})
	}
	switch state {
	case identity.PodCurrent:
		acct.row.Pods.Injected++
	case identity.PodStale: // counted in report, which knows whether the account is on Pod Identity
	case identity.PodSkipped:
		acct.row.Pods.Skipped++
	case identity.PodPodIdentity:
		acct.row.Pods.PodIdentity++
		if acct.hasRole {
			c.add(pf(SeverityInfo, CheckPodIdentityWins,
				fmt.Sprintf("serviceaccount/%s has both %s and an EKS Pod Identity association: its pods get Pod Identity's credentials, and the annotation's role %s is not used", k.name, identity.AnnotationRoleARN, acct.cfg.RoleARN),
				fmt.Sprintf("keep one: remove the annotation (kubectl wi disable serviceaccount/%s -n %s --restart=never), or delete the association to go back to the annotation's role (kubectl wi disable serviceaccount/%s -n %s --pod-identity)", k.name, pod.Namespace, k.name, pod.Namespace)))
		}
	case identity.PodNotAsked:
	}

	if acct.hasRole && !id.SkipLabel {
		c.podRoleFindings(pod, id, owner, acct, pf)
	}
	if id.Injected {
		if sev, msg := tokenReadability(pod); msg != "" {
			c.add(pf(sev, CheckTokenReadability, msg,
				"set spec.securityContext.fsGroup on the pod template (for example 65534): the kubelet then makes the token group-readable by every container"))
		}
	}
}

// podRoleFindings checks a pod whose account asks for a role and that did not opt out.
func (c *collector) podRoleFindings(pod *corev1.Pod, id identity.PodIdentity, owner string, acct *account, pf func(Severity, Check, string, string) Finding) {
	if len(id.SelfSetContainers) > 0 && !id.PodIdentity {
		c.add(pf(SeverityWarning, CheckSelfSetEnv,
			fmt.Sprintf("containers %s set %s or %s themselves: the webhook keeps their values, so they do not use the role of serviceaccount/%s; restarting does not change that",
				quoteList(id.SelfSetContainers), identity.EnvRoleARN, identity.EnvTokenFile, identity.ServiceAccountName(&pod.Spec)),
			selfSetFix(owner, pod.Namespace, id.SelfSetContainers)))
	}
	if len(id.SkippedContainers) > 0 {
		c.add(pf(SeverityInfo, CheckSkippedContainers,
			fmt.Sprintf("containers %s are named in %s: they get no token and no role", quoteList(id.SkippedContainers), identity.AnnotationSkipContainers),
			"if they need the role, remove them from the "+identity.AnnotationSkipContainers+" annotation of the pod template"))
	}
	if v, has := pod.Annotations[identity.AnnotationTokenExpiration]; has {
		if msg := expirationProblem(v); msg != "" {
			c.add(pf(SeverityWarning, CheckTokenExpiration,
				fmt.Sprintf("pod annotation %s=%q: %s", identity.AnnotationTokenExpiration, v, msg),
				fmt.Sprintf("set the pod template's %s annotation to a value from 600 to 86400 seconds, or remove it to use the account's (%ds)",
					identity.AnnotationTokenExpiration, acct.row.TokenExpiration)))
		}
	}
}

// tokenReadability checks whether non-root containers can read the projected token when the
// pod sets no fsGroup. The kubelet writes the token with the volume's defaultMode (0644 by
// default) owned by root; when every container runs as the same explicit user, it gives the
// file to that user with mode 0600 instead (pkg/volume/util.FsUserFrom); with an fsGroup, mode
// 0640 and the group. So the token is unreadable only when the mode leaves out others and no
// common user applies; otherwise it is readable today but depends on those details.
func tokenReadability(pod *corev1.Pod) (Severity, string) {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return "", ""
	}
	var nonRoot []string
	for _, ct := range containers(pod) {
		if mountsToken(ct) && runsNonRoot(pod, ct) {
			nonRoot = append(nonRoot, ct.Name)
		}
	}
	if len(nonRoot) == 0 {
		return "", ""
	}
	if uid, ok := commonRunAsUser(pod); ok {
		return SeverityInfo, fmt.Sprintf("non-root containers %s and no pod fsGroup: the token is readable only because every container runs as user %d (the kubelet gives it the file); a container with another user would not read it", quoteList(nonRoot), uid)
	}
	mode := tokenVolumeMode(pod)
	if mode&0o004 == 0 {
		return SeverityWarning, fmt.Sprintf("non-root containers %s and no pod fsGroup: the token file is owned by root with mode %04o, so they cannot read it", quoteList(nonRoot), mode)
	}
	return SeverityInfo, fmt.Sprintf("non-root containers %s and no pod fsGroup: the token is readable only because the volume's mode %04o lets everyone read it", quoteList(nonRoot), mode)
}

func containers(pod *corev1.Pod) []*corev1.Container {
	out := make([]*corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

func mountsToken(ct *corev1.Container) bool {
	for _, m := range ct.VolumeMounts {
		if m.Name == identity.TokenVolumeName {
			return true
		}
	}
	return false
}

// effectiveRunAsUser is the container's runAsUser, else the pod's.
func effectiveRunAsUser(pod *corev1.Pod, ct *corev1.Container) *int64 {
	if ct.SecurityContext != nil && ct.SecurityContext.RunAsUser != nil {
		return ct.SecurityContext.RunAsUser
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsUser
	}
	return nil
}

// runsNonRoot: runAsUser other than 0, or runAsNonRoot, at container or pod level.
func runsNonRoot(pod *corev1.Pod, ct *corev1.Container) bool {
	if uid := effectiveRunAsUser(pod, ct); uid != nil {
		return *uid != 0
	}
	if ct.SecurityContext != nil && ct.SecurityContext.RunAsNonRoot != nil {
		return *ct.SecurityContext.RunAsNonRoot
	}
	return pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsNonRoot != nil && *pod.Spec.SecurityContext.RunAsNonRoot
}

// commonRunAsUser is the user every container runs as, when all set the same one.
func commonRunAsUser(pod *corev1.Pod) (int64, bool) {
	var uid *int64
	for _, ct := range containers(pod) {
		u := effectiveRunAsUser(pod, ct)
		if u == nil || (uid != nil && *uid != *u) {
			return 0, false
		}
		uid = u
	}
	if uid == nil {
		return 0, false
	}
	return *uid, true
}

func tokenVolumeMode(pod *corev1.Pod) int32 {
	for _, v := range pod.Spec.Volumes {
		if v.Name == identity.TokenVolumeName && v.Projected != nil && v.Projected.DefaultMode != nil {
			return *v.Projected.DefaultMode
		}
	}
	return defaultProjectedMode
}

// ownerOf names the workload a pod belongs to, as kind/name: a ReplicaSet's pods are named
// after their Deployment through the pod-template-hash label, without reading the ReplicaSet.
func ownerOf(pod *corev1.Pod) string {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "pod/" + pod.Name
	}
	if ref.Kind == "ReplicaSet" {
		if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
			return "deployment/" + strings.TrimSuffix(ref.Name, "-"+h)
		}
	}
	return strings.ToLower(ref.Kind) + "/" + ref.Name
}

// selfSetFix says how to remove the identity variables that containers set themselves: in the
// workload's pod template, since the pods are made from it.
func selfSetFix(owner, namespace string, containers []string) string {
	unset := identity.EnvRoleARN + "- " + identity.EnvTokenFile + "-"
	kind, _, _ := strings.Cut(owner, "/")
	switch kind {
	case "deployment", "statefulset", "daemonset", "replicaset", "job", "cronjob":
		return fmt.Sprintf("remove them from the pod template's env so the webhook injects the account's role (the workload then rolls): kubectl set env %s -n %s -c %s %s",
			owner, namespace, strings.Join(containers, ","), unset)
	}
	return fmt.Sprintf("remove %s and %s from the env of containers %s in the manifest of %s, and create it again",
		identity.EnvRoleARN, identity.EnvTokenFile, quoteList(containers), owner)
}

// restartFix says how to replace the stale pods of owner ("deployment/web") in namespace.
func (c *collector) restartFix(namespace, owner string, pods []string) string {
	kind, name, _ := strings.Cut(owner, "/")
	w, known := c.restarts[namespace+"/"+owner]
	if !known {
		w = restartfix.Workload{Kind: kind, Name: name, Namespace: namespace}
	}
	if cron := c.cronJobOf[namespace+"/"+name]; kind == "job" && cron != "" {
		w = restartfix.Workload{Kind: "cronjob", Name: cron, Namespace: namespace, Job: name}
	}
	w.Pods = pods
	fix := restartfix.For(w)
	if fix.Rollout {
		return "restart it: " + fix.Command
	}
	return fix.String()
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// classify sets the account's identity and judges its pods without Pod Identity's
// credentials: stale for Pod Identity when other pods of the account have them (the
// association came after these pods), else stale for IRSA when Staleness said so.
func (c *collector) classify(a *account) {
	onPodIdentity := a.row.Pods.PodIdentity > 0 || a.association != nil
	if as := a.association; as != nil {
		a.row.PodIdentityAssociation, a.row.PodIdentityRoleARN = as.ID, as.RoleARN
	}
	switch {
	case a.hasRole && onPodIdentity:
		a.row.Identity = IdentityBoth
	case a.hasRole:
		a.row.Identity = IdentityIRSA
	case onPodIdentity:
		a.row.Identity = IdentityPodIdentity
	}
	name := a.row.Name
	for _, p := range a.notPodIdentity {
		var f Finding
		switch {
		case onPodIdentity && a.row.Pods.PodIdentity == 0:
			// No pod of the account has them: created before the association, or the
			// webhook does not inject Pod Identity at all, which a restart would not change.
			a.row.Pods.PodIdentityStale++
			f = Finding{Severity: SeverityWarning, Check: CheckPodIdentityUninjected, Namespace: p.namespace, Object: p.owner, Pods: 1,
				Message: fmt.Sprintf("pods run without the EKS Pod Identity credentials of serviceaccount/%s's association %s (role %s), and no pod of the account has them: they were created before it, or the pod identity webhook does not inject Pod Identity (on EKS: the eks-pod-identity-agent add-on; a self-managed webhook: its container-credentials configuration)",
					name, a.association.ID, a.association.RoleARN)}
		case onPodIdentity:
			a.row.Pods.PodIdentityStale++
			f = Finding{Severity: SeverityWarning, Check: CheckPodIdentityStale, Namespace: p.namespace, Object: p.owner, Pods: 1,
				Message: fmt.Sprintf("pods run without the EKS Pod Identity credentials that new pods of serviceaccount/%s get: they were created before its association, and keep IRSA or no role until restarted", name)}
		case p.stale:
			a.row.Pods.Stale++
			msg := fmt.Sprintf("pods run without the identity serviceaccount/%s asks: %s", name, p.reason)
			if !a.hasRole {
				msg = fmt.Sprintf("serviceaccount/%s asks for no role, but the %s", name, p.reason)
			}
			f = Finding{Severity: SeverityWarning, Check: CheckStalePods, Namespace: p.namespace, Object: p.owner, Pods: 1, Message: msg}
		default:
			continue
		}
		c.add(f) // the fix comes in report, from every pod the finding covers
		k := findingKey{f.Check, f.Namespace, f.Object, f.Message}
		c.stalePods[k] = append(c.stalePods[k], p.name)
		c.accountOf[k] = name
	}
	a.notPodIdentity = nil
}

// report builds the sorted report. Call it once every LIST is done.
func (c *collector) report() *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Report{ServiceAccounts: []ServiceAccount{}, Findings: []Finding{}, Warnings: c.warnings}
	hasRole := false
	for k, a := range c.accounts {
		if a.association != nil && c.selective && !c.selected[k] {
			continue // an association of an account -l did not select
		}
		c.classify(a)
		c.associationFindings(a)
		row := a.row
		row.Workloads = slices.Clone(c.workloads[k])
		if row.Workloads == nil {
			row.Workloads = []string{}
		}
		slices.Sort(row.Workloads)
		r.ServiceAccounts = append(r.ServiceAccounts, row)
		hasRole = hasRole || a.hasRole || a.association != nil
	}
	if c.webhooksChecked && len(c.podWebhooks) == 0 && hasRole {
		r.Findings = append(r.Findings, Finding{
			Severity: SeverityError, Check: CheckWebhookMissing,
			Message: "no mutating webhook for pods CREATE is registered: new pods get no token and no role",
			Fix:     "install the Amazon EKS Pod Identity Webhook (amazon-eks-pod-identity-webhook; EKS runs it for you), then restart the workloads",
		})
	}
	for k, f := range c.findings {
		switch f.Check {
		case CheckStalePods, CheckPodIdentityStale:
			f.Fix = c.restartFix(f.Namespace, f.Object, c.stalePods[k])
		case CheckPodIdentityUninjected:
			f.Fix = fmt.Sprintf("prove first that new pods get them (a probe pod): kubectl wi verify serviceaccount/%s -n %s; once it passes, %s",
				c.accountOf[k], f.Namespace, c.restartFix(f.Namespace, f.Object, c.stalePods[k]))
		default: // its fix was written with it
		}
		r.Findings = append(r.Findings, *f)
	}
	sortReport(r)
	return r
}

// associationFindings flags an association no pod can use or none uses: its account does not
// exist, or runs no pod.
func (c *collector) associationFindings(a *account) {
	as := a.association
	if as == nil {
		return
	}
	obj := "serviceaccount/" + as.ServiceAccount
	switch {
	case !a.exists:
		cluster := c.cluster
		if cluster == "" {
			cluster = "CLUSTER"
		}
		c.add(Finding{Severity: SeverityWarning, Check: CheckPodIdentityNoAccount, Namespace: as.Namespace, Object: obj,
			Message: fmt.Sprintf("the EKS Pod Identity association %s (role %s) names %s, which does not exist: no pod can use it", as.ID, as.RoleARN, obj),
			Fix: fmt.Sprintf("create it (kubectl create serviceaccount %s -n %s), or delete the association (aws eks delete-pod-identity-association --cluster-name %s --association-id %s)",
				as.ServiceAccount, as.Namespace, cluster, as.ID)})
	case a.row.Pods.Total == 0:
		c.add(Finding{Severity: SeverityInfo, Check: CheckPodIdentityNoPods, Namespace: as.Namespace, Object: obj,
			Message: fmt.Sprintf("%s has the EKS Pod Identity association %s (role %s) and no running pod: nothing shows yet that its pods get the role", obj, as.ID, as.RoleARN),
			Fix:     fmt.Sprintf("prove it from a probe pod: kubectl wi verify %s -n %s", obj, as.Namespace)})
	}
}

package verify

import (
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// Check names of the stored pod's checks.
const (
	CheckPodMutation         = "pod.mutation"
	CheckPodRoleARN          = "pod.role_arn"
	CheckPodTokenFile        = "pod.token_file"
	CheckPodTokenMount       = "pod.token_mount"
	CheckPodTokenAudience    = "pod.token_audience"
	CheckPodTokenExpiration  = "pod.token_expiration"
	CheckPodPodIdentityEnv   = "pod.podidentity_env"
	CheckPodPodIdentityToken = "pod.podidentity_token"
	CheckPodBothIdentities   = "pod.both_identities"
)

// Expected is what the probe pod should carry and its token should say, worked out from the
// service account and the flags.
type Expected struct {
	ServiceAccount string // NAMESPACE/NAME, for messages
	Subject        string // system:serviceaccount:NAMESPACE:NAME
	RoleARN        string // empty: the service account names none and --role-arn was not given
	Audience       string
	Expiration     int64
	Issuer         string // empty: unknown, not checked
	Region         string
}

// Cluster is what the outside checks learned that explains a pod the webhook did not mutate.
type Cluster struct {
	// HasRoleAnnotation is true when the service account carries eks.amazonaws.com/role-arn.
	HasRoleAnnotation bool
	// Association is what is known of its EKS Pod Identity association, when it has no
	// role-arn annotation.
	Association AssociationLookup
	// WebhooksKnown is true when the webhook configurations could be listed.
	WebhooksKnown bool
	// Webhooks are the registered webhooks on pods CREATE that select the probe pod.
	Webhooks []string
	// UnmutatedFor, when set, is how long dry-run pods of the account were still admitted
	// unmutated after the probe pod: longer than a cache lags.
	UnmutatedFor time.Duration
}

// CheckStoredPod checks the pod as the apiserver stored it, i.e. after admission: what the
// webhook injected, per container. mutated is false when it injected nothing: the probe
// cannot help then, and the single failed pod.mutation names the missing piece.
func CheckStoredPod(pod *corev1.Pod, want Expected, cl Cluster) (events []check.Event, mutated bool) {
	id := identity.InspectPod(pod)
	switch {
	case id.PodIdentity:
		return podIdentityChecks(pod, id, want, cl), true
	case id.Injected:
		return irsaChecks(pod, id, want), true
	default:
		return []check.Event{notMutated(pod, id, want, cl)}, false
	}
}

func notMutated(pod *corev1.Pod, id identity.PodIdentity, want Expected, cl Cluster) check.Event {
	var causes, fixes []string
	sa := want.ServiceAccount
	saName := sa[strings.Index(sa, "/")+1:]
	switch {
	case id.SkipLabel:
		causes = append(causes, "the pod carries the "+identity.LabelSkipPodIdentityWebhook+" label (from the workload's pod template), so the webhook leaves it alone")
		fixes = append(fixes, "remove the "+identity.LabelSkipPodIdentityWebhook+" label from the workload's pod template")
	case len(id.SelfSetContainers) > 0:
		causes = append(causes, "containers "+strings.Join(id.SelfSetContainers, ", ")+" set "+identity.EnvRoleARN+" or "+identity.EnvTokenFile+" themselves, so the webhook leaves them alone")
		fixes = append(fixes, "remove those env vars from the container spec")
	}
	enable := fmt.Sprintf("kubectl wi enable serviceaccount/%[1]s -n %[2]s --role-arn <role ARN> (IRSA), or kubectl wi enable serviceaccount/%[1]s -n %[2]s --pod-identity --role-arn <role ARN> (EKS Pod Identity: an association)", saName, pod.Namespace)
	a := cl.Association
	switch {
	case cl.HasRoleAnnotation:
	case a.ID != "":
		causes = append(causes, fmt.Sprintf("the service account %s has the EKS Pod Identity association %s (cluster %s, role %s), yet the pod identity webhook did not inject its container credentials: the webhook does not inject Pod Identity for it",
			sa, a.ID, a.Cluster, a.RoleARN))
		fixes = append(fixes, webhookNoPodIdentity(a.Cluster))
	case a.Read:
		causes = append(causes, fmt.Sprintf("the service account %s has no %s annotation and no EKS Pod Identity association in cluster %s", sa, identity.AnnotationRoleARN, a.Cluster))
		fixes = append(fixes, enable)
	default:
		cluster := a.Cluster
		if cluster == "" {
			cluster = "<EKS cluster>"
		}
		causes = append(causes, fmt.Sprintf("the service account %s has no %s annotation, and its EKS Pod Identity association was not read (%s): either it has none, or it has one and the pod identity webhook does not inject Pod Identity",
			sa, identity.AnnotationRoleARN, a.NotRead))
		fixes = append(fixes, fmt.Sprintf("tell them apart: aws eks list-pod-identity-associations --cluster-name %s --namespace %s --service-account %s (or verify again with --eks-cluster and AWS credentials); with none: %s; with one: %s",
			cluster, pod.Namespace, saName, enable, webhookNoPodIdentity(cluster)))
	}
	if cl.WebhooksKnown && len(cl.Webhooks) == 0 {
		causes = append(causes, "no mutating webhook on pods CREATE selects this pod (the pod identity webhook is not registered)")
		fixes = append(fixes, "install the amazon-eks-pod-identity-webhook and register it for pods CREATE (EKS runs it for you)")
	}
	if len(causes) == 0 {
		who := "the pod identity webhook"
		if len(cl.Webhooks) > 0 {
			who = "the webhook " + strings.Join(cl.Webhooks, ", ")
		}
		if cl.UnmutatedFor > 0 {
			causes = append(causes, fmt.Sprintf("%s is registered but did not mutate the pod, nor pods of the same account created during the %s after it: it is down or failing, not lagging (its failurePolicy Ignore admits pods unmutated)", who, cl.UnmutatedFor.Round(time.Second)))
		} else {
			causes = append(causes, who+" is registered but did not mutate the pod")
		}
		fixes = append(fixes, "check that the webhook's pods run and answer (a failurePolicy of Ignore admits pods unmutated when it is down) and read its logs")
	}
	return check.New(CheckPodMutation, check.StatusFail,
		"the probe pod was not mutated: no "+identity.EnvRoleARN+", no "+identity.TokenVolumeName+" volume, no Pod Identity env: "+strings.Join(causes, "; "),
		strings.Join(fixes, "; "),
		mutationData(pod, sa, cl))
}

func mutationData(pod *corev1.Pod, sa string, cl Cluster) map[string]any {
	data := map[string]any{"pod": pod.Name, "service_account": sa, "role_annotation": cl.HasRoleAnnotation, "webhooks": cl.Webhooks}
	if id := cl.Association.ID; id != "" {
		data["association_id"] = id
	}
	return data
}

func irsaChecks(pod *corev1.Pod, id identity.PodIdentity, want Expected) []check.Event {
	evs := []check.Event{check.New(CheckPodMutation, check.StatusPass,
		"IRSA: the webhook injected "+identity.EnvRoleARN+", "+identity.EnvTokenFile+" and the "+identity.TokenVolumeName+" volume",
		"", map[string]any{"path": probe.PathIRSA})}
	restart := "the webhook mutates pods only at creation: restart pods created before the service account changed"
	for _, c := range pod.Spec.Containers {
		env := envMap(c)
		role, hasRole := env[identity.EnvRoleARN]
		file := env[identity.EnvTokenFile]
		prefix := "container " + c.Name + ": "
		data := map[string]any{"container": c.Name, "role_arn": role}
		switch {
		case !hasRole:
			evs = append(evs, check.New(CheckPodRoleARN, check.StatusFail, prefix+identity.EnvRoleARN+" is not set", restart, data))
		case want.RoleARN != "" && role != want.RoleARN:
			data["expected_role_arn"] = want.RoleARN
			evs = append(evs, check.New(CheckPodRoleARN, check.StatusFail,
				fmt.Sprintf("%s%s is %s, expected %s", prefix, identity.EnvRoleARN, role, want.RoleARN),
				fmt.Sprintf("the service account %s names %s: set it with kubectl wi enable --role-arn %s --overwrite, or pass the role it names to --role-arn", want.ServiceAccount, role, want.RoleARN),
				data))
		default:
			evs = append(evs, check.New(CheckPodRoleARN, check.StatusPass, prefix+identity.EnvRoleARN+" is "+role, "", data))
		}
		if file == "" {
			evs = append(evs, check.New(CheckPodTokenFile, check.StatusFail, prefix+identity.EnvTokenFile+" is not set", restart, map[string]any{"container": c.Name}))
		} else {
			evs = append(evs, check.New(CheckPodTokenFile, check.StatusPass, prefix+identity.EnvTokenFile+" is "+file, "", map[string]any{"container": c.Name, "path": file}))
		}
		evs = append(evs, mountCheck(CheckPodTokenMount, c, identity.TokenVolumeName, file, prefix))
	}
	data := map[string]any{"audience": id.Audience, "expected_audience": want.Audience}
	if id.Audience == want.Audience {
		evs = append(evs, check.New(CheckPodTokenAudience, check.StatusPass, "the projected token's audience is "+id.Audience, "", data))
	} else {
		evs = append(evs, check.New(CheckPodTokenAudience, check.StatusFail,
			fmt.Sprintf("the projected token's audience is %s, expected %s", orNone(id.Audience), want.Audience),
			fmt.Sprintf("the webhook takes the audience from %s on the service account %s: set it to %s (kubectl wi enable --audience %s), or pass --audience %s if that is the one the IAM OIDC provider lists",
				identity.AnnotationAudience, want.ServiceAccount, want.Audience, want.Audience, orNone(id.Audience)),
			data))
	}
	data = map[string]any{"expiration_seconds": id.Expiration, "expected_expiration_seconds": want.Expiration}
	if id.Expiration == want.Expiration {
		evs = append(evs, check.New(CheckPodTokenExpiration, check.StatusPass, fmt.Sprintf("the projected token's expirationSeconds is %d", id.Expiration), "", data))
	} else {
		evs = append(evs, check.New(CheckPodTokenExpiration, check.StatusFail,
			fmt.Sprintf("the projected token's expirationSeconds is %d, expected %d", id.Expiration, want.Expiration),
			fmt.Sprintf("the webhook takes it from %s on the pod, then on the service account (raised to %d at least): check both", identity.AnnotationTokenExpiration, identity.MinTokenExpiration),
			data))
	}
	return evs
}

// podIdentityTokenAudience is the audience EKS Pod Identity tokens carry.
const podIdentityTokenAudience = identity.PodIdentityAudience

func podIdentityChecks(pod *corev1.Pod, id identity.PodIdentity, want Expected, cl Cluster) []check.Event {
	msg := "EKS Pod Identity: the webhook injected " + identity.EnvPodIdentityURI
	if id.Injected {
		msg += " (IRSA too: Pod Identity wins)"
	}
	evs := []check.Event{check.New(CheckPodMutation, check.StatusPass, msg, "", map[string]any{"path": probe.PathPodIdentity, "irsa": id.Injected})}
	if cl.HasRoleAnnotation {
		ns, name, _ := strings.Cut(want.ServiceAccount, "/")
		evs = append(evs, check.New(CheckPodBothIdentities, check.StatusWarn,
			fmt.Sprintf("the service account %s has an EKS Pod Identity association and the %s annotation: Pod Identity wins, the webhook skips the role-arn injection, so the annotation gives its pods nothing", want.ServiceAccount, identity.AnnotationRoleARN),
			fmt.Sprintf("once Pod Identity is proven, remove the annotation: kubectl wi disable serviceaccount/%s -n %s --restart=never; or, to keep IRSA, delete the association: kubectl wi disable serviceaccount/%s -n %s --pod-identity", name, ns, name, ns),
			map[string]any{"service_account": want.ServiceAccount}))
	}
	for _, c := range pod.Spec.Containers {
		env := envMap(c)
		prefix := "container " + c.Name + ": "
		uri, file := env[identity.EnvPodIdentityURI], env[identity.EnvPodIdentityToken]
		if uri == "" || file == "" {
			evs = append(evs, check.New(CheckPodPodIdentityEnv, check.StatusFail,
				prefix+identity.EnvPodIdentityURI+" or "+identity.EnvPodIdentityToken+" is not set",
				"the Pod Identity webhook mutates pods only at creation: restart the pod; a container that sets these env vars itself is left alone",
				map[string]any{"container": c.Name}))
			continue
		}
		evs = append(evs, check.New(CheckPodPodIdentityEnv, check.StatusPass, prefix+identity.EnvPodIdentityToken+" is "+file, "",
			map[string]any{"container": c.Name, "uri": uri, "path": file}))
		vol := volumeForFile(pod, c, file)
		switch {
		case vol == nil:
			evs = append(evs, check.New(CheckPodPodIdentityToken, check.StatusFail, prefix+"no projected volume is mounted at "+path.Dir(file),
				"restart the pod so the Pod Identity webhook mutates it again", map[string]any{"container": c.Name}))
		case vol.Audience != podIdentityTokenAudience:
			evs = append(evs, check.New(CheckPodPodIdentityToken, check.StatusFail,
				fmt.Sprintf("%sthe Pod Identity token's audience is %s, expected %s", prefix, orNone(vol.Audience), podIdentityTokenAudience),
				"the token volume was not made by the Pod Identity webhook: remove it from the pod spec", map[string]any{"container": c.Name, "audience": vol.Audience}))
		default:
			evs = append(evs, check.New(CheckPodPodIdentityToken, check.StatusPass,
				fmt.Sprintf("%sthe Pod Identity token is projected at %s with audience %s", prefix, path.Dir(file), vol.Audience), "",
				map[string]any{"container": c.Name, "audience": vol.Audience}))
		}
	}
	return evs
}

// mountCheck checks that the container mounts volume where its token file lives.
func mountCheck(name string, c corev1.Container, volume, file, prefix string) check.Event {
	for _, m := range c.VolumeMounts {
		if m.Name != volume {
			continue
		}
		data := map[string]any{"container": c.Name, "volume": volume, "mount_path": m.MountPath}
		if file != "" && path.Dir(file) != path.Clean(m.MountPath) {
			return check.New(name, check.StatusFail, fmt.Sprintf("%sthe %s volume is mounted at %s, but the token file is %s", prefix, volume, m.MountPath, file),
				"the container sets its own "+identity.EnvTokenFile+" or mount: remove them and restart the pod, so the webhook's apply", data)
		}
		return check.New(name, check.StatusPass, fmt.Sprintf("%sthe %s volume is mounted at %s", prefix, volume, m.MountPath), "", data)
	}
	return check.New(name, check.StatusFail, fmt.Sprintf("%sdoes not mount the %s volume", prefix, volume),
		"the webhook mutates pods only at creation: restart the pod; check the eks.amazonaws.com/skip-containers annotation", map[string]any{"container": c.Name, "volume": volume})
}

// volumeForFile finds the projected service account token mounted at file's directory.
func volumeForFile(pod *corev1.Pod, c corev1.Container, file string) *corev1.ServiceAccountTokenProjection {
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != path.Dir(file) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					return s.ServiceAccountToken
				}
			}
		}
	}
	return nil
}

func envMap(c corev1.Container) map[string]string {
	env := make(map[string]string, len(c.Env))
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

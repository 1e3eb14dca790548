package identity

import (
	"encoding/csv"
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What the webhook injects into a pod.
const (
	TokenVolumeName     = "aws-iam-token"
	TokenMountPath      = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	TokenFile           = TokenMountPath + "/token"
	EnvRoleARN          = "AWS_ROLE_ARN"
	EnvTokenFile        = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvSTSRegional      = "AWS_STS_REGIONAL_ENDPOINTS"
	EnvPodIdentityURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvPodIdentityToken = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	PodIdentityAudience = "pods.eks.amazonaws.com"
	// PodIdentityVolumeName is the projected token volume of the Pod Identity (container
	// credentials) injection, mounted at PodIdentityMountPath.
	PodIdentityVolumeName = "eks-pod-identity-token"
	PodIdentityMountPath  = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	PodIdentityTokenFile  = PodIdentityMountPath + "/" + PodIdentityVolumeName
)

// PodIdentity is what a stored pod carries after admission.
type PodIdentity struct {
	// Injected is true when the pod has the aws-iam-token projected volume: the webhook
	// mutated it for web identity (it adds the volume even when every container is skipped).
	Injected bool
	// RoleARN is the AWS_ROLE_ARN the webhook injected, "" when it injected it into no
	// container (all skipped or setting their own).
	RoleARN    string
	Audience   string // the projected token's audience
	Expiration int64  // the projected token's expirationSeconds
	// InjectedContainers got AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE from the webhook.
	InjectedContainers []string
	// NoRegionalSTS are the injected containers without AWS_STS_REGIONAL_ENDPOINTS.
	NoRegionalSTS []string
	// SkipLabel is true when the pod carries the opt-out label.
	SkipLabel bool
	// SkippedContainers are named in the skip-containers annotation, read as the webhook reads
	// it: one comma list, not trimmed.
	SkippedContainers []string
	// SelfSetContainers set AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE themselves: the webhook
	// keeps their values (it still mounts the token and adds the region variables), so they do
	// not use the account's role, and no restart changes that.
	SelfSetContainers []string
	// PodIdentity is true when the webhook gave the pod EKS Pod Identity's container
	// credentials: an association exists for its account, and it wins over role-arn.
	PodIdentity bool
}

// InspectPod reads the identity injection out of a stored pod. A container's AWS_ROLE_ARN
// counts as injected only in the form the webhook writes it: immediately followed by
// AWS_WEB_IDENTITY_TOKEN_FILE naming the token in the container's mount of aws-iam-token, and
// no AWS_ variable after the pair. Anything else is the container's own. A container that
// writes exactly that form itself, last in its env, cannot be told from the webhook's.
func InspectPod(pod *corev1.Pod) PodIdentity {
	var id PodIdentity
	_, id.SkipLabel = pod.Labels[LabelSkipPodIdentityWebhook]
	id.SkippedContainers = SkippedContainers(pod.Annotations)
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			t := src.ServiceAccountToken
			switch {
			case t == nil:
			case v.Name == TokenVolumeName:
				id.Injected = true
				id.Audience = t.Audience
				if t.ExpirationSeconds != nil {
					id.Expiration = *t.ExpirationSeconds
				}
			case v.Name == PodIdentityVolumeName:
				id.PodIdentity = true
			}
		}
	}
	for _, c := range allContainers(pod) {
		role, injected, selfSet := webIdentityEnv(&c)
		switch {
		case injected && id.Injected:
			id.InjectedContainers = append(id.InjectedContainers, c.Name)
			if id.RoleARN == "" {
				id.RoleARN = role
			}
			if !setsEnv(&c, EnvSTSRegional) {
				id.NoRegionalSTS = append(id.NoRegionalSTS, c.Name)
			}
		case injected || selfSet:
			id.SelfSetContainers = append(id.SelfSetContainers, c.Name)
		}
		if setsEnv(&c, EnvPodIdentityURI) && setsEnv(&c, EnvPodIdentityToken) {
			id.PodIdentity = true
		}
	}
	return id
}

// SkippedContainers reads the skip-containers annotation as the webhook does: one CSV record,
// names not trimmed ("a, b" names "a" and " b"), nothing when it is not valid CSV.
func SkippedContainers(podAnnotations map[string]string) []string {
	v, ok := podAnnotations[AnnotationSkipContainers]
	if !ok {
		return nil
	}
	names, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return nil
	}
	return names
}

// webIdentityEnv reads a container's web identity env: the role, whether it is in the form the
// webhook injects, and whether the container sets either variable in another form.
func webIdentityEnv(c *corev1.Container) (role string, injected, selfSet bool) {
	mount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == TokenVolumeName {
			mount = m.MountPath
		}
	}
	for i, e := range c.Env {
		switch e.Name {
		case EnvRoleARN:
			next := i + 1
			if mount != "" && next < len(c.Env) && c.Env[next].Name == EnvTokenFile && sameFile(c.Env[next].Value, path.Join(mount, "token")) &&
				!awsEnvAfter(c.Env[next+1:]) {
				return e.Value, true, false
			}
			selfSet = true
		case EnvTokenFile:
			selfSet = true
		}
	}
	return "", false, selfSet
}

// awsEnvAfter is true when an AWS_ variable follows the pair: the webhook appends the pair
// last, after the region variables it adds, so what follows it is the container's own env
// (or another webhook's, which does not set AWS_ variables), and the pair before it too.
func awsEnvAfter(env []corev1.EnvVar) bool {
	for _, e := range env {
		if strings.HasPrefix(e.Name, "AWS_") {
			return true
		}
	}
	return false
}

// sameFile compares the token file of the env with the mount's, the webhook writing Windows
// pods' as C:\var\run\....
func sameFile(env, want string) bool {
	if rest, ok := strings.CutPrefix(env, "C:"); ok {
		env = strings.ReplaceAll(rest, `\`, "/")
	}
	return path.Clean(env) == path.Clean(want)
}

func setsEnv(c *corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func allContainers(pod *corev1.Pod) []corev1.Container {
	all := make([]corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	all = append(all, pod.Spec.InitContainers...)
	return append(all, pod.Spec.Containers...)
}

// PodState classifies a pod against the identity its service account now asks for.
type PodState string

// Pod states.
const (
	PodCurrent     PodState = "current"      // carries what the account asks (or nothing, when it asks nothing)
	PodStale       PodState = "stale"        // a restart would give it what the account asks
	PodSkipped     PodState = "skipped"      // no restart changes it: opted out, or no container takes the role
	PodNotAsked    PodState = "not-asked"    // the account has no role and the pod carries none
	PodPodIdentity PodState = "pod-identity" // runs on EKS Pod Identity, which wins over role-arn
)

// Staleness says whether pod matches cfg (ok false: the account carries no role), and why not.
// A pod is stale only when a restart would change it: what the account's annotations decide
// (role, and audience, expiration and regional STS when an annotation sets them) differs from
// what the pod got. Values that come from the webhook's own flags never make a pod stale, and
// neither do containers that set their identity themselves.
func Staleness(pod *corev1.Pod, cfg Config, ok bool) (PodState, string) {
	id := InspectPod(pod)
	if id.PodIdentity {
		if ok {
			return PodPodIdentity, "the pod runs on EKS Pod Identity, which wins over " + AnnotationRoleARN
		}
		return PodPodIdentity, ""
	}
	if !ok {
		if id.RoleARN != "" {
			return PodStale, "pod still carries the injected role " + id.RoleARN
		}
		return PodNotAsked, ""
	}
	noneTakesRole := "every container is named in " + AnnotationSkipContainers + " or sets " + EnvRoleARN + " or " + EnvTokenFile + " itself: the webhook injects the role into none of them"
	if !id.Injected {
		switch {
		case id.SkipLabel:
			return PodSkipped, "pod has the " + LabelSkipPodIdentityWebhook + " label"
		case len(id.SkippedContainers)+len(id.SelfSetContainers) > 0 && takesNoRole(pod, id):
			// A restart would mount the token, but no container would use the role.
			return PodSkipped, noneTakesRole
		}
		return PodStale, "pod lacks the injection (created before the annotation, or the webhook did not mutate it)"
	}
	if len(id.InjectedContainers) == 0 {
		return PodSkipped, noneTakesRole
	}
	if id.RoleARN != cfg.RoleARN {
		return PodStale, fmt.Sprintf("pod has role %s, the account asks %s", orNone(id.RoleARN), cfg.RoleARN)
	}
	if want, set := cfg.AskedAudience(); set && id.Audience != want {
		return PodStale, fmt.Sprintf("pod token audience is %q, the account asks %q", id.Audience, want)
	}
	if want, set := cfg.AskedExpiration(pod.Annotations); set && id.Expiration != want {
		return PodStale, fmt.Sprintf("pod token expiration is %ds, the annotations ask %ds", id.Expiration, want)
	}
	if cfg.STSRegional && len(id.NoRegionalSTS) > 0 {
		return PodStale, fmt.Sprintf("containers %s lack %s=regional, which the account asks", strings.Join(id.NoRegionalSTS, ", "), EnvSTSRegional)
	}
	return PodCurrent, ""
}

// PodIdentityStaleness judges pod against an account's EKS Pod Identity association: want
// true when the account has one (the pod must carry the container credentials), false when it
// has none (the pod must not). The webhook injects them only when it admits a pod, so a pod
// created before the association was made, or deleted, is stale until it is recreated. A pod
// the webhook never mutates (the opt-out label) is skipped; a pod that lacks the credentials
// though its containers are all skipped still gets the token volume on a restart, which is
// what InspectPod reads, so it is stale too.
func PodIdentityStaleness(pod *corev1.Pod, want bool) (PodState, string) {
	id := InspectPod(pod)
	switch {
	case want && id.PodIdentity:
		return PodCurrent, ""
	case want && id.SkipLabel:
		return PodSkipped, "pod has the " + LabelSkipPodIdentityWebhook + " label"
	case want:
		return PodStale, "pod lacks EKS Pod Identity's container credentials (created before the association, or the webhook did not mutate it)"
	case id.PodIdentity:
		return PodStale, "pod still carries EKS Pod Identity's container credentials"
	}
	return PodNotAsked, ""
}

// takesNoRole is true when every container is skipped or sets its own identity.
func takesNoRole(pod *corev1.Pod, id PodIdentity) bool {
	for _, c := range allContainers(pod) {
		if !slices.Contains(id.SkippedContainers, c.Name) && !slices.Contains(id.SelfSetContainers, c.Name) {
			return false
		}
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// ServiceAccountName is the pod's service account, "default" when unset, as the apiserver does.
func ServiceAccountName(spec *corev1.PodSpec) string {
	if spec.ServiceAccountName == "" {
		return "default"
	}
	return spec.ServiceAccountName
}

package identity

import (
	"fmt"
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
)

// PodIdentity is what a stored pod carries after admission.
type PodIdentity struct {
	// Injected is true when the pod has the projected token volume and at least one container
	// mounts it: the webhook mutated the pod.
	Injected   bool
	RoleARN    string // AWS_ROLE_ARN of the injected containers
	Audience   string // the projected token's audience
	Expiration int64  // the projected token's expirationSeconds
	// STSRegional is true when the injected containers have AWS_STS_REGIONAL_ENDPOINTS=regional.
	STSRegional bool
	// SkipLabel is true when the pod opted out with the skip label.
	SkipLabel bool
	// SkippedContainers are named in the skip-containers annotation.
	SkippedContainers []string
	// SelfSetContainers set AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE themselves; the webhook
	// leaves them alone.
	SelfSetContainers []string
	// PodIdentity is true when a container has the EKS Pod Identity agent URI.
	PodIdentity bool
}

// InspectPod reads the identity injection out of a stored pod.
func InspectPod(pod *corev1.Pod) PodIdentity {
	var id PodIdentity
	_, id.SkipLabel = pod.Labels[LabelSkipPodIdentityWebhook]
	if v := pod.Annotations[AnnotationSkipContainers]; v != "" {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				id.SkippedContainers = append(id.SkippedContainers, name)
			}
		}
	}
	hasVolume := false
	for _, v := range pod.Spec.Volumes {
		if v.Name != TokenVolumeName || v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if t := src.ServiceAccountToken; t != nil {
				hasVolume = true
				id.Audience = t.Audience
				if t.ExpirationSeconds != nil {
					id.Expiration = *t.ExpirationSeconds
				}
			}
		}
	}
	for _, c := range allContainers(pod) {
		mounted := false
		for _, m := range c.VolumeMounts {
			if m.Name == TokenVolumeName {
				mounted = true
			}
		}
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if _, ok := env[EnvPodIdentityURI]; ok {
			id.PodIdentity = true
		}
		_, setsRole := env[EnvRoleARN]
		_, setsFile := env[EnvTokenFile]
		switch {
		case mounted && hasVolume:
			id.Injected = true
			if id.RoleARN == "" {
				id.RoleARN = env[EnvRoleARN]
			}
			if env[EnvSTSRegional] == "regional" {
				id.STSRegional = true
			}
		case setsRole || setsFile:
			id.SelfSetContainers = append(id.SelfSetContainers, c.Name)
		}
	}
	return id
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
	PodCurrent  PodState = "current"   // carries exactly what the account asks (or nothing, when it asks nothing)
	PodStale    PodState = "stale"     // needs a restart to match the account
	PodSkipped  PodState = "skipped"   // opted out with the skip label, or every container is left alone
	PodNotAsked PodState = "not-asked" // the account has no role and the pod carries none
)

// Staleness says whether pod matches cfg (ok false: the account carries no role), and why not.
func Staleness(pod *corev1.Pod, cfg Config, ok bool) (PodState, string) {
	id := InspectPod(pod)
	if id.SkipLabel {
		return PodSkipped, "pod has the " + LabelSkipPodIdentityWebhook + " label"
	}
	if !ok {
		if id.Injected {
			return PodStale, "pod still carries the injected role " + id.RoleARN
		}
		return PodNotAsked, ""
	}
	if !id.Injected {
		if leftAlone(pod, id) {
			// A restart would not change it: the webhook would leave every container alone again.
			return PodSkipped, "every container is named in " + AnnotationSkipContainers + " or sets " + EnvRoleARN + " or " + EnvTokenFile + " itself: the webhook injects none of them"
		}
		return PodStale, "pod lacks the injection (created before the annotation, or the webhook did not mutate it)"
	}
	if id.RoleARN != cfg.RoleARN {
		return PodStale, fmt.Sprintf("pod has role %s, the account asks %s", orNone(id.RoleARN), cfg.RoleARN)
	}
	if want := cfg.EffectiveAudience(); id.Audience != want {
		return PodStale, fmt.Sprintf("pod token audience is %s, the account asks %s", orNone(id.Audience), want)
	}
	if want := cfg.EffectiveExpiration(pod.Annotations); id.Expiration != want {
		return PodStale, fmt.Sprintf("pod token expiration is %ds, the account asks %ds", id.Expiration, want)
	}
	if id.STSRegional != cfg.STSRegional {
		return PodStale, fmt.Sprintf("pod regional STS endpoints is %t, the account asks %t", id.STSRegional, cfg.STSRegional)
	}
	return PodCurrent, ""
}

// leftAlone is true when the webhook injects none of the pod's containers: each is named in
// skip-containers or sets AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE itself.
func leftAlone(pod *corev1.Pod, id PodIdentity) bool {
	all := allContainers(pod)
	for _, c := range all {
		if !slices.Contains(id.SkippedContainers, c.Name) && !slices.Contains(id.SelfSetContainers, c.Name) {
			return false
		}
	}
	return len(all) > 0
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

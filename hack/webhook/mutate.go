package webhook

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Names the real webhook uses, which the plugin and its tests look for.
const (
	// VolumeName is the name of the projected token volume and of its mounts.
	VolumeName = "aws-iam-token"
	// TokenPath is the file name of the token inside the volume.
	TokenPath = "token"
	// MinExpiration is the lowest expirationSeconds the webhook writes: lower values are raised
	// to it. There is no upper bound.
	MinExpiration int64 = 600
)

// Annotation and label names, relative to Config.AnnotationPrefix.
const (
	annRoleARN           = "role-arn"
	annAudience          = "audience"
	annTokenExpiration   = "token-expiration"
	annRegionalEndpoints = "sts-regional-endpoints"
	annSkipContainers    = "skip-containers"
	labelSkip            = "skip-pod-identity-webhook"
)

// Env names the webhook injects.
const (
	envRoleARN           = "AWS_ROLE_ARN"
	envTokenFile         = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envRegion            = "AWS_REGION"
	envDefaultRegion     = "AWS_DEFAULT_REGION"
	envRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS"
)

// Config is what the webhook injects; the flags of wi-webhook fill it.
type Config struct {
	// AnnotationPrefix prefixes every annotation and label the webhook reads.
	AnnotationPrefix string
	// DefaultAudience is the token audience when the service account names none.
	DefaultAudience string
	// DefaultRegion, when not empty, is injected as AWS_REGION and AWS_DEFAULT_REGION.
	DefaultRegion string
	// MountPath is the directory the token volume is mounted at.
	MountPath string
	// DefaultExpiration is the token's expirationSeconds when neither the pod nor the service
	// account sets one.
	DefaultExpiration int64
}

// DefaultConfig returns the real webhook's defaults, with no default region.
func DefaultConfig() Config {
	return Config{
		AnnotationPrefix:  "eks.amazonaws.com",
		DefaultAudience:   "sts.amazonaws.com",
		MountPath:         "/var/run/secrets/eks.amazonaws.com/serviceaccount",
		DefaultExpiration: 86400,
	}
}

// SkipLabel is the pod label that opts a pod out of the webhook.
func (c Config) SkipLabel() string { return c.key(labelSkip) }

func (c Config) key(name string) string { return c.AnnotationPrefix + "/" + name }

// PatchOperation is one RFC 6902 JSON Patch operation.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// decision is what mutate worked out for one pod: the patch (empty when the pod is left as it
// is) and, for the log line, why.
type decision struct {
	patch  []PatchOperation
	reason string
}

// precheck returns why the pod must not be mutated whatever its service account says, or "".
func (c Config) precheck(pod *corev1.Pod) string {
	if _, ok := pod.Labels[c.SkipLabel()]; ok {
		return "label " + c.SkipLabel() + " is set"
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == VolumeName {
			return "already mutated: volume " + VolumeName + " is present"
		}
	}
	return ""
}

// mutate decides the patch for pod, whose service account is sa (nil when it does not exist).
func (c Config) mutate(pod *corev1.Pod, sa *corev1.ServiceAccount) decision {
	if why := c.precheck(pod); why != "" {
		return decision{reason: why}
	}
	if sa == nil {
		return decision{reason: "service account not found"}
	}
	role := strings.TrimSpace(sa.Annotations[c.key(annRoleARN)])
	if role == "" {
		return decision{reason: "service account has no " + c.key(annRoleARN) + " annotation"}
	}
	audience := c.DefaultAudience
	if a, ok := sa.Annotations[c.key(annAudience)]; ok && a != "" {
		audience = a
	}
	expiration, source := c.expiration(pod, sa)
	regional, _ := strconv.ParseBool(strings.TrimSpace(sa.Annotations[c.key(annRegionalEndpoints)]))

	skip := map[string]bool{}
	for _, name := range strings.Split(pod.Annotations[c.key(annSkipContainers)], ",") {
		if name = strings.TrimSpace(name); name != "" {
			skip[name] = true
		}
	}

	var patch []PatchOperation
	var injected, skipped, leftAlone []string
	for _, kind := range []struct {
		field      string
		containers []corev1.Container
	}{
		{"initContainers", pod.Spec.InitContainers},
		{"containers", pod.Spec.Containers},
	} {
		for i := range kind.containers {
			ctr := &kind.containers[i]
			switch {
			case skip[ctr.Name]:
				skipped = append(skipped, ctr.Name)
			case setsEnv(ctr, envRoleARN) || setsEnv(ctr, envTokenFile):
				leftAlone = append(leftAlone, ctr.Name)
			default:
				base := fmt.Sprintf("/spec/%s/%d", kind.field, i)
				patch = append(patch, c.containerPatch(base, ctr, role, regional)...)
				injected = append(injected, ctr.Name)
			}
		}
	}
	patch = append(patch, appendTo("/spec/volumes", len(pod.Spec.Volumes), tokenVolume(audience, expiration))...)

	reason := fmt.Sprintf("role %s, audience %s, expirationSeconds %d (%s), containers [%s]",
		role, audience, expiration, source, strings.Join(injected, ","))
	if len(skipped) > 0 {
		reason += fmt.Sprintf(", skipped [%s] (%s)", strings.Join(skipped, ","), c.key(annSkipContainers))
	}
	if len(leftAlone) > 0 {
		reason += fmt.Sprintf(", left alone [%s] (they set %s or %s)", strings.Join(leftAlone, ","), envRoleARN, envTokenFile)
	}
	return decision{patch: patch, reason: reason}
}

// expiration returns the token's expirationSeconds and where it came from: the pod annotation,
// else the service account annotation, else the default; an unparseable value is ignored; a
// value below MinExpiration is raised to it.
func (c Config) expiration(pod *corev1.Pod, sa *corev1.ServiceAccount) (int64, string) {
	seconds, source := c.DefaultExpiration, "default"
	for _, src := range []struct {
		name        string
		annotations map[string]string
	}{
		{"pod annotation", pod.Annotations},
		{"service account annotation", sa.Annotations},
	} {
		v, ok := src.annotations[c.key(annTokenExpiration)]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		seconds, source = n, src.name
		break
	}
	if seconds < MinExpiration {
		return MinExpiration, fmt.Sprintf("%s %d raised to %d", source, seconds, MinExpiration)
	}
	return seconds, source
}

// containerPatch adds the env and the mount to the container at base. An env var the container
// already sets is not added again (AWS_REGION and AWS_DEFAULT_REGION go together), and neither
// is a mount of the same volume or directory.
func (c Config) containerPatch(base string, ctr *corev1.Container, role string, regional bool) []PatchOperation {
	var env []corev1.EnvVar
	if regional && !setsEnv(ctr, envRegionalEndpoints) {
		env = append(env, corev1.EnvVar{Name: envRegionalEndpoints, Value: "regional"})
	}
	if c.DefaultRegion != "" && !setsEnv(ctr, envRegion) && !setsEnv(ctr, envDefaultRegion) {
		env = append(env,
			corev1.EnvVar{Name: envDefaultRegion, Value: c.DefaultRegion},
			corev1.EnvVar{Name: envRegion, Value: c.DefaultRegion})
	}
	env = append(env,
		corev1.EnvVar{Name: envRoleARN, Value: role},
		corev1.EnvVar{Name: envTokenFile, Value: path.Join(c.MountPath, TokenPath)})

	var patch []PatchOperation
	patch = append(patch, appendTo(base+"/env", len(ctr.Env), env...)...)
	mounted := false
	for _, m := range ctr.VolumeMounts {
		if m.Name == VolumeName || path.Clean(m.MountPath) == path.Clean(c.MountPath) {
			mounted = true
		}
	}
	if !mounted {
		mount := corev1.VolumeMount{Name: VolumeName, ReadOnly: true, MountPath: c.MountPath}
		patch = append(patch, appendTo(base+"/volumeMounts", len(ctr.VolumeMounts), mount)...)
	}
	return patch
}

// appendTo returns the operations that append items to the array at path, which holds have
// items: one add of the whole array when it is empty or absent (an add replaces an empty array
// and creates a missing one), else one add at path/- per item.
func appendTo[T any](path string, have int, items ...T) []PatchOperation {
	if len(items) == 0 {
		return nil
	}
	if have == 0 {
		return []PatchOperation{{Op: "add", Path: path, Value: items}}
	}
	ops := make([]PatchOperation, 0, len(items))
	for _, item := range items {
		ops = append(ops, PatchOperation{Op: "add", Path: path + "/-", Value: item})
	}
	return ops
}

func tokenVolume(audience string, expiration int64) corev1.Volume {
	return corev1.Volume{
		Name: VolumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience:          audience,
				ExpirationSeconds: &expiration,
				Path:              TokenPath,
			}}},
		}},
	}
}

func setsEnv(ctr *corev1.Container, name string) bool {
	for _, e := range ctr.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

package webhook

import (
	"encoding/csv"
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PatchOperation is one RFC 6902 JSON Patch operation.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// plan is how one pod is to be mutated: web identity (an AWS_ROLE_ARN) or container
// credentials (EKS Pod Identity), and the token it gets.
type plan struct {
	credentials bool   // container credentials mode, else web identity
	roleARN     string // web identity only
	audience    string
	expiration  int64
	expSource   string // for the log: why expiration is not the account's or the flag's
	regionalSTS bool
	mountPath   string
	volumeName  string
	tokenPath   string
	skip        map[string]bool
}

// planFor decides how to mutate pod, whose service account the cache knows as entry (known
// false: not in the cache), associated when it has a Pod Identity association. A nil plan
// means the pod is admitted unchanged, for the reason given. jitter picks a lifetime for a
// container credentials token of the default lifetime.
func (c Config) planFor(pod *corev1.Pod, entry Entry, known, associated bool, jitter func() int64) (*plan, string) {
	if associated {
		// The association wins: the role-arn annotation is not looked at. Regional STS and the
		// lifetime come from the account when the cache has it, else off and the default.
		p := &plan{
			credentials: true, audience: c.Credentials.Audience, regionalSTS: false,
			expiration: DefaultExpiration,
			mountPath:  c.Credentials.MountPath, volumeName: c.Credentials.VolumeName, tokenPath: c.Credentials.TokenPath,
			skip: c.skipContainers(pod),
		}
		if known {
			p.regionalSTS, p.expiration = entry.RegionalSTS, entry.Expiration
		}
		p.podExpiration(c, pod)
		if p.expiration == DefaultExpiration {
			p.expiration, p.expSource = jitter(), "default with jitter"
		}
		return p, ""
	}
	if !known {
		return nil, "service account not in the cache (not created yet, or the cache has not caught up)"
	}
	if entry.RoleARN == "" {
		return nil, "service account has no " + c.key(annRoleARN) + " annotation"
	}
	p := &plan{
		roleARN: entry.RoleARN, audience: entry.Audience, regionalSTS: entry.RegionalSTS,
		expiration: entry.Expiration,
		mountPath:  c.MountPath, volumeName: VolumeName, tokenPath: TokenPath,
		skip: c.skipContainers(pod),
	}
	p.podExpiration(c, pod)
	return p, ""
}

// podExpiration applies the pod's token-expiration annotation, which wins when it parses as an
// integer (not trimmed), raised to MinExpiration.
func (p *plan) podExpiration(c Config, pod *corev1.Pod) {
	v, ok := pod.Annotations[c.key(annTokenExpiration)]
	if !ok {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return
	}
	p.expiration, p.expSource = max(n, MinExpiration), "pod annotation"
	if n < MinExpiration {
		p.expSource = fmt.Sprintf("pod annotation %d raised to %d", n, MinExpiration)
	}
}

// skipContainers reads the skip-containers annotation as one CSV record, as the real webhook
// does: names are not trimmed ("a, b" skips "a" and " b"), and a value that is not valid CSV
// skips nothing.
func (c Config) skipContainers(pod *corev1.Pod) map[string]bool {
	skip := map[string]bool{}
	v, ok := pod.Annotations[c.key(annSkipContainers)]
	if !ok {
		return skip
	}
	names, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return skip
	}
	for _, n := range names {
		skip[n] = true
	}
	return skip
}

// patch is the JSON patch for pod under p, and a summary for the log. Like the real webhook it
// inserts the token volume first (unless one of that name exists), replaces the container lists
// with their mutated copies, and in container credentials mode labels the pod.
func (c Config) patch(pod *corev1.Pod, p *plan) ([]PatchOperation, string) {
	tokenFile := path.Join(p.mountPath, p.tokenPath)
	if pod.Spec.NodeSelector["kubernetes.io/os"] == "windows" || pod.Spec.NodeSelector["beta.kubernetes.io/os"] == "windows" {
		// Only the env's path is translated; the mount path stays as configured.
		tokenFile = "C:" + strings.ReplaceAll(tokenFile, "/", `\`)
	}
	var mutated, skipped, ownEnv []string
	mutate := func(in []corev1.Container) []corev1.Container {
		out := make([]corev1.Container, len(in))
		for i := range in {
			out[i] = *in[i].DeepCopy()
			switch {
			case p.skip[in[i].Name]:
				skipped = append(skipped, in[i].Name)
			default:
				if c.addToContainer(&out[i], tokenFile, p) {
					mutated = append(mutated, in[i].Name)
				}
				if p.setsOwnIdentity(&in[i]) {
					ownEnv = append(ownEnv, in[i].Name)
				}
			}
		}
		return out
	}
	initContainers := mutate(pod.Spec.InitContainers)
	containers := mutate(pod.Spec.Containers)

	var ops []PatchOperation
	if p.credentials {
		if pod.Labels == nil {
			ops = append(ops, PatchOperation{Op: "add", Path: "/metadata/labels", Value: map[string]string{PodIdentityLabel: "enabled"}})
		} else {
			ops = append(ops, PatchOperation{Op: "add", Path: "/metadata/labels/" + strings.ReplaceAll(PodIdentityLabel, "/", "~1"), Value: "enabled"})
		}
	}
	hasVolume := false
	for _, v := range pod.Spec.Volumes {
		hasVolume = hasVolume || v.Name == p.volumeName
	}
	if !hasVolume {
		vol := tokenVolume(p)
		if pod.Spec.Volumes == nil {
			ops = append(ops, PatchOperation{Op: "add", Path: "/spec/volumes", Value: []corev1.Volume{vol}})
		} else {
			ops = append(ops, PatchOperation{Op: "add", Path: "/spec/volumes/0", Value: vol})
		}
	}
	ops = append(ops, PatchOperation{Op: "add", Path: "/spec/containers", Value: containers})
	if len(initContainers) > 0 {
		ops = append(ops, PatchOperation{Op: "add", Path: "/spec/initContainers", Value: initContainers})
	}

	what := "role " + p.roleARN
	if p.credentials {
		what = "container credentials"
	}
	summary := fmt.Sprintf("%s, audience %s, expirationSeconds %d", what, p.audience, p.expiration)
	if p.expSource != "" {
		summary += " (" + p.expSource + ")"
	}
	summary += fmt.Sprintf(", containers [%s]", strings.Join(mutated, ","))
	if hasVolume {
		summary += ", volume " + p.volumeName + " already present"
	}
	if len(skipped) > 0 {
		summary += fmt.Sprintf(", skipped [%s] (%s)", strings.Join(skipped, ","), c.key(annSkipContainers))
	}
	if len(ownEnv) > 0 {
		summary += fmt.Sprintf(", own identity env kept in [%s]", strings.Join(ownEnv, ","))
	}
	return ops, summary
}

// setsOwnIdentity is true when ctr sets one of the variables of p's mode itself: the webhook
// then adds neither of that mode's variables to it.
func (p *plan) setsOwnIdentity(ctr *corev1.Container) bool {
	if p.credentials {
		return setsEnv(ctr, envCredentialsURI) || setsEnv(ctr, envAuthTokenFile)
	}
	return setsEnv(ctr, envRoleARN) || setsEnv(ctr, envTokenFile)
}

// addToContainer adds p's env and the token mount to ctr and says whether it changed it. A
// container that sets its own identity variables keeps them and still gets the region
// variables and the mount; one that also sets a region and AWS_STS_REGIONAL_ENDPOINTS is left
// exactly as it is. The mount is looked for by volume name only.
func (c Config) addToContainer(ctr *corev1.Container, tokenFile string, p *plan) bool {
	own := p.setsOwnIdentity(ctr)
	regionSet := setsEnv(ctr, envRegion) || setsEnv(ctr, envDefaultRegion)
	stsSet := setsEnv(ctr, envRegionalEndpoints)
	if own && regionSet && stsSet {
		return false
	}
	changed := false
	if !stsSet && p.regionalSTS {
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: envRegionalEndpoints, Value: "regional"})
		changed = true
	}
	if !regionSet && c.DefaultRegion != "" {
		ctr.Env = append(ctr.Env,
			corev1.EnvVar{Name: envDefaultRegion, Value: c.DefaultRegion},
			corev1.EnvVar{Name: envRegion, Value: c.DefaultRegion})
		changed = true
	}
	if !own {
		if p.credentials {
			ctr.Env = append(ctr.Env,
				corev1.EnvVar{Name: envCredentialsURI, Value: c.Credentials.FullURI},
				corev1.EnvVar{Name: envAuthTokenFile, Value: tokenFile})
		} else {
			ctr.Env = append(ctr.Env,
				corev1.EnvVar{Name: envRoleARN, Value: p.roleARN},
				corev1.EnvVar{Name: envTokenFile, Value: tokenFile})
		}
		changed = true
	}
	for _, m := range ctr.VolumeMounts {
		if m.Name == p.volumeName {
			return changed
		}
	}
	ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: p.volumeName, ReadOnly: true, MountPath: p.mountPath})
	return true
}

func tokenVolume(p *plan) corev1.Volume {
	exp := p.expiration
	return corev1.Volume{
		Name: p.volumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience:          p.audience,
				ExpirationSeconds: &exp,
				Path:              p.tokenPath,
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

package identity

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Variables of the AWS SDKs' default credential chain that the webhooks do not inject.
const (
	EnvAccessKeyID          = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey      = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken         = "AWS_SESSION_TOKEN"
	EnvContainerRelativeURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvProfile              = "AWS_PROFILE"
	EnvMetadataDisabled     = "AWS_EC2_METADATA_DISABLED"
)

// SecretEnv are the variables whose values are credentials: never copied, never shown.
var SecretEnv = []string{EnvAccessKeyID, EnvSecretAccessKey, EnvSessionToken}

// Source is where the AWS SDKs' default credential chain finds credentials.
type Source string

// Sources, in the order the chain tries them.
const (
	SourceStaticKeys  Source = "static-keys"  // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the env
	SourceWebIdentity Source = "web-identity" // AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE
	SourceContainer   Source = "container"    // container credentials: EKS Pod Identity's agent
	SourceIMDS        Source = "imds"         // the node's instance role, through instance metadata
	SourceNone        Source = "none"         // nothing: instance metadata is turned off
)

// Credentials is the source a container's SDK would pick, read from its spec as stored.
type Credentials struct {
	Container string
	Source    Source
	// RoleARN is the role web identity assumes ("" for other sources).
	RoleARN string
	// OwnRole is true when the container sets AWS_ROLE_ARN itself rather than the webhook.
	OwnRole bool
	// Shadowed are sources also present that the chain never reaches, e.g. web identity under
	// static keys.
	Shadowed []Source
	// EnvFrom is true when the container also takes env from ConfigMaps or Secrets, which the
	// spec does not show: such a source could come before the one named.
	EnvFrom bool
	// Profile is AWS_PROFILE, whose shared config file may name yet another source.
	Profile string
	// Skipped is true when the pod's skip-containers annotation names the container, and
	// SkipLabel when the pod carries the opt-out label: why the webhook left it alone.
	Skipped, SkipLabel bool
}

// ContainerCredentials judges every container and init container of a stored pod: which
// source of the default chain (static env keys, web identity, container credentials,
// instance metadata) each would use. Env set from a Secret counts as set; envFrom is flagged,
// not guessed.
func ContainerCredentials(pod *corev1.Pod) []Credentials {
	var out []Credentials
	id := InspectPod(pod)
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		out = append(out, judge(c, id))
	}
	return out
}

func judge(c corev1.Container, id PodIdentity) Credentials {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	has := func(name string) bool {
		e, ok := env[name]
		return ok && (e.Value != "" || e.ValueFrom != nil)
	}
	cr := Credentials{Container: c.Name, EnvFrom: len(c.EnvFrom) > 0, Profile: env[EnvProfile].Value,
		Skipped: slices.Contains(id.SkippedContainers, c.Name), SkipLabel: id.SkipLabel}
	var found []Source
	if has(EnvAccessKeyID) && has(EnvSecretAccessKey) {
		found = append(found, SourceStaticKeys)
	}
	if has(EnvRoleARN) && has(EnvTokenFile) {
		found = append(found, SourceWebIdentity)
		cr.RoleARN = env[EnvRoleARN].Value
		cr.OwnRole = !slices.Contains(id.InjectedContainers, c.Name)
	}
	if has(EnvPodIdentityURI) || has(EnvContainerRelativeURI) {
		found = append(found, SourceContainer)
	}
	if len(found) == 0 {
		cr.Source = SourceIMDS
		if off, _ := strconv.ParseBool(strings.TrimSpace(env[EnvMetadataDisabled].Value)); off {
			cr.Source = SourceNone
		}
		return cr
	}
	cr.Source, cr.Shadowed = found[0], found[1:]
	if cr.Source != SourceWebIdentity {
		cr.RoleARN = ""
	}
	return cr
}

package verify

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// EphemeralSubresource is the pods subresource an ephemeral container is added through, as
// kubectl debug adds one; RBAC names it pods/ephemeralcontainers.
const EphemeralSubresource = "ephemeralcontainers"

// MaxInPodCABundle bounds --ca-bundle with --in-pod: the PEM travels in the ephemeral
// container's env, which stays in the pod's spec until the pod is replaced.
const MaxInPodCABundle = 64 << 10

// identityVolumes are the projected token volumes the webhook mounts: the in-pod probe mounts
// the app container's mounts of them, where the app has them.
var identityVolumes = []string{identity.TokenVolumeName, identity.PodIdentityVolumeName}

// EphemeralSpec is what the in-pod probe is made of.
type EphemeralSpec struct {
	Name       string // wi-probe-<random>, unique among the pod's containers
	Image      string
	PullPolicy corev1.PullPolicy
	// Pod is the app's pod as stored, and Container its container the probe joins: its env,
	// its mounts of the identity volumes and its user, and the target of its process namespace.
	Pod       *corev1.Pod
	Container string
	// Args follow `/wi-probe --in-pod`: the expected values (ProbeArgs).
	Args []string
	// STSEndpoint sets AWS_ENDPOINT_URL_STS, as in the probe pod.
	STSEndpoint string
	// CABundle is PEM the probe trusts beside the public roots, in probe.EnvCABundlePEM: an
	// ephemeral container cannot add the volume the probe pod mounts it from.
	CABundle []byte
}

// EphemeralNotes are what the user is told about an ephemeral probe before it is added.
type EphemeralNotes struct {
	// Root is true when the app container runs as root (runAsUser 0), and so does the probe:
	// Pod Security's restricted profile refuses it.
	Root bool
	// UserFromImage is true when neither the container nor the pod names a user: the app runs
	// as its image's user, which the spec does not say, and the probe as the probe image's.
	UserFromImage bool
	// SkippedMounts are mounts of the app container the probe needs and cannot have: subPath
	// mounts (of the identity tokens, or of the app's AWS_CA_BUNDLE), which ephemeral
	// containers do not take.
	SkippedMounts []string
	// NotCopied are the app's credentials written literally in its env (AWS_ACCESS_KEY_ID and
	// the like): the probe proves the pod's identity, not keys, and a copy would put them in
	// one more place and in --dry-run's output. References to a Secret are copied.
	NotCopied []string
}

// EphemeralProbe builds the probe as an ephemeral container of the app's pod: the probe
// image's `wi-probe --in-pod` with the expected values, in the process namespace of
// the app container (targetContainerName), with that container's env as stored (the webhook's
// injection, valueFrom and envFrom included; literal keys left out), its mounts of the
// identity volumes (and of the file its AWS_CA_BUNDLE names) and its user,
// so it reads what the app reads, as the app. Its securityContext meets the restricted Pod
// Security profile unless the app runs as root. An app container that is not in the pod is an
// error wrapping ErrNoSuchContainer.
func EphemeralProbe(s EphemeralSpec) (corev1.EphemeralContainer, EphemeralNotes, error) {
	var notes EphemeralNotes
	i := slices.IndexFunc(s.Pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == s.Container })
	if i < 0 {
		return corev1.EphemeralContainer{}, notes, fmt.Errorf("%w: pod %s/%s has no container %q", ErrNoSuchContainer, s.Pod.Namespace, s.Pod.Name, s.Container)
	}
	app := s.Pod.Spec.Containers[i]

	var env []corev1.EnvVar
	if s.STSEndpoint != "" {
		env = append(env, corev1.EnvVar{Name: EnvSTSEndpoint, Value: s.STSEndpoint})
	}
	for _, e := range app.Env {
		switch {
		case s.STSEndpoint != "" && e.Name == EnvSTSEndpoint:
			continue // --sts-endpoint wins, as in the probe pod
		case len(s.CABundle) > 0 && e.Name == probe.EnvCABundlePEM:
			continue
		case slices.Contains(identity.SecretEnv, e.Name) && e.ValueFrom == nil:
			notes.NotCopied = append(notes.NotCopied, e.Name)
			continue
		}
		e := *e.DeepCopy()
		if f := e.ValueFrom; f != nil && f.ResourceFieldRef != nil && f.ResourceFieldRef.ContainerName == "" {
			// Without a name it means the container it is in: the app's, not the probe's,
			// which has no resources.
			f.ResourceFieldRef.ContainerName = app.Name
		}
		env = append(env, e)
	}
	if len(s.CABundle) > 0 {
		env = append(env, corev1.EnvVar{Name: probe.EnvCABundlePEM, Value: string(s.CABundle)})
	}

	// The app's AWS_CA_BUNDLE names a file of one of its volumes: the probe reads it there too,
	// unless --ca-bundle gives its own.
	caFile := ""
	if len(s.CABundle) == 0 {
		caFile = literalEnv(app.Env, probe.EnvCABundle)
	}
	var mounts []corev1.VolumeMount
	for _, m := range app.VolumeMounts {
		if !slices.Contains(identityVolumes, m.Name) && !within(caFile, m.MountPath) {
			continue
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			notes.SkippedMounts = append(notes.SkippedMounts, m.Name)
			continue
		}
		m := *m.DeepCopy()
		m.ReadOnly = true // the probe never writes to the app's volumes
		mounts = append(mounts, m)
	}

	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		ReadOnlyRootFilesystem:   ptr.To(true),
	}
	user, group := appUser(s.Pod, &app)
	sc.RunAsUser, sc.RunAsGroup = user, group
	switch {
	case user == nil:
		notes.UserFromImage = true
		sc.RunAsNonRoot = ptr.To(true)
	case *user == 0:
		notes.Root = true
	default:
		sc.RunAsNonRoot = ptr.To(true)
	}
	if app.SecurityContext != nil && app.SecurityContext.SELinuxOptions != nil {
		// The same label reads the same volumes.
		sc.SELinuxOptions = app.SecurityContext.SELinuxOptions.DeepCopy()
	}

	ec := corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name:                     s.Name,
			Image:                    s.Image,
			ImagePullPolicy:          s.PullPolicy,
			Command:                  append([]string{Entrypoint, "--in-pod"}, s.Args...),
			Env:                      env,
			EnvFrom:                  deepCopyEnvFrom(app.EnvFrom),
			VolumeMounts:             mounts,
			SecurityContext:          sc,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
		TargetContainerName: app.Name,
	}
	return ec, notes, nil
}

// literalEnv is the value env gives name literally; "" when it does not, or from a reference.
func literalEnv(env []corev1.EnvVar, name string) string {
	v := ""
	for _, e := range env {
		if e.Name == name && e.ValueFrom == nil {
			v = e.Value
		}
	}
	return v
}

// within is true when file is dir or below it.
func within(file, dir string) bool {
	if file == "" || dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// appUser is the user and group the app container runs as, by its securityContext, else the
// pod's; nil when neither says (the image decides).
func appUser(pod *corev1.Pod, c *corev1.Container) (user, group *int64) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		user, group = psc.RunAsUser, psc.RunAsGroup
	}
	if csc := c.SecurityContext; csc != nil {
		if csc.RunAsUser != nil {
			user = csc.RunAsUser
		}
		if csc.RunAsGroup != nil {
			group = csc.RunAsGroup
		}
	}
	if user != nil {
		user = ptr.To(*user)
	}
	if group != nil {
		group = ptr.To(*group)
	}
	return user, group
}

func deepCopyEnvFrom(in []corev1.EnvFromSource) []corev1.EnvFromSource {
	if in == nil {
		return nil
	}
	out := make([]corev1.EnvFromSource, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}

// EphemeralPatch is the strategic merge patch of the pod's ephemeralcontainers subresource
// that adds ec: the list merges by name, so the pod's other ephemeral containers stay.
func EphemeralPatch(ec corev1.EphemeralContainer) ([]byte, error) {
	return json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{ec}}})
}

package verify

import (
	"maps"
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

// The probe pod's fixed facts.
const (
	// PodNamePrefix starts every probe pod's name: wi-probe-<random>.
	PodNamePrefix = "wi-probe-"
	// LabelName and LabelValue mark every probe pod, so a leftover one is easy to find.
	LabelName  = "app.kubernetes.io/name"
	LabelValue = "kubectl-wi-probe"
	// ContainerName is the probe pod's only container.
	ContainerName = "probe"
	// Entrypoint is the probe binary inside the probe image (cmd/wi-probe): it takes the
	// flags of `kubectl wi probe`.
	Entrypoint = "/wi-probe"
	// ProbeUser is the user the probe runs as unless the workload's securityContext names one:
	// the image's own nonroot user.
	ProbeUser int64 = 65532
	// EnvSTSEndpoint is set in the probe container by --sts-endpoint; the probe (like the AWS
	// SDKs) sends STS calls there.
	EnvSTSEndpoint = "AWS_ENDPOINT_URL_STS"
)

// NewPodName returns wi-probe-<5 random lowercase letters and digits>.
func NewPodName() string { return PodNamePrefix + utilrand.String(5) }

// PodSpec is what the probe pod is made of.
type PodSpec struct {
	Name, Namespace string
	Image           string
	PullPolicy      corev1.PullPolicy
	Workload        Workload
	// Args follow `/wi-probe`: the expected values as the probe's flags.
	Args []string
	// Deadline becomes activeDeadlineSeconds, rounded up to a whole second.
	Deadline    time.Duration
	STSEndpoint string
	// CABundle mounts the ConfigMap named as the pod and sets AWS_CA_BUNDLE to its file.
	CABundle bool
	// Labels are added to the pod's (the probe's own name label stays): who made it, for a
	// sweep of its leftovers.
	Labels map[string]string
}

// ProbeArgs are the probe command's flags for the expected values; empty values are left
// out, so the probe skips those comparisons.
func ProbeArgs(e Expected) []string {
	args := []string{"--expected-subject", e.Subject, "--expected-audience", e.Audience}
	if e.Expiration > 0 {
		args = append(args, "--expected-expiration", strconv.FormatInt(e.Expiration, 10))
	}
	if e.Issuer != "" {
		args = append(args, "--expected-issuer", e.Issuer)
	}
	if e.RoleARN != "" {
		args = append(args, "--expected-role-arn", e.RoleARN)
	}
	if e.Region != "" {
		args = append(args, "--region", e.Region)
	}
	return args
}

// ProbePod builds the probe pod: restricted Pod Security (non-root, no privilege escalation,
// no capabilities, RuntimeDefault seccomp, read-only root), no API token, never restarted, a
// deadline, small requests and limits, and the workload's service account, pod
// securityContext, nodeSelector, tolerations and hostNetwork.
func ProbePod(s PodSpec) *corev1.Pod {
	w := s.Workload
	labels := map[string]string{LabelName: LabelValue, "app.kubernetes.io/managed-by": "kubectl-wi"}
	maps.Copy(labels, w.Labels)
	maps.Copy(labels, s.Labels)
	labels[LabelName] = LabelValue
	var annotations map[string]string
	if len(w.Annotations) > 0 {
		annotations = maps.Clone(w.Annotations)
	}

	psc := w.SecurityContext.DeepCopy()
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsNonRoot == nil {
		psc.RunAsNonRoot = ptr.To(true)
	}
	if psc.RunAsUser == nil {
		psc.RunAsUser = ptr.To(ProbeUser)
	}
	if psc.SeccompProfile == nil {
		psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}

	var env []corev1.EnvVar
	if s.STSEndpoint != "" {
		env = append(env, corev1.EnvVar{Name: EnvSTSEndpoint, Value: s.STSEndpoint})
	}
	for _, e := range w.Env {
		if s.STSEndpoint != "" && e.Name == EnvSTSEndpoint {
			continue // --sts-endpoint wins
		}
		env = append(env, *e.DeepCopy())
	}
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace, Labels: labels, Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			ServiceAccountName:            w.ServiceAccount,
			AutomountServiceAccountToken:  ptr.To(false),
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr.To(int64(math.Ceil(s.Deadline.Seconds()))),
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			EnableServiceLinks:            ptr.To(false),
			SecurityContext:               psc,
			NodeSelector:                  maps.Clone(w.NodeSelector),
			Tolerations:                   w.Tolerations,
			HostNetwork:                   w.HostNetwork,
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           s.Image,
				ImagePullPolicy: s.PullPolicy,
				Command:         append([]string{Entrypoint}, s.Args...),
				Env:             env,
				// The CPU limit is not 100m: under CFS throttling the probe binary's start
				// and its STS calls took 0.4-0.6s longer on the local cluster. It runs for
				// well under a second, so the burst is harmless.
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					ReadOnlyRootFilesystem:   ptr.To(true),
				},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
		},
	}
	if pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds < 1 {
		pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
	}
	if s.CABundle {
		withCABundle(pod)
	}
	return pod
}

package verify

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestProbePod(t *testing.T) {
	want := Expected{
		Subject: "system:serviceaccount:shop:checkout", RoleARN: "arn:minio:iam:::role/abc", Audience: "sts.amazonaws.com",
		Expiration: 86400, Issuer: "https://127.0.0.1:6443", Region: "eu-west-1",
	}
	pod := ProbePod(PodSpec{
		Name: "wi-probe-abcde", Namespace: "shop", Image: "wi.local/kubectl-wi:dev", PullPolicy: corev1.PullIfNotPresent,
		Workload: Workload{ServiceAccount: "checkout"}, Args: ProbeArgs(want), Deadline: 90500 * time.Millisecond,
		STSEndpoint: "http://10.244.0.1:8900",
	})

	if pod.Name != "wi-probe-abcde" || pod.Namespace != "shop" || pod.Labels[LabelName] != LabelValue {
		t.Errorf("meta: %+v", pod.ObjectMeta)
	}
	s := pod.Spec
	if s.ServiceAccountName != "checkout" || s.RestartPolicy != corev1.RestartPolicyNever || !ptr.Equal(s.AutomountServiceAccountToken, ptr.To(false)) {
		t.Errorf("spec: sa %q restart %q automount %v", s.ServiceAccountName, s.RestartPolicy, s.AutomountServiceAccountToken)
	}
	if !ptr.Equal(s.ActiveDeadlineSeconds, ptr.To[int64](91)) {
		t.Errorf("activeDeadlineSeconds %v, want 91 (90.5s rounded up)", ptr.Deref(s.ActiveDeadlineSeconds, 0))
	}
	// The restricted Pod Security profile.
	psc := s.SecurityContext
	if !ptr.Equal(psc.RunAsNonRoot, ptr.To(true)) || !ptr.Equal(psc.RunAsUser, ptr.To(ProbeUser)) ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", psc)
	}
	if len(s.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(s.Containers))
	}
	c := s.Containers[0]
	csc := c.SecurityContext
	if !ptr.Equal(csc.AllowPrivilegeEscalation, ptr.To(false)) || !ptr.Equal(csc.ReadOnlyRootFilesystem, ptr.To(true)) ||
		csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || csc.Privileged != nil {
		t.Errorf("container securityContext %+v", csc)
	}
	for name, q := range map[string]resource.Quantity{
		"requests.cpu": c.Resources.Requests[corev1.ResourceCPU], "requests.memory": c.Resources.Requests[corev1.ResourceMemory],
		"limits.cpu": c.Resources.Limits[corev1.ResourceCPU], "limits.memory": c.Resources.Limits[corev1.ResourceMemory],
	} {
		if q.IsZero() {
			t.Errorf("%s not set", name)
		}
	}
	if c.Resources.Limits.Memory().Cmp(resource.MustParse("128Mi")) > 0 {
		t.Errorf("memory limit %s is not small", c.Resources.Limits.Memory())
	}
	wantCmd := []string{"/wi-probe",
		"--expected-subject", "system:serviceaccount:shop:checkout", "--expected-audience", "sts.amazonaws.com",
		"--expected-expiration", "86400", "--expected-issuer", "https://127.0.0.1:6443",
		"--expected-role-arn", "arn:minio:iam:::role/abc", "--region", "eu-west-1"}
	if !slices.Equal(c.Command, wantCmd) {
		t.Errorf("command\n %q\nwant\n %q", c.Command, wantCmd)
	}
	if c.Image != "wi.local/kubectl-wi:dev" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %q %q", c.Image, c.ImagePullPolicy)
	}
	if len(c.Env) != 1 || c.Env[0] != (corev1.EnvVar{Name: "AWS_ENDPOINT_URL_STS", Value: "http://10.244.0.1:8900"}) {
		t.Errorf("env %v, want only AWS_ENDPOINT_URL_STS", c.Env)
	}
}

func TestProbePodCopiesTheWorkload(t *testing.T) {
	tol := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	pod := ProbePod(PodSpec{
		Name: "wi-probe-abcde", Namespace: "shop", Image: "img", Deadline: time.Minute,
		Workload: Workload{
			ServiceAccount:  "web",
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000), FSGroup: ptr.To[int64](2000)},
			NodeSelector:    map[string]string{"pool": "apps"},
			Tolerations:     tol,
			HostNetwork:     true,
			Annotations:     map[string]string{"eks.amazonaws.com/token-expiration": "3600"},
			Labels:          map[string]string{"eks.amazonaws.com/skip-pod-identity-webhook": "true"},
		},
	})
	s := pod.Spec
	psc := s.SecurityContext
	if *psc.RunAsUser != 1000 || *psc.RunAsGroup != 3000 || *psc.FSGroup != 2000 || !*psc.RunAsNonRoot || psc.SeccompProfile == nil {
		t.Errorf("securityContext %+v: want the workload's user, group and fsGroup, with the restricted defaults added", psc)
	}
	if s.ServiceAccountName != "web" || s.NodeSelector["pool"] != "apps" || !slices.Equal(s.Tolerations, tol) || !s.HostNetwork {
		t.Errorf("placement: sa %q nodeSelector %v tolerations %v hostNetwork %v", s.ServiceAccountName, s.NodeSelector, s.Tolerations, s.HostNetwork)
	}
	if pod.Annotations["eks.amazonaws.com/token-expiration"] != "3600" || pod.Labels["eks.amazonaws.com/skip-pod-identity-webhook"] != "true" ||
		pod.Labels[LabelName] != LabelValue {
		t.Errorf("meta: labels %v annotations %v", pod.Labels, pod.Annotations)
	}
}

func TestNewPodName(t *testing.T) {
	a, b := NewPodName(), NewPodName()
	if len(a) != len(PodNamePrefix)+5 || a[:len(PodNamePrefix)] != PodNamePrefix || a == b {
		t.Errorf("names %q %q", a, b)
	}
}

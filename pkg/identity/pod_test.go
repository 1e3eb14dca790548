package identity

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const testRole = "arn:aws:iam::123456789012:role/app"

// injectedPod builds a pod as the webhook leaves it.
func injectedPod(role, aud string, exp int64) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{}, Labels: map[string]string{}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:         "app",
				Env:          []corev1.EnvVar{{Name: EnvRoleARN, Value: role}, {Name: EnvTokenFile, Value: TokenFile}},
				VolumeMounts: []corev1.VolumeMount{{Name: TokenVolumeName, MountPath: TokenMountPath, ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: aud, ExpirationSeconds: ptr.To(exp), Path: "token"}}},
			}}}},
		},
	}
}

func TestStaleness(t *testing.T) {
	plain := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	skipped := plain.DeepCopy()
	skipped.Labels = map[string]string{LabelSkipPodIdentityWebhook: "true"}
	podExp := injectedPod(testRole, DefaultAudience, 7200)
	podExp.Annotations[AnnotationTokenExpiration] = "7200"
	// Pods the webhook injects nothing into, however often they are recreated.
	selfSet := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: EnvRoleARN, Value: testRole}}}}}}
	allSkipped := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationSkipContainers: "app"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	mixed := allSkipped.DeepCopy()
	mixed.Spec.InitContainers = []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: EnvTokenFile, Value: "/t"}}}}
	partly := allSkipped.DeepCopy()
	partly.Spec.Containers = append(partly.Spec.Containers, corev1.Container{Name: "other"})
	regional := injectedPod(testRole, DefaultAudience, 86400)
	regional.Spec.Containers[0].Env = append([]corev1.EnvVar{{Name: EnvSTSRegional, Value: "regional"}}, regional.Spec.Containers[0].Env...)
	// As the real webhook leaves a container that sets its own AWS_ROLE_ARN: its value kept,
	// the token mounted, the volume added.
	ownRole := injectedPod(testRole, DefaultAudience, 86400)
	ownRole.Spec.Containers[0].Env = []corev1.EnvVar{{Name: EnvRoleARN, Value: "arn:aws:iam::444455556666:role/own"}}
	// The container sets the pair in the webhook's own form, then its region: the webhook
	// would have put its pair last.
	ownPair := injectedPod(testRole, DefaultAudience, 86400)
	ownPair.Spec.Containers[0].Env = []corev1.EnvVar{{Name: EnvRoleARN, Value: "arn:aws:iam::444455556666:role/own"}, {Name: EnvTokenFile, Value: TokenFile}, {Name: "AWS_REGION", Value: "eu-west-1"}}
	oneOwn := injectedPod(testRole, DefaultAudience, 86400)
	oneOwn.Spec.Containers = append(oneOwn.Spec.Containers, ownRole.Spec.Containers[0])
	oneOwn.Spec.Containers[1].Name = "own"
	// Pod Identity's container credentials, as the webhook injects them for an associated account.
	podIdentity := plain.DeepCopy()
	podIdentity.Spec.Containers[0].Env = []corev1.EnvVar{{Name: EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"}, {Name: EnvPodIdentityToken, Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}}
	podIdentity.Spec.Volumes = []corev1.Volume{{Name: PodIdentityVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: PodIdentityAudience, ExpirationSeconds: ptr.To[int64](80000), Path: PodIdentityVolumeName}}},
	}}}}
	windows := injectedPod(testRole, DefaultAudience, 86400)
	windows.Spec.Containers[0].Env[1].Value = `C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token`

	tests := []struct {
		name       string
		pod        *corev1.Pod
		cfg        Config
		hasRole    bool
		want       PodState
		wantReason string
	}{
		{name: "current", pod: injectedPod(testRole, DefaultAudience, 86400), cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "no injection", pod: plain, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodStale, wantReason: "lacks the injection"},
		{name: "other role", pod: injectedPod("arn:aws:iam::123456789012:role/old", DefaultAudience, 86400), cfg: Config{RoleARN: testRole}, hasRole: true, want: PodStale, wantReason: "role/old"},
		{name: "other audience asked", pod: injectedPod(testRole, "other", 86400), cfg: Config{RoleARN: testRole, Audience: "mine"}, hasRole: true, want: PodStale, wantReason: "audience"},
		{name: "empty audience asked", pod: injectedPod(testRole, DefaultAudience, 86400), cfg: Config{RoleARN: testRole, AudienceSet: true}, hasRole: true, want: PodStale, wantReason: `audience is "sts.amazonaws.com", the account asks ""`},
		{name: "audience from the webhook's flag", pod: injectedPod(testRole, "flag-aud", 86400), cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "other expiration asked", pod: injectedPod(testRole, DefaultAudience, 86400), cfg: Config{RoleARN: testRole, TokenExpiration: 3600}, hasRole: true, want: PodStale, wantReason: "expiration"},
		{name: "expiration from the webhook's flag", pod: injectedPod(testRole, DefaultAudience, 3600), cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "regional from the webhook's flag", pod: regional, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "own AWS_ROLE_ARN, token mounted", pod: ownRole, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped, wantReason: "injects the role into none"},
		{name: "own pair in the webhook's form, region after", pod: ownPair, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped, wantReason: "injects the role into none"},
		{name: "one container with its own role", pod: oneOwn, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "Pod Identity wins", pod: podIdentity, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodPodIdentity, wantReason: "wins over"},
		{name: "Pod Identity, no role-arn", pod: podIdentity, hasRole: false, want: PodPodIdentity},
		{name: "Windows token path", pod: windows, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodCurrent},
		{name: "account expiration matches", pod: injectedPod(testRole, DefaultAudience, 3600), cfg: Config{RoleARN: testRole, TokenExpiration: 3600}, hasRole: true, want: PodCurrent},
		{name: "pod annotation wins", pod: podExp, cfg: Config{RoleARN: testRole, TokenExpiration: 3600}, hasRole: true, want: PodCurrent},
		{name: "regional wanted, missing", pod: injectedPod(testRole, DefaultAudience, 86400), cfg: Config{RoleARN: testRole, STSRegional: true}, hasRole: true, want: PodStale, wantReason: "regional"},
		{name: "regional present", pod: regional, cfg: Config{RoleARN: testRole, STSRegional: true}, hasRole: true, want: PodCurrent},
		{name: "skip label", pod: skipped, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped},
		{name: "every container sets the env", pod: selfSet, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped, wantReason: "injects the role into none"},
		{name: "every container in skip-containers", pod: allSkipped, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped, wantReason: "injects the role into none"},
		{name: "skipped and self-set", pod: mixed, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodSkipped, wantReason: "injects the role into none"},
		{name: "one container not skipped", pod: partly, cfg: Config{RoleARN: testRole}, hasRole: true, want: PodStale, wantReason: "lacks the injection"},
		{name: "disabled, every container sets the env", pod: selfSet, hasRole: false, want: PodNotAsked},
		{name: "disabled, still injected", pod: injectedPod(testRole, DefaultAudience, 86400), hasRole: false, want: PodStale, wantReason: "still carries"},
		{name: "disabled, clean", pod: plain, hasRole: false, want: PodNotAsked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Staleness(tt.pod, tt.cfg, tt.hasRole)
			if got != tt.want || !strings.Contains(reason, tt.wantReason) {
				t.Fatalf("Staleness() = %s, %q; want %s, reason containing %q", got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

func TestInspectPodSelfSetAndSkipped(t *testing.T) {
	pod := injectedPod(testRole, DefaultAudience, 86400)
	pod.Annotations[AnnotationSkipContainers] = "init, sidecar"
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "sidecar"}, corev1.Container{Name: " sidecar"})
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "own", Env: []corev1.EnvVar{{Name: EnvRoleARN, Value: "x"}}})
	id := InspectPod(pod)
	if !id.Injected || id.RoleARN != testRole {
		t.Fatalf("injected = %t role = %q", id.Injected, id.RoleARN)
	}
	if strings.Join(id.SelfSetContainers, ",") != "own" {
		t.Fatalf("SelfSetContainers = %v", id.SelfSetContainers)
	}
	// Not trimmed, as the webhook reads it: " sidecar" is skipped, "sidecar" is not.
	if strings.Join(id.SkippedContainers, ",") != "init, sidecar" {
		t.Fatalf("SkippedContainers = %v", id.SkippedContainers)
	}
}

func TestConfigAnnotationsRoundTrip(t *testing.T) {
	tests := []Config{
		{RoleARN: testRole},
		{RoleARN: testRole, Audience: "my-aud", AudienceSet: true, TokenExpiration: 3600, STSRegional: true},
	}
	for _, cfg := range tests {
		got, ok := FromAnnotations(cfg.Annotations())
		if !ok || got != cfg {
			t.Fatalf("round trip of %+v = %+v, %t", cfg, got, ok)
		}
	}
	if a := (Config{RoleARN: testRole, Audience: DefaultAudience}).Annotations(); len(a) != 1 {
		t.Fatalf("default audience written as an annotation: %v", a)
	}
	for _, tt := range []struct {
		v    string
		want bool
	}{{"true", true}, {"True", true}, {"1", true}, {"t", true}, {"false", false}, {" true", false}, {"yes", false}} {
		v, want := tt.v, tt.want
		if got, _ := FromAnnotations(map[string]string{AnnotationRoleARN: testRole, AnnotationSTSRegional: v}); got.STSRegional != want {
			t.Errorf("sts-regional-endpoints %q: STSRegional = %t, want %t (a Go bool, as the webhook reads it)", v, got.STSRegional, want)
		}
	}
	if got, _ := FromAnnotations(map[string]string{AnnotationRoleARN: " " + testRole, AnnotationTokenExpiration: " 3600"}); got.RoleARN != " "+testRole || got.TokenExpiration != 0 {
		t.Errorf("FromAnnotations trimmed what the webhook does not: %+v", got)
	}
	if _, ok := FromAnnotations(map[string]string{AnnotationAudience: "x"}); ok {
		t.Fatal("an account without role-arn has an identity")
	}
}

func TestEffectiveExpiration(t *testing.T) {
	tests := []struct {
		account int64
		pod     string
		want    int64
	}{
		{0, "", 86400}, {3600, "", 3600}, {999999, "", 999999}, {3600, "7200", 7200}, {0, "60", 600}, {0, "junk", 86400},
	}
	for _, tt := range tests {
		got := Config{RoleARN: testRole, TokenExpiration: tt.account}.EffectiveExpiration(map[string]string{AnnotationTokenExpiration: tt.pod})
		if got != tt.want {
			t.Errorf("account %d pod %q: got %d, want %d", tt.account, tt.pod, got, tt.want)
		}
	}
}

func TestValidateTokenExpiration(t *testing.T) {
	for _, s := range []int64{600, 3600, 86400} {
		if err := ValidateTokenExpiration(s); err != nil {
			t.Errorf("%d: %v", s, err)
		}
	}
	for s, want := range map[int64]string{599: "raise it to 600", 60: "raise it to 600", 86401: "keep it", 999999: "11.6 days"} {
		if err := ValidateTokenExpiration(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d: error %v, want one containing %q", s, err, want)
		}
	}
}

// podIdentityPod is a pod as the webhook leaves it for an account with an association.
func podIdentityPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"eks.amazonaws.com/pod-identity": "enabled"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{
				{Name: EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"},
				{Name: EnvPodIdentityToken, Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"},
			}}},
			Volumes: []corev1.Volume{{Name: PodIdentityVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: PodIdentityAudience, ExpirationSeconds: ptr.To[int64](80000), Path: PodIdentityVolumeName}}},
			}}}},
		},
	}
}

func TestPodIdentityStaleness(t *testing.T) {
	plain := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	irsa := injectedPod(testRole, DefaultAudience, 86400)
	optedOut := plain.DeepCopy()
	optedOut.Labels = map[string]string{LabelSkipPodIdentityWebhook: "true"}
	// Every container skipped: the webhook still adds the token volume, so the pod reads as
	// on Pod Identity and a restart changes nothing more.
	allSkipped := podIdentityPod()
	allSkipped.Spec.Containers[0].Env = nil
	tests := []struct {
		name       string
		pod        *corev1.Pod
		want       bool
		state      PodState
		wantReason string
	}{
		{name: "associated, on Pod Identity", pod: podIdentityPod(), want: true, state: PodCurrent},
		{name: "associated, every container skipped", pod: allSkipped, want: true, state: PodCurrent},
		{name: "associated, pod created before", pod: plain, want: true, state: PodStale, wantReason: "lacks EKS Pod Identity"},
		{name: "associated, pod on IRSA", pod: irsa, want: true, state: PodStale, wantReason: "lacks EKS Pod Identity"},
		{name: "associated, opted out", pod: optedOut, want: true, state: PodSkipped, wantReason: LabelSkipPodIdentityWebhook},
		{name: "no association, still on Pod Identity", pod: podIdentityPod(), want: false, state: PodStale, wantReason: "still carries"},
		{name: "no association, on IRSA", pod: irsa, want: false, state: PodNotAsked},
		{name: "no association, plain", pod: plain, want: false, state: PodNotAsked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := PodIdentityStaleness(tt.pod, tt.want)
			if got != tt.state || !strings.Contains(reason, tt.wantReason) {
				t.Fatalf("PodIdentityStaleness() = %s, %q; want %s, reason containing %q", got, reason, tt.state, tt.wantReason)
			}
		})
	}
}

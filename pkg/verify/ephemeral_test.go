package verify

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// irsaAppPod is a running pod of the app as the webhook left it: a sidecar and the container
// app, both with the IRSA injection, app with env of its own (a region from a ConfigMap, a
// limit from its resources, a secret) and other mounts.
func irsaAppPod() *corev1.Pod {
	injected := func(c corev1.Container) corev1.Container {
		c.Env = append(c.Env,
			corev1.EnvVar{Name: identity.EnvSTSRegional, Value: "regional"},
			corev1.EnvVar{Name: identity.EnvRoleARN, Value: testRole},
			corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
		return c
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc-2", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "checkout",
			NodeName:           "node-1",
			SecurityContext:    &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000), FSGroup: ptr.To[int64](2000)},
			Containers: []corev1.Container{
				injected(corev1.Container{Name: "sidecar", Image: "envoy"}),
				injected(corev1.Container{
					Name: "app", Image: "shop/web:1",
					Env: []corev1.EnvVar{
						{Name: "AWS_REGION", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "aws"}, Key: "region"}}},
						{Name: "HTTPS_PROXY", Value: "http://proxy.corp:3128"},
						{Name: "MEM_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
						{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
						{Name: EnvSTSEndpoint, Value: "https://sts.app.example"},
					},
					EnvFrom:      []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-env"}}}},
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "kube-api-access-x", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
					SecurityContext: &corev1.SecurityContext{
						RunAsUser:      ptr.To[int64](1001),
						SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c123,c456"},
					},
				}),
			},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func envNames(env []corev1.EnvVar) []string {
	var out []string
	for _, e := range env {
		out = append(out, e.Name)
	}
	return out
}

func envOf(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

func TestEphemeralProbe(t *testing.T) {
	spec := func(edit func(*EphemeralSpec)) EphemeralSpec {
		s := EphemeralSpec{
			Name: testPod, Image: "wi.local/kubectl-wi:dev", PullPolicy: corev1.PullIfNotPresent, Pod: irsaAppPod(), Container: "app",
			Args: []string{"--expected-subject", "system:serviceaccount:shop:checkout", "--expected-audience", "sts.amazonaws.com"},
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	tests := []struct {
		name      string
		spec      EphemeralSpec
		wantEnv   []string // names, in order
		wantUser  *int64
		wantGroup *int64
		nonRoot   *bool
		wantNotes EphemeralNotes
		wantErr   error
		check     func(t *testing.T, ec corev1.EphemeralContainer)
	}{
		{
			name:      "the app's env as stored, its token mount, its user, the restricted profile",
			spec:      spec(nil),
			wantEnv:   []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint, identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile},
			wantUser:  ptr.To[int64](1001), // the container's, over the pod's 1000
			wantGroup: ptr.To[int64](3000), // the pod's: the container names none
			nonRoot:   ptr.To(true),
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				if ec.Name != testPod || ec.TargetContainerName != "app" || ec.Image != "wi.local/kubectl-wi:dev" || ec.ImagePullPolicy != corev1.PullIfNotPresent {
					t.Errorf("name %s, target %s, image %s %s", ec.Name, ec.TargetContainerName, ec.Image, ec.ImagePullPolicy)
				}
				want := []string{Entrypoint, "--in-pod", "--expected-subject", "system:serviceaccount:shop:checkout", "--expected-audience", "sts.amazonaws.com"}
				if !slices.Equal(ec.Command, want) {
					t.Errorf("command %q, want %q", ec.Command, want)
				}
				// valueFrom as stored; a resource field of the container it is in names the app's.
				if e := envOf(ec.Env, "AWS_REGION"); e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef.Name != "aws" {
					t.Errorf("AWS_REGION %+v", e)
				}
				if e := envOf(ec.Env, "DB_PASSWORD"); e.Value != "" || e.ValueFrom.SecretKeyRef.Name != "db" {
					t.Errorf("DB_PASSWORD %+v: a reference, as stored", e)
				}
				if e := envOf(ec.Env, "MEM_LIMIT"); e.ValueFrom.ResourceFieldRef.ContainerName != "app" {
					t.Errorf("MEM_LIMIT names container %q, want app", e.ValueFrom.ResourceFieldRef.ContainerName)
				}
				if e := envOf(ec.Env, EnvSTSEndpoint); e.Value != "https://sts.app.example" {
					t.Errorf("the app's own STS endpoint %q, kept without --sts-endpoint", e.Value)
				}
				if len(ec.EnvFrom) != 1 || ec.EnvFrom[0].ConfigMapRef.Name != "web-env" {
					t.Errorf("envFrom %+v", ec.EnvFrom)
				}
				// Only the identity volume: not the app's data, not the API token.
				if len(ec.VolumeMounts) != 1 || mustJSON(t, ec.VolumeMounts[0]) != mustJSON(t, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true}) {
					t.Errorf("mounts %+v", ec.VolumeMounts)
				}
				sc := ec.SecurityContext
				if !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
					len(sc.Capabilities.Add) > 0 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || ptr.Deref(sc.Privileged, false) {
					t.Errorf("securityContext %+v does not meet the restricted profile", sc)
				}
				if sc.SELinuxOptions == nil || sc.SELinuxOptions.Level != "s0:c123,c456" {
					t.Errorf("SELinux options %+v, want the app's", sc.SELinuxOptions)
				}
				// Ephemeral containers take no resources, ports or probes.
				if ec.Resources.Limits != nil || ec.Resources.Requests != nil || ec.Ports != nil || ec.ReadinessProbe != nil {
					t.Errorf("fields an ephemeral container may not have: %+v", ec)
				}
			},
		},
		{
			name: "--sts-endpoint wins over the app's, and --ca-bundle travels as PEM in the env",
			spec: spec(func(s *EphemeralSpec) {
				s.STSEndpoint = "https://10.0.0.1:8443"
				s.CABundle = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
			}),
			wantEnv:   []string{EnvSTSEndpoint, "AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile, probe.EnvCABundlePEM},
			wantUser:  ptr.To[int64](1001),
			wantGroup: ptr.To[int64](3000),
			nonRoot:   ptr.To(true),
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				if e := envOf(ec.Env, EnvSTSEndpoint); e.Value != "https://10.0.0.1:8443" {
					t.Errorf("STS endpoint %q", e.Value)
				}
				if e := envOf(ec.Env, probe.EnvCABundlePEM); !strings.HasPrefix(e.Value, "-----BEGIN CERTIFICATE-----") {
					t.Errorf("CA bundle env %q", e.Value)
				}
			},
		},
		{
			name: "keys written in the app's env are left out; a Secret's are referenced, as stored",
			spec: spec(func(s *EphemeralSpec) {
				c := &s.Pod.Spec.Containers[1]
				c.Env = append(c.Env,
					corev1.EnvVar{Name: identity.EnvAccessKeyID, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "aws"}, Key: "id"}}},
					corev1.EnvVar{Name: identity.EnvSecretAccessKey, Value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
					corev1.EnvVar{Name: identity.EnvSessionToken, Value: "FwoGZXIvYXdzEXAMPLETOKEN"})
			}),
			wantEnv: []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint,
				identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile, identity.EnvAccessKeyID},
			wantUser: ptr.To[int64](1001), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
			wantNotes: EphemeralNotes{NotCopied: []string{identity.EnvSecretAccessKey, identity.EnvSessionToken}},
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				for _, secret := range []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN"} {
					if strings.Contains(mustJSON(t, ec), secret) {
						t.Errorf("the ephemeral container holds the secret %.8s...", secret)
					}
				}
			},
		},
		{
			name: "the pod's user when the container names none",
			spec: spec(func(s *EphemeralSpec) { s.Pod.Spec.Containers[1].SecurityContext = nil }),
			wantEnv: []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint,
				identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile},
			wantUser: ptr.To[int64](1000), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
		},
		{
			name: "no user in the spec: the image's, and runAsNonRoot",
			spec: spec(func(s *EphemeralSpec) {
				s.Pod.Spec.SecurityContext = nil
				s.Pod.Spec.Containers[1].SecurityContext = nil
			}),
			wantEnv: []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint,
				identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile},
			nonRoot:   ptr.To(true),
			wantNotes: EphemeralNotes{UserFromImage: true},
		},
		{
			name: "an app that runs as root: the probe too, and a note that restricted refuses it",
			spec: spec(func(s *EphemeralSpec) { s.Pod.Spec.Containers[1].SecurityContext.RunAsUser = ptr.To[int64](0) }),
			wantEnv: []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint,
				identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile},
			wantUser: ptr.To[int64](0), wantGroup: ptr.To[int64](3000),
			wantNotes: EphemeralNotes{Root: true},
		},
		{
			name: "Pod Identity: the agent's env and its token mount",
			spec: spec(func(s *EphemeralSpec) {
				c := &s.Pod.Spec.Containers[1]
				c.Env = []corev1.EnvVar{
					{Name: identity.EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"},
					{Name: identity.EnvPodIdentityToken, Value: identity.PodIdentityTokenFile},
				}
				c.VolumeMounts = []corev1.VolumeMount{{Name: identity.PodIdentityVolumeName, MountPath: identity.PodIdentityMountPath, ReadOnly: true}}
			}),
			wantEnv:  []string{identity.EnvPodIdentityURI, identity.EnvPodIdentityToken},
			wantUser: ptr.To[int64](1001), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				if len(ec.VolumeMounts) != 1 || ec.VolumeMounts[0].Name != identity.PodIdentityVolumeName || ec.VolumeMounts[0].MountPath != identity.PodIdentityMountPath {
					t.Errorf("mounts %+v", ec.VolumeMounts)
				}
			},
		},
		{
			name: "a subPath mount of the token, which an ephemeral container cannot have; a writable one is mounted read-only",
			spec: spec(func(s *EphemeralSpec) {
				c := &s.Pod.Spec.Containers[1]
				c.VolumeMounts = []corev1.VolumeMount{
					{Name: identity.TokenVolumeName, MountPath: "/token", SubPath: "token"},
					{Name: identity.PodIdentityVolumeName, MountPath: identity.PodIdentityMountPath},
				}
			}),
			wantEnv: []string{"AWS_REGION", "HTTPS_PROXY", "MEM_LIMIT", "DB_PASSWORD", EnvSTSEndpoint,
				identity.EnvSTSRegional, identity.EnvRoleARN, identity.EnvTokenFile},
			wantUser: ptr.To[int64](1001), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
			wantNotes: EphemeralNotes{SkippedMounts: []string{identity.TokenVolumeName}},
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				if len(ec.VolumeMounts) != 1 || ec.VolumeMounts[0].Name != identity.PodIdentityVolumeName || !ec.VolumeMounts[0].ReadOnly {
					t.Errorf("mounts %+v", ec.VolumeMounts)
				}
			},
		},
		{
			name: "the app's AWS_CA_BUNDLE: the mount that holds it comes along, unless --ca-bundle gives one",
			spec: spec(func(s *EphemeralSpec) {
				c := &s.Pod.Spec.Containers[1]
				c.Env = []corev1.EnvVar{{Name: probe.EnvCABundle, Value: "/etc/corp-ca/ca.pem"}}
				c.VolumeMounts = append(c.VolumeMounts,
					corev1.VolumeMount{Name: "corp-ca", MountPath: "/etc/corp-ca"},
					corev1.VolumeMount{Name: "corp", MountPath: "/etc/corp"}) // a prefix of the name, not of the path
			}),
			wantEnv:  []string{probe.EnvCABundle},
			wantUser: ptr.To[int64](1001), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				var names []string
				for _, m := range ec.VolumeMounts {
					names = append(names, m.Name)
					if !m.ReadOnly {
						t.Errorf("mount %s is writable", m.Name)
					}
				}
				if !slices.Equal(names, []string{identity.TokenVolumeName, "corp-ca"}) {
					t.Errorf("mounts %q, want the token and corp-ca, in the app's order", names)
				}
			},
		},
		{
			name: "--ca-bundle given: the app's bundle is not mounted",
			spec: spec(func(s *EphemeralSpec) {
				c := &s.Pod.Spec.Containers[1]
				c.Env = []corev1.EnvVar{{Name: probe.EnvCABundle, Value: "/etc/corp-ca/ca.pem"}}
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "corp-ca", MountPath: "/etc/corp-ca"})
				s.CABundle = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
			}),
			wantEnv:  []string{probe.EnvCABundle, probe.EnvCABundlePEM},
			wantUser: ptr.To[int64](1001), wantGroup: ptr.To[int64](3000), nonRoot: ptr.To(true),
			check: func(t *testing.T, ec corev1.EphemeralContainer) {
				t.Helper()
				if len(ec.VolumeMounts) != 1 || ec.VolumeMounts[0].Name != identity.TokenVolumeName {
					t.Errorf("mounts %+v", ec.VolumeMounts)
				}
			},
		},
		{
			name:    "a container the pod does not have",
			spec:    spec(func(s *EphemeralSpec) { s.Container = "worker" }),
			wantErr: ErrNoSuchContainer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.spec.Pod.DeepCopy()
			ec, notes, err := EphemeralProbe(tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := envNames(ec.Env); !slices.Equal(got, tt.wantEnv) {
				t.Errorf("env %q\nwant %q", got, tt.wantEnv)
			}
			sc := ec.SecurityContext
			if !ptrEqual(sc.RunAsUser, tt.wantUser) || !ptrEqual(sc.RunAsGroup, tt.wantGroup) || !ptrEqual(sc.RunAsNonRoot, tt.nonRoot) {
				t.Errorf("user %v group %v nonRoot %v, want %v %v %v", deref(sc.RunAsUser), deref(sc.RunAsGroup), deref(sc.RunAsNonRoot),
					deref(tt.wantUser), deref(tt.wantGroup), deref(tt.nonRoot))
			}
			if notes.Root != tt.wantNotes.Root || notes.UserFromImage != tt.wantNotes.UserFromImage || !slices.Equal(notes.SkippedMounts, tt.wantNotes.SkippedMounts) ||
				!slices.Equal(notes.NotCopied, tt.wantNotes.NotCopied) {
				t.Errorf("notes %+v, want %+v", notes, tt.wantNotes)
			}
			if tt.check != nil {
				tt.check(t, ec)
			}
			// The app's pod is read, never changed.
			if b, a := mustJSON(t, before), mustJSON(t, tt.spec.Pod); b != a {
				t.Error("EphemeralProbe changed the app's pod")
			}
		})
	}
}

func ptrEqual[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func deref[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The patch adds the one container, merged into the pod's list by name.
func TestEphemeralPatch(t *testing.T) {
	ec, _, err := EphemeralProbe(EphemeralSpec{Name: testPod, Image: "img", Pod: irsaAppPod(), Container: "app"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := EphemeralPatch(ec)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Spec struct {
			EphemeralContainers []corev1.EphemeralContainer `json:"ephemeralContainers"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.EphemeralContainers) != 1 || got.Spec.EphemeralContainers[0].Name != testPod || got.Spec.EphemeralContainers[0].TargetContainerName != "app" {
		t.Errorf("patch %s", b)
	}
}

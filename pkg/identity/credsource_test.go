package identity_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// The default chain's order: static env keys, web identity, container credentials, then the
// node's role through instance metadata.
func TestContainerCredentials(t *testing.T) {
	role := identity.Config{RoleARN: "arn:aws:iam::111122223333:role/app"}
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	fromSecret := corev1.EnvVar{Name: identity.EnvSecretAccessKey, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}
	for _, tc := range []struct {
		name      string
		pod       func() *corev1.Pod
		want      identity.Source
		role      string
		own       bool
		shadowed  []identity.Source
		skipped   bool
		envFrom   bool
		skipLabel bool
	}{
		{name: "injected web identity", pod: func() *corev1.Pod { return kt.Injected("shop", "p", "app", role) },
			want: identity.SourceWebIdentity, role: role.RoleARN},
		{name: "nothing: the node's role", pod: func() *corev1.Pod { return kt.PodOf("shop", "p", "app") }, want: identity.SourceIMDS},
		{name: "metadata off: nothing at all", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = env(identity.EnvMetadataDisabled, "true")
			return p
		}, want: identity.SourceNone},
		{name: "static keys from a secret win over web identity", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = append(env(identity.EnvAccessKeyID, "AKIAEXAMPLE"), fromSecret)
			return kt.Inject(p, role)
		}, want: identity.SourceStaticKeys, shadowed: []identity.Source{identity.SourceWebIdentity}},
		{name: "an access key id alone is no credentials", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = env(identity.EnvAccessKeyID, "AKIAEXAMPLE")
			return p
		}, want: identity.SourceIMDS},
		{name: "own role", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = env(identity.EnvRoleARN, "arn:aws:iam::111122223333:role/own", identity.EnvTokenFile, identity.TokenFile)
			return p
		}, want: identity.SourceWebIdentity, role: "arn:aws:iam::111122223333:role/own", own: true},
		{name: "own role without a token file falls through", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = env(identity.EnvRoleARN, "arn:aws:iam::111122223333:role/own")
			return p
		}, want: identity.SourceIMDS},
		{name: "pod identity", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Spec.Containers[0].Env = env(identity.EnvPodIdentityURI, "http://169.254.170.23/v1/credentials")
			return p
		}, want: identity.SourceContainer},
		{name: "skipped container, envFrom", pod: func() *corev1.Pod {
			p := kt.PodOf("shop", "p", "app")
			p.Annotations[identity.AnnotationSkipContainers] = "app"
			p.Labels[identity.LabelSkipPodIdentityWebhook] = "true"
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{}}}
			return p
		}, want: identity.SourceIMDS, skipped: true, envFrom: true, skipLabel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := identity.ContainerCredentials(tc.pod())
			if len(got) != 1 {
				t.Fatalf("%d containers judged, want 1", len(got))
			}
			g := got[0]
			if g.Container != "app" || g.Source != tc.want || g.RoleARN != tc.role || g.OwnRole != tc.own || !slices.Equal(g.Shadowed, tc.shadowed) ||
				g.Skipped != tc.skipped || g.EnvFrom != tc.envFrom || g.SkipLabel != tc.skipLabel {
				t.Errorf("got %+v", g)
			}
		})
	}
}

// Init containers are judged too, before the containers.
func TestContainerCredentialsInitContainers(t *testing.T) {
	p := kt.PodOf("shop", "p", "app")
	p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	got := identity.ContainerCredentials(p)
	if len(got) != 2 || got[0].Container != "init" || got[1].Container != "app" {
		t.Errorf("got %+v", got)
	}
}

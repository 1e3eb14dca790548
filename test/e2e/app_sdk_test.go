//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestVerifyInPodAppSDKs: apps that carry real AWS SDKs, built by the test bed
// (hack/testapps): a Go binary against aws-sdk-go v1.46.7 (before EKS Pod Identity), newer Go
// SDKs, and the real package metadata of Node's aws-sdk 2.1500.0 and of Debian's botocore
// 1.29.27. Under the EKS profile the account uses Pod Identity: the plain verify passes its
// probe pod and says what that does not prove of the app, while --in-pod fails each too-old
// SDK, naming it, its version and the documented minimum. Under the default profile the
// account uses IRSA, whose minimums they all meet: --in-pod passes them.
func TestVerifyInPodAppSDKs(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	tests := []struct {
		name, imageEnv string
		// piFails are the texts of the app.sdk FAIL under Pod Identity, the SDK's version
		// read from versionEnv in place of "": none, it passes.
		piFails    []string
		versionEnv string
	}{
		{name: "go-v1-old", imageEnv: "WI_APP_IMAGE_GO_SDKV1_OLD", piFails: []string{"aws-sdk-go", "", "1.47.11"}, versionEnv: "WI_APP_SDKV1_OLD_VERSION"},
		{name: "go-v1", imageEnv: "WI_APP_IMAGE_GO_SDKV1"},
		{name: "go-v2", imageEnv: "WI_APP_IMAGE_GO_SDKV2"},
		{name: "node", imageEnv: "WI_APP_IMAGE_NODE", piFails: []string{"aws-sdk", "", "2.1550.0"}, versionEnv: "WI_APP_NODE_AWS_SDK_VERSION"},
		{name: "python", imageEnv: "WI_APP_IMAGE_PYTHON", piFails: []string{"botocore", "", "1.34.41"}, versionEnv: "WI_APP_PYTHON_BOTOCORE_VERSION"},
	}
	c := e.client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := requireEnv(t, tt.imageEnv)
			piFails := slices.Clone(tt.piFails)
			if tt.versionEnv != "" {
				piFails[1] = requireEnv(t, tt.versionEnv)
			}
			ns := e.namespace(t, c, nil)
			if e.eksProfile() {
				e.requireAgent(t)
				role := e.addSTSRole(t, "sdk-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
				serviceAccount(t, c, ns, "app", nil)
				e.associate(t, c, ns, "app", role)
			} else {
				e.happyServiceAccount(t, c, ns)
			}
			e.ipDeployment(t, c, ns, "web", "app", func(spec *corev1.PodSpec) {
				spec.Containers[0].Image, spec.Containers[0].ImagePullPolicy = image, corev1.PullIfNotPresent
				spec.Containers[0].Env = append(spec.Containers[0].Env, corev1.EnvVar{Name: "AWS_EC2_METADATA_DISABLED", Value: "true"})
			})

			in := e.wi(t, e.ipArgs(ns, "deployment/web")...)
			sdk := lineOf(in.stdout, "app.sdk")
			if len(tt.piFails) == 0 || !e.eksProfile() {
				if in.code != 0 || len(ipChecks(in.stdout)["app.sdk"]) == 0 {
					t.Fatalf("--in-pod: exit %d, want 0 with the app's SDKs passed\nstdout:\n%s\nstderr:\n%s", in.code, in.stdout, in.stderr)
				}
				for _, s := range ipChecks(in.stdout)["app.sdk"] {
					if s != "PASS" {
						t.Errorf("app.sdk %s: %s", s, sdk)
					}
				}
				return
			}
			failed := ""
			for _, l := range strings.Split(in.stdout, "\n") {
				if strings.HasPrefix(l, "FAIL app.sdk  ") {
					failed += l + "\n"
				}
			}
			if in.code != 1 || failed == "" {
				t.Fatalf("--in-pod: exit %d, want 1 with an app.sdk FAIL\nstdout:\n%s\nstderr:\n%s", in.code, in.stdout, in.stderr)
			}
			for _, want := range piFails {
				if !strings.Contains(failed, want) {
					t.Errorf("the app.sdk failure does not name %q:\n%s", want, failed)
				}
			}

			// The plain verify passes its probe pod, and does not claim the app is fine.
			plain := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
			if plain.code != 0 || !strings.HasPrefix(lineOf(plain.stdout, "sts.caller_identity"), "PASS") {
				t.Fatalf("plain verify: exit %d, want 0 (its probe pod has a modern SDK)\n%s", plain.code, plain.stdout)
			}
			if l := lineOf(plain.stdout, "outside.not_proved"); !strings.Contains(l, "AWS SDK") || !strings.Contains(l, "--in-pod") {
				t.Errorf("the plain verify does not say it leaves the app's SDK unproved: %q", l)
			}
		})
	}
}

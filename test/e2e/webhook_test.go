//go:build e2e

package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWebhookProfile checks, through the real apiserver's admission, the rows of the real
// webhook's behaviour that differ between its own defaults and the way EKS runs it, so that a
// suite run under either profile is known to run under that one.
func TestWebhookProfile(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	const role = "arn:aws:iam::111122223333:role/profile"
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})

	env := envOf(dryRunPod(t, c, ns, "app").Spec.Containers[0])
	if e.eksProfile() {
		// --sts-regional-endpoint and --aws-default-region, whatever the account says.
		if env["AWS_STS_REGIONAL_ENDPOINTS"] != "regional" || env["AWS_REGION"] != "us-west-2" || env["AWS_DEFAULT_REGION"] != "us-west-2" {
			t.Errorf("EKS profile: env %v, want AWS_STS_REGIONAL_ENDPOINTS=regional and the default region", env)
		}
	} else {
		for _, name := range []string{"AWS_STS_REGIONAL_ENDPOINTS", "AWS_REGION", "AWS_DEFAULT_REGION"} {
			if v, ok := env[name]; ok {
				t.Errorf("the webhook's defaults: %s=%q injected, want none", name, v)
			}
		}
	}
}

// TestWebhookCacheLag: a pod created right after its account is annotated. Under the EKS
// profile the webhook's cache has not seen the annotation yet and the pod gets no identity, for
// good; with the defaults (no lag on this machine) it is mutated.
func TestWebhookCacheLag(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	const role = "arn:aws:iam::111122223333:role/lag"
	serviceAccount(t, c, ns, "app", nil)
	// Let the cache see the account without a role first, as for an account that exists.
	awaitWebhookSeen(t, c, ns)
	patch := []byte(`{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"` + role + `"}}}`)
	if _, err := c.CoreV1().ServiceAccounts(ns).Patch(ctx, "app", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := injectedRole(dryRunPod(t, c, ns, "app")); e.eksProfile() && got != "" {
		t.Errorf("EKS profile: a pod right after the annotation got %s; want none (the cache lags a second)", got)
	}
	// Either way the webhook catches up: within a moment (the defaults: only the informer's own
	// delay), or after the lag.
	awaitWebhookRole(t, c, ns, "app", role)
}

// TestWebhookOwnRole: a container that sets its own AWS_ROLE_ARN keeps it, and still gets the
// token mount (and, under EKS, the region variables); its neighbour gets the account's role.
func TestWebhookOwnRole(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	const role, own = "arn:aws:iam::111122223333:role/account", "arn:aws:iam::444455556666:role/own"
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	pod := e.idlePod("own", "app")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: own}}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "neighbour", Image: e.idleImage})
	stored, err := c.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	first, second := stored.Spec.Containers[0], stored.Spec.Containers[1]
	if env := envOf(first); env["AWS_ROLE_ARN"] != own || env["AWS_WEB_IDENTITY_TOKEN_FILE"] != "" {
		t.Errorf("own container env %v: want its own role kept and no token file added", env)
	}
	if !mounts(first, "aws-iam-token") {
		t.Errorf("own container mounts %v: want the token mounted all the same", first.VolumeMounts)
	}
	if e.eksProfile() && envOf(first)["AWS_REGION"] != "us-west-2" {
		t.Errorf("own container env %v: want the region variables all the same", envOf(first))
	}
	if env := envOf(second); env["AWS_ROLE_ARN"] != role || !mounts(second, "aws-iam-token") {
		t.Errorf("neighbour env %v mounts %v: want the account's role and the token", env, second.VolumeMounts)
	}
}

// TestWebhookPodIdentity: under the EKS profile an account with a Pod Identity association gets
// the container credentials and not its role-arn; with the defaults (no associations file) the
// same account gets IRSA. The pods are dry runs: nothing calls the agent.
func TestWebhookPodIdentity(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	const role = "arn:aws:iam::111122223333:role/both"
	serviceAccount(t, c, ns, "both", map[string]string{"eks.amazonaws.com/role-arn": role})
	e.associate(t, c, ns, "both", role)

	pod := dryRunPod(t, c, ns, "both")
	env := envOf(pod.Spec.Containers[0])
	if !e.eksProfile() {
		if env["AWS_ROLE_ARN"] != role || env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != "" {
			t.Errorf("defaults: env %v, want IRSA only", env)
		}
		return
	}
	if env["AWS_ROLE_ARN"] != "" || env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] != "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token" {
		t.Errorf("EKS profile: env %v, want Pod Identity's container credentials and no AWS_ROLE_ARN", env)
	}
	if uri := env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]; uri != "http://"+e.agentAddr+"/v1/credentials" {
		t.Errorf("credentials URI %q: want EKS's agent address, which the test bed puts on this host", uri)
	}
	if pod.Labels["eks.amazonaws.com/pod-identity"] != "enabled" {
		t.Errorf("labels %v: want eks.amazonaws.com/pod-identity=enabled", pod.Labels)
	}
	var exp int64
	for _, v := range pod.Spec.Volumes {
		if v.Name == "eks-pod-identity-token" {
			tok := v.Projected.Sources[0].ServiceAccountToken
			exp = *tok.ExpirationSeconds
			if tok.Audience != "pods.eks.amazonaws.com" {
				t.Errorf("token audience %q", tok.Audience)
			}
		}
	}
	if exp < 79200 || exp > 86400 {
		t.Errorf("Pod Identity token lifetime %d: want the default drawn from 79200..86400", exp)
	}
}

func envOf(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func mounts(c corev1.Container, volume string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return true
		}
	}
	return false
}

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestEnablePodIdentityWebhookCannotInject: under the default profile the webhook stand-in runs
// as a self-managed webhook without its container-credentials configuration, so it never
// injects Pod Identity. enable --pod-identity writes the association, waits for the webhook,
// and then restarts nothing: exit 1, naming the association it left and how to finish or undo.
// Ctrl-C during that wait is exit 130 at once, with no restart either.
func TestEnablePodIdentityWebhookCannotInject(t *testing.T) {
	// Serial: it times the exit after Ctrl-C, as the other timing tests do.
	e := loadEnv(t)
	e.requireProfile(t, "default", "the EKS profile's webhook injects Pod Identity: TestEnablePodIdentity covers it")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	role := e.addSTSRole(t, "pi-noinject-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	e.awaitRole(t, e.testUser(), "pi-noinject-"+ns)
	serviceAccount(t, c, ns, "app", nil)
	serviceAccount(t, c, ns, "other", nil)
	e.idleDeployment(t, c, ns, "web", "app")
	e.idleDeployment(t, c, ns, "api", "other")
	common := []string{"-n", ns, "--pod-identity", "--eks-cluster", e.eksCluster, "--role-arn", role}

	r := e.piWI(t, append([]string{"enable", "deployment/web"}, common...)...)
	piWant(t, r, 1)
	if got := restartedAt(t, c, ns, "web"); got != "" {
		t.Errorf("deployment/web was restarted (restartedAt %q) although the webhook never injects Pod Identity", got)
	}
	if e.associations(t, ns)["app"] != role {
		t.Errorf("associations %v: want the association written and left", e.associations(t, ns))
	}
	for _, want := range []string{"nothing was restarted (deployment.apps/web -n " + ns, "Written and left in place: association", "serviceaccount/app -n " + ns + " created", "kubectl wi disable --pod-identity"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "restarting anyway") {
		t.Errorf("stderr says it restarts anyway:\n%s", r.stderr)
	}

	// Ctrl-C once the association of the second account is written, during the wait.
	cmd := exec.Command(e.bin, append([]string{"enable", "deployment/api"}, common...)...)
	var stderr bytes.Buffer
	cmd.Env = append(e.awsEnv(nil), "AWS_ACCESS_KEY_ID="+e.aws["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+e.aws["AWS_SECRET_ACCESS_KEY"], "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the association of serviceaccount/other", func(context.Context) (bool, error) {
		return e.associations(t, ns)["other"] == role, nil
	})
	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit %v after Ctrl-C, want 130\nstderr:\n%s", err, stderr.String())
	}
	if took := time.Since(sent); took > 5*time.Second {
		t.Errorf("exit came %s after Ctrl-C, want it at once", took)
	}
	if got := restartedAt(t, c, ns, "api"); got != "" {
		t.Errorf("deployment/api was restarted after Ctrl-C (restartedAt %q)", got)
	}
	if !strings.Contains(stderr.String(), "nothing was restarted") || !strings.Contains(stderr.String(), "serviceaccount/other -n "+ns+" created") {
		t.Errorf("stderr after Ctrl-C does not name what was written and left:\n%s", stderr.String())
	}
}

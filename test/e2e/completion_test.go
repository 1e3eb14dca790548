//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionThroughKubectl: real kubectl, with kubectl-wi and the kubectl_complete-wi
// script of the release archives on PATH and nothing else, completes `kubectl wi <TAB>` by
// kubectl's plugin completion protocol (kubectl __complete is what its shell scripts call):
// the subcommands, flag values, and TARGET names read from the cluster.
func TestCompletionThroughKubectl(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	sfAccount(t, c, ns, "checkout", nil, nil)
	sfAccount(t, c, ns, "cart", nil, nil)
	sfDeployment(t, c, ns, "web", "checkout")
	sfDeployment(t, c, ns, "worker", "cart")

	path := t.TempDir()
	script, err := filepath.Abs("../../completion/kubectl_complete-wi")
	if err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"kubectl": filepath.Join(e.k8s, "kubectl"), "kubectl-wi": e.bin, "kubectl_complete-wi": script,
	} {
		if err := os.Symlink(target, filepath.Join(path, link)); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(words ...string) []string {
		t.Helper()
		cmd := exec.Command(filepath.Join(path, "kubectl"), append([]string{"__complete", "wi"}, words...)...)
		cmd.Env = append(os.Environ(), "PATH="+path+":/usr/bin:/bin")
		r := e.run(t, cmd)
		if r.code != 0 {
			t.Fatalf("kubectl __complete wi %q: exit %d\n%s", words, r.code, r.stderr)
		}
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			name, _, _ := strings.Cut(l, "\t") // a description follows a tab
			names = append(names, name)
		}
		return names
	}
	for _, tc := range []struct {
		words []string
		want  string // the completions, the directive last
	}{
		{[]string{""}, "completion|disable|enable|explain|help|migrate|monitor|status|trust-policy|verify|version|:4"},
		{[]string{"e"}, "enable|explain|:4"},
		{[]string{"enable", "-n", ns, "c"}, "cart|checkout|:4"},
		{[]string{"enable", "-n", ns, "deploy/w"}, "deploy/web|deploy/worker|:4"},
		{[]string{"verify", "-n", ns, "st"}, "statefulset/|:6"},
		{[]string{"enable", "--restart", ""}, "auto|always|never|:4"},
		{[]string{"enable", "-n", ns, "--role-arn", enRole, "ch"}, "checkout|:4"},
	} {
		if got := strings.Join(complete(tc.words...), "|"); got != tc.want {
			t.Errorf("kubectl wi %s<TAB>: %q, want %q", strings.Join(tc.words, " "), got, tc.want)
		}
	}
	// Stand-alone, the script `completion bash` prints completes the binary that exists.
	r := e.wi(t, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "complete -o default -F __start_kubectl-wi kubectl-wi") || strings.Contains(r.stdout, "__start_wi wi") {
		t.Errorf("completion bash: exit %d, the script does not register kubectl-wi alone", r.code)
	}
}

package plugin

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// complete runs cobra's __complete protocol, as kubectl_complete-wi does, against client.
func complete(t *testing.T, client kubernetes.Interface, args ...string) []string {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	d := defaultDeps()
	d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := run(context.Background(), streams, append([]string{"__complete"}, args...), d); code != 0 {
		t.Fatalf("__complete %v: exit %d", args, code)
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

func TestCompletion(t *testing.T) {
	client := fake.NewClientset(kt.ServiceAccount("shop", "app", nil), kt.ServiceAccount("shop", "apples", nil), kt.ServiceAccount("shop", "db", nil),
		kt.ServiceAccount("other", "elsewhere", nil), kt.Deployment("shop", "web", "app"), kt.Deployment("shop", "worker", "app"), kt.StatefulSet("shop", "db", "db"))
	tests := []struct {
		args []string
		want string // the lines, the directive last
	}{
		{[]string{""}, "completion\tGenerate the autocompletion script for the specified shell|disable\t"},
		{[]string{"enable", "-n", "shop", "ap"}, "app|apples|:4"},
		{[]string{"enable", "-n", "shop", ""}, "app|apples|db|serviceaccount/|deployment/|statefulset/|daemonset/|storagecluster/|deploymentruntimeconfig/|:6"},
		{[]string{"enable", "-n", "shop", "de"}, "deployment/|deploymentruntimeconfig/|:6"},
		{[]string{"enable", "-n", "shop", "deploy/w"}, "deploy/web|deploy/worker|:4"},
		{[]string{"disable", "-n", "shop", "sts/"}, "sts/db|:4"},
		{[]string{"verify", "-n", "shop", ""}, "app|apples|db|serviceaccount/|deployment/|statefulset/|daemonset/|:6"},
		{[]string{"verify", "-n", "shop", "app", ""}, ":4"}, // one TARGET only
		{[]string{"trust-policy", "-n", "shop", "d"}, "db|:4"},
		{[]string{"enable", "--restart", ""}, "auto|always|never|:4"},
		{[]string{"enable", "--dry-run="}, "none|client|server|:4"},
		{[]string{"status", "-o", ""}, "wide|json|yaml|jsonpath=|:4"},
		{[]string{"migrate", "-o", ""}, "text|json|tui|:4"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := complete(t, client, tt.args...)
			// Help descriptions follow a tab: compare whole lines, cut after the first two for
			// the subcommand listing.
			joined := strings.Join(got, "|")
			if tt.args[0] == "" {
				if !strings.HasPrefix(joined, tt.want) {
					t.Fatalf("got %q, want a prefix %q", joined, tt.want)
				}
				if strings.Contains(joined, "__complete") {
					t.Fatalf("hidden command offered: %q", joined)
				}
				return
			}
			if joined != tt.want {
				t.Fatalf("got  %q\nwant %q", joined, tt.want)
			}
		})
	}
}

func TestCompletionScriptRegistersTheBinary(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Main(context.Background(), streams, []string{"completion", "bash"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	script := out.String()
	if !strings.Contains(script, "__start_kubectl-wi kubectl-wi") {
		t.Fatalf("the bash script does not complete kubectl-wi:\n%s", script[len(script)-600:])
	}
	streams, _, help, _ := genericiooptions.NewTestIOStreams()
	if code := Main(context.Background(), streams, []string{"completion", "--help"}); code != 0 || !strings.Contains(help.String(), "kubectl_complete-wi") {
		t.Fatalf("completion --help does not say how kubectl wi <TAB> completes:\n%s", help.String())
	}
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "complete ") && strings.HasSuffix(line, " wi") {
			t.Fatalf("the script registers a command named wi, which does not exist: %q", line)
		}
	}
}

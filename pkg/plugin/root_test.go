package plugin

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int
		wantErrOut string
	}{
		{name: "version", args: []string{"version"}, want: ExitOK},
		{name: "help", args: []string{"--help"}, want: ExitOK},
		{name: "unknown command", args: []string{"nosuch"}, want: ExitUsage, wantErrOut: `unknown command "nosuch"`},
		{name: "unknown flag", args: []string{"version", "--nosuch"}, want: ExitUsage, wantErrOut: "unknown flag: --nosuch"},
		{name: "extra argument", args: []string{"version", "extra"}, want: ExitUsage, wantErrOut: "See 'kubectl wi version --help'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, _, errOut := genericiooptions.NewTestIOStreams()
			if got := Main(context.Background(), streams, tt.args); got != tt.want {
				t.Fatalf("Main(%v) = %d, want %d; stderr: %s", tt.args, got, tt.want, errOut)
			}
			if !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Fatalf("stderr %q does not contain %q", errOut, tt.wantErrOut)
			}
		})
	}
}

func TestMainInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	// A cancelled context means SIGINT or SIGTERM arrived: whatever failed, the code is 130.
	if got := Main(ctx, streams, []string{"status", "--kubeconfig", "/nonexistent"}); got != ExitInterrupted {
		t.Fatalf("Main with a cancelled context = %d, want %d", got, ExitInterrupted)
	}
}

func TestConventions(t *testing.T) {
	sa := func() *fake.Clientset { return fake.NewClientset(kt.ServiceAccount("shop", "app", nil)) }
	t.Run("a bad --request-timeout is a usage error", func(t *testing.T) {
		for _, args := range [][]string{
			{"status", "--request-timeout=abc"},
			{"enable", "app", "-n", "shop", "--role-arn", roleARN, "--request-timeout", "-1s"},
			{"verify", "app", "--request-timeout=5x"},
		} {
			r := runWI(t, sa(), args...)
			wantCode(t, r, ExitUsage)
			if !strings.Contains(r.errOut, "--request-timeout") || r.calls().Writes() != 0 {
				t.Fatalf("%v: stderr %q", args, r.errOut)
			}
		}
		r := runWI(t, sa(), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--request-timeout=30", "--restart=never")
		wantCode(t, r, ExitOK)
	})
	t.Run("bare --dry-run is client, as in kubectl", func(t *testing.T) {
		r := runWI(t, sa(), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--dry-run", "--restart=never")
		wantCode(t, r, ExitOK)
		if r.calls().Writes() != 0 || r.out != "serviceaccount/app annotated (role-arn="+roleARN+") (dry run)\n" ||
			!strings.Contains(r.errOut, "--dry-run is deprecated and can be replaced with --dry-run=client") {
			t.Fatalf("calls %v, stdout %q, stderr %q", r.calls(), r.out, r.errOut)
		}
	})
	t.Run("one wording for a bad -o", func(t *testing.T) {
		for _, args := range [][]string{
			{"enable", "app", "--role-arn", roleARN, "-o", "table"},
			{"disable", "app", "-o", "table"},
			{"status", "-o", "table"},
			{"trust-policy", "app", "-o", "table"},
			{"verify", "app", "-o", "table"},
			{"version", "-o", "table"},
		} {
			r := runWI(t, sa(), args...)
			wantCode(t, r, ExitUsage)
			if !strings.HasPrefix(r.errOut, `error: --output "table" is not supported: allowed formats are `) {
				t.Errorf("%v: stderr %q", args, r.errOut)
			}
		}
	})
	t.Run("one wording for the same input in every command", func(t *testing.T) {
		for want, runs := range map[string][][]string{
			`--audience " aud" has leading or trailing spaces`: {
				{"enable", "app", "--role-arn", roleARN, "--audience", " aud"}, {"verify", "app", "--audience", " aud"}, {"trust-policy", "app", "--audience", " aud"},
			},
			`--audience is empty`:                 {{"enable", "app", "--role-arn", roleARN, "--audience="}, {"verify", "app", "--audience="}},
			`--timeout must be positive, not -1s`: {{"enable", "app", "--role-arn", roleARN, "--wait", "--timeout=-1s"}, {"verify", "app", "--timeout=-1s"}},
			`invalid --role-arn: role ARN "arn:aws:iam::1:role/x" has account "1": expected 12 digits`: {
				{"enable", "app", "--role-arn", "arn:aws:iam::1:role/x"}, {"verify", "app", "--role-arn", "arn:aws:iam::1:role/x"},
			},
			`TARGET is KIND/NAME or NAME, not KIND NAME: write deployment/web`: {
				{"enable", "deployment", "web", "--role-arn", roleARN}, {"disable", "deployment", "web"}, {"verify", "deployment", "web"}, {"trust-policy", "deployment", "web"},
			},
		} {
			for _, args := range runs {
				r := runWI(t, sa(), args...)
				wantCode(t, r, ExitUsage)
				if !strings.Contains(r.errOut, want) {
					t.Errorf("%v: stderr %q, want %q", args, r.errOut, want)
				}
			}
		}
	})
	t.Run("help lists exit code 1 only where a check can fail", func(t *testing.T) {
		for cmd, lists := range map[string]bool{"": true, "verify": true, "enable": false, "disable": false, "status": false, "trust-policy": false, "version": false} {
			r := runWI(t, sa(), strings.Fields(cmd+" --help")...)
			if got := strings.Contains(r.out, "  1    a verification check failed"); got != lists {
				t.Errorf("kubectl wi %s --help lists exit code 1: %t, want %t", cmd, got, lists)
			}
		}
	})
}

// Ctrl-C while a LIST is read in pages: the error is client-go's, the request's URL with its
// continue token; the user sees the project's own line, exit 130.
func TestMainInterruptedMidListPrintsNoURL(t *testing.T) {
	const pageURL = "https://127.0.0.1:6443/api/v1/namespaces/team/pods?continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ&limit=500"
	// signal.NotifyContext's cause: client-go's error then holds it, not context.Canceled.
	signalCause := errors.New("interrupt signal received")
	tests := []struct {
		name  string
		args  []string
		cause error
	}{
		{name: "status", args: []string{"status", "-n", "team"}, cause: context.Canceled},
		{name: "status, the signal's cause", args: []string{"status", "-n", "team"}, cause: signalCause},
		{name: "fleet verify", args: []string{"verify", "-n", "team", "-o", "text"}, cause: context.Canceled},
		{name: "fleet verify json, the signal's cause", args: []string{"verify", "-n", "team", "-o", "json"}, cause: signalCause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := fake.NewClientset(kt.Namespace("team"))
			client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				cancel() // SIGINT arrives while the pods are read
				return true, nil, &url.Error{Op: "Get", URL: pageURL, Err: tt.cause}
			})
			d := defaultDeps()
			d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			got := run(ctx, streams, tt.args, d)
			if got != ExitInterrupted {
				t.Errorf("exit %d, want %d", got, ExitInterrupted)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
				if !strings.HasPrefix(l, "note: kubectl-wi dev is a development build") {
					lines = append(lines, l)
				}
			}
			if want := `error: interrupted during the list of pods in namespace "team"`; len(lines) != 1 || lines[0] != want {
				t.Errorf("stderr %q, want only %q", errOut, want)
			}
			if strings.Contains(out.String()+errOut.String(), "continue=") {
				t.Errorf("the output names the request's URL:\n%s%s", out, errOut)
			}
		})
	}
}

package plugin

import (
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
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

package plugin

import (
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
)

func TestMonitorRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"interval of zero", []string{"--interval", "0s"}, "--interval must be positive"},
		{"jitter of one", []string{"--jitter", "1"}, "--jitter must be at least 0 and below 1"},
		{"no probe pod at once", []string{"--parallel", "0"}, "--parallel must be at least 1"},
		{"negative budget", []string{"--budget", "-1"}, "--budget must be 0"},
		{"bad pull policy", []string{"--image-pull-policy", "Sometimes"}, "--image-pull-policy must be one of"},
		{"metrics address without a port", []string{"--metrics-addr", "localhost"}, "--metrics-addr"},
		{"a CA bundle that is no file", []string{"--ca-bundle", "/nonexistent/ca.pem"}, "--ca-bundle: cannot read"},
		{"an argument", []string{"extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, _, errOut := genericiooptions.NewTestIOStreams()
			d := defaultDeps()
			d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
				t.Fatal("the client was built for bad flags")
				return nil, nil
			}
			code := run(context.Background(), streams, append([]string{"monitor", "run"}, tt.args...), d)
			if code != ExitUsage || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d naming %q", code, errOut.String(), ExitUsage, tt.wantErr)
			}
		})
	}
}

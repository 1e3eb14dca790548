//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterUpRefusesABadEnvironment runs a second cluster-up beside the running cluster:
// its ports are taken, and it must stop at once with a message naming the port, not hang. A
// package that cannot be installed must stop it the same way, naming the package.
func TestClusterUpRefusesABadEnvironment(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	hack, err := filepath.Abs(filepath.Join("..", "..", "hack"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{name: "port in use", want: "port 6443 is in use"},
		{name: "package cannot be installed", env: []string{"WI_PACKAGES=kubectl-wi-no-such-package"}, want: "apt-get install kubectl-wi-no-such-package failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(hack, "cluster-up.sh"))
			// another state dir: the running cluster's must not be touched
			cmd.Env = append(os.Environ(), append(tt.env, "WI_STATE="+t.TempDir())...)
			res := e.run(t, cmd)
			if ctx.Err() != nil {
				t.Fatalf("cluster-up did not stop on a bad environment within 3 minutes")
			}
			if res.code == 0 || !strings.Contains(res.stderr, tt.want) {
				t.Fatalf("cluster-up exit %d, stderr:\n%s\nwant a failure naming %q", res.code, res.stderr, tt.want)
			}
		})
	}
}

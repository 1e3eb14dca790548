//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// installCRDs applies the CRDs of path (a file or a directory, from the repository's root),
// waits until they are Established and the apiserver serves each of served (discovery names
// it, as the plugin finds it, and a LIST of it answers), and deletes them when the test ends,
// and with them every object of theirs. A test that calls it runs alone (not t.Parallel):
// the CRDs are the cluster's.
func (e env) installCRDs(t *testing.T, path string, served ...schema.GroupVersionResource) {
	t.Helper()
	file := filepath.Join("..", "..", path)
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(e.k8s, "kubectl"), "delete", "-f", file, "--ignore-not-found", "--timeout=120s")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("deleting the CRDs of %s: %v\n%s", path, err, out)
		}
	})
	e.tgKubectl(t, "apply", "-f", file)
	e.tgKubectl(t, "wait", "--for=condition=Established", "--timeout=60s", "-f", file)
	dyn, disc := e.tgClients(t)
	waitFor(t, 60*time.Second, "the CRDs of "+path+" served", func(ctx context.Context) (bool, error) {
		for _, gvr := range served {
			if !tgServed(disc, gvr) {
				return false, nil
			}
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
}

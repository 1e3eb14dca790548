//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

// TestMonitorPrometheusRules: monitor install --prometheus-rules on a cluster without the
// prometheus-operator prints the alert rules as a rules file that promtool accepts, and says
// so; with the operator's PrometheusRule CRD installed, a rerun writes a PrometheusRule whose
// groups promtool accepts, and uninstall removes it with the rest. It installs a CRD, so it
// runs alone (not t.Parallel).
func TestMonitorPrometheusRules(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	promtool := requireCommand(t, "promtool")
	ns := e.namespace(t, c, nil)
	monNS := "wi-monitor-rules-" + randSuffix()
	install := []string{"monitor", "install", "-n", monNS, "--namespaces", ns, "--prometheus-rules"}
	t.Cleanup(func() {
		if _, err := c.CoreV1().Namespaces().Get(context.Background(), monNS, metav1.GetOptions{}); err == nil {
			e.wi(t, "monitor", "uninstall", "-n", monNS)
		}
	})
	checkRules := func(t *testing.T, what string, rules []byte) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(file, rules, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules on %s: %v\n%s\n%s", what, err, out, rules)
		}
		for _, alert := range []string{"KubectlWIIdentityBroken", "KubectlWIWebhookDown", "KubectlWIPodIdentityAgentNotReady", "KubectlWIStalePods", "KubectlWIMonitorDown"} {
			if !strings.Contains(string(rules), "alert: "+alert) {
				t.Errorf("%s has no alert %s:\n%s", what, alert, rules)
			}
		}
	}

	t.Run("without the CRD the rules are printed as a rules file", func(t *testing.T) {
		r := e.wi(t, install...)
		if r.code != 0 || !strings.Contains(r.stderr, "No PrometheusRule CRD (monitoring.coreos.com/v1) in this cluster") {
			t.Fatalf("monitor install --prometheus-rules: exit %d, want 0 and a line saying the CRD is missing\n%s%s", r.code, r.stdout, r.stderr)
		}
		checkRules(t, "the printed rules file", []byte(r.stdout))
	})

	dyn, _ := e.tgClients(t)
	rules := dyn.Resource(monitorinstall.PrometheusRuleGVR).Namespace(monNS)
	e.installCRDs(t, "testdata/prometheus/prometheusrules.monitoring.coreos.com.yaml", monitorinstall.PrometheusRuleGVR)

	t.Run("with the CRD a PrometheusRule is written", func(t *testing.T) {
		r := e.wi(t, install...)
		if r.code != 0 || strings.Contains(r.stderr, "No PrometheusRule CRD") {
			t.Fatalf("monitor install --prometheus-rules with the CRD: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		got, err := rules.Get(context.Background(), monitorinstall.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the PrometheusRule %s/%s: %v\n%s%s", monNS, monitorinstall.Name, err, r.stdout, r.stderr)
		}
		// A rules file is the PrometheusRule's spec: {groups: [...]}.
		spec, err := yaml.Marshal(got.Object["spec"])
		if err != nil {
			t.Fatal(err)
		}
		checkRules(t, "the PrometheusRule's spec", spec)
	})

	t.Run("uninstall removes the PrometheusRule", func(t *testing.T) {
		if r := e.wi(t, "monitor", "uninstall", "-n", monNS); r.code != 0 {
			t.Fatalf("monitor uninstall: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := rules.Get(context.Background(), monitorinstall.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the PrometheusRule after uninstall: %v, want not found", err)
		}
	})
}

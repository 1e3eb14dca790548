package monitorinstall

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// promtool is the promtool of $PROMTOOL (make promtool-check sets it to Debian's); the test is
// skipped, saying so, without it.
func promtool(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMTOOL")
	if p == "" {
		t.Skip("PROMTOOL is not set: make promtool-check runs this test with Debian's promtool")
	}
	return p
}

// The rules file passes `promtool check rules` (syntax, PromQL, templates), and so does the
// PrometheusRule's spec, which is the same document.
func TestPromtoolCheckRules(t *testing.T) {
	bin := promtool(t)
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "a cluster name and a long stale-for", change: func(c *Config) {
			c.ClusterName = "prod-eu"
			c.StaleFor = 90 * time.Minute
			c.Namespace = "monitoring"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			rules, err := c.RulesYAML()
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(f, rules, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "check", "rules", f).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, rules)
			}
			if !strings.Contains(string(out), "SUCCESS: 5 rules found") {
				t.Errorf("promtool check rules said:\n%s", out)
			}
		})
	}
}

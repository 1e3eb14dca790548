package monitor

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A scrape of every series the monitor exports, each with a value, passes `promtool check
// metrics` (names, help, units, counters' _total). make promtool-check sets $PROMTOOL to
// Debian's promtool; without it the test is skipped, saying so.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin := os.Getenv("PROMTOOL")
	if bin == "" {
		t.Skip("PROMTOOL is not set: make promtool-check runs this test with Debian's promtool")
	}
	tests := []struct {
		name    string
		cluster string
	}{
		{name: "one cluster"},
		{name: "with --cluster-name", cluster: "prod-eu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := newMetrics(reg, tt.cluster)
			m.verified.WithLabelValues("shop", "cart", "irsa").Set(1)
			m.verified.WithLabelValues("shop", "orders", "pod-identity").Set(0)
			m.checkFailed.WithLabelValues("shop", "orders", "sts.assume").Set(1)
			m.lastVerified.WithLabelValues("shop", "cart").SetToCurrentTime()
			m.duration.WithLabelValues("irsa").Observe(3.2)
			m.stalePods.WithLabelValues("shop", "cart").Set(2)
			m.webhookUp.WithLabelValues().Set(1)
			m.agentReady.WithLabelValues().Set(0)
			m.probePods.Set(1)
			m.runs.Inc()
			m.errors.WithLabelValues(ErrorProof).Inc()
			m.awsReads.Set(0)
			m.leader.Set(1)
			srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			scrape, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{MetricIdentityVerified, MetricCheckFailed, MetricLastVerified, MetricVerifyDuration + "_bucket",
				MetricStalePods, MetricWebhookUp, MetricAgentReady, MetricProbePodsRunning, MetricRuns, MetricErrors, MetricAWSReadsEnabled, MetricLeader} {
				if !bytes.Contains(scrape, []byte("\n"+name+"{")) && !bytes.Contains(scrape, []byte("\n"+name+" ")) {
					t.Errorf("the scrape lacks %s", name)
				}
			}
			cmd := exec.Command(bin, "check", "metrics")
			cmd.Stdin = bytes.NewReader(scrape)
			if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, scrape)
			}
		})
	}
}

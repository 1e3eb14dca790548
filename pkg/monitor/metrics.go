package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names: the README's monitoring section and the alert rules use them.
const (
	MetricIdentityVerified = "kubectl_wi_identity_verified"
	MetricCheckFailed      = "kubectl_wi_identity_check_failed"
	MetricLastVerified     = "kubectl_wi_identity_last_verified_timestamp_seconds"
	MetricVerifyDuration   = "kubectl_wi_verify_duration_seconds"
	MetricStalePods        = "kubectl_wi_identity_stale_pods"
	MetricWebhookUp        = "kubectl_wi_webhook_up"
	MetricAgentReady       = "kubectl_wi_pod_identity_agent_ready"
	MetricProbePodsRunning = "kubectl_wi_probe_pods_running"
	MetricRuns             = "kubectl_wi_monitor_runs_total"
	MetricErrors           = "kubectl_wi_monitor_errors_total"
	MetricAWSReadsEnabled  = "kubectl_wi_aws_reads_enabled"
	MetricLeader           = "kubectl_wi_monitor_leader"
)

// Reasons of MetricErrors.
const (
	ErrorProof        = "proof"         // a proof stopped before its verdict
	ErrorStatus       = "status"        // the status object could not be written
	ErrorEvent        = "event"         // an Event could not be written
	ErrorWebhookCheck = "webhook_check" // the webhook's admission could not be asked
	ErrorAssociations = "associations"  // the Pod Identity associations could not be read
	ErrorSweep        = "sweep"         // leftover probe pods could not be deleted
	ErrorExplain      = "explain"       // explain's IAM checks of an account could not run (the monitor's AWS reads)
)

// metrics are the monitor's series. Their labels name accounts and checks, never pods, so
// there are as many series as accounts times their failing checks.
type metrics struct {
	verified     *prometheus.GaugeVec
	checkFailed  *prometheus.GaugeVec
	lastVerified *prometheus.GaugeVec
	duration     *prometheus.HistogramVec
	stalePods    *prometheus.GaugeVec
	webhookUp    *prometheus.GaugeVec // no labels: absent on a replica that does not lead
	agentReady   *prometheus.GaugeVec // no labels: Reset makes the series absent
	probePods    prometheus.Gauge
	runs         prometheus.Counter
	errors       *prometheus.CounterVec
	awsReads     prometheus.Gauge
	leader       prometheus.Gauge
}

// newMetrics registers the series on reg; with cluster set every one has cluster="<cluster>".
func newMetrics(reg prometheus.Registerer, cluster string) *metrics {
	var constLabels prometheus.Labels
	if cluster != "" {
		constLabels = prometheus.Labels{"cluster": cluster}
	}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Name: name, Help: help, ConstLabels: constLabels}
	}
	account := []string{"namespace", "service_account"}
	m := &metrics{
		verified: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricIdentityVerified,
			"1 when the last proof of the service account's identity passed, 0 when it failed")),
			append(account, "identity_type")),
		checkFailed: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricCheckFailed,
			"1 while the check fails in the service account's proofs; absent once it passes")),
			append(account, "check")),
		lastVerified: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricLastVerified,
			"Unix time the service account's last proof ended")), account),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricVerifyDuration, Help: "How long one account's proof took, probe pod included",
			ConstLabels: constLabels,
			// A probe pod's proof takes seconds (pod start, image pull); a stuck one runs to
			// verify's timeout (2m).
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 180},
		}, []string{"identity_type"}),
		stalePods: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricStalePods,
			"Running pods of the service account that need a restart to get its identity")), account),
		webhookUp: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricWebhookUp,
			"1 when a pod mutating webhook is registered and a dry-run admission of a new pod of an identity account (IRSA or Pod Identity) comes back mutated")), nil),
		agentReady: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(MetricAgentReady,
			"1 when the eks-pod-identity-agent DaemonSet has every desired pod ready; absent when no account uses Pod Identity and there is no agent")), nil),
		probePods: prometheus.NewGauge(prometheus.GaugeOpts(opts(MetricProbePodsRunning,
			"Probe pods of this monitor that exist now"))),
		runs: prometheus.NewCounter(prometheus.CounterOpts(opts(MetricRuns,
			"Proof rounds the monitor completed"))),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts(opts(MetricErrors,
			"Failures of the monitor itself, by reason (not failed proofs)")), []string{"reason"}),
		awsReads: prometheus.NewGauge(prometheus.GaugeOpts(opts(MetricAWSReadsEnabled,
			"1 when the monitor has AWS credentials of its own and runs explain's IAM checks"))),
		leader: prometheus.NewGauge(prometheus.GaugeOpts(opts(MetricLeader,
			"1 on the replica that holds the lease and proves"))),
	}
	reg.MustRegister(m.verified, m.checkFailed, m.lastVerified, m.duration, m.stalePods, m.webhookUp,
		m.agentReady, m.probePods, m.runs, m.errors, m.awsReads, m.leader)
	for _, r := range []string{ErrorProof, ErrorStatus, ErrorEvent, ErrorWebhookCheck, ErrorAssociations, ErrorSweep, ErrorExplain} {
		m.errors.WithLabelValues(r) // every reason shows 0 before its first error
	}
	return m
}

// forget deletes every series of an account that no longer has an identity.
func (m *metrics) forget(a Account) {
	l := prometheus.Labels{"namespace": a.Namespace, "service_account": a.Name}
	m.verified.DeletePartialMatch(l)
	m.checkFailed.DeletePartialMatch(l)
	m.lastVerified.DeletePartialMatch(l)
	m.stalePods.DeletePartialMatch(l)
}

// clearAccounts deletes the series of every account and of the cluster's components, when
// this replica stops leading: another one reports them now.
func (m *metrics) clearAccounts() {
	m.verified.Reset()
	m.checkFailed.Reset()
	m.lastVerified.Reset()
	m.stalePods.Reset()
	m.agentReady.Reset()
	m.webhookUp.Reset()
	m.probePods.Set(0)
}

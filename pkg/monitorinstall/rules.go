package monitorinstall

import (
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

// PrometheusRuleGVR is the prometheus-operator's PrometheusRule (monitoring.coreos.com/v1),
// written only when its CRD is served.
var PrometheusRuleGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// RulesFile is a Prometheus rules file (the format `promtool check rules` reads, and the
// PrometheusRule's spec).
type RulesFile struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is one group of a rules file.
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rules are the monitor's alerts over its metrics (the README's table).
func (c Config) Rules() RulesFile {
	// absent() needs the cluster named to say which monitor is missing; the other rules keep
	// whatever labels their series carry, cluster included.
	selector := ""
	if c.ClusterName != "" {
		selector = "{cluster=" + strconv.Quote(c.ClusterName) + "}"
	}
	where := "{{ $labels.namespace }}/{{ $labels.service_account }}"
	return RulesFile{Groups: []RuleGroup{{
		Name: Name,
		Rules: []Rule{
			{
				Alert:  "KubectlWIIdentityBroken",
				Expr:   monitor.MetricIdentityVerified + " == 0",
				For:    "2m",
				Labels: map[string]string{"severity": "critical"},
				Annotations: map[string]string{
					"summary":     "Workload identity of " + where + " does not work",
					"description": "The monitor's probe pod could not get AWS credentials as " + where + " (" + "{{ $labels.identity_type }}" + "). The failed check and its fix: kubectl wi monitor status, or the Warning Event on the service account.",
				},
			},
			{
				Alert:  "KubectlWIWebhookDown",
				Expr:   monitor.MetricWebhookUp + " == 0",
				For:    "2m",
				Labels: map[string]string{"severity": "critical"},
				Annotations: map[string]string{
					"summary":     "The pod identity webhook is down",
					"description": "Pods created now are admitted without their AWS identity (the webhook's failure policy is Ignore) and need a restart once it is back.",
				},
			},
			{
				Alert:  "KubectlWIPodIdentityAgentNotReady",
				Expr:   monitor.MetricAgentReady + " == 0",
				For:    "5m",
				Labels: map[string]string{"severity": "critical"},
				Annotations: map[string]string{
					"summary":     "The EKS Pod Identity agent is not ready on every node",
					"description": "Pods of accounts on EKS Pod Identity get no credentials on nodes without a ready agent (DaemonSet kube-system/eks-pod-identity-agent).",
				},
			},
			{
				Alert:  "KubectlWIStalePods",
				Expr:   monitor.MetricStalePods + " > 0",
				For:    promDuration(c.StaleFor),
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "{{ $value }} pods of " + where + " run without the identity their service account asks",
					"description": "They were created before the identity was set or while the webhook was down; restart their workloads (kubectl wi status -n {{ $labels.namespace }} names them).",
				},
			},
			{
				Alert:  "KubectlWIMonitorDown",
				Expr:   "absent(" + monitor.MetricRuns + selector + ")",
				For:    "5m",
				Labels: map[string]string{"severity": "warning"},
				Annotations: map[string]string{
					"summary":     "The kubectl-wi monitor is not running or not scraped",
					"description": "No identity is proven while it is down: kubectl -n " + c.Namespace + " get deployment " + Name + ".",
				},
			},
		},
	}}}
}

// RulesYAML is Rules as a rules file.
func (c Config) RulesYAML() ([]byte, error) { return yaml.Marshal(c.Rules()) }

// PrometheusRule is Rules as the prometheus-operator's object.
func (c Config) PrometheusRule() (*unstructured.Unstructured, error) {
	spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ptr.To(c.Rules()))
	if err != nil {
		return nil, fmt.Errorf("failed to convert the alert rules: %w", err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(PrometheusRuleGVR.GroupVersion().String())
	u.SetKind("PrometheusRule")
	u.SetName(Name)
	u.SetNamespace(c.Namespace)
	u.SetLabels(labels())
	return u, nil
}

// promDuration writes d as Prometheus writes durations ("30m", "1h30m"), whole seconds.
func promDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d == 0 {
		return "0s"
	}
	out := ""
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			out += strconv.FormatInt(int64(n), 10) + u.unit
			d -= n * u.d
		}
	}
	return out
}

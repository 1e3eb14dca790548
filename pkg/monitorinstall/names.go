package monitorinstall

import (
	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

// The monitor's fixed names.
const (
	// Name names the monitor's ServiceAccount, Deployment, Service, RBAC objects, Lease and
	// PrometheusRule.
	Name = monitor.Name
	// DefaultNamespace is where the monitor runs unless --namespace says otherwise.
	DefaultNamespace = monitor.DefaultNamespace
	// LabelName and LabelValue mark every object install writes, so uninstall finds them all.
	LabelName  = monitor.NameLabel
	LabelValue = Name
	// FieldManager owns the fields install writes (server-side apply).
	FieldManager = "kubectl-wi"
	// StatusConfigMap is the status object the monitor writes and `monitor status` reads.
	StatusConfigMap = monitor.DefaultStatusConfigMap
	// CAConfigMap holds --ca-bundle for the monitor's pod; caMountDir is where it is mounted.
	CAConfigMap = "kubectl-wi-monitor-ca"
	caMountDir  = "/etc/kubectl-wi/ca"
	caFile      = "ca-bundle.pem"
	// MetricsPort serves /metrics and /healthz; MetricsPortName names it on the pod and Service.
	MetricsPort     = 8080
	MetricsPortName = "metrics"
	// ContainerName is the monitor's only container.
	ContainerName = "monitor"
	// monitorUser is the plugin image's own nonroot user (hack/cmd/mkimage's default).
	monitorUser int64 = 65532
)

// labels are the labels of every object install writes.
func labels() map[string]string { return map[string]string{LabelName: LabelValue} }

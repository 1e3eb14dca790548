package plugin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

// newCmdMonitor is the `monitor` group: install, uninstall and status here, run (the monitor
// itself, in the cluster) in monitor_run.go.
func newCmdMonitor(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Prove every identity continuously from inside the cluster, with metrics, alerts and events",
		Long: `Run kubectl-wi in the cluster as a Deployment that proves every identity-bearing service
account on a schedule and soon after a change that can break it, with the same probe pod as
verify. It exports Prometheus metrics per account (never per pod), records a Warning Event on a
service account whose proof fails and a Normal one when it recovers, and keeps its last results
for monitor status.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newCmdMonitorInstall(newMonitorInstallOptions(cf, streams, d)),
		newCmdMonitorUninstall(newMonitorUninstallOptions(cf, streams, d)),
		newCmdMonitorStatus(newMonitorStatusOptions(cf, streams, d)),
		newCmdMonitorRules(streams),
		newCmdMonitorRun(cf, streams, d),
	)
	return cmd
}

const monitorInstallExample = `  # Install the monitor in kubectl-wi-system, watching the whole cluster
  kubectl wi monitor install

  # Print the manifests for a GitOps repository; nothing is written
  kubectl wi monitor install --dry-run=client -o yaml > kubectl-wi-monitor.yaml

  # Watch two namespaces only, prove every 5 minutes, with alert rules and a cluster label
  kubectl wi monitor install --namespaces shop,billing --interval 5m --prometheus-rules --cluster-name prod-eu

  # Give the monitor AWS read access of its own (IRSA), so it also runs explain's checks
  kubectl wi monitor install --aws-role-arn arn:aws:iam::111122223333:role/kubectl-wi-monitor

  # ... reaching AWS through a private endpoint whose certificate a private CA signs
  kubectl wi monitor install --aws-role-arn arn:aws:iam::111122223333:role/kubectl-wi-monitor --aws-endpoint-url sts=https://sts.internal.example,iam=https://iam.internal.example --ca-bundle ca.pem

  # ... and also read the EKS cluster's Pod Identity associations
  kubectl wi monitor install --aws-role-arn arn:aws:iam::111122223333:role/kubectl-wi-monitor --eks-cluster prod --region eu-west-1`

// MonitorInstallOptions holds everything `kubectl wi monitor install` needs.
type MonitorInstallOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Config monitorinstall.Config
	stsFlags
	PrometheusRules bool
	DryRun          string // the flag; dryRun is what Complete read from it
	dryRun          dryRun
	Output          string

	deps deps
}

func newMonitorInstallOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *MonitorInstallOptions {
	return &MonitorInstallOptions{
		configFlags: cf,
		IOStreams:   streams,
		Config: monitorinstall.Config{
			Image: MonitorImage(), Replicas: 1, Interval: monitor.DefaultInterval, Parallel: monitor.DefaultParallel, StaleFor: 30 * time.Minute,
		},
		deps: d,
	}
}

// monitorClients builds the monitor commands' clients from d: the PrometheusRule needs
// discovery and a dynamic client beside the typed one.
func monitorClients(cf *genericclioptions.ConfigFlags, d deps) (monitorinstall.Deps, error) {
	client, err := d.newClient(cf)
	if err != nil {
		return monitorinstall.Deps{}, err
	}
	custom, err := d.newCustom(cf)
	if err != nil {
		return monitorinstall.Deps{}, err
	}
	return monitorinstall.Deps{Client: client, Dynamic: custom.Dynamic, Discovery: custom.Discovery}, nil
}

func newCmdMonitorInstall(o *MonitorInstallOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the monitor: a Deployment running kubectl-wi monitor run, its RBAC and Service",
		Long: `Install the monitor with server-side apply (field manager kubectl-wi): a namespace
(kubectl-wi-system, or -n), a ServiceAccount, least-privilege RBAC (a ClusterRole, or with
--namespaces a Role in each namespace), a Deployment running kubectl-wi monitor run from the
plugin's own image, and a Service for /metrics. A rerun changes nothing; fields other writers
own are left as they are. With --prometheus-rules, the alert rules are written as a
PrometheusRule when the prometheus-operator's CRD is installed; otherwise they are printed
on stdout as a rules file, alone (what install wrote is then said on stderr), so that
"> rules.yaml" keeps it.

` + exitCodesNoChecksHelp,
		Example: monitorInstallExample,
		Args:    cobra.NoArgs,
		RunE:    completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	c := &o.Config
	f.StringVar(&c.Image, "image", c.Image, "Plugin image the monitor runs")
	f.Int32Var(&c.Replicas, "replicas", c.Replicas, "Replicas of the monitor; one leader proves, the others wait")
	f.DurationVar(&c.Interval, "interval", c.Interval, "How often each identity is proven (jittered)")
	f.IntVar(&c.Parallel, "parallel", c.Parallel, "Probe pods at once, at most")
	f.IntVar(&c.Budget, "budget", c.Budget, "Proofs per interval, at most (0: every account)")
	f.StringSliceVar(&c.Namespaces, "namespaces", nil, "Watch only these namespaces, with a Role in each instead of a ClusterRole (default: the whole cluster)")
	f.StringVar(&c.ClusterName, "cluster-name", "", `Add cluster="NAME" to every series, for one Prometheus over many clusters`)
	f.StringVar(&c.AWSRoleARN, "aws-role-arn", "", "IAM role of the monitor itself (IRSA) for explain's AWS reads; deploy/iam/monitor-policy.json is its policy")
	f.StringToStringVar(&c.AWSEndpointURLs, "aws-endpoint-url", nil, "Endpoints of the monitor's own AWS calls, SERVICE=URL for sts (its role's exchange), iam, eks: private endpoints (AWS_ENDPOINT_URL_<SERVICE>); with --ca-bundle they trust only its CAs")
	f.StringVar(&c.EKSCluster, "eks-cluster", "", monitorEKSClusterHelp)
	f.StringVar(&c.Region, "region", "", monitorRegionHelp)
	f.StringVar(&o.STSEndpoint, "sts-endpoint", "", "STS endpoint URL of the probe pods, as verify's --sts-endpoint (default $"+EnvSTSEndpoint+")")
	f.StringVar(&o.CABundle, "ca-bundle", "", "PEM file of CA certificates the probe pods trust beside the public roots, as verify's --ca-bundle (kept in a ConfigMap; default $"+EnvCABundle+")")
	f.BoolVar(&o.PrometheusRules, "prometheus-rules", false, "Also install the alert rules: a PrometheusRule when its CRD is there, else the rules file printed")
	f.DurationVar(&c.StaleFor, "stale-for", c.StaleFor, "How long pods stay stale before KubectlWIStalePods fires")
	f.StringVarP(&o.Output, "output", "o", "", "Output format. One of: yaml|json|name (default: one line per object)")
	completeValues(cmd, "output", "yaml", "json", "name")
	addDryRunFlag(cmd, &o.DryRun, "client prints the manifests and writes nothing, server sends every write with dryRun", dryRunNone, dryRunClient, dryRunServer)
	return cmd
}

// monitorNamespace is -n when given, else the monitor's default namespace (not the
// kubeconfig's: the monitor has a home of its own).
func monitorNamespace(cmd *cobra.Command, cf *genericclioptions.ConfigFlags) string {
	if f := cmd.Flag("namespace"); f != nil && f.Changed && cf.Namespace != nil && *cf.Namespace != "" {
		return *cf.Namespace
	}
	return monitorinstall.DefaultNamespace
}

// Complete reads -n and --dry-run.
func (o *MonitorInstallOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.Config.Namespace = monitorNamespace(cmd, o.configFlags)
	o.dryRun = parseDryRun(o.ErrOut, o.DryRun)
	o.complete(cmd, o.deps.env)
	o.Config.STSEndpoint, o.Config.CABundle = o.STSEndpoint, o.caBundle
	return nil
}

// Validate refuses bad input before anything is written.
func (o *MonitorInstallOptions) Validate() error {
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunClient, dryRunServer); err != nil {
		return err
	}
	if o.Output != "" && o.Output != "yaml" && o.Output != "json" && o.Output != "name" {
		return OutputError(o.Output, "yaml", "json", "name")
	}
	if err := o.validate(); err != nil {
		return err
	}
	if err := o.Config.Validate(); err != nil {
		return &FlagError{Err: err}
	}
	return nil
}

// Run prints the manifests (--dry-run=client) or applies them.
func (o *MonitorInstallOptions) Run(ctx context.Context) error {
	if o.dryRun == dryRunClient {
		manifests, err := o.Config.Manifests(o.PrometheusRules)
		if err != nil {
			return err
		}
		objs := make([]runtime.Object, len(manifests))
		for i, m := range manifests {
			objs[i] = m
		}
		if o.Output != "" {
			return printObjects(o.Out, o.Output, objs)
		}
		for _, m := range manifests {
			fmt.Fprintf(o.Out, "%s created (dry run)\n", monitorinstall.ObjectName(m))
		}
		return nil
	}
	d, err := monitorClients(o.configFlags, o.deps)
	if err != nil {
		return err
	}
	res, err := monitorinstall.Install(ctx, d, o.Config, monitorinstall.Options{DryRunServer: o.dryRun == dryRunServer, PrometheusRules: o.PrometheusRules})
	// With the rules to print, stdout is the rules file alone, so that it can be redirected
	// to one; what install wrote is then said on stderr.
	printRules := err == nil && res.RulesFile != nil
	report := o.Out
	if printRules {
		report = o.ErrOut
		fmt.Fprintln(o.ErrOut, "No PrometheusRule CRD (monitoring.coreos.com/v1) in this cluster: the alert rules are printed on stdout as a rules file, alone; add it to your Prometheus' rule_files.")
	}
	// What was written before an error is still said.
	if o.Output != "" && err == nil {
		objs := make([]runtime.Object, len(res.Applied))
		for i, a := range res.Applied {
			objs[i] = a.Object
		}
		if perr := printObjects(report, o.Output, objs); perr != nil {
			return perr
		}
	} else {
		suffix := ""
		if o.dryRun == dryRunServer {
			suffix = " (server dry run)"
		}
		for _, a := range res.Applied {
			fmt.Fprintf(report, "%s %s%s\n", monitorinstall.ObjectName(a.Object), a.Action, suffix)
		}
	}
	if err != nil || !printRules {
		return err
	}
	_, err = o.Out.Write(res.RulesFile)
	return err
}

// printObjects prints objs as -o asks: names one a line, YAML documents separated by ---,
// or JSON as a v1 List.
func printObjects(w io.Writer, output string, objs []runtime.Object) error {
	switch output {
	case "name":
		p := &printers.NamePrinter{}
		for _, obj := range objs {
			if err := p.PrintObj(obj, w); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		p := &printers.YAMLPrinter{}
		for _, obj := range objs {
			if err := p.PrintObj(obj, w); err != nil {
				return err
			}
		}
		return nil
	}
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, obj := range objs {
		list.Items = append(list.Items, runtime.RawExtension{Object: obj})
	}
	return (&printers.JSONPrinter{}).PrintObj(list, w)
}

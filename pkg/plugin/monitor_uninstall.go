package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

// MonitorUninstallOptions holds everything `kubectl wi monitor uninstall` needs.
type MonitorUninstallOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	DryRun  string // the flag; dryRun is what Complete read from it
	dryRun  dryRun
	Timeout time.Duration

	namespace string
	poll      time.Duration
	deps      deps
}

func newMonitorUninstallOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *MonitorUninstallOptions {
	return &MonitorUninstallOptions{
		configFlags: cf, IOStreams: streams, Timeout: 2 * time.Minute,
		poll: d.rolloutPoll, deps: d,
	}
}

func newCmdMonitorUninstall(o *MonitorUninstallOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the monitor and everything it made, its probe pods included",
		Long: `Remove what monitor install wrote: the Deployment first (its pods are waited for, so no
new probe pod starts), then the monitor's probe pods in every namespace (waited for), its
Service, status ConfigMap, Lease, PrometheusRule, RBAC and ServiceAccount, and the namespace
when install created it. Objects already gone are skipped: a rerun does nothing.

` + exitCodesNoChecksHelp,
		Example: `  # Remove the monitor from kubectl-wi-system
  kubectl wi monitor uninstall

  # What would be removed, checked by the apiserver
  kubectl wi monitor uninstall --dry-run=server`,
		Args: cobra.NoArgs,
		RunE: completeValidateRun(o, nil),
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the monitor's pods, its probe pods and its namespace to be gone")
	addDryRunFlag(cmd, &o.DryRun, "server sends every delete with dryRun and waits for nothing", dryRunNone, dryRunServer)
	return cmd
}

// Complete reads -n and --dry-run.
func (o *MonitorUninstallOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.namespace = monitorNamespace(cmd, o.configFlags)
	o.dryRun = parseDryRun(o.ErrOut, o.DryRun)
	return nil
}

// Validate checks the flags.
func (o *MonitorUninstallOptions) Validate() error {
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunServer); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return FlagErrorf("--timeout %s: must be more than 0", o.Timeout)
	}
	return nil
}

// Run deletes, printing each object as it goes.
func (o *MonitorUninstallOptions) Run(ctx context.Context) error {
	d, err := monitorClients(o.configFlags, o.deps)
	if err != nil {
		return err
	}
	deleted, err := monitorinstall.Uninstall(ctx, d, o.namespace, monitorinstall.UninstallOptions{
		DryRunServer: o.dryRun == dryRunServer, Wait: o.Timeout, Poll: o.poll,
	})
	suffix := ""
	if o.dryRun == dryRunServer {
		suffix = " (server dry run)"
	}
	for _, del := range deleted {
		where := ""
		if del.Namespace != "" {
			where = " -n " + del.Namespace
		}
		fmt.Fprintf(o.Out, "%s%s deleted%s\n", del.Object, where, suffix)
	}
	if err == nil && len(deleted) == 0 {
		fmt.Fprintf(o.ErrOut, "No monitor in namespace %s: nothing to remove.\n", o.namespace)
	}
	return err
}

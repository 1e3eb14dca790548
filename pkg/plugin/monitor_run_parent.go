package plugin

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// newCmdMonitorParent is `kubectl wi monitor` holding only `run`, until the command with
// install, uninstall and status (monitor.go) replaces it.
func newCmdMonitorParent(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Prove the fleet continuously inside the cluster, with Prometheus metrics",
	}
	cmd.AddCommand(newCmdMonitorRun(cf, streams, d))
	return cmd
}

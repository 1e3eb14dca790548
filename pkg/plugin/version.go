package plugin

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// version is stamped at link time: -X github.com/kubectl-wi/kubectl-wi/pkg/plugin.version=v1.2.3
var version = "dev"

// NewCmdVersion prints the plugin's version and the probe image verify runs by default.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-wi",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "kubectl-wi %s (%s, %s/%s)\nprobe image: %s\n", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH, ProbeImage())
			return err
		},
	}
}

package plugin

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// version is stamped at link time: -X github.com/kubectl-wi/kubectl-wi/pkg/plugin.version=v1.2.3
var version = "dev"

// versionInfo is `version -o json|yaml`.
type versionInfo struct {
	Version    string `json:"version"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
	ProbeImage string `json:"probeImage"`
	// PluginImage is the image `monitor install` runs by default.
	PluginImage string `json:"pluginImage"`
}

// NewCmdVersion prints the plugin's version, the probe image verify runs by default and the
// plugin image monitor install runs.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-wi",
		Long:  "Print the version of kubectl-wi, the Go release it was built with, its platform, the probe image verify runs by default, and the plugin image monitor install runs.\n\n" + exitCodesNoChecksHelp,
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo{Version: Version(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, ProbeImage: ProbeImage(), PluginImage: MonitorImage()}
			if err := checkOutput(output, "", "json", "yaml"); err != nil {
				return err
			}
			if output == "" {
				_, err := fmt.Fprintf(streams.Out, "kubectl-wi %s (%s, %s)\nprobe image: %s\nplugin image: %s\n", v.Version, v.GoVersion, v.Platform, v.ProbeImage, v.PluginImage)
				return err
			}
			return printDocument(streams.Out, output, v)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: json|yaml|jsonpath=TEMPLATE (default: one line)")
	completeValues(cmd, "output", "json", "yaml", "jsonpath=")
	return cmd
}

package plugin

import (
	"runtime/debug"
	"testing"
)

func TestIsRelease(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.1.0": true, "v1.2.3-rc.1": true,
		"dev": false, "(devel)": false, "1.2.3": false, "v1.2": false,
		"v1.2.3-4-gabcdef0":                          false, // git describe between tags, as make stamps it
		"v1.2.3-4-gabcdef0-dirty":                    false,
		"v1.2.3-dirty":                               false,
		"v0.0.0-20260102030405-abcdefabcdef":         false,
		"v1.2.4-0.20260102030405-abcdefabcdef":       false,
		"v1.2.4-0.20260102030405-abcdefabcdef+dirty": false,
		"736b066-dirty":                              false,
	} {
		if got := isRelease(v); got != want {
			t.Errorf("isRelease(%q) = %v, want %v", v, got, want)
		}
	}
}

// The version and the default images: make's stamp first, then what `go install ...@vX.Y.Z`
// records, then dev; the probe and the plugin (monitor) images are always this version's in
// their repositories unless a build stamps others.
func TestVersionAndImages(t *testing.T) {
	tests := []struct {
		name, stamped, module           string
		stampedProbe, stampedPlugin     string
		wantVersion                     string
		wantProbeImage, wantPluginImage string
	}{
		{name: "make build", stamped: "v1.2.3", module: "(devel)", wantVersion: "v1.2.3",
			wantProbeImage: "ghcr.io/kubectl-wi/kubectl-wi:v1.2.3", wantPluginImage: "ghcr.io/kubectl-wi/kubectl-wi-plugin:v1.2.3"},
		{name: "go install @v1.4.0", stamped: "dev", module: "v1.4.0", wantVersion: "v1.4.0",
			wantProbeImage: "ghcr.io/kubectl-wi/kubectl-wi:v1.4.0", wantPluginImage: "ghcr.io/kubectl-wi/kubectl-wi-plugin:v1.4.0"},
		{name: "go build in a checkout", stamped: "dev", module: "(devel)", wantVersion: "dev",
			wantProbeImage: "ghcr.io/kubectl-wi/kubectl-wi:dev", wantPluginImage: "ghcr.io/kubectl-wi/kubectl-wi-plugin:dev"},
		{name: "a fork's release", stamped: "v1.2.3", module: "(devel)",
			stampedProbe: "registry.example.com/wi:v1.2.3", stampedPlugin: "registry.example.com/wi-plugin:v1.2.3", wantVersion: "v1.2.3",
			wantProbeImage: "registry.example.com/wi:v1.2.3", wantPluginImage: "registry.example.com/wi-plugin:v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buildInfo := func() (*debug.BuildInfo, bool) {
				return &debug.BuildInfo{Main: debug.Module{Path: "github.com/kubectl-wi/kubectl-wi", Version: tt.module}}, true
			}
			got := versionOf(tt.stamped, buildInfo)
			if got != tt.wantVersion {
				t.Errorf("Version() = %q, want %q", got, tt.wantVersion)
			}
			if probe := imageOf(tt.stampedProbe, ImageRepository, got); probe != tt.wantProbeImage {
				t.Errorf("ProbeImage() = %q, want %q", probe, tt.wantProbeImage)
			}
			if plugin := imageOf(tt.stampedPlugin, pluginImageRepository, got); plugin != tt.wantPluginImage {
				t.Errorf("MonitorImage() = %q, want %q", plugin, tt.wantPluginImage)
			}
		})
	}
}

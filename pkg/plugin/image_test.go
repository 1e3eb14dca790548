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
		if got := IsRelease(v); got != want {
			t.Errorf("IsRelease(%q) = %v, want %v", v, got, want)
		}
	}
}

// The version and the default image: make's stamp first, then what `go install ...@vX.Y.Z`
// records, then dev; the image is always this version's in the project's repository unless a
// build stamps another.
func TestVersionAndProbeImage(t *testing.T) {
	tests := []struct {
		name, stamped, stampedImage, module string
		wantVersion, wantImage              string
	}{
		{"make build", "v1.2.3", "", "(devel)", "v1.2.3", ImageRepository + ":v1.2.3"},
		{"go install @v1.4.0", "dev", "", "v1.4.0", "v1.4.0", ImageRepository + ":v1.4.0"},
		{"go build in a checkout", "dev", "", "(devel)", "dev", ImageRepository + ":dev"},
		{"a fork's release", "v1.2.3", "registry.example.com/wi:v1.2.3", "(devel)", "v1.2.3", "registry.example.com/wi:v1.2.3"},
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
			if got := probeImageOf(tt.stampedImage, got); got != tt.wantImage {
				t.Errorf("ProbeImage() = %q, want %q", got, tt.wantImage)
			}
		})
	}
}

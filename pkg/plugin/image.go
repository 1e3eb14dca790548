package plugin

import (
	"regexp"
	"runtime/debug"
)

// ImageRepository is where a release publishes the probe image, tagged with the release's
// version: plugin v1.2.3 runs ImageRepository:v1.2.3 unless --image says otherwise. The
// Makefile and the release workflow read it from here.
const ImageRepository = "ghcr.io/kubectl-wi/kubectl-wi"

// probeImage overrides the default image, stamped at link time for a build that publishes
// its probe elsewhere: -X github.com/kubectl-wi/kubectl-wi/pkg/plugin.probeImage=REPO:TAG.
var probeImage = ""

// ProbeImage is the default of --image: the probe of this very version.
func ProbeImage() string { return imageOf(probeImage, ImageRepository, Version()) }

// pluginImageRepository is where a release publishes the plugin image: the whole kubectl-wi
// at /kubectl-wi and CA roots, which `monitor install` runs as the monitor. The probe image
// holds only the probe, so the plugin has a repository of its own.
const pluginImageRepository = ImageRepository + "-plugin"

// pluginImage overrides the default plugin image, stamped at link time beside probeImage:
// -X github.com/kubectl-wi/kubectl-wi/pkg/plugin.pluginImage=REPO:TAG.
var pluginImage = ""

// MonitorImage is the default of `monitor install --image`: the plugin image of this very
// version, which the monitor runs.
func MonitorImage() string { return imageOf(pluginImage, pluginImageRepository, Version()) }

// imageOf is the image stamped at link time, else version's in repository.
func imageOf(stamped, repository, version string) string {
	if stamped != "" {
		return stamped
	}
	return repository + ":" + version
}

// Version is the plugin's version: stamped at link time by make, else the module version
// `go install ...@vX.Y.Z` records in the build info, else dev.
func Version() string { return versionOf(version, debug.ReadBuildInfo) }

// versionOf is Version with the stamp and the build info given.
func versionOf(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "dev" {
		return stamped
	}
	if bi, ok := buildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return stamped
}

// releaseVersion matches the tags a release publishes: vX.Y.Z, maybe a pre-release.
var releaseVersion = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

// pseudoVersion matches the versions Go gives a commit that no tag names
// (v0.0.0-20260102030405-abcdefabcdef and its variants).
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// gitDescribe matches what `git describe --dirty` adds past a tag: commits since it, an
// unclean tree.
var gitDescribe = regexp.MustCompile(`-\d+-g[0-9a-f]{7,}(-dirty)?$|-dirty$`)

// isRelease reports whether v is a released version, whose probe image a release published.
func isRelease(v string) bool {
	return releaseVersion.MatchString(v) && !pseudoVersion.MatchString(v) && !gitDescribe.MatchString(v)
}

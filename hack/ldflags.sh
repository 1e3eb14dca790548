#!/usr/bin/env bash
# Prints the -ldflags of a kubectl-wi build, the one place they are written: the version
# ($VERSION) and, when $PROBE_REPO is set, the probe image to stamp instead of the release's,
# and the plugin image beside it ($PROBE_REPO-plugin, as the release's is named).
# Used by the Makefile's build and by hack/dist.sh.
set -euo pipefail
: "${VERSION:?VERSION is required}"
pkg=github.com/kubectl-wi/kubectl-wi/pkg/plugin
printf '%s' "-s -w -X $pkg.version=$VERSION${PROBE_REPO:+ -X $pkg.probeImage=$PROBE_REPO:$VERSION -X $pkg.pluginImage=$PROBE_REPO-plugin:$VERSION}"

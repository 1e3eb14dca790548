#!/usr/bin/env bash
# Installs krew and validate-krew-manifest v0.4.4 into hack/tools/bin, once (a no-op when both
# binaries there were built from that version).
#
# The module proxy here answers 403 for sigs.k8s.io/krew's version list, which a plain
# `go install sigs.k8s.io/krew/cmd/krew@v0.4.4` asks for (its deprecation check), so the
# install goes through the module cache as a file:// proxy, which has the list once
# `go mod download` has fetched the version. The proxy stays behind it in GOPROXY for krew's
# own dependencies, which are only in the cache after a first install; with a warm cache this
# is exactly `GOPROXY=file://$(go env GOMODCACHE)/cache/download go install ...`.
# Both commands run outside the repo, so go.mod and go.sum are never touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

KREW_VERSION=${KREW_VERSION:-v0.4.4}
TOOLS=${TOOLS:-$(cd "$here/.." && pwd)/hack/tools/bin}

need_cmd go
built_from() { go version -m "$1" 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*sigs.k8s.io/krew[[:space:]]*${KREW_VERSION}[[:space:]]"; }
if built_from "$TOOLS/krew" && built_from "$TOOLS/validate-krew-manifest"; then
  log "krew $KREW_VERSION installed in $TOOLS"
  exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
log "installing krew $KREW_VERSION into $TOOLS"
go mod download "sigs.k8s.io/krew@$KREW_VERSION"
mkdir -p "$TOOLS"
GOBIN=$TOOLS GOPROXY="file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)" GOFLAGS=-mod=mod \
  go install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION"

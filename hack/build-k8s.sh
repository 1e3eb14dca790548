#!/usr/bin/env bash
# Builds the Kubernetes binaries of the local cluster from the Go module proxy, into a cache
# outside the repo. Skips the build when every binary for this version is already there.
#
# k8s.io/kubernetes requires its staging modules as v0.0.0 with local replaces that Go ignores
# for a dependency, so a scratch module pins each of them to the matching v0.X.Y tag.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
missing=""
for c in $CMDS; do [[ -x $K8S_BIN/$c ]] || missing="$missing $c"; done
if [[ -z $missing ]]; then
  log "kubernetes $K8S_VERSION binaries cached in $K8S_BIN"
  exit 0
fi

need_cmd go
work=$WI_CACHE/k8s/$K8S_VERSION/src
mkdir -p "$work" "$K8S_BIN"
cd "$work"
staging_version=v0.${K8S_VERSION#v1.}   # v1.34.4 -> v0.34.4
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging=$(awk '$1 ~ /^k8s\.io\// && $2=="v0.0.0" {print $1}' "$gomod" | sort -u)
{
  echo "module kubectl-wi.local/k8sbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $staging_version"; done
  echo ")"
} >go.mod
rm -f go.sum
pkgs=""; for c in $missing; do pkgs="$pkgs k8s.io/kubernetes/cmd/$c@$K8S_VERSION"; done
# shellcheck disable=SC2086
GOFLAGS=-mod=mod go get $pkgs
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
for c in $missing; do
  log "building $c $K8S_VERSION (cold: minutes)"
  start=$(date +%s)
  # one link at a time: each takes 1.3-1.9 GB and both cores
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$K8S_BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$K8S_BIN/$c.tmp" "$K8S_BIN/$c"
  log "built $c in $(($(date +%s) - start)) s"
done

#!/usr/bin/env bash
# Builds etcd from the Go module proxy into the cache, once per version.
#
# Why not Debian's etcd (3.4.23): the apiserver serves a consistent LIST (no resourceVersion)
# from its watch cache only when etcd answers watch progress requests, which 3.4 does from
# 3.4.31 and 3.5 from 3.5.13 (Kubernetes' "consistent reads from cache", KEP-2340). Against
# 3.4.23 every page of every LIST went to etcd (the apiserver's apiserver_storage_list_total
# grew by one per page, apiserver_cache_list_total not at all): not how an apiserver on a
# supported etcd serves them (the default since Kubernetes 1.31). Against this version the
# pages come from the watch cache.
#
# etcd's server module carries replace directives, so `go install module@version` refuses it:
# it is built from a throwaway module that requires it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [[ -x $ETCD_BIN/etcd ]]; then
  log "etcd $ETCD_VERSION cached in $ETCD_BIN"
  exit 0
fi
need_cmd go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<MOD
module kubectl-wi.local/build-etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
log "building etcd $ETCD_VERSION (cold: minutes)"
start=$(date +%s)
mkdir -p "$ETCD_BIN"
(
  cd "$work"
  GOFLAGS=-mod=mod go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN/etcd.tmp" go.etcd.io/etcd/server/v3
)
mv "$ETCD_BIN/etcd.tmp" "$ETCD_BIN/etcd"
log "built etcd $ETCD_VERSION in $(($(date +%s) - start)) s"

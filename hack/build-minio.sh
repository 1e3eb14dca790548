#!/usr/bin/env bash
# Builds MinIO from the Go module proxy into the cache, once per version. MinIO is the second,
# independent STS of the tests: it validates tokens against the apiserver's OIDC discovery.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [[ -x $MINIO_BIN/minio ]]; then
  log "minio $MINIO_VERSION cached in $MINIO_BIN"
  exit 0
fi
need_cmd go
mkdir -p "$MINIO_BIN"
log "building minio $MINIO_VERSION (cold: minutes)"
start=$(date +%s)
CGO_ENABLED=0 GOBIN="$MINIO_BIN" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION"
log "built minio in $(($(date +%s) - start)) s"

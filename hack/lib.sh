# Shared settings and helpers for the hack/ scripts. Sourced, never run.
# All state lives outside the repo, under $WI_CACHE (built binaries, kept) and $WI_STATE (one
# cluster's PKI, data, logs and PIDs, removed by cluster-down).
WI_CACHE=${WI_CACHE:-$HOME/.cache/kubectl-wi}
WI_STATE=${WI_STATE:-$WI_CACHE/cluster}
K8S_VERSION=${K8S_VERSION:-v1.34.4}
K8S_BIN=$WI_CACHE/k8s/$K8S_VERSION/bin
MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
MINIO_BIN=$WI_CACHE/minio/$MINIO_VERSION/bin

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: run 'make deps' (hack/deps.sh)"; }

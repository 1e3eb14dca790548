# Shared settings and helpers for the hack/ scripts. Sourced, never run.
# All state lives outside the repo, under $WI_CACHE (built binaries, kept) and $WI_STATE (one
# cluster's PKI, data, logs and PIDs, removed by cluster-down).
WI_CACHE=${WI_CACHE:-$HOME/.cache/kubectl-wi}
WI_STATE=${WI_STATE:-$WI_CACHE/cluster}
K8S_VERSION=${K8S_VERSION:-v1.34.4}
K8S_BIN=$WI_CACHE/k8s/$K8S_VERSION/bin
MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
MINIO_BIN=$WI_CACHE/minio/$MINIO_VERSION/bin
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
ETCD_BIN=$WI_CACHE/etcd/$ETCD_VERSION/bin

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: run 'make deps' (hack/deps.sh)"; }

# The local cluster's addresses. Everything binds to 127.0.0.1, except what pods must reach
# (the STS stand-in and MinIO), which binds to the bridge gateway.
APISERVER_PORT=${APISERVER_PORT:-6443}
ETCD_PORT=${ETCD_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
WEBHOOK_PORT=${WEBHOOK_PORT:-9443}
# The node's name must resolve to 127.0.0.1 so the apiserver reaches the kubelet on loopback
# (kubectl logs); localhost always does.
NODE_NAME=localhost
BRIDGE=wibr0
# A fixed, locally administered address: without one the bridge takes the lowest address of its
# ports and changes it as pods come and go, and pods that resolved the gateway lose the host.
BRIDGE_MAC=02:77:69:00:00:01
POD_CIDR=10.244.0.0/24
BRIDGE_GW=10.244.0.1
# The AWS stand-in (STS, IAM, EKS, EKS Auth on one port) and the EKS cluster it knows this one as.
STS_PORT=${STS_PORT:-8900}
AWS_REGION_=us-west-2
EKS_CLUSTER=local
# The Pod Identity agent stand-in listens where EKS's agent does, 169.254.170.23:80, an address
# the test bed puts on lo under a label of its own (the label says it is the test bed's, and
# cluster-down removes only that); pods reach it through their default route, the bridge
# gateway, as the host owns the address.
POD_IDENTITY_AGENT_ADDR=169.254.170.23
POD_IDENTITY_AGENT_LABEL=lo:wipia
# agent_addr_owner: the label 169.254.170.23 carries on this host, "" when no interface has it.
agent_addr_owner() { ip -4 addr show to "$POD_IDENTITY_AGENT_ADDR/32" | awk '$1 == "inet" {print $NF}' | head -1; }
# The pod identity webhook stand-in runs as the real webhook does with its own defaults
# ("default") or as EKS runs it ("eks": regional STS on, a default region, a service account
# cache that lags about a second, Pod Identity associations from a file).
WI_WEBHOOK_PROFILE=${WI_WEBHOOK_PROFILE:-default}
MINIO_PORT=${MINIO_PORT:-9000}
# The local OCI registry the node pulls the probe image from.
REGISTRY_PORT=${REGISTRY_PORT:-5000}
REGISTRY=127.0.0.1:$REGISTRY_PORT
ISSUER=https://127.0.0.1:$APISERVER_PORT
# Images the node has imported (imagePullPolicy IfNotPresent): no registry is contacted for them.
PAUSE_IMAGE=wi.local/pause:v1
IDLE_IMAGE=wi.local/idle:v1
# The kubectl-wi under test (make build's). Its default probe image is what the node pulls,
# by that very reference, from the local registry (hack/registry-up.sh).
WI_BIN=${WI_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/kubectl-wi}
# sts_role NAME TRUST_POLICY_JSON...: adds (or replaces) roles of the AWS stand-in, editing its
# configuration as data (hack/cmd/sts-role), built on first use.
sts_role() {
  [[ -x $WI_STATE/bin/sts-role ]] ||
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && go build -o "$WI_STATE/bin/sts-role" ./hack/cmd/sts-role)
  "$WI_STATE/bin/sts-role" -config "$WI_STATE/sts.yaml" "$@"
}
probe_image() { "$WI_BIN" version | sed -n 's/^probe image: //p'; }
# image_repository: where releases publish the probe image, from its one definition.
image_repository() {
  sed -n 's/^const ImageRepository = "\(.*\)"$/\1/p' "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pkg/plugin/image.go"
}
# image_host REF and image_path REF split an image reference as containerd resolves it: the
# registry name (docker.io when the first part names none) and the repository path with tag.
image_host() {
  local h=${1%%/*}
  if [[ $1 == */* && ($h == *.* || $h == *:* || $h == localhost) ]]; then echo "$h"; else echo docker.io; fi
}
image_path() {
  local h=${1%%/*}
  if [[ $1 == */* && ($h == *.* || $h == *:* || $h == localhost) ]]; then echo "${1#*/}"
  elif [[ $1 == */* ]]; then echo "$1"
  else echo "library/$1"; fi
}
RUN=$WI_STATE/run
LOGS=$WI_STATE/logs
DATA=$WI_STATE/data

# start NAME CMD...: run in the background, log to $LOGS/NAME.log, PID in $RUN/NAME.pid.
start() {
  local n=$1; shift
  mkdir -p "$RUN" "$LOGS"
  setsid "$@" >"$LOGS/$n.log" 2>&1 </dev/null &
  echo $! >"$RUN/$n.pid"
}
# alive NAME: the process started as NAME still runs.
alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
# wait_for DESC SECONDS NAME CMD...: poll CMD until it succeeds; fail early with the log's tail
# when the process NAME died, and with a message naming DESC on timeout.
wait_for() {
  local desc=$1 secs=$2 name=$3; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $name ]] && ! alive "$name"; then
      tail -n 20 "$LOGS/$name.log" >&2
      die "$desc: $name exited (log: $LOGS/$name.log)"
    fi
    ((SECONDS < deadline)) || { tail -n 20 "$LOGS/$name.log" >&2 2>/dev/null; die "$desc: not ready after ${secs}s (log: $LOGS/$name.log)"; }
    sleep 0.2
  done
}
# cluster_running: a process of the local cluster started from $WI_STATE still runs.
cluster_running() {
  local f
  for f in "$RUN"/*.pid; do
    [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
  done
  return 1
}
# ours PID: PID is a process this state dir's cluster started (cluster-down stops it).
ours() {
  local f
  for f in "$RUN"/*.pid; do
    [[ -f $f && $(cat "$f") == "$1" ]] && return 0
  done
  return 1
}
# port_free ADDR PORT: refuse to start when something that is not this state dir's own cluster
# (which is torn down before a new one starts) listens there.
port_free() {
  local pids p why
  ss -Hltn "sport = :$2" 2>/dev/null | grep -q . || return 0
  why="port $2 is in use ($(ss -Hltnp "sport = :$2" | sed -n 's/.*users:((\("[^"]*"\).*/\1/p' | head -1)): stop that process or run 'make cluster-down'"
  pids=$(ss -Hltnp "sport = :$2" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
  [[ -n $pids ]] || die "$why"
  for p in $pids; do ours "$p" || die "$why"; done
}
# host_free: refuse at once what would stop cluster-up after its builds: not root, a port, the
# pod network or the Pod Identity agent's address taken by something other than this test bed.
host_free() {
  [[ $(id -u) == 0 ]] || die "the local cluster runs a kubelet and containerd: run as root"
  local p
  # Before hack/deps.sh has run, ss may be missing: cluster-up checks the ports again after it.
  command -v ss >/dev/null 2>&1 && for p in $APISERVER_PORT $ETCD_PORT $ETCD_PEER_PORT 10250 10248 10257 10259 $WEBHOOK_PORT $STS_PORT $MINIO_PORT 9001 $REGISTRY_PORT 80; do
    port_free 127.0.0.1 "$p"
  done
  if ip route show | grep -v "dev $BRIDGE" | grep -q "^${POD_CIDR%.*}"; then
    die "the pod network $POD_CIDR is already routed on this host: free it or change POD_CIDR"
  fi
  case $(agent_addr_owner) in
  "" | "$POD_IDENTITY_AGENT_LABEL") ;;
  *) die "$POD_IDENTITY_AGENT_ADDR is already an address of this host ($(agent_addr_owner)), not the test bed's: free it first" ;;
  esac
}
# plugin_image: the plugin image `monitor install` runs by default (kubectl-wi version).
plugin_image() { "$WI_BIN" version | sed -n 's/^plugin image: //p'; }
# ca_roots: the CA roots the plugin image carries for the AWS APIs (Debian's ca-certificates,
# which Ubuntu's runners have at the same path).
CA_ROOTS=${CA_ROOTS:-/etc/ssl/certs/ca-certificates.crt}
# plugin_image_layout DIR: a directory tree for mkimage with the CA roots at the path Go's
# crypto/x509 reads on Linux, 0644 (a file named to mkimage directly would be a program).
plugin_image_layout() {
  [[ -r $CA_ROOTS ]] || die "no CA roots at $CA_ROOTS: install ca-certificates"
  mkdir -p "$1/ssl/certs"
  install -m 0644 "$CA_ROOTS" "$1/ssl/certs/ca-certificates.crt"
}

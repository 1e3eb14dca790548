#!/usr/bin/env bash
# make bench-status: the wall time and peak RSS of `kubectl wi status -A` on the local cluster
# holding 1,000 service accounts and 5,000 pods (targets <= 2 s and <= 150 MB), or as many as
# BENCH_PODS asks (above 5,000 pods the wall target is 3 s: 50,000 pods within 3 s and 150 MB).
#
# Uses the running local cluster, or brings one up (and then down again at the end) when there is
# none. Seeds the namespaces bench-status-0..9 with hack/cmd/seed (the pods stay Pending: no
# node matches them and no scheduler is asked to place them), runs status -A five times under
# /usr/bin/time, prints each run and the median, and deletes the namespaces, waiting until they
# are gone. It prints figures, and fails when it cannot measure or when status -A's counts of
# the seeded namespaces differ from what the seeder made.
#
# Environment: BENCH_RUNS (5), BENCH_SERVICEACCOUNTS (1000), BENCH_PODS (5000),
# BENCH_NAMESPACES (10), BENCH_WORKERS (8); WI_BIN (bin/kubectl-wi, built by `make bench-status`).
# BENCH_PROFILE=FILE also writes a CPU profile of the last run to FILE, from a copy of the plugin
# built with -tags benchprofile (the released binary has no profiling code); read it with
# `go tool pprof -top FILE`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

runs=${BENCH_RUNS:-5}
sas=${BENCH_SERVICEACCOUNTS:-1000}
pods=${BENCH_PODS:-5000}
namespaces=${BENCH_NAMESPACES:-10}
workers=${BENCH_WORKERS:-8}
wi=${WI_BIN:-$repo/bin/kubectl-wi}
profile=${BENCH_PROFILE:-}
target_s=$((pods > 5000 ? 3 : 2))
target_kb=$((150 * 1024))

[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (Debian package time): run 'make deps' (hack/deps.sh)"
[[ -x $wi ]] || die "$wi is not built: run 'make build' (or make bench-status)"

tmp=$(mktemp -d)
brought_up=0
seeded=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((brought_up)); then
    log "stopping the cluster this script brought up"
    "$here/cluster-down.sh" || rc=1
  elif ((seeded)); then
    log "deleting the bench namespaces"
    "$tmp/seed" -delete -prefix bench-status- || rc=1
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -f $WI_STATE/env ]] && alive kube-apiserver; then
  log "using the running local cluster ($WI_STATE)"
else
  log "no local cluster is running: bringing one up (and down again at the end)"
  # A cluster that died half way leaves processes and mounts behind; cluster-down clears them.
  [[ -d $RUN ]] && "$here/cluster-down.sh"
  brought_up=1
  "$here/cluster-up.sh"
fi
. "$WI_STATE/env"

(cd "$repo" && go build -o "$tmp/seed" ./hack/cmd/seed && go build -o "$tmp/listpods" ./hack/cmd/listpods)
if [[ -n $profile ]]; then
  log "building a profiling copy of the plugin (-tags benchprofile) for BENCH_PROFILE=$profile"
  (cd "$repo" && CGO_ENABLED=0 go build -tags benchprofile -trimpath -o "$tmp/kubectl-wi" ./cmd/kubectl-wi)
  wi=$tmp/kubectl-wi
fi
# Leftovers of an interrupted run would make the counts wrong.
"$tmp/seed" -delete -prefix bench-status-

log "seeding $sas service accounts and $pods pods in $namespaces namespaces ($workers workers)"
seeded=1
"$tmp/seed" -prefix bench-status- -namespaces "$namespaces" -serviceaccounts "$sas" -pods "$pods" \
  -workers "$workers" -qps 200 -burst 400 | tee "$tmp/seed.out"

log "running $wi status -A $runs times"
load=""
times=()
lists=()
for i in $(seq 1 "$runs"); do
  cpuprofile=""
  [[ -n $profile && $i == "$runs" ]] && cpuprofile=$profile
  WI_CPUPROFILE=$cpuprofile /usr/bin/time -f '%e %M %U %S' -o "$tmp/time.$i" "$wi" status -A >"$tmp/out.$i" 2>"$tmp/err.$i" ||
    { cat "$tmp/err.$i" >&2; die "status -A failed (run $i)"; }
  read -r secs kb user sys <"$tmp/time.$i"
  load+="$(cut -d' ' -f1 /proc/loadavg) "
  times+=("$secs $kb $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
  # The LIST alone, right after: what status -A cannot go below on this cluster and machine.
  /usr/bin/time -f '%e' -o "$tmp/list.$i" "$tmp/listpods" >/dev/null || die "listpods failed (run $i)"
  lists+=("$(cat "$tmp/list.$i")")
done

# What the last run reported for the bench namespaces, against what the seeder created.
# Columns are found by their header, so a new column cannot silently zero the counts; a row
# with another number of fields than the header (an empty cell) is an error.
read -r accounts total injected stale skipped < <(awk '
  NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; width = NF
    if (!col["PODS"] || !col["INJECTED"] || !col["STALE"] || !col["SKIPPED"]) { print "header " $0 > "/dev/stderr"; exit 1 }
    next }
  $1 ~ /^bench-status-/ { if (NF != width) { print "row of " NF " fields: " $0 > "/dev/stderr"; exit 1 }
    n++; t += $col["PODS"]; i += $col["INJECTED"]; s += $col["STALE"]; k += $col["SKIPPED"] }
  END { printf "%d %d %d %d %d\n", n, t, i, s, k }' "$tmp/out.$runs")
[[ -n $accounts ]] || die "could not read the counts from status -A's table: $tmp/out.$runs"
expect=$(sed -n 's/^expected from status: //p' "$tmp/seed.out")

echo
echo "kubectl wi status -A on $(grep -c . "$tmp/out.$runs") output lines; seeded namespaces: accounts=$accounts pods=$total injected=$injected stale=$stale skipped=$skipped"
echo "                                            expected: $expect"
got="accounts=$accounts pods=$total injected=$injected stale=$stale skipped=$skipped"
[[ $got == "${expect%% findings:*}" ]] || die "status -A counted $got in the seeded namespaces; the seeder expects ${expect%% findings:*}"
echo
# The CPU time (user + sys) of the plugin shows how much of the wall time was waiting, for the
# apiserver or for a CPU on a busy machine: the load average is printed with it.
# "LIST alone" is hack/cmd/listpods: every pod read as status reads them, nothing done with them.
printf '%-6s %10s %14s %10s %16s\n' run "wall (s)" "peak RSS (MB)" "CPU (s)" "LIST alone (s)"
i=0
for t in "${times[@]}"; do
  i=$((i + 1))
  read -r secs kb cpu <<<"$t"
  printf '%-6s %10.2f %14.1f %10.2f %16.2f\n' "$i" "$secs" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$cpu" "${lists[$((i - 1))]}"
done
med_s=$(printf '%s\n' "${times[@]}" | awk '{ print $1 }' | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2)')
med_kb=$(printf '%s\n' "${times[@]}" | awk '{ print $2 }' | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2)')
verdict() { # VALUE TARGET
  awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "within target" : "OVER target" }'
}
med_list=$(printf '%s\n' "${lists[@]}" | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2)')
printf '%-6s %10.2f %14.1f %10s %16.2f\n' median "$med_s" "$(awk -v k="$med_kb" 'BEGIN { print k / 1024 }')" "" "$med_list"
echo
echo "load average during the runs: $load ($(nproc) CPUs)"
echo "measured with: BENCH_SERVICEACCOUNTS=$sas BENCH_PODS=$pods BENCH_NAMESPACES=$namespaces BENCH_RUNS=$runs make bench-status"
[[ -z $profile ]] || echo "CPU profile of run $runs: $profile (go tool pprof -top $profile)"
echo "targets: wall <= ${target_s} s ($(verdict "$med_s" "$target_s")), peak RSS <= $((target_kb / 1024)) MB ($(verdict "$med_kb" "$target_kb"))"

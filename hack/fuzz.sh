#!/usr/bin/env bash
# Runs every fuzz target of the module (func Fuzz* in a _test.go file) for FUZZTIME each (go
# test -fuzztime: a duration such as 60s, or a count such as 1000x), one after another, and
# prints the time each took. A crasher fails the run; Go writes it to the package's
# testdata/fuzz/<target>/, where it stays as a regression case that `go test` runs every time.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
failed=0
summary=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    t0=$SECONDS
    if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" >"/tmp/fuzz-$target.log" 2>&1; then
      status=ok
    else
      status=FAIL
      failed=1
      tail -n 20 "/tmp/fuzz-$target.log" >&2
    fi
    # A brief run on a busy machine can spend all its time on the corpus' baseline coverage
    # and report no execs at all: that is not a failure.
    execs=$({ grep -o 'execs: [0-9]*' "/tmp/fuzz-$target.log" || true; } | tail -n 1 | cut -d' ' -f2)
    summary+=("$(printf '%-4s %-45s %4ss %10s execs' "$status" "${pkg#github.com/kubectl-wi/kubectl-wi/}.$target" $((SECONDS - t0)) "${execs:-?}")")
    rm -f "/tmp/fuzz-$target.log"
  done
done
printf '%s\n' "${summary[@]}"
exit $failed

#!/usr/bin/env bash
# Runs every fuzz target of the module (func Fuzz* in a _test.go file) for FUZZTIME each (go
# test -fuzztime: a duration such as 60s, or a count such as 1000x), one after another, and
# prints the time each took. A crasher fails the run; Go writes it to the package's
# testdata/fuzz/<target>/, where it stays as a regression case that `go test` runs every time.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
failed=0
# count_files DIR: how many files DIR holds (0 when it does not exist).
count_files() { if [[ -d $1 ]]; then find "$1" -type f | wc -l; else echo 0; fi; }
summary=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    t0=$SECONDS
    corpus="$dir/testdata/fuzz/$target"
    before=$(count_files "$corpus")
    if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" >"/tmp/fuzz-$target.log" 2>&1; then
      status=ok
    elif [[ $(count_files "$corpus") == "$before" ]] && grep -qx '    context deadline exceeded' "/tmp/fuzz-$target.log"; then
      # Go's fuzzing coordinator (go1.26; golang/go#75804) can fail a target at the end of
      # -fuzztime with "context deadline exceeded" and no failing input: a crasher is always
      # written to testdata/fuzz/<target>/, and none was.
      status=ok
      echo "$target: the fuzzing coordinator's deadline race at the end of -fuzztime, no failing input: not a failure" >&2
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

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The testdata files are what `go test -json` printed for a small package of four tests: A
// passes, B fails in a subtest, C skips as a test needing the eks webhook profile does, D
// skips for another reason (failed.json runs all four, skipped.json A, C and D, and
// build-error.json the package with a syntax error); timeout.json is a package whose TestE
// sleeps past go test's -timeout; subtest-skipped.json a TestF whose subtest one skips as a
// test needing the eks profile does.
func TestReport(t *testing.T) {
	tests := []struct {
		name, events, forbid string
		verbose, wantOK      bool
		want, notWant        []string
	}{
		{
			name: "a failed subtest fails the run and shows its output", events: "failed.json",
			want:    []string{"--- PASS: TestA (", "--- FAIL: TestB (", "x_test.go:4: boom", "--- FAIL: TestB/one (", "1 passed, 1 failed, 2 skipped"},
			notWant: []string{"hello", "=== RUN"},
		},
		{
			name: "skips pass when none is forbidden", events: "skipped.json", wantOK: true,
			notWant: []string{"hello"},
			want:    []string{"--- SKIP: TestC (", "needs webhook profile eks (this run: default): why", "--- SKIP: TestD (", "other reason", "1 passed, 0 failed, 2 skipped"},
		},
		{
			name: "a forbidden skip fails the run and is named", events: "skipped.json", forbid: "needs webhook profile eks (",
			want:    []string{`1 tests skipped that this run must run (their skip says "needs webhook profile eks ("): TestC` + "\n"},
			notWant: []string{"TestD\n"},
		},
		{
			name: "a skip of the other profile is not forbidden", events: "skipped.json", forbid: "needs webhook profile default (", wantOK: true,
			notWant: []string{"must run"},
		},
		{
			name: "-v shows the output of a test that passed", events: "skipped.json", verbose: true, wantOK: true,
			want: []string{"--- PASS: TestA (", "x_test.go:3: hello"},
		},
		{
			name: "a forbidden skip of a subtest fails the run and is named", events: "subtest-skipped.json", forbid: "needs webhook profile eks (",
			want: []string{"--- PASS: TestF (", "their skip says \"needs webhook profile eks (\"): TestF/one\n"},
		},
		{
			name: "a test that never ends shows the timeout's panic", events: "timeout.json",
			want: []string{"--- PASS: TestA (", "--- DID NOT END: TestE\n", "x_test.go:11: waiting", "panic: test timed out after 2s", "1 passed, 0 failed, 0 skipped"},
		},
		{
			name: "a build error fails the run and is shown", events: "build-error.json",
			want: []string{"syntax error: unexpected {", "FAIL\tx [build failed]", "0 passed, 0 failed, 0 skipped"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", tt.events))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var out bytes.Buffer
			ok, err := report(in, &out, tt.forbid, tt.verbose)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Errorf("passed %v, want %v\n%s", ok, tt.wantOK, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output holds %q:\n%s", w, out.String())
				}
			}
		})
	}
}

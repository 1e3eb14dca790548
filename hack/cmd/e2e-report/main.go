// Command e2e-report reads the events of `go test -json` on its stdin and prints the run as a
// person reads it: one line per top-level test as it ends, the output of every test that
// failed or skipped under it, the output of the packages, and a tally. hack/e2e.sh runs the e2e
// tests through it.
//
// -forbid-skip TEXT also fails the run when a test skipped with a message holding TEXT: a
// run of the eks webhook profile forbids the skip of the tests that need that profile, so the
// Pod Identity tests cannot pass by not running. -events FILE keeps the events as read; -v
// prints the output of the tests that passed too (make chaos's summaries are logged there).
//
//	go test -json ./test/e2e/... | e2e-report [-v] [-forbid-skip TEXT] [-events FILE]
//
// It exits 1 when a test or a package failed or a forbidden skip happened, 0 otherwise.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

func main() { os.Exit(run()) }

// run is main's work; its result is the exit status.
func run() int {
	forbid := flag.String("forbid-skip", "", "fail when a test skipped with a message holding this text")
	events := flag.String("events", "", "write the events read to this file")
	verbose := flag.Bool("v", false, "print the output of the tests that passed too")
	flag.Parse()
	in := io.Reader(os.Stdin)
	if *events != "" {
		f, err := os.Create(*events)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e-report:", err)
			return 2
		}
		defer f.Close()
		in = io.TeeReader(os.Stdin, f)
	}
	ok, err := report(in, os.Stdout, *forbid, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e-report:", err)
		return 2
	}
	if !ok {
		return 1
	}
	return 0
}

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// report prints the run read from in to out and says whether it passed: no test or package
// failed and no test skipped with a message holding forbid ("" forbids nothing). verbose
// prints the output of the tests that passed as well.
func report(in io.Reader, out io.Writer, forbid string, verbose bool) (bool, error) {
	var (
		buffered  = map[string][]string{} // the output of each running top-level test, subtests' included
		tally     = map[string]int{}
		forbidden []string
		failed    bool
	)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			// Not an event: passed through as it is.
			fmt.Fprintln(out, string(line))
			continue
		}
		top, _, sub := strings.Cut(ev.Test, "/")
		switch {
		case ev.Test == "":
			switch ev.Action {
			case "output", "build-output":
				fmt.Fprint(out, ev.Output)
			case "fail", "build-fail":
				failed = true
			}
		case ev.Action == "output":
			if !strings.HasPrefix(ev.Output, "=== ") {
				buffered[top] = append(buffered[top], ev.Output)
			}
		case sub:
			switch ev.Action {
			case "fail":
				failed = true
			case "skip":
				if forbid != "" && strings.Contains(strings.Join(buffered[top], ""), forbid) {
					forbidden = append(forbidden, ev.Test)
				}
			}
		case ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip":
			tally[ev.Action]++
			fmt.Fprintf(out, "--- %s: %s (%.2fs)\n", strings.ToUpper(ev.Action), top, ev.Elapsed)
			text := strings.Join(buffered[top], "")
			delete(buffered, top)
			if ev.Action != "pass" || verbose {
				fmt.Fprint(out, withoutResult(text, top))
			}
			if ev.Action == "fail" {
				failed = true
			}
			if ev.Action == "skip" && forbid != "" && strings.Contains(text, forbid) {
				forbidden = append(forbidden, top)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("reading the events: %w", err)
	}
	// A test that never ended (go test's -timeout panics inside it) keeps its output here,
	// the panic's list of running tests included: the reason the run failed.
	for _, top := range slices.Sorted(maps.Keys(buffered)) {
		fmt.Fprintf(out, "--- DID NOT END: %s\n%s", top, buffered[top])
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", tally["pass"], tally["fail"], tally["skip"])
	if len(forbidden) > 0 {
		fmt.Fprintf(out, "%d tests skipped that this run must run (their skip says %q): %s\n", len(forbidden), forbid, strings.Join(forbidden, ", "))
	}
	return !failed && len(forbidden) == 0, nil
}

// withoutResult is a test's output without go test's own result line for it, which report
// has just printed.
func withoutResult(text, test string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(l, "--- ") && strings.Contains(l, ": "+test+" (") {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// Command wi-probe is the probe of kubectl-wi's image: what verify runs in its probe pod, and
// with --in-pod in an ephemeral container of the app's pod. It takes the flags of the hidden
// `kubectl wi probe` and writes the same events, but it is built from the probe alone (no
// Kubernetes client, no CLI framework, no terminal UI), so the image stays small.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/exitcode"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], probe.ProcessDeps(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the probe with deps and returns the exit code: the plugin's codes, so
// verify reads a probe container's exit the way a user reads the plugin's.
func run(ctx context.Context, args []string, deps probe.Deps, out, errOut io.Writer) int {
	cfg := probe.DefaultConfig()
	flags := pflag.NewFlagSet("wi-probe", pflag.ContinueOnError)
	flags.SetOutput(errOut)
	cfg.AddFlags(flags)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitcode.OK
		}
		fmt.Fprintf(errOut, "error: %v\nSee 'wi-probe --help' for the flags.\n", err)
		return exitcode.Usage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(errOut, "error: wi-probe takes no arguments, got %q\n", flags.Args())
		return exitcode.Usage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return exitcode.Usage
	}
	sum, err := probe.Run(ctx, cfg, deps, check.NewJSONSink(out))
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(errOut, "interrupted")
		return exitcode.Interrupted
	case err != nil:
		fmt.Fprintf(errOut, "error: probe failed: %v\n", err)
		return exitcode.Environment
	case sum.Status == check.StatusFail:
		return exitcode.CheckFailed
	}
	return exitcode.OK
}

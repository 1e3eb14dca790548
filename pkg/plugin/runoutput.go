package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// runOutput is -o of verify and explain, defaulted (terminal: Out is one): the terminal UI on a terminal, else text.
func runOutput(output string, terminal bool) string {
	switch {
	case output != "":
		return output
	case terminal:
		return "tui"
	}
	return "text"
}

// checkRunOutput refuses an -o that verify and explain do not render, or the UI off a terminal.
func checkRunOutput(output string, terminal bool) error {
	switch output {
	case "tui":
		if !terminal {
			return FlagErrorf("-o tui needs a terminal: use -o text or -o json")
		}
	case "text", "json":
	default:
		return OutputError(output, "tui", "text", "json")
	}
	return nil
}

// renderRun runs work with the reporter -o asks for: the terminal UI (with opts), JSON lines,
// or text. The error is the rendering's (a write that failed, the UI that broke) or, with the
// UI, work's own; the caller keeps work's error and prefers it.
func renderRun(ctx context.Context, streams genericiooptions.IOStreams, output string, now func() time.Time, opts tui.Options,
	work func(context.Context, report.Reporter) error) error {
	switch output {
	case "tui":
		// klog would write over the UI.
		klog.SetLogger(logr.Discard())
		defer klog.ClearLogger()
		return tui.RunWith(ctx, streams.In, streams.Out, opts, work)
	case "json":
		j := render.NewJSON(streams.Out, now)
		_ = work(ctx, j)
		if err := j.Err(); err != nil {
			return fmt.Errorf("failed to write the events: %w", err)
		}
	default:
		t := render.NewText(streams.Out)
		_ = work(ctx, t)
		if err := t.Err(); err != nil {
			return fmt.Errorf("failed to write the output: %w", err)
		}
	}
	return nil
}

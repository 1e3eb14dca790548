// Package tui is the terminal UI of `kubectl wi verify` and `explain`: a checklist of the run's steps with a
// spinner on the running one, the checks and their details under each step, and the verdict
// with its fixes at the end. q or Ctrl-C cancels the run, which deletes the probe pod.
//
// While the run goes, the view is live and kept short (the running step's checks, and the
// failed or warned ones of finished steps), since the terminal shows only as many lines as it
// has. When the run ends the live view is cleared and Report, the whole checklist, is printed
// once, so it stays in the terminal's scrollback whatever its height.
//
// This is the only package that imports bubbletea, bubbles or lipgloss. It renders the same
// events as pkg/plugin/render and never redefines them.
package tui

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// StepMsg is a run's progress.
type StepMsg report.Step

// EventMsg is one check or info event, or the verdict.
type EventMsg check.Event

// RawMsg is a line of the probe's output that is not an event.
type RawMsg string

// DoneMsg says the run has ended, its pod cleaned up; Err is why it stopped, if it did.
type DoneMsg struct{ Err error }

// Reporter turns a run's reports into messages for a program: pass (*tea.Program).Send.
type Reporter struct{ Send func(tea.Msg) }

// Step implements report.Reporter.
func (r Reporter) Step(s report.Step) { r.Send(StepMsg(s)) }

// Event implements report.Reporter.
func (r Reporter) Event(ev check.Event) { r.Send(EventMsg(ev)) }

// Raw implements report.Reporter.
func (r Reporter) Raw(line string) { r.Send(RawMsg(line)) }

// Run shows work in the terminal: it starts work with a Reporter for the program, cancels
// work's context on q or Ctrl-C, waits for work to return (its cleanup included), prints the
// report and returns work's error. The caller sends logs elsewhere meanwhile.
func Run(ctx context.Context, in io.Reader, out io.Writer, title string, work func(context.Context, report.Reporter) error) error {
	return RunWith(ctx, in, out, Options{Title: title}, work)
}

// RunWith is Run with the run's own steps (Options.Steps) and cancel note; the renderer and
// the cancel function are set here.
func RunWith(ctx context.Context, in io.Reader, out io.Writer, o Options, work func(context.Context, report.Reporter) error) error {
	return runProgram(ctx, in, out,
		func(cancel func()) tea.Model {
			o.Renderer, o.Cancel = lipgloss.NewRenderer(out), cancel
			return New(o)
		},
		func(ctx context.Context, send func(tea.Msg)) error { return work(ctx, Reporter{Send: send}) },
		func(final tea.Model) (string, bool) {
			fm, ok := final.(Model)
			if !ok || !fm.done {
				return "", false
			}
			return fm.Report(), true
		})
}

// runProgram runs the model newModel builds while work runs, work's end ending the program;
// then prints the report of the final model when it saw the end, and returns work's error.
func runProgram(ctx context.Context, in io.Reader, out io.Writer, newModel func(cancel func()) tea.Model,
	work func(context.Context, func(tea.Msg)) error, report func(tea.Model) (string, bool)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Signals are the caller's: its context ends the run, and the run ends the program.
	p := tea.NewProgram(newModel(cancel), tea.WithInput(in), tea.WithOutput(out), tea.WithoutSignalHandler())
	errc := make(chan error, 1)
	go func() {
		err := work(ctx, p.Send)
		p.Send(DoneMsg{Err: err})
		errc <- err
	}()
	final, perr := p.Run()
	cancel()
	werr := <-errc
	if text, ok := report(final); ok {
		if _, err := io.WriteString(out, text); err != nil && werr == nil {
			werr = err
		}
	}
	if werr != nil {
		return werr
	}
	if perr != nil {
		return fmt.Errorf("terminal UI failed: %w", perr)
	}
	return nil
}

// Checklist drives a model with what work reports, with no terminal, and returns its final
// report: the checklist a run leaves, for the tests of the commands that feed it.
func Checklist(o Options, work func(report.Reporter) error) string {
	if o.Renderer == nil {
		o.Renderer = lipgloss.NewRenderer(io.Discard)
	}
	var m tea.Model = New(o)
	m, _ = m.Update(tea.WindowSizeMsg{Width: 400, Height: 100})
	err := work(Reporter{Send: func(msg tea.Msg) { m, _ = m.Update(msg) }})
	m, _ = m.Update(DoneMsg{Err: err})
	return m.(Model).Report()
}

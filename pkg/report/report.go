// Package report is how an engine tells what it is doing as it does it: the Reporter that
// verify, explain and migrate write their runs to, and the Step of a run
// (its ID, its state, its detail). Each engine names its own steps; the renderers (text,
// JSON, the TUI) read any of them the same way.
package report

import "github.com/kubectl-wi/kubectl-wi/pkg/check"

// StepID names one step of a run; each engine declares its own.
type StepID string

// StepState is where a step is.
type StepState string

// Step states.
const (
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// Step is progress: a step started, changed its detail, or ended.
type Step struct {
	ID     StepID
	State  StepState
	Detail string // what is happening or happened: "Pending: ContainerCreating", "deleted ns/pod"
}

// Reporter receives a run as it happens, from one goroutine. Event gets every check and info
// event, then the verdict (a result event) once, last of the events; Step and Raw are for
// people, and a JSON renderer may drop Step.
type Reporter interface {
	Step(Step)
	Event(check.Event)
	Raw(line string)
}

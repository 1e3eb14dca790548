package plugin

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Exit codes, the same for every command (README.md, "Exit codes").
const (
	ExitOK          = 0   // success: every check passed
	ExitCheckFailed = 1   // a verification check failed
	ExitUsage       = 2   // usage or bad input, refused before any write
	ExitEnvironment = 3   // the environment failed: cluster unreachable, forbidden, timeout
	ExitInterrupted = 130 // interrupted by SIGINT or SIGTERM
)

// exitCodesHelp is appended to every command's help.
const exitCodesHelp = `Exit codes:
  0    success (all checks passed)
  1    a verification check failed
  2    usage or bad input, refused before any write
  3    the environment failed (cluster unreachable, RBAC forbidden, timeout)
  130  interrupted`

// FlagError is bad input on the command line. Main prints the usage after it and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// InputError is bad input that is not a flag: a missing object, a malformed file. Exit 2.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// InputErrorf builds an InputError.
func InputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// ChecksFailedError reports that a command ran to the end and found failed checks: exit 1.
// The command has already shown the failures, so Main prints nothing more.
type ChecksFailedError struct{ Failed int }

func (e *ChecksFailedError) Error() string { return fmt.Sprintf("%d check(s) failed", e.Failed) }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var (
		flagErr   *FlagError
		inputErr  *InputError
		failedErr *ChecksFailedError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &flagErr), errors.As(err, &inputErr):
		return ExitUsage
	case errors.As(err, &failedErr):
		return ExitCheckFailed
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return ExitUsage
	default:
		return ExitEnvironment
	}
}

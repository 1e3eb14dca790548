package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-wi/kubectl-wi/pkg/exitcode"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Exit codes, the same for every command (pkg/exitcode).
const (
	ExitOK          = exitcode.OK
	ExitCheckFailed = exitcode.CheckFailed
	ExitUsage       = exitcode.Usage
	ExitEnvironment = exitcode.Environment
	ExitInterrupted = exitcode.Interrupted
)

// exitCodesHelp is appended to the help of the root and of the commands that run checks.
const exitCodesHelp = `Exit codes:
  0    success (all checks passed)
  1    a verification check failed
  2    usage or bad input, refused before any write
  3    the environment failed (cluster unreachable, RBAC forbidden, timeout)
  130  interrupted`

// exitCodesNoChecksHelp is appended to the help of the commands that run no checks, which
// never exit 1.
const exitCodesNoChecksHelp = `Exit codes:
  0    success
  2    usage or bad input, refused before any write
  3    the environment failed (cluster unreachable, RBAC forbidden, timeout)
  130  interrupted`

// checkAudience is the one check of --audience, for every command that takes it: given
// (set), it is not empty and has no surrounding spaces, which no OIDC provider lists.
func checkAudience(value string, set bool) error {
	switch {
	case !set:
		return nil
	case strings.TrimSpace(value) == "":
		return FlagErrorf("--audience is empty: omit it for the default %s, or give the audience your OIDC provider expects", identity.DefaultAudience)
	case strings.TrimSpace(value) != value:
		return FlagErrorf("--audience %q has leading or trailing spaces", value)
	}
	return nil
}

// warnAudience prints the audienceWarning of an --audience given, to warn; Complete calls it,
// as the flag is read, so that Validate only checks.
func warnAudience(warn io.Writer, value string, set bool) {
	if !set || warn == nil || checkAudience(value, set) != nil {
		return
	}
	if w := audienceWarning(value); w != "" {
		fmt.Fprint(warn, w)
	}
}

// audienceWarning is "did you mean" for an audience a typo away from a known one, "" for
// any other: a custom audience is the user's to choose, so it is a warning, not an error.
func audienceWarning(value string) string {
	if near := targets.SuggestValue(value, identity.KnownAudiences); near != "" {
		return fmt.Sprintf("warning: --audience %q is not an audience AWS or ROSA uses: did you mean %s? A custom audience must be a client ID of the cluster's IAM OIDC provider\n", value, near)
	}
	return ""
}

// checkTimeout is the one check of a --timeout.
func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return FlagErrorf("--timeout must be positive, not %s", d)
	}
	return nil
}

// OutputError is the one wording of a bad -o/--output, for every command.
func OutputError(got string, allowed ...string) error {
	return FlagErrorf("--output %q is not supported: allowed formats are %s", got, strings.Join(allowed, ", "))
}

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
type ChecksFailedError struct {
	Failed int
	Unit   string // what failed: "check(s)" when empty
}

func (e *ChecksFailedError) Error() string {
	return fmt.Sprintf("%d %s failed", e.Failed, cmp.Or(e.Unit, "check(s)"))
}

// EmptySelectionError reports that a command that judges service accounts (explain, verify)
// found none to judge: exit 1, since a gate that checked nothing has not passed; --allow-empty
// makes it exit 0. Main prints Message as it is, as kubectl prints "No resources found".
type EmptySelectionError struct{ Message string }

func (e *EmptySelectionError) Error() string { return e.Message }

// emptySelection is the EmptySelectionError of the command verb that found none of what it
// judges (noun: "service accounts", "workloads", as judged describes them) where
// (selectionWhere); with --allow-empty, nil, after the same words on warn.
func emptySelection(warn io.Writer, allowEmpty bool, verb, noun, where, judged string) error {
	msg := fmt.Sprintf("No %s found %s.\n%s checked nothing: it judges the %s %s", noun, where, verb, noun, judged)
	if allowEmpty {
		fmt.Fprintln(warn, msg+" (--allow-empty: exit 0).")
		return nil
	}
	return &EmptySelectionError{Message: msg + "; a gate that checked nothing fails (exit 1): --allow-empty lets an empty selection pass."}
}

// selectionWhere names a selection in kubectl's words: "in shop namespace", "in any
// namespace", and the selector.
func selectionWhere(namespace, selector string) string {
	where := "in " + namespace + " namespace"
	if namespace == "" {
		where = "in any namespace"
	}
	if selector != "" {
		where += " matching -l " + selector
	}
	return where
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var (
		flagErr   *FlagError
		inputErr  *InputError
		failedErr *ChecksFailedError
		emptyErr  *EmptySelectionError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &flagErr), errors.As(err, &inputErr):
		return ExitUsage
	case errors.As(err, &failedErr), errors.As(err, &emptyErr):
		return ExitCheckFailed
	case apierrors.IsNotFound(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return ExitUsage
	default:
		return ExitEnvironment
	}
}

// unwrapPath drops the *fs.PathError's own path, which the message names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

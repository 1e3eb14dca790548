// Package plugin holds the cobra commands of `kubectl wi`, a file per verb (VERB.go, or
// VERB_cmd.go where an engine package has the verb's name, and VERB_PART.go for its parts;
// docs/layout.md has the list), each with an Options type following kubectl's
// Complete/Validate/Run convention: Complete builds the state, Validate only checks it, Run
// calls the engine and prints. What the commands reach outside the process through is one
// deps value (deps.go).
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"

	// Auth plugins (exec, oidc) for kubeconfigs that use them, as kubectl has.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

// NewCmdRoot builds `kubectl wi` with every kubectl connection flag and all subcommands.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdRoot(streams, defaultDeps())
}

// newCmdRoot builds the root around d, the clients and timings of the commands.
func newCmdRoot(streams genericiooptions.IOStreams, d deps) *cobra.Command {
	cf := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		// The binary's name: `completion bash` registers the command that exists. Help and
		// errors show the display name, kubectl wi.
		Use:   "kubectl-wi",
		Short: "Set up and prove AWS workload identity for Kubernetes pods",
		Long: `Set up and prove AWS workload identity (IRSA, EKS Pod Identity) for Kubernetes pods.

enable annotates a service account with its IAM role and restarts exactly the workloads
whose pods need it; verify proves the result from inside a real pod.

` + exitCodesHelp,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl wi"},
		SilenceUsage:  true,
		SilenceErrors: true,
		// The connection flags are checked before any command runs, so a bad one is a usage
		// error (exit 2) rather than a failure to load the kubeconfig (exit 3).
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := validateConfigFlags(cf); err != nil {
				return err
			}
			return checkClusterFlag(c, cf)
		},
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cf.AddFlags(cmd.PersistentFlags())
	registerCompletions(cmd, cf, d)

	// Every command, one file each.
	cmd.AddCommand(
		NewCmdEnable(cf, streams, d),
		NewCmdDisable(cf, streams, d),
		NewCmdMigrate(cf, streams, d),
		newCmdVerify(newVerifyOptions(cf, streams, d), nil),
		newCmdStatus(newStatusOptions(cf, streams, d)),
		newCmdTrustPolicy(newTrustPolicyOptions(cf, streams, d)),
		newCmdExplain(newExplainOptions(cf, streams, d)),
		newCmdMonitor(cf, streams, d),
		NewCmdProbe(streams, nil),
		NewCmdVersion(streams),
	)
	initCompletionCommand(cmd)
	completeEKSCluster(cmd, cf)
	usageErrorsAreFlagErrors(cmd)
	return cmd
}

// validateConfigFlags checks the kubectl flags whose values client-go would only refuse when
// it builds the client: --request-timeout, as clientcmd reads it (whole seconds, or a
// duration with a unit).
func validateConfigFlags(cf *genericclioptions.ConfigFlags) error {
	if cf.Timeout == nil || *cf.Timeout == "" || *cf.Timeout == "0" {
		return nil
	}
	if _, err := strconv.ParseUint(*cf.Timeout, 10, 64); err == nil {
		return nil
	}
	if d, err := time.ParseDuration(*cf.Timeout); err == nil && d >= 0 {
		return nil
	}
	return FlagErrorf("--request-timeout %q is not a duration: a whole number of seconds, or a number with a unit (e.g. 1s, 2m, 3h)", *cf.Timeout)
}

// usageErrorsAreFlagErrors makes cobra's own argument checks (too many arguments, an unknown
// command) FlagErrors, so they exit 2 and print the usage hint like a bad flag does.
// A group command keeps cobra's own check, which Main maps.
func usageErrorsAreFlagErrors(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &FlagError{Err: err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageErrorsAreFlagErrors(sub)
	}
}

// Main runs `kubectl wi` with args and returns the process exit code. It prints each error
// once, as kubectl does, and the usage only after a flag error.
func Main(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	return run(ctx, streams, args, defaultDeps())
}

// options are a command's options in kubectl's convention: Complete builds the state from
// the flags and arguments, Validate only checks it, Run does the work and prints.
type options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// completeValidateRun is the RunE of a command whose options follow that convention. runF,
// when not nil, replaces Run after Complete and Validate, so a test can look at the parsed
// options.
func completeValidateRun[O options](o O, runF func(O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		if runF != nil {
			return runF(o)
		}
		return o.Run(cmd.Context())
	}
}

// run is Main with the deps given: tests run the commands with fakes.
func run(ctx context.Context, streams genericiooptions.IOStreams, args []string, d deps) int {
	cmd := newCmdRoot(streams, d)
	cmd.SetArgs(args)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	// client-go logs through klog; once interrupted, its lines about the requests it abandons
	// are noise after the command's own line, so they are dropped from then on. The logger is
	// set here, before any goroutine logs: klog's SetLogger is not safe for concurrent use.
	klog.SetLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(untilInterrupted{ctx: ctx, w: streams.ErrOut}))))
	defer klog.ClearLogger()
	executed, err := cmd.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = &FlagError{Err: err} // cobra's, for a group command
	}
	code := ExitCode(err)
	if ctx.Err() != nil {
		code = ExitInterrupted
	}
	if code == ExitInterrupted {
		err = interruptedError(err)
	}
	silent, empty := new(*ChecksFailedError), new(*EmptySelectionError)
	switch {
	case errors.As(err, empty):
		fmt.Fprintln(streams.ErrOut, (*empty).Message)
	case !errors.As(err, silent):
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	}
	if isFlag := new(*FlagError); errors.As(err, isFlag) && executed != nil {
		fmt.Fprintf(streams.ErrOut, "See '%s --help' for usage.\n", executed.CommandPath())
	}
	return code
}

// interruptedError is what an interrupted run says: the call it cut short, not client-go's
// error, which is the request's URL (with its continue token mid-LIST) and the signal.
func interruptedError(err error) error {
	if call := new(*apicall.Error); errors.As(err, call) {
		return errors.New((*call).Interrupted())
	}
	if urlErr := new(*url.Error); errors.As(err, urlErr) && strings.Contains(err.Error(), (*urlErr).URL) {
		return errors.New("interrupted")
	}
	return err
}

// untilInterrupted writes to w until ctx ends, then drops what it is given.
type untilInterrupted struct {
	ctx context.Context // the run's: its end is the interruption
	w   io.Writer
}

func (u untilInterrupted) Write(p []byte) (int, error) {
	if u.ctx.Err() != nil {
		return len(p), nil
	}
	return u.w.Write(p)
}

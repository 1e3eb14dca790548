package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

const probeLong = `Check AWS workload identity from inside a pod. verify starts a pod that runs this; it is not
meant to be run by hand, though it works in any pod.

It finds the identity path the pod got (IRSA or EKS Pod Identity), reads the projected token
named by the env, checks its claims against the expected values, asks STS for the role (or the
Pod Identity agent for credentials) and calls GetCallerIdentity with the result. With --in-pod
(verify --in-pod runs it as an ephemeral container in the app's pod) it then finds the AWS
SDKs of the app's processes and judges each against the minimum version AWS documents for the
identity path. Each check is one JSON line on stdout (see pkg/probe), then a result line. The
token and the credentials never appear in the output.

` + exitCodesHelp

const probeExample = `  # What verify runs in the probe pod
  kubectl-wi probe --expected-subject system:serviceaccount:shop:checkout \
    --expected-role-arn arn:aws:iam::111122223333:role/checkout \
    --expected-audience sts.amazonaws.com --expected-expiration 86400 \
    --expected-issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`

// ProbeOptions holds everything the hidden `kubectl wi probe` needs. Flags bind to Config.
type ProbeOptions struct {
	genericiooptions.IOStreams

	Config probe.Config

	deps probe.Deps // the process: os.Getenv, os.ReadFile, time.Now; swapped in tests
}

// NewProbeOptions returns the options with their defaults, reading the real process.
func NewProbeOptions(streams genericiooptions.IOStreams) *ProbeOptions {
	return &ProbeOptions{
		IOStreams: streams,
		Config:    probe.DefaultConfig(),
		deps:      probe.ProcessDeps(),
	}
}

// NewCmdProbe builds the hidden `kubectl wi probe`. runF, when not nil, replaces Run after
// Complete and Validate, so tests can look at the parsed options.
func NewCmdProbe(streams genericiooptions.IOStreams, runF func(*ProbeOptions) error) *cobra.Command {
	o := NewProbeOptions(streams)
	cmd := &cobra.Command{
		Use:     "probe",
		Short:   "Check workload identity from inside a pod (run by verify)",
		Long:    probeLong,
		Example: probeExample,
		Hidden:  true,
		Args:    cobra.NoArgs,
		RunE:    completeValidateRun(o, runF),
	}
	o.Config.AddFlags(cmd.Flags())
	return cmd
}

// Complete takes the output stream from the command, so it honours cmd.SetOut.
func (o *ProbeOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.Out = cmd.OutOrStdout()
	return nil
}

// Validate refuses flag values the checks could never match.
func (o *ProbeOptions) Validate() error {
	if err := o.Config.Validate(); err != nil {
		return FlagErrorf("%v", err)
	}
	return nil
}

// Run runs the probe, writing events to Out. Failed checks make a *ChecksFailedError (exit 1);
// an error writing the events is returned as is (exit 3).
func (o *ProbeOptions) Run(ctx context.Context) error {
	sum, err := probe.Run(ctx, o.Config, o.deps, check.NewJSONSink(o.Out))
	if err != nil {
		return fmt.Errorf("probe failed: %w", err)
	}
	if sum.Status == check.StatusFail {
		return &ChecksFailedError{Failed: sum.Failed}
	}
	return nil
}

package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Run migrates.
func (o *MigrateOptions) Run(ctx context.Context) error {
	d := o.ids.deps
	client, err := d.newClient(o.configFlags)
	if err != nil {
		return err
	}
	api, err := d.newAWS(ctx, awsconfig.Options{Profile: o.ids.Profile, Region: o.ids.Region})
	if err != nil {
		return err
	}
	base := verify.Config{Image: o.Image, PullPolicy: corev1.PullIfNotPresent, Timeout: o.VerifyTimeout,
		STSEndpoint: o.STSEndpoint, CABundle: o.caBundle, Region: o.ids.Region}
	deps := podidentity.Deps{
		Client: client, AWS: api, Restarter: d.restarter(), RolloutPoll: d.rolloutPoll,
		Prove: d.prover(base, verify.Deps{Client: client, Discovery: d.discovery(client)}),
		Now:   d.now,
	}
	cfg := podidentity.Config{Namespace: o.namespace, Targets: o.refs, Cluster: o.ids.Cluster, RemoveIRSA: o.RemoveIRSA,
		WriteTrust: o.WriteTrust, DryRun: string(o.dryRun), Timeout: o.Timeout, Parallel: o.Parallel}
	return migrateError(o.render(ctx, func(ctx context.Context, rep report.Reporter) error {
		_, err := podidentity.Run(ctx, cfg, deps, rep)
		return err
	}))
}

// migrateError gives the engine's errors their exit codes: bad input 2, failed accounts 1;
// an interrupted run's stays 130, whatever it stopped with.
func migrateError(err error) error {
	var (
		in     *podidentity.InputError
		failed *podidentity.FailedError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &in):
		return &InputError{Err: in.Err}
	case errors.As(err, &failed):
		return &ChecksFailedError{Failed: failed.Failed, Unit: "service account(s)"}
	}
	return err
}

// render runs the migration with the reporter -o asks for. The error is the run's, else the
// output's: a write that failed, the terminal UI that broke.
func (o *MigrateOptions) render(ctx context.Context, run func(context.Context, report.Reporter) error) error {
	var rep interface {
		report.Reporter
		Err() error
	}
	switch o.Output {
	case "tui":
		// klog would write over the UI.
		klog.SetLogger(logr.Discard())
		defer klog.ClearLogger()
		return tui.RunMigrate(ctx, o.In, o.Out, tui.Options{Title: o.title()}, func(ctx context.Context, rep report.Reporter) error {
			err := run(ctx, rep)
			if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
				// q or Ctrl-C cancelled the run, as SIGINT does in text: exit 130 either way.
				err = uiCancelled{err}
			}
			return err
		})
	case "json":
		rep = render.NewJSON(o.Out, o.ids.deps.now)
	default:
		rep = render.NewMigrateText(o.Out, o.ErrOut)
	}
	err := run(ctx, rep)
	if werr := rep.Err(); werr != nil && err == nil {
		return fmt.Errorf("failed to write the output: %w", werr)
	}
	return err
}

// title heads the terminal UI: the command as given, with the flags that change what it does.
func (o *MigrateOptions) title() string {
	words := []string{"kubectl wi migrate"}
	for _, ref := range o.refs {
		words = append(words, ref.String())
	}
	words = append(words, "-n", o.namespace, "--to", o.To)
	if o.dryRun != dryRunNone {
		words = append(words, "--dry-run="+string(o.dryRun))
	}
	for _, f := range []struct {
		set  bool
		flag string
	}{{o.WriteTrust, "--write-trust"}, {o.RemoveIRSA, "--remove-irsa"}} {
		if f.set {
			words = append(words, f.flag)
		}
	}
	return strings.Join(words, " ")
}

// uiCancelled is a run's error once q or Ctrl-C in the terminal UI cancelled it: it is
// context.Canceled for the exit code, and says what the run said.
type uiCancelled struct{ err error }

func (e uiCancelled) Error() string        { return e.err.Error() }
func (e uiCancelled) Unwrap() error        { return e.err }
func (e uiCancelled) Is(target error) bool { return target == context.Canceled }

package plugin

import (
	"context"
	"errors"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
)

// run brings the selected accounts' annotations and the custom resources to o.want (nil: no
// identity) with pkg/annotate, printing as it goes (enable_print.go).
func (o *identityOptions) run(ctx context.Context) error {
	// The clients are built here, not in Complete: a flag error (exit 2) is found before a
	// kubeconfig that cannot be loaded (exit 3).
	d, err := o.engineDeps()
	if err != nil {
		return err
	}
	if len(o.customRefs) > 0 {
		cc, err := o.deps.newCustom(o.configFlags)
		if err != nil {
			return err
		}
		d.Custom = cc
	}
	_, err = annotate.Run(ctx, o.engineConfig(), d, &printer{o: o})
	return fromEngine(err)
}

// runPodIdentity brings the selected accounts' associations to want (nil: none) with
// pkg/annotate, then restarts the workloads whose pods do not match.
func (o *identityOptions) runPodIdentity(ctx context.Context, want *podidentity.ParsedSpec) error {
	d, err := o.engineDeps()
	if err != nil {
		return err
	}
	d.AWS = func(ctx context.Context) (podidentity.AWS, error) {
		return o.deps.newAWS(ctx, awsconfig.Options{Profile: o.Profile, Region: o.Region})
	}
	return fromEngine(annotate.RunPodIdentity(ctx, o.engineConfig(), d, &printer{o: o}, want))
}

// engineConfig is what the flags ask of pkg/annotate.
func (o *identityOptions) engineConfig() *annotate.Config {
	return &annotate.Config{
		Namespace: o.namespace, AllNamespaces: o.AllNamespaces, Selector: o.Selector, Refs: o.refs, CustomRefs: o.customRefs,
		Want: o.want, Keep: o.keep, Create: o.create, Overwrite: o.overwrite, CanCreate: o.canCreate,
		Restart: o.restartMode, Wait: o.Wait, Timeout: o.Timeout, DryRun: string(o.dryRun),
		Cluster: o.Cluster, ClusterFrom: o.clusterFrom, SkipPreflight: o.SkipPreflight,
	}
}

// engineDeps are the kubernetes client and the timings of a run.
func (o *identityOptions) engineDeps() (*annotate.Deps, error) {
	client, err := o.deps.newClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	return &annotate.Deps{
		Client:           client,
		Restarter:        o.deps.restarter(),
		RolloutPoll:      o.deps.rolloutPoll,
		AdmissionTimeout: o.deps.admissionTimeout,
		AdmissionPoll:    o.deps.admissionPoll,
	}, nil
}

// restarter makes a workload's restart patch with the deps' clock.
func (d deps) restarter() restart.ObjectRestarterFunc { return restart.DefaultRestarter(d.now) }

// fromEngine gives pkg/annotate's errors their exit codes: bad input 2, failed checks 1.
func fromEngine(err error) error {
	var (
		in     *annotate.InputError
		failed *annotate.FailedError
	)
	switch {
	case errors.As(err, &in):
		return &InputError{Err: err}
	case errors.As(err, &failed):
		return &ChecksFailedError{Failed: failed.Failed}
	}
	return err
}

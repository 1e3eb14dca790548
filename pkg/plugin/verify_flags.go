package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Complete parses the target and reads the namespace.
func (o *VerifyOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	o.audienceSet = cmd.Flags().Changed("audience")
	switch {
	case len(args) == 1 && checktarget.IsPod(args[0]):
		// A pod is verify's own kind, not one of the targets every command shares.
		t, err := checktarget.Parse(args[0])
		if err != nil {
			o.targetErr = &FlagError{Err: err}
		}
		o.target = t
	case len(args) == 1:
		registry, err := loadRegistry(o.TargetsFile)
		if err != nil {
			return err
		}
		ref, err := registry.Parse(args[0])
		switch {
		case err != nil:
			o.targetErr = &FlagError{Err: err}
		case ref.Kind.Custom != nil:
			o.custom = &ref
		default:
			if o.target, err = checktarget.Parse(args[0]); err != nil {
				o.targetErr = &FlagError{Err: err}
			}
		}
	}
	warnAudience(o.ErrOut, o.Audience, o.audienceSet)
	o.imageDefault = !cmd.Flags().Changed("image")
	o.complete(cmd, o.deps.env)
	var err error
	if o.namespace, err = namespaceOf(o.configFlags, false); err != nil {
		return err
	}
	o.dryRun = parseDryRun(o.ErrOut, o.DryRun)
	if o.dryRun == dryRunClient && o.Output == "" {
		o.Output = "yaml"
	}
	o.terminal = o.deps.isTerminal(o.Out)
	o.Output = runOutput(o.Output, o.terminal)
	return nil
}

// Validate refuses flag values before anything is written to the cluster.
func (o *VerifyOptions) Validate() error {
	if o.targetErr != nil {
		return o.targetErr
	}
	if err := o.validateInPod(); err != nil {
		return err
	}
	if o.dryRun == dryRunClient {
		if o.Output != "yaml" && o.Output != "json" {
			return OutputError(o.Output, "yaml", "json")
		}
	} else if err := checkRunOutput(o.Output, o.terminal); err != nil {
		return err
	}
	if o.RoleARN != "" && (o.STSEndpoint == "" || !identity.ForeignRoleARN(o.RoleARN)) {
		if _, err := identity.ParseRoleARN(o.RoleARN); err != nil {
			return &FlagError{Err: fmt.Errorf("invalid --role-arn: %w", err)}
		}
	}
	if err := checkTimeout(o.Timeout); err != nil {
		return err
	}
	if err := checkProbeImage(o.Image, o.ImagePullPolicy); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.InPod && len(o.caBundle) > verify.MaxInPodCABundle {
		return InputErrorf("%s: %s is %d KiB; with --in-pod the bundle travels in the ephemeral container's env, which stays in the pod's spec: give at most %d KiB (the CAs the STS endpoint or the proxy needs)",
			o.source("ca-bundle"), o.CABundle, len(o.caBundle)>>10, verify.MaxInPodCABundle>>10)
	}
	if err := checkAudience(o.Audience, o.audienceSet); err != nil {
		return err
	}
	return o.validateFleet()
}

// validateFleet checks the flags that select many accounts, or one container.
func (o *VerifyOptions) validateFleet() error {
	one := !o.fleet()
	switch {
	case one && (o.AllNamespaces || o.Selector != ""):
		return FlagErrorf("-A and -l select the service accounts to prove: give no TARGET with them, or drop them to prove %s", o.target)
	case o.custom != nil && (o.AllNamespaces || o.Selector != ""):
		return FlagErrorf("-A and -l select service accounts: %s names its operator's accounts already", o.custom)
	case o.Container != "" && (!one || o.target.Kind == checktarget.KindServiceAccount):
		return FlagErrorf("--container picks a container of a workload or a pod: give a TARGET deployment|statefulset|daemonset|pod/NAME")
	case o.AllowEmpty && (!o.fleet() || o.custom != nil):
		return FlagErrorf("--allow-empty lets a selection of no service account pass: it applies with no TARGET")
	case o.fleet() && o.RoleARN != "":
		return FlagErrorf("--role-arn is the role one account must have: give a TARGET with it; with many accounts, each is proven against its own annotation")
	case o.Parallel < 1:
		return FlagErrorf("--parallel must be 1 or more, not %d", o.Parallel)
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return FlagErrorf("invalid -l %q: %v", o.Selector, err)
	}
	return nil
}

// validateInPod checks --in-pod and the flags only it takes: --pod and --dry-run.
func (o *VerifyOptions) validateInPod() error {
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunClient); err != nil {
		return err
	}
	switch {
	case !o.InPod && o.Pod != "":
		return FlagErrorf("--pod picks the app's pod the probe joins: it goes with --in-pod")
	case !o.InPod && o.dryRun == dryRunClient:
		return FlagErrorf("--dry-run=client prints the ephemeral container of --in-pod: a probe pod run writes its pod and deletes it, which there is nothing to print of")
	case !o.InPod:
		return nil
	case o.custom != nil:
		return FlagErrorf("--in-pod joins the pods of a workload, and %s is a custom resource whose operator runs its own: give the operator's deployment, or no TARGET with -n", o.custom)
	case o.fleet() && o.Pod != "":
		return FlagErrorf("--pod picks the pod of one workload: give its TARGET, deployment|statefulset|daemonset/NAME")
	case o.fleet() && o.dryRun == dryRunClient:
		return FlagErrorf("--dry-run=client prints the ephemeral container of one pod: give a TARGET deployment|statefulset|daemonset|pod/NAME")
	case o.fleet():
		return nil
	case o.target.Kind == checktarget.KindServiceAccount:
		return FlagErrorf("--in-pod joins a running pod of the app, and %s is a service account: give the workload that runs as it, deployment|statefulset|daemonset/NAME, or pod/NAME", o.target)
	case o.Pod != "" && o.target.Kind == checktarget.KindPod:
		return FlagErrorf("--pod picks a pod of a workload, and the TARGET %s is a pod already", o.target)
	}
	if o.Pod != "" {
		if msgs := targets.ValidName(o.Pod); msgs != "" {
			return FlagErrorf("--pod %q is not a valid pod name: %s", o.Pod, msgs)
		}
	}
	return nil
}

// checkProbeImage refuses an empty --image and a --image-pull-policy Kubernetes does not
// know, for every command that runs the probe pod.
func checkProbeImage(image, pullPolicy string) error {
	if image == "" {
		return FlagErrorf("--image must not be empty")
	}
	switch corev1.PullPolicy(pullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	}
	return FlagErrorf("--image-pull-policy must be one of Always, IfNotPresent, Never, got %q", pullPolicy)
}

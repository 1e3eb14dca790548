package plugin

import (
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-wi/kubectl-wi/pkg/cabundle"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Complete parses the target and reads the namespace.
func (o *VerifyOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	o.audienceSet = cmd.Flags().Changed("audience")
	if len(args) == 1 {
		registry, err := loadRegistry(o.TargetsFile)
		if err != nil {
			return err
		}
		ref, err := registry.Parse(args[0])
		if err != nil {
			return &FlagError{Err: err}
		}
		if ref.Kind.Custom != nil {
			o.custom = &ref
		} else if o.target, err = verify.ParseTarget(args[0]); err != nil {
			return &FlagError{Err: err}
		}
	}
	o.imageDefault = !cmd.Flags().Changed("image")
	o.from = map[string]string{}
	for _, d := range []struct {
		flag, env string
		value     *string
	}{{"sts-endpoint", EnvSTSEndpoint, &o.STSEndpoint}, {"ca-bundle", EnvCABundle, &o.CABundle}} {
		if v := o.getenv(d.env); v != "" && !cmd.Flags().Changed(d.flag) {
			*d.value = v
			o.from[d.flag] = d.env
		}
	}
	if o.configFlags != nil {
		ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
		}
		o.namespace = ns
	}
	if o.namespace == "" {
		o.namespace = "default"
	}
	o.Output = runOutput(o.Output, o.isTerminal)
	return nil
}

// Validate refuses flag values before anything is written to the cluster.
func (o *VerifyOptions) Validate() error {
	if err := checkRunOutput(o.Output, o.isTerminal); err != nil {
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
	if o.Image == "" {
		return FlagErrorf("--image must not be empty")
	}
	switch corev1.PullPolicy(o.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return FlagErrorf("--image-pull-policy must be one of Always, IfNotPresent, Never, got %q", o.ImagePullPolicy)
	}
	if o.STSEndpoint != "" {
		u, err := url.Parse(o.STSEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return FlagErrorf("%s must be an http or https URL, got %q", o.source("sts-endpoint"), o.STSEndpoint)
		}
	}
	if o.CABundle != "" {
		data, err := os.ReadFile(o.CABundle)
		if err != nil {
			return InputErrorf("%s: cannot read %s: %w", o.source("ca-bundle"), o.CABundle, unwrapPath(err))
		}
		if _, err := cabundle.Parse(data); err != nil {
			return InputErrorf("%s: %s is not a PEM file of CA certificates: %w", o.source("ca-bundle"), o.CABundle, err)
		}
		o.caBundle = data
	}
	if err := checkAudience(o.ErrOut, o.Audience, o.audienceSet); err != nil {
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
	case o.Container != "" && (!one || o.target.Kind == verify.KindServiceAccount):
		return FlagErrorf("--container picks a container of a workload: give a TARGET deployment|statefulset|daemonset/NAME")
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

// source names where a flag's value came from, for an error: the flag, or the env var that
// gave its default.
func (o *VerifyOptions) source(flag string) string {
	if env, ok := o.from[flag]; ok {
		return "$" + env + " (the default of --" + flag + ")"
	}
	return "--" + flag
}

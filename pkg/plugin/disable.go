package plugin

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const disableExample = `  # Remove the IAM role from service account app and restart the workloads whose pods still carry it
  kubectl wi disable app -n shop

  # The same for the service account of a Deployment, showing what would change
  kubectl wi disable deployment/web -n shop --dry-run=server

  # Every service account labelled team=payments in every namespace, restarting nothing
  kubectl wi disable -l team=payments -A --restart=never

  # Remove the role from Portworx, keeping the other providers' credentials
  kubectl wi disable storagecluster/px-cluster -n portworx

  # Delete the EKS Pod Identity association of app, and restart what still runs on it
  kubectl wi disable app --pod-identity --eks-cluster prod --region us-west-2`

// DisableOptions holds everything `kubectl wi disable` needs. Flags bind to fields.
type DisableOptions struct {
	identityOptions
}

// NewDisableOptions returns the options with their defaults.
func NewDisableOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *DisableOptions {
	return &DisableOptions{identityOptions: newIdentityOptions(cf, streams, d)}
}

// NewCmdDisable builds `kubectl wi disable`.
func NewCmdDisable(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	o := NewDisableOptions(cf, streams, d)
	cmd := &cobra.Command{
		Use:   "disable [TARGET...]",
		Short: "Remove the IAM role from service accounts and restart the workloads that still carry it",
		Long: `Remove the eks.amazonaws.com/ identity annotations (role-arn, audience, token-expiration,
sts-regional-endpoints) from service accounts, and restart the Deployments, StatefulSets and
DaemonSets whose live pods still carry the injected identity.

TARGET takes the same forms as for enable; a workload whose pods run as the namespace's
default service account is refused, as every pod without its own account shares that account:
name serviceaccount/default to mean it. Only the identity annotations are removed, with a
patch; every other annotation, label and field stays as it is. A service account without them
is left alone. For a custom resource (storagecluster/NAME, deploymentruntimeconfig/NAME, or a
kind from --targets FILE) only the role is removed: the aws credentials item, or the
annotations in the service account template; its operator restarts its pods.

With --pod-identity, disable deletes the EKS Pod Identity association of each service account
instead (eks:DeletePodIdentityAssociation, with your own AWS credentials), once the other
checks pass, and restarts the workloads whose live pods still carry its container credentials
once the webhook admits new pods without them; an account without one is left alone. The
EKS cluster is --eks-cluster, else the kubeconfig's (the cluster of its context named by ARN,
or its aws eks get-token --cluster-name); --cluster stays kubectl's. --dry-run shows the AWS
CLI command.

` + exitCodesNoChecksHelp,
		Example: disableExample,
		RunE:    completeValidateRun(o, nil),
	}
	o.addFlags(cmd)
	o.podIdentityOptions.addFlags(cmd, false)
	cmd.ValidArgsFunction = completeTargets(cf, d, identityTargetKinds, 0)
	return cmd
}

// Complete works out the namespace and which optional flags were given.
func (o *DisableOptions) Complete(cmd *cobra.Command, args []string) error {
	o.modeErr = o.checkPodIdentityFlags(cmd, []string{"output"})
	return o.complete(cmd, args)
}

// Validate checks every flag and argument; it makes no API call.
func (o *DisableOptions) Validate() error {
	if o.modeErr != nil {
		return o.modeErr
	}
	if o.PodIdentity {
		return o.validatePodIdentity(nil)
	}
	return o.validate()
}

// Run removes the annotations (or the association) and restarts what needs it.
func (o *DisableOptions) Run(ctx context.Context) error {
	if o.PodIdentity {
		return o.runPodIdentity(ctx, nil)
	}
	return o.run(ctx)
}

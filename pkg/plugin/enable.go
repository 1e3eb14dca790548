package plugin

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

const enableExample = `  # Give the pods of service account app the IAM role app, restarting the workloads that need it
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app -n shop

  # The same, naming the Deployment; its pod template's service account is annotated
  kubectl wi enable deployment/web --role-arn arn:aws:iam::123456789012:role/web -n shop

  # Every service account labelled team=payments in every namespace, waiting for the rollouts
  kubectl wi enable -l team=payments -A --role-arn arn:aws:iam::123456789012:role/payments --wait

  # Show what would change, letting the server validate it, and print the service account
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app --dry-run=server -o yaml

  # Create the service account if it is missing, with a one-hour token and regional STS
  kubectl wi enable app --create --role-arn arn:aws:iam::123456789012:role/app --token-expiration 3600 --sts-regional-endpoints

  # Move app to another role, keeping its audience and token settings
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app-v2 --overwrite

  # Give Portworx the role for its cloud snapshots; the operator restarts its pods
  kubectl wi enable storagecluster/px-cluster -n portworx --role-arn arn:aws:iam::123456789012:role/portworx

  # Give the Crossplane providers using runtime config aws the role
  kubectl wi enable deploymentruntimeconfig/aws --role-arn arn:aws:iam::123456789012:role/crossplane

  # Turn on workload identity in a Control Plane mk8s cluster manifest, then apply it
  kubectl wi enable --manifest cluster.yaml

  # Give app the role through an EKS Pod Identity association instead, with your AWS credentials
  kubectl wi enable app --pod-identity --role-arn arn:aws:iam::123456789012:role/app --eks-cluster prod --region us-west-2`

// EnableOptions holds everything `kubectl wi enable` needs. Flags bind to fields.
type EnableOptions struct {
	identityOptions

	RoleARN         string
	Audience        string
	TokenExpiration int64
	STSRegional     bool
	Create          bool
	Overwrite       bool
	Reset           bool
	Manifest        string // a cpln mk8s manifest to edit (enable_manifest.go)

	audienceSet    bool
	expirationSet  bool
	stsRegionalSet bool
	// roleErr is why --role-arn did not parse, for Validate to say.
	roleErr error
	// mode is what the run does, chosen once by Complete from --manifest and --pod-identity.
	mode enableMode
}

// NewEnableOptions returns the options with their defaults.
func NewEnableOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *EnableOptions {
	o := &EnableOptions{identityOptions: newIdentityOptions(cf, streams, d)}
	o.canCreate = true
	return o
}

// NewCmdEnable builds `kubectl wi enable`.
func NewCmdEnable(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	o := NewEnableOptions(cf, streams, d)
	cmd := &cobra.Command{
		Use:   "enable [TARGET...] --role-arn ARN",
		Short: "Annotate service accounts with an IAM role and restart the workloads that need it",
		Long: `Annotate service accounts with an IAM role for the pod identity webhook, and restart the
Deployments, StatefulSets and DaemonSets whose pods need new pods to get it.

TARGET is NAME or serviceaccount/NAME (sa/NAME), or deployment/NAME, statefulset/NAME or
daemonset/NAME (deploy, sts, ds) for the service account of that workload's pod template.
-l SELECTOR selects many service accounts; -A with -l selects them in every namespace.

TARGET may also be a custom resource whose operator takes the role itself and restarts its
own pods: storagecluster/NAME (Portworx, the role goes in spec.workloadIdentity.credentials)
or deploymentruntimeconfig/NAME (Crossplane, in the template of the providers' service
account). More kinds come from a targets file in the same format as the built-in ones
(--targets FILE, and targets.yaml in the kubectl-wi directory under the user's config
directory). A service account that Helm manages is annotated too, with a warning that gives
the values line that keeps the annotation across upgrades.

--manifest FILE turns on the awsWorkloadIdentity add-on in a Control Plane (cpln) mk8s
cluster manifest instead, keeping the rest of the file, to apply with cpln apply.

TARGET is KIND/NAME or NAME, never KIND NAME. A workload whose pods run as the namespace's
default service account is refused: a role there reaches every pod without an account of its
own. Name serviceaccount/default to mean it. --create creates only the accounts TARGET names.

Only the eks.amazonaws.com/ identity annotations are written, with a patch: every other
annotation, label and field stays as it is. Running again with the same flags writes nothing.
A role the account already has is replaced only with --overwrite (checked for every selected
account before any write). Settings not named on the command line (--audience,
--token-expiration, --sts-regional-endpoints) keep the account's values; --reset returns them
to the webhook's defaults.

` + podIdentityHelp + `

With --restart=auto (the default) a workload is restarted when one of its live pods lacks the
injection or carries another role, audience, expiration or STS setting than the account now
asks. Paused Deployments, OnDelete update strategies, Jobs, CronJobs and bare pods are listed
with the command that restarts them.

` + exitCodesNoChecksHelp,
		Example: enableExample,
		RunE:    completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	f.StringVar(&o.RoleARN, "role-arn", "", "IAM role the pods assume, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (required)")
	f.StringVar(&o.Audience, "audience", "", "Audience of the projected token (default sts.amazonaws.com)")
	f.Int64Var(&o.TokenExpiration, "token-expiration", 0, "Lifetime of the projected token in seconds, 600 to 86400 (default 86400)")
	f.BoolVar(&o.STSRegional, "sts-regional-endpoints", false, "Make the SDKs use the regional STS endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional)")
	f.BoolVar(&o.Create, "create", false, "Create the service accounts TARGET names (NAME, serviceaccount/NAME) when they are missing, instead of failing")
	f.BoolVar(&o.Overwrite, "overwrite", false, "Replace a role an account (or custom resource) already has; without it, enable refuses to change an existing role")
	f.BoolVar(&o.Reset, "reset", false, "Return the settings not named on the command line (audience, token expiration, STS endpoints) to the webhook's defaults; without it they are kept")
	f.StringVar(&o.Manifest, "manifest", "", "Turn on workload identity in a Control Plane (cpln) mk8s cluster manifest FILE instead of in the cluster")
	o.addFlags(cmd)
	o.podIdentityOptions.addFlags(cmd, true)
	cmd.ValidArgsFunction = completeTargets(cf, d, identityTargetKinds, 0)
	return cmd
}

// Complete works out the namespace, the targets, which optional flags were given, the role,
// and from them the mode of the run and what it writes.
func (o *EnableOptions) Complete(cmd *cobra.Command, args []string) error {
	o.audienceSet = cmd.Flags().Changed("audience")
	o.expirationSet = cmd.Flags().Changed("token-expiration")
	o.stsRegionalSet = cmd.Flags().Changed("sts-regional-endpoints")
	o.modeErr = o.checkPodIdentityFlags(cmd, []string{"audience", "token-expiration", "sts-regional-endpoints", "reset", "manifest"})
	if o.Manifest != "" {
		m := &manifestMode{EnableOptions: o}
		m.complete(cmd, args)
		o.mode = m
		return nil
	}
	if err := o.complete(cmd, args); err != nil {
		return err
	}
	// On a parse error role is the zero RoleARN, whose String is not "": roleErr stops the run
	// in Validate before the spec built from it is used.
	var role identity.RoleARN
	role, o.roleErr = parseRoleFlag("role-arn", o.RoleARN)
	o.overwrite, o.create = o.Overwrite, o.Create
	if o.PodIdentity {
		// The association carries the role: no annotation is wanted.
		o.want, o.keep = nil, nil
		spec := podidentity.ParsedSpec{Role: role, DisableSessionTags: o.DisableSessionTags}
		if o.TargetRoleARN != "" {
			spec.TargetRole = &o.targetRole
		}
		o.mode = &podIdentityMode{EnableOptions: o, spec: spec}
		return nil
	}
	o.want = &identity.Config{RoleARN: role.String(), Audience: o.Audience, TokenExpiration: o.TokenExpiration, STSRegional: o.STSRegional}
	o.keep = o.keep[:0]
	if !o.Reset {
		for key, named := range map[string]bool{
			identity.AnnotationAudience:        o.audienceSet,
			identity.AnnotationTokenExpiration: o.expirationSet,
			identity.AnnotationSTSRegional:     o.stsRegionalSet,
		} {
			if !named {
				o.keep = append(o.keep, key)
			}
		}
	}
	warnAudience(o.ErrOut, o.Audience, o.audienceSet)
	o.mode = annotationMode{o}
	return nil
}

// Validate checks every flag and argument, as the mode takes them; it makes no API call.
func (o *EnableOptions) Validate() error {
	if o.modeErr != nil {
		return o.modeErr
	}
	return o.mode.validate()
}

// Run annotates the service accounts (or writes their associations, or edits the manifest)
// and restarts what needs it.
func (o *EnableOptions) Run(ctx context.Context) error { return o.mode.run(ctx) }

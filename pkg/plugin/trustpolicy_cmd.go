package plugin

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// issuerDiscoveryPath is where the apiserver serves its OIDC discovery document.
const issuerDiscoveryPath = apicall.IssuerDiscoveryPath

// Placeholders printed in the next-step commands for what the cluster cannot tell.
const (
	tpPlaceholderRoleName    = "ROLE_NAME"
	tpPlaceholderAccountID   = "ACCOUNT_ID"
	tpPlaceholderClusterName = "CLUSTER_NAME"
	tpPlaceholderSA          = "SERVICEACCOUNT"
)

const trustPolicyLong = `Print the IAM trust policy a role needs so that a service account's pods can assume it.

The issuer is read from the cluster's OIDC discovery document (` + issuerDiscoveryPath + `,
served by the apiserver); the account and partition come from --account-id and --partition, or
from the service account's eks.amazonaws.com/role-arn annotation; the audience is the one the
account asks for (eks.amazonaws.com/audience, default sts.amazonaws.com).

The policy trusts the cluster's OIDC provider for AssumeRoleWithWebIdentity, with StringEquals
on <issuer>:aud and <issuer>:sub = system:serviceaccount:NAMESPACE:NAME. --namespace-wide
admits every service account of the namespace with StringLike (a wildcard in StringEquals
would match nothing). --pod-identity prints the EKS Pod Identity policy instead, which names no
issuer and no service account.

Text output adds the aws CLI commands that create the OIDC provider and the role, and the
kubectl wi command that annotates the service account; -o json prints the policy alone.

` + exitCodesNoChecksHelp

const trustPolicyExample = `  # Print the trust policy and setup commands for service account app in namespace team
  kubectl wi trust-policy app -n team

  # Save the policy alone, for aws iam create-role
  kubectl wi trust-policy serviceaccount/app -n team -o json > trust-policy.json

  # Before the service account is annotated: name the account, and the partition outside aws
  kubectl wi trust-policy app -n team --account-id 123456789012 --partition aws-us-gov

  # Trust every service account of the namespace
  kubectl wi trust-policy -n team --namespace-wide --account-id 123456789012

  # The cluster does not serve its issuer to you: pass it
  kubectl wi trust-policy app -n team --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE

  # The EKS Pod Identity trust policy
  kubectl wi trust-policy app -n team --pod-identity`

// TrustPolicyOptions holds everything `kubectl wi trust-policy` needs. Flags bind to fields.
type TrustPolicyOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Output        string // "" or "text" | "json"
	NamespaceWide bool
	AccountID     string
	Partition     string
	Issuer        string
	Audience      string
	PodIdentity   bool

	name      string       // the service account; "" with --namespace-wide or --pod-identity
	workload  *targets.Ref // a workload TARGET: name is its pod template's account, read in Run
	namespace string
	targetErr error // why TARGET did not parse, for Validate to say

	deps deps
}

// newTrustPolicyOptions are the defaults, reaching outside through d.
func newTrustPolicyOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *TrustPolicyOptions {
	return &TrustPolicyOptions{configFlags: cf, IOStreams: streams, deps: d}
}

// newCmdTrustPolicy builds `kubectl wi trust-policy` around o.
func newCmdTrustPolicy(o *TrustPolicyOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "trust-policy [serviceaccount/]NAME | deployment|statefulset|daemonset/NAME",
		Short:   "Print the IAM trust policy that lets a service account assume its role",
		Long:    trustPolicyLong,
		Example: trustPolicyExample,
		Args: func(_ *cobra.Command, args []string) error {
			if err := targets.Builtin().CheckArgs(args); err != nil {
				return &FlagError{Err: err}
			}
			if len(args) > 1 {
				return FlagErrorf("trust-policy takes one service account, got %d arguments", len(args))
			}
			return nil
		},
		RunE: completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: text|json")
	f.BoolVar(&o.NamespaceWide, "namespace-wide", false, "Trust every service account of the namespace (StringLike on sub)")
	f.StringVar(&o.AccountID, "account-id", "", "AWS account of the OIDC provider and role (default: from the service account's role ARN)")
	f.StringVar(&o.Partition, "partition", "", "AWS partition: aws, aws-cn, aws-us-gov, ... (default: from the service account's role ARN, else aws)")
	f.StringVar(&o.Issuer, "issuer", "", "OIDC issuer URL (default: read from the cluster's "+issuerDiscoveryPath+")")
	f.StringVar(&o.Audience, "audience", "", "Token audience the role accepts (default: the service account's, else "+identity.DefaultAudience+")")
	f.BoolVar(&o.PodIdentity, "pod-identity", false, "Print the EKS Pod Identity trust policy instead")
	cmd.ValidArgsFunction = completeTargets(o.configFlags, o.deps, func(*targets.Registry) []*targets.Kind { return []*targets.Kind{targets.ServiceAccount} }, 1)
	completeValues(cmd, "output", "text", "json")
	completeValues(cmd, "partition", identity.Partitions()...)
	return cmd
}

// Complete reads the argument and the namespace.
func (o *TrustPolicyOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		ref, err := parseTrustPolicyTarget(args[0])
		switch {
		case err != nil:
			o.targetErr = &FlagError{Err: err}
		case ref.IsServiceAccount():
			o.name = ref.Name
		default:
			o.workload = &ref
		}
	}
	if !o.PodIdentity {
		warnAudience(o.ErrOut, o.Audience, o.Audience != "")
	}
	var err error
	o.namespace, err = namespaceOf(o.configFlags, false)
	return err
}

// Validate checks the flags without touching the cluster.
func (o *TrustPolicyOptions) Validate() error {
	if o.targetErr != nil {
		return o.targetErr
	}
	if err := checkOutput(o.Output, "", "text", "json", "yaml"); err != nil {
		return err
	}
	if o.AccountID != "" && !identity.ValidAccountID(o.AccountID) {
		return FlagErrorf("--account-id %q is not an AWS account id: expected 12 digits", o.AccountID)
	}
	if o.Partition != "" && !identity.KnownPartition(o.Partition) {
		return FlagErrorf("--partition %q is not an AWS partition: expected one of %s", o.Partition, strings.Join(identity.Partitions(), ", "))
	}
	if o.PodIdentity {
		switch {
		case o.NamespaceWide:
			return FlagErrorf("--namespace-wide does not apply to --pod-identity: the Pod Identity trust policy names no service account, the association does")
		case o.Issuer != "":
			return FlagErrorf("--issuer does not apply to --pod-identity: the Pod Identity trust policy trusts the EKS service, not the cluster's issuer")
		case o.Audience != "":
			return FlagErrorf("--audience does not apply to --pod-identity: Pod Identity tokens always have audience %s", identity.PodIdentityAudience)
		case o.Partition == "aws-cn":
			return FlagErrorf("EKS Pod Identity is not available in the China regions (aws-cn): use an IRSA trust policy (drop --pod-identity)")
		}
		return nil
	}
	if o.workload != nil && o.NamespaceWide {
		return FlagErrorf("--namespace-wide trusts every service account of the namespace: name no TARGET with it")
	}
	if o.name == "" && o.workload == nil && !o.NamespaceWide {
		return FlagErrorf("trust-policy needs a service account: NAME or serviceaccount/NAME (or --namespace-wide)")
	}
	if o.Issuer != "" {
		if _, err := trustpolicy.ProviderHostPath(o.Issuer); err != nil {
			return FlagErrorf("invalid --issuer: %w", err)
		}
	}
	if err := checkAudience(o.Audience, o.Audience != ""); err != nil {
		return err
	}
	if o.Audience != "" && strings.ContainsAny(o.Audience, "*?") {
		return FlagErrorf("--audience %q holds a wildcard: the audience is matched exactly", o.Audience)
	}
	return nil
}

// parseTrustPolicyTarget reads NAME, serviceaccount/NAME or sa/NAME.
func parseTrustPolicyTarget(arg string) (targets.Ref, error) {
	ref, err := targets.Parse(arg)
	if err != nil {
		return targets.Ref{}, err
	}
	if !ref.IsServiceAccount() && ref.Kind.Custom != nil {
		return targets.Ref{}, fmt.Errorf("trust-policy takes a service account or a deployment, statefulset or daemonset, not %s: its operator's service account is the one to name", ref.Kind.Name)
	}
	return ref, nil
}

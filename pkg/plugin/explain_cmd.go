package plugin

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

const explainLong = `Explain the AWS side of workload identity, read with your own AWS credentials, before any pod.

For each service account with an identity (an eks.amazonaws.com/role-arn annotation, or an
EKS Pod Identity association), explain reads IAM and EKS (read-only: iam:GetRole,
iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider, eks:DescribeCluster,
eks:ListPodIdentityAssociations, eks:DescribePodIdentityAssociation) and checks:

  - the role exists, and its trust policy, evaluated as IAM evaluates it for the account's
    sub and aud and this cluster's OIDC provider, admits the account; when it does not, the
    statement and condition that refuse and why (a * inside StringEquals, the https:// left
    in a condition key, aud and sub swapped, another cluster's or account's provider, another
    namespace or name, a Deny, ...), the corrected policy as a diff, and the command that
    applies it;
  - the role's account has an IAM OIDC provider for the cluster's issuer, listing the
    account's audience as a client ID;
  - for Pod Identity (--eks-cluster): the association, its role's trust for
    pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession, and a target role's trust;
  - a corrected policy's length against IAM's limit.

With no TARGET, a selection of no account exits 1 (No service accounts found, on stderr;
--allow-empty makes that exit 0). What explain could not read (the associations, with no EKS
cluster or no AWS credentials) it says it did not read, and an account it therefore cannot
judge fails.

explain makes no STS call and creates no pod. AWS is read about once per distinct role.
The AWS SDK's configuration applies (AWS_PROFILE, AWS_REGION, the shared config files, SSO,
AWS_CA_BUNDLE, AWS_ENDPOINT_URL_IAM / _EKS / _STS); --profile and --region override it. IAM
reads only the account of your credentials: a role of another account is named and skipped.

--exchange proves the IAM chain with no AWS credentials and no pod: for each IRSA account a
token from the TokenRequest API (the audience the webhook gives its pods), exchanged with STS
AssumeRoleWithWebIdentity from this machine, the session checked with GetCallerIdentity, the
credentials discarded unseen. One STS round trip per account. It needs RBAC create on
serviceaccounts/token. It does not prove what verify proves from inside a pod (the webhook's
mutation, the token's mount, the pod's network path to STS), and says so. With AWS
credentials at hand, a refused exchange is explained from IAM as above.

A terminal gets a live checklist; otherwise one line per check and the verdict last (the
corrected policy's diff indented under its check). -o json writes the events as JSON lines.

` + exitCodesHelp

const explainExample = `  # Explain the service account app of the namespace shop
  kubectl wi explain app -n shop

  # Every identity service account of the cluster, Pod Identity included, as a CI log
  kubectl wi explain -A --eks-cluster prod --region us-west-2 -o text

  # The accounts labelled team=payments, with the AWS profile of their account
  kubectl wi explain -A -l team=payments --profile payments

  # Prove every account of a namespace with a token exchange, no AWS credentials needed
  kubectl wi explain -n shop --exchange`

// ExplainOptions holds everything `kubectl wi explain` needs. Flags bind to fields.
type ExplainOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	AllNamespaces bool
	Selector      string
	Profile       string
	Region        string
	Cluster       string
	Issuer        string
	Exchange      bool
	Output        string
	Timeout       time.Duration
	AllowEmpty    bool

	target    *checktarget.Target
	targetErr error // why TARGET did not parse, for Validate to say
	namespace string
	// clusterFrom says where Cluster came from, for messages: "--eks-cluster" or the kubeconfig.
	clusterFrom string
	terminal    bool // Out is a terminal

	deps deps
}

// newExplainOptions are the defaults, reaching outside through d.
func newExplainOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *ExplainOptions {
	return &ExplainOptions{configFlags: cf, IOStreams: streams, Timeout: 5 * time.Minute, deps: d}
}

func newCmdExplain(o *ExplainOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "explain [[serviceaccount/]NAME | deployment|statefulset|daemonset/NAME] [-n NAMESPACE | -A] [-l SELECTOR]",
		Short:   "Read the AWS side of each service account's identity and name what is misconfigured",
		Long:    explainLong,
		Example: explainExample,
		Args: func(_ *cobra.Command, args []string) error {
			if err := targets.Builtin().CheckArgs(args); err != nil {
				return &FlagError{Err: err}
			}
			if len(args) > 1 {
				return FlagErrorf("explain takes at most one TARGET, got %d", len(args))
			}
			return nil
		},
		RunE: completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Explain the identity service accounts of every namespace")
	f.StringVarP(&o.Selector, "selector", "l", "", "Explain the service accounts with these labels only (e.g. -l team=payments)")
	f.StringVar(&o.Profile, "profile", "", "AWS profile of the shared config files (default: AWS_PROFILE, else the default profile)")
	f.StringVar(&o.Region, "region", "", "AWS region of the EKS cluster and of STS (default: AWS_REGION or the profile's, else the kubeconfig's EKS cluster's)")
	f.StringVar(&o.Cluster, "eks-cluster", "", "The EKS cluster's name, to read its issuer and Pod Identity associations ("+eksClusterHelp+"). --cluster is kubectl's: a cluster of the kubeconfig")
	f.StringVar(&o.Issuer, "issuer", "", "OIDC issuer URL (default: read from the apiserver's "+apicall.IssuerDiscoveryPath+", else from EKS)")
	f.BoolVar(&o.Exchange, "exchange", false, "Prove each IRSA account with a TokenRequest token exchanged with STS from this machine, instead of reading IAM")
	f.StringVarP(&o.Output, "output", "o", "", "Output format. One of: tui|text|json (default: tui on a terminal, text otherwise)")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "Bound on the whole run")
	f.BoolVar(&o.AllowEmpty, "allow-empty", false, "With no TARGET: exit 0 when no service account is selected (default: exit 1, as a gate that checked nothing has not passed)")
	cmd.ValidArgsFunction = completeTargets(o.configFlags, o.deps, workloadTargetKinds, 1)
	completeValues(cmd, "output", "tui", "text", "json")
	return cmd
}

// Complete parses the target and works out the namespace and the EKS cluster.
func (o *ExplainOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) == 1 {
		t, err := checktarget.Parse(args[0])
		if err != nil {
			o.targetErr = &FlagError{Err: err}
		}
		o.target = &t
	}
	var err error
	if o.namespace, err = namespaceOf(o.configFlags, o.AllNamespaces); err != nil {
		return err
	}
	o.Cluster, o.Region, o.clusterFrom = eksClusterAndRegion(o.deps, o.configFlags, o.Cluster, o.Region)
	o.terminal = o.deps.isTerminal(o.Out)
	o.Output = runOutput(o.Output, o.terminal)
	return nil
}

// Validate refuses flag values before anything is read.
func (o *ExplainOptions) Validate() error {
	if o.targetErr != nil {
		return o.targetErr
	}
	if err := checkRunOutput(o.Output, o.terminal); err != nil {
		return err
	}
	if o.target != nil && (o.AllNamespaces || o.Selector != "") {
		return FlagErrorf("a TARGET names one service account: give no -A or -l with it")
	}
	if o.target != nil && o.AllowEmpty {
		return FlagErrorf("--allow-empty lets a selection of no service account pass: it applies with no TARGET")
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return FlagErrorf("invalid -l selector %q: %v", o.Selector, err)
		}
	}
	if o.Issuer != "" {
		if _, err := trustpolicy.ProviderHostPath(o.Issuer); err != nil {
			return FlagErrorf("invalid --issuer: %v", err)
		}
	}
	return checkTimeout(o.Timeout)
}

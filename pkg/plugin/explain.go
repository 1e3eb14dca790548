package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
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
  - for Pod Identity (--cluster): the association, its role's trust for
    pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession, and a target role's trust;
  - a corrected policy's length against IAM's limit.

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
  kubectl wi explain -A --cluster prod --region us-west-2 -o text

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

	target    *verify.Target
	namespace string
	// clusterFrom says where Cluster came from, for messages: "--cluster" or the kubeconfig.
	clusterFrom string

	newClient  func() (kubernetes.Interface, verify.DiscoveryFunc, error) // swapped in tests
	newAWS     func(ctx context.Context) (aws.Config, error)              // swapped in tests
	newDeps    func(cfg aws.Config) (explain.AWS, explain.STS)            // swapped in tests
	rawConfig  func() (clientcmdapi.Config, error)
	isTerminal func() bool
	now        func() time.Time
	getenv     func(string) string
}

// NewExplainOptions returns the options with their defaults.
func NewExplainOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *ExplainOptions {
	o := &ExplainOptions{configFlags: cf, IOStreams: streams, Timeout: 5 * time.Minute, now: time.Now, getenv: os.Getenv}
	o.newClient = func() (kubernetes.Interface, verify.DiscoveryFunc, error) {
		c, err := newClientset(cf)
		if err != nil {
			return nil, nil, err
		}
		return c, verify.APIServerDiscovery(c), nil
	}
	o.newAWS = func(ctx context.Context) (aws.Config, error) {
		return awsconfig.Load(ctx, awsconfig.Options{Profile: o.Profile, Region: o.Region})
	}
	o.newDeps = func(cfg aws.Config) (explain.AWS, explain.STS) { return explain.NewSDK(cfg), explain.NewSTS(cfg) }
	o.rawConfig = func() (clientcmdapi.Config, error) { return cf.ToRawKubeConfigLoader().RawConfig() }
	o.isTerminal = func() bool {
		f, ok := o.Out.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	return o
}

// NewCmdExplain builds `kubectl wi explain`.
func NewCmdExplain(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdExplain(NewExplainOptions(cf, streams))
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Explain the identity service accounts of every namespace")
	f.StringVarP(&o.Selector, "selector", "l", "", "Explain the service accounts with these labels only (e.g. -l team=payments)")
	f.StringVar(&o.Profile, "profile", "", "AWS profile of the shared config files (default: AWS_PROFILE, else the default profile)")
	f.StringVar(&o.Region, "region", "", "AWS region of the EKS cluster and of STS (default: AWS_REGION or the profile's, else the kubeconfig's EKS cluster's)")
	f.StringVar(&o.Cluster, "cluster", "", "EKS cluster name, to read its issuer and Pod Identity associations (default: from the kubeconfig's EKS cluster ARN or aws eks get-token arguments)")
	f.StringVar(&o.Issuer, "issuer", "", "OIDC issuer URL (default: read from the apiserver's "+apicall.IssuerDiscoveryPath+", else from EKS)")
	f.BoolVar(&o.Exchange, "exchange", false, "Prove each IRSA account with a TokenRequest token exchanged with STS from this machine, instead of reading IAM")
	f.StringVarP(&o.Output, "output", "o", "", "Output format. One of: tui|text|json (default: tui on a terminal, text otherwise)")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "Bound on the whole run")
	cmd.ValidArgsFunction = completeTargets(o.configFlags, workloadTargetKinds, 1)
	completeValues(cmd, "output", "tui", "text", "json")
	return cmd
}

// Complete parses the target and works out the namespace and the EKS cluster.
func (o *ExplainOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) == 1 {
		t, err := verify.ParseTarget(args[0])
		if err != nil {
			return &FlagError{Err: err}
		}
		o.target = &t
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
	if o.AllNamespaces {
		o.namespace = ""
	}
	if o.Cluster != "" {
		o.clusterFrom = "--cluster"
	} else if raw, err := o.rawConfig(); err == nil {
		name, region := eksClusterOf(raw)
		if name != "" {
			o.Cluster, o.clusterFrom = name, "the kubeconfig"
			if o.Region == "" && o.getenv("AWS_REGION") == "" && o.getenv("AWS_DEFAULT_REGION") == "" {
				o.Region = region
			}
		}
	}
	if o.Output == "" {
		o.Output = "text"
		if o.isTerminal() {
			o.Output = "tui"
		}
	}
	return nil
}

// eksClusterOf reads the EKS cluster of the kubeconfig's current context: its cluster entry
// named by ARN (aws eks update-kubeconfig names it so), or the --cluster-name and --region of
// its aws eks get-token exec plugin.
func eksClusterOf(raw clientcmdapi.Config) (name, region string) {
	ctx := raw.Contexts[raw.CurrentContext]
	if ctx == nil {
		return "", ""
	}
	if p := strings.SplitN(ctx.Cluster, ":", 6); len(p) == 6 && p[0] == "arn" && p[2] == "eks" && strings.HasPrefix(p[5], "cluster/") {
		return strings.TrimPrefix(p[5], "cluster/"), p[3]
	}
	if ai := raw.AuthInfos[ctx.AuthInfo]; ai != nil && ai.Exec != nil && slices.Contains(ai.Exec.Args, "get-token") {
		args := ai.Exec.Args
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--cluster-name", "-i", "--cluster-id":
				name = args[i+1]
			case "--region":
				region = args[i+1]
			}
		}
	}
	return name, region
}

// Validate refuses flag values before anything is read.
func (o *ExplainOptions) Validate() error {
	switch o.Output {
	case "tui":
		if !o.isTerminal() {
			return FlagErrorf("-o tui needs a terminal: use -o text or -o json")
		}
	case "text", "json":
	default:
		return OutputError(o.Output, "tui", "text", "json")
	}
	if o.target != nil && (o.AllNamespaces || o.Selector != "") {
		return FlagErrorf("a TARGET names one service account: give no -A or -l with it")
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

func (o *ExplainOptions) config() explain.Config {
	return explain.Config{Namespace: o.namespace, Target: o.target, Selector: o.Selector, Cluster: o.Cluster, Issuer: o.Issuer, Exchange: o.Exchange}
}

// Run explains, rendering as asked. Failed checks give a *ChecksFailedError.
func (o *ExplainOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client, discovery, err := o.newClient()
	if err != nil {
		return err
	}
	awsCfg, err := o.newAWS(ctx)
	if err != nil {
		var pe *awsconfig.ProfileError
		if errors.As(err, &pe) {
			return &InputError{Err: err}
		}
		return err
	}
	if awsCfg.Region == "" && o.Issuer != "" {
		awsCfg.Region = regionOfIssuer(o.Issuer)
	}
	if o.Cluster != "" && awsCfg.Region == "" {
		return FlagErrorf("the EKS cluster %s (from %s) needs a region: pass --region or set AWS_REGION", o.Cluster, o.clusterFrom)
	}
	reads, sts := o.newDeps(awsCfg)
	deps := explain.Deps{Client: client, Discovery: discovery, AWS: reads, STS: sts, Now: o.now}
	if o.Exchange && !credentialsAtHand(ctx, awsCfg) {
		deps.AWS = nil // the exchange needs none; a refusal is then not explained from IAM
		fmt.Fprintln(o.ErrOut, "note: no AWS credentials at hand: a refused exchange is not explained from IAM (give AWS credentials to have it explained)")
	}
	var (
		out    explain.Outcome
		runErr error
	)
	work := func(ctx context.Context, rep verify.Reporter) error {
		out, runErr = explain.Run(ctx, o.config(), deps, rep)
		return runErr
	}
	switch o.Output {
	case "tui":
		klog.SetLogger(logr.Discard())
		defer klog.ClearLogger()
		if err := tui.RunWith(ctx, o.In, o.Out, tui.Options{Title: o.title(), Steps: explainSteps(o.Exchange), Cancelling: "cancelling…"}, work); err != nil && runErr == nil {
			return err
		}
	case "json":
		j := render.NewJSON(o.Out, o.now)
		_ = work(ctx, j)
		if err := j.Err(); err != nil && runErr == nil {
			return fmt.Errorf("failed to write the events: %w", err)
		}
	default:
		t := render.NewText(o.Out)
		_ = work(ctx, t)
		if err := t.Err(); err != nil && runErr == nil {
			return fmt.Errorf("failed to write the output: %w", err)
		}
	}
	switch {
	case runErr != nil:
		return o.wordError(runErr)
	case out.Failed > 0:
		return &ChecksFailedError{Failed: out.Failed}
	}
	return nil
}

// wordError turns a missing target into exit 2, as verify does; the rest stays (exit 3).
func (o *ExplainOptions) wordError(err error) error {
	var call *apicall.Error
	if errors.As(err, &call) && call.Verb == "get" && apierrors.IsNotFound(err) && o.target != nil {
		return InputErrorf("%s %q not found in namespace %q", o.target.Kind, o.target.Name, o.namespace)
	}
	return err
}

func (o *ExplainOptions) title() string {
	t := "kubectl wi explain"
	if o.target != nil {
		t += " " + o.target.String()
	}
	if o.namespace == "" {
		t += " -A"
	} else {
		t += " -n " + o.namespace
	}
	if o.Exchange {
		t += " --exchange"
	}
	return t
}

func explainSteps(exchange bool) []tui.StepTitle {
	accounts := "Each service account: role, OIDC provider, trust policy"
	if exchange {
		accounts = "Each service account: token, STS exchange, caller"
	}
	return []tui.StepTitle{
		{ID: explain.StepCluster, Title: "The cluster: issuer, EKS"},
		{ID: explain.StepFind, Title: "Service accounts with an identity"},
		{ID: explain.StepAccounts, Title: accounts},
	}
}

// regionOfIssuer is the region of an EKS issuer, https://oidc.eks.REGION.amazonaws.com/id/X.
func regionOfIssuer(issuer string) string {
	host := strings.TrimPrefix(issuer, "https://")
	if rest, ok := strings.CutPrefix(host, "oidc.eks."); ok {
		if region, _, ok := strings.Cut(rest, "."); ok {
			return region
		}
	}
	return ""
}

// credentialsAtHand is whether the SDK finds credentials, within a second: an exchange does
// not need them, and a machine without any should not wait for the instance metadata service.
func credentialsAtHand(ctx context.Context, cfg aws.Config) bool {
	if cfg.Credentials == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := cfg.Credentials.Retrieve(ctx)
	return err == nil && c.HasKeys()
}

// explainRefusal is verify's Deps.Explain: when the user has AWS credentials at hand (from the
// environment or the shared files: the instance metadata service is not asked), explain reads
// the refused account's role and provider, and its IAM findings join verify's.
func explainRefusal(client kubernetes.Interface, discovery verify.DiscoveryFunc) func(context.Context, string, string) []probe.Event {
	return func(ctx context.Context, ns, sa string) []probe.Event {
		cfg, err := awsconfig.Load(ctx, awsconfig.Options{NoIMDS: true})
		if err != nil || !credentialsAtHand(ctx, cfg) {
			return nil
		}
		rec := &iamFindings{}
		_, err = explain.Run(ctx, explain.Config{Namespace: ns, Target: &verify.Target{Kind: verify.KindServiceAccount, Name: sa}},
			explain.Deps{Client: client, Discovery: discovery, AWS: explain.NewSDK(cfg)}, rec)
		if err != nil {
			return []probe.Event{{Type: probe.TypeInfo, Check: explain.CheckTrust, Message: "the refusal could not be explained from IAM: " + err.Error()}}
		}
		return rec.events
	}
}

// iamFindings keeps explain's IAM checks: what verify adds to an STS refusal.
type iamFindings struct{ events []probe.Event }

func (f *iamFindings) Step(verify.Step) {}
func (f *iamFindings) Raw(string)       {}
func (f *iamFindings) Event(ev probe.Event) {
	if ev.Type == probe.TypeCheck && strings.HasPrefix(ev.Check, "iam.") {
		f.events = append(f.events, ev)
	}
}

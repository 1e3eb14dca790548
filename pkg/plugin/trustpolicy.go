package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

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

	newClient func() (kubernetes.Interface, error) // swapped in tests
	// issuerFn reads the cluster's issuer; swapped in tests, since the fake clientset has no
	// discovery REST client.
	issuerFn func(ctx context.Context, client kubernetes.Interface) (string, error)
}

// NewTrustPolicyOptions returns the options with their defaults.
func NewTrustPolicyOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *TrustPolicyOptions {
	return &TrustPolicyOptions{
		configFlags: cf,
		IOStreams:   streams,
		newClient:   func() (kubernetes.Interface, error) { return newClientset(cf) },
		issuerFn:    readClusterIssuer,
	}
}

// NewCmdTrustPolicy builds `kubectl wi trust-policy`.
func NewCmdTrustPolicy(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdTrustPolicy(NewTrustPolicyOptions(cf, streams))
}

// newCmdTrustPolicy builds the command around o, so tests can swap o's clients.
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
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: text|json")
	f.BoolVar(&o.NamespaceWide, "namespace-wide", false, "Trust every service account of the namespace (StringLike on sub)")
	f.StringVar(&o.AccountID, "account-id", "", "AWS account of the OIDC provider and role (default: from the service account's role ARN)")
	f.StringVar(&o.Partition, "partition", "", "AWS partition: aws, aws-cn, aws-us-gov, ... (default: from the service account's role ARN, else aws)")
	f.StringVar(&o.Issuer, "issuer", "", "OIDC issuer URL (default: read from the cluster's "+issuerDiscoveryPath+")")
	f.StringVar(&o.Audience, "audience", "", "Token audience the role accepts (default: the service account's, else "+identity.DefaultAudience+")")
	f.BoolVar(&o.PodIdentity, "pod-identity", false, "Print the EKS Pod Identity trust policy instead")
	cmd.ValidArgsFunction = completeTargets(o.configFlags, func(*targets.Registry) []*targets.Kind { return []*targets.Kind{targets.ServiceAccount} }, 1)
	completeValues(cmd, "output", "text", "json")
	completeValues(cmd, "partition", identity.Partitions()...)
	return cmd
}

// Complete reads the argument and the namespace.
func (o *TrustPolicyOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		ref, err := parseTrustPolicyTarget(args[0])
		if err != nil {
			return &FlagError{Err: err}
		}
		if ref.IsServiceAccount() {
			o.name = ref.Name
		} else {
			o.workload = &ref
		}
	}
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
	}
	o.namespace = ns
	return nil
}

var tpAccountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

// Validate checks the flags without touching the cluster.
func (o *TrustPolicyOptions) Validate() error {
	if err := checkOutput(o.Output, "", "text", "json", "yaml"); err != nil {
		return err
	}
	if o.AccountID != "" && !tpAccountIDRE.MatchString(o.AccountID) {
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
	if err := checkAudience(o.ErrOut, o.Audience, o.Audience != ""); err != nil {
		return err
	}
	if o.Audience != "" && strings.ContainsAny(o.Audience, "*?") {
		return FlagErrorf("--audience %q holds a wildcard: the audience is matched exactly", o.Audience)
	}
	return nil
}

// trustPolicyPlan is everything worked out before rendering.
type trustPolicyPlan struct {
	policy    trustpolicy.Policy
	issuer    string // "" for Pod Identity
	audience  string
	partition string
	account   string // placeholder when unknown (Pod Identity only)
	roleName  string // placeholder when unknown
	rolePath  string // "/" or "/a/b/"
}

// Run builds the policy and prints it.
func (o *TrustPolicyOptions) Run(ctx context.Context) error {
	plan, err := o.plan(ctx)
	if err != nil {
		return err
	}
	switch {
	case o.Output == "json":
		b, err := plan.policy.JSON()
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	case o.Output == "yaml", isJSONPath(o.Output):
		b, err := plan.policy.JSON()
		if err != nil {
			return err
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		return printDocument(o.Out, o.Output, doc)
	}
	return o.printText(o.Out, plan)
}

func (o *TrustPolicyOptions) plan(ctx context.Context) (*trustPolicyPlan, error) {
	plan := &trustPolicyPlan{partition: o.Partition, account: o.AccountID, roleName: tpPlaceholderRoleName, rolePath: "/"}
	if plan.partition == "" {
		plan.partition = "aws"
	}
	if o.PodIdentity {
		// No cluster call: the policy names neither the cluster nor the service account.
		plan.policy = trustpolicy.ForPodIdentity()
		if plan.account == "" {
			plan.account = tpPlaceholderAccountID
		}
		return plan, nil
	}

	client, err := o.newClient()
	if err != nil {
		return nil, err
	}
	if o.workload != nil {
		name, err := targets.ServiceAccountName(ctx, client, o.namespace, *o.workload)
		if apierrors.IsNotFound(err) {
			return nil, InputErrorf("%s %q not found in namespace %q", o.workload.Kind.Name, o.workload.Name, o.namespace)
		}
		if err != nil {
			return nil, err
		}
		o.name = name
	}
	var cfg identity.Config
	hasRole, saFound := false, false
	if o.name != "" {
		sa, err := client.CoreV1().ServiceAccounts(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// Writing the policy before creating the account is the usual order; say so.
			o.warnMissing(ctx, client)
		case err != nil:
			return nil, fmt.Errorf("failed to get service account %s/%s: %w", o.namespace, o.name, err)
		default:
			saFound = true
			cfg, hasRole = identity.FromAnnotations(sa.Annotations)
		}
	}
	if err := o.resolveAccount(plan, cfg, hasRole, saFound); err != nil {
		return nil, err
	}

	plan.audience = o.Audience
	if plan.audience == "" {
		plan.audience = cfg.EffectiveAudience()
	}
	plan.issuer = o.Issuer
	if plan.issuer == "" {
		iss, err := o.issuerFn(ctx, client)
		if err != nil {
			return nil, err
		}
		if _, err := trustpolicy.ProviderHostPath(iss); err != nil {
			if errors.Is(err, trustpolicy.ErrIssuerNotHTTPS) {
				return nil, fmt.Errorf("the cluster's service account issuer is %q, which is not https: IAM only registers https OIDC providers. Pass the https issuer AWS reaches with --issuer URL, or set the apiserver's --service-account-issuer to one", iss)
			}
			return nil, fmt.Errorf("the cluster's service account issuer %q cannot be an IAM OIDC provider: %w; pass one with --issuer URL", iss, err)
		}
		plan.issuer = iss
	}
	o.warnPrivateIssuer(plan.issuer)

	plan.policy, err = trustpolicy.ForIRSA(trustpolicy.IRSA{
		Partition:      plan.partition,
		AccountID:      plan.account,
		Issuer:         plan.issuer,
		Audience:       plan.audience,
		Namespace:      o.namespace,
		ServiceAccount: o.name,
		NamespaceWide:  o.NamespaceWide,
	})
	if err != nil {
		return nil, &InputError{Err: err}
	}
	return plan, nil
}

// resolveAccount fills the partition, account and role name: flags win over the service
// account's role ARN. Without either, there is nothing to put in the provider ARN: exit 2.
func (o *TrustPolicyOptions) resolveAccount(plan *trustPolicyPlan, cfg identity.Config, hasRole, saFound bool) error {
	var arn identity.RoleARN
	var arnErr error
	if hasRole {
		arn, arnErr = identity.ParseRoleARN(cfg.RoleARN)
	}
	if hasRole && arnErr == nil {
		plan.roleName, plan.rolePath = arn.Name, arn.Path
		if o.Partition == "" {
			plan.partition = arn.Partition
		}
		if o.AccountID == "" {
			plan.account = arn.AccountID
		} else if o.AccountID != arn.AccountID {
			fmt.Fprintf(o.ErrOut, "Warning: --account-id %s differs from the account %s of the role %s names; the OIDC provider must be in the role's account\n",
				o.AccountID, arn.AccountID, o.saRef())
		}
	}
	if plan.account != "" {
		return nil
	}
	const ways = "pass --account-id ID (and --partition outside aws), or annotate the service account first: kubectl wi enable"
	switch {
	case hasRole:
		return InputErrorf("cannot take the account from service account %s: %w; %s", o.saRef(), arnErr, ways)
	case o.name == "":
		return InputErrorf("no account for the OIDC provider: a namespace-wide policy names no service account to read a role ARN from; pass --account-id ID (and --partition outside aws)")
	case saFound:
		return InputErrorf("no account for the OIDC provider: service account %s has no %s annotation; %s", o.saRef(), identity.AnnotationRoleARN, ways)
	default:
		return InputErrorf("no account for the OIDC provider: service account %s does not exist; pass --account-id ID (and --partition outside aws), or create and annotate it first: kubectl wi enable --create", o.saRef())
	}
}

func (o *TrustPolicyOptions) saRef() string { return o.namespace + "/" + o.name }

// warnMissing warns that the policy names a service account, or a namespace, that does not
// exist yet: right when the role comes first, a typo otherwise.
func (o *TrustPolicyOptions) warnMissing(ctx context.Context, client kubernetes.Interface) {
	if _, err := client.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		fmt.Fprintf(o.ErrOut, "Warning: namespace %q does not exist: the policy admits service account %s of it once it is created; check -n if that is not meant\n", o.namespace, o.name)
		return
	}
	fmt.Fprintf(o.ErrOut, "Warning: service account %s does not exist: the policy admits it once it is created (kubectl wi enable serviceaccount/%s -n %s --create --role-arn ARN)\n", o.saRef(), o.name, o.namespace)
}

// warnPrivateIssuer warns about the apiserver's in-cluster default issuer, which STS cannot
// fetch keys from.
func (o *TrustPolicyOptions) warnPrivateIssuer(issuer string) {
	hp, _ := trustpolicy.ProviderHostPath(issuer)
	host, _, _ := strings.Cut(hp, "/")
	if host == "kubernetes.default.svc" || strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, ".cluster.local") {
		fmt.Fprintf(o.ErrOut, "Warning: the issuer %s is an in-cluster name; AWS STS fetches the issuer's keys from %s%s, so the issuer must be reachable from AWS\n",
			issuer, strings.TrimSuffix(issuer, "/"), issuerDiscoveryPath)
	}
}

// printText prints the policy, then the commands that use it.
func (o *TrustPolicyOptions) printText(w io.Writer, plan *trustPolicyPlan) error {
	doc, err := plan.policy.JSON()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	who := "system:serviceaccount:" + o.namespace + ":" + o.name
	switch {
	case o.PodIdentity:
		fmt.Fprintf(&b, "# EKS Pod Identity trust policy\n")
	case o.NamespaceWide:
		fmt.Fprintf(&b, "# Trust policy for every service account of namespace %s (system:serviceaccount:%s:*)\n", o.namespace, o.namespace)
	default:
		fmt.Fprintf(&b, "# Trust policy for %s\n", who)
	}
	fmt.Fprintf(&b, "# Save it with: %s\n", o.jsonCommandLine())
	b.Write(doc)

	roleArgs := "--role-name " + tpShellQuote(plan.roleName)
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role%s%s", plan.partition, plan.account, plan.rolePath, plan.roleName)
	step := 0
	next := func(title string) {
		step++
		fmt.Fprintf(&b, "\n# %d. %s\n", step, title)
	}
	if !o.PodIdentity {
		next("Register the cluster's issuer as an IAM OIDC provider (once per cluster and account):")
		fmt.Fprintf(&b, "aws iam create-open-id-connect-provider --url %s --client-id-list %s\n", tpShellQuote(plan.issuer), tpShellQuote(plan.audience))
		hp, _ := trustpolicy.ProviderHostPath(plan.issuer)
		fmt.Fprintf(&b, "#    If it exists already, add the audience to it instead:\n")
		fmt.Fprintf(&b, "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s\n",
			tpShellQuote(trustpolicy.ProviderARN(plan.partition, plan.account, hp)), tpShellQuote(plan.audience))
	}
	next("Create the role with this trust policy:")
	pathArg := ""
	if plan.rolePath != "/" {
		pathArg = " --path " + tpShellQuote(plan.rolePath)
	}
	fmt.Fprintf(&b, "aws iam create-role %s%s --assume-role-policy-document file://trust-policy.json\n", roleArgs, pathArg)
	fmt.Fprintf(&b, "#    If it exists already, replace its trust policy instead:\n")
	fmt.Fprintf(&b, "aws iam update-assume-role-policy %s --policy-document file://trust-policy.json\n", roleArgs)

	sa := o.name
	if sa == "" {
		sa = tpPlaceholderSA
	}
	if o.PodIdentity {
		next("Associate the role with the service account (Pod Identity needs no annotation):")
		fmt.Fprintf(&b, "aws eks create-pod-identity-association --cluster-name %s --namespace %s --service-account %s --role-arn %s\n",
			tpPlaceholderClusterName, tpShellQuote(o.namespace), tpShellQuote(sa), tpShellQuote(roleARN))
	} else {
		if o.NamespaceWide {
			next("Annotate each service account of the namespace that should use the role:")
		} else {
			next("Annotate the service account with the role:")
		}
		audArg := ""
		if plan.audience != identity.DefaultAudience {
			audArg = " --audience " + tpShellQuote(plan.audience)
		}
		fmt.Fprintf(&b, "kubectl wi enable serviceaccount/%s -n %s --role-arn %s%s\n", sa, tpShellQuote(o.namespace), tpShellQuote(roleARN), audArg)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// jsonCommandLine is the command that writes this policy to trust-policy.json.
func (o *TrustPolicyOptions) jsonCommandLine() string {
	args := []string{"kubectl wi trust-policy"}
	if o.name != "" {
		args = append(args, "serviceaccount/"+o.name)
	}
	args = append(args, "-n", tpShellQuote(o.namespace))
	if o.NamespaceWide {
		args = append(args, "--namespace-wide")
	}
	if o.PodIdentity {
		args = append(args, "--pod-identity")
	}
	for _, f := range []struct{ flag, value string }{
		{"--account-id", o.AccountID}, {"--partition", o.Partition}, {"--issuer", o.Issuer}, {"--audience", o.Audience},
	} {
		if f.value != "" {
			args = append(args, f.flag, tpShellQuote(f.value))
		}
	}
	return strings.Join(append(args, "-o json > trust-policy.json"), " ")
}

var tpShellSafeRE = regexp.MustCompile(`^[A-Za-z0-9_./:=@,+%-]+$`)

// tpShellQuote quotes s for a POSIX shell when it holds anything beyond a safe set.
func tpShellQuote(s string) string {
	if tpShellSafeRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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

// discoveryErrorMessage is the apiserver's own message for a failed discovery read. The
// discovery REST client does not decode the Status the apiserver answers a non-resource path
// with, so err says only "unknown" while raw holds the Status and its message ("User ...
// cannot get path ..."); err's text is kept when raw holds none.
func discoveryErrorMessage(raw []byte, err error) string {
	var st metav1.Status
	if json.Unmarshal(raw, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return st.Message
	}
	return err.Error()
}

// issuerDiscoveryDoc is the part of the OIDC discovery document used here.
type issuerDiscoveryDoc struct {
	Issuer string `json:"issuer"`
}

// readClusterIssuer reads the issuer from the apiserver's OIDC discovery document.
func readClusterIssuer(ctx context.Context, client kubernetes.Interface) (string, error) {
	raw, err := apicall.IssuerDiscovery(ctx, client)
	return parseIssuerDiscovery(raw, err)
}

// parseIssuerDiscovery turns the discovery response into the issuer, or an error with the fix.
// API errors are formatted, not wrapped: a failed discovery is the environment (exit 3), and a
// wrapped 404 would read as a missing object (exit 2).
func parseIssuerDiscovery(raw []byte, err error) (string, error) {
	const fix = "pass the issuer with --issuer URL (on EKS: aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer --output text)"
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "", err
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return "", fmt.Errorf("reading the cluster's issuer from %s is forbidden (%s): %s, or ask for the system:service-account-issuer-discovery ClusterRole", issuerDiscoveryPath, discoveryErrorMessage(raw, err), fix)
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("the apiserver does not serve %s (404): its service account issuer discovery is off; %s", issuerDiscoveryPath, fix)
	default:
		return "", fmt.Errorf("failed to read the cluster's issuer from %s: %s; %s", issuerDiscoveryPath, discoveryErrorMessage(raw, err), fix)
	}
	var doc issuerDiscoveryDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("the cluster's %s is not a JSON discovery document (%w); %s", issuerDiscoveryPath, err, fix)
	}
	if doc.Issuer == "" {
		return "", fmt.Errorf("the cluster's %s names no issuer; %s", issuerDiscoveryPath, fix)
	}
	return doc.Issuer, nil
}

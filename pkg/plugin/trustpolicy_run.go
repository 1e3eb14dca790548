package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

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

	client, err := o.deps.newClient(o.configFlags)
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
		iss, err := o.deps.issuer(ctx, client)
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

package podidentity

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// ClusterAccount is the account ID of the cluster's ARN, "" when it names none.
func ClusterAccount(cluster awsread.Cluster) string {
	if p := strings.SplitN(cluster.ARN, ":", 6); len(p) == 6 && p[0] == "arn" {
		return p[4]
	}
	return ""
}

// RoleAccountProblem is "" when the role is in the cluster's account (or the cluster's ARN
// names none), else why an association cannot give it to the accounts named: EKS takes an
// association's role from the cluster's account, and reaches another account's role only as
// the association's target role.
func RoleAccountProblem(cluster awsread.Cluster, role identity.RoleARN, accounts string) string {
	account := ClusterAccount(cluster)
	if account == "" || role.AccountID == account {
		return ""
	}
	return fmt.Sprintf("the role %s of %s is in account %s, and the cluster in %s: an association's role is one of the cluster's account, which may assume a role of another as its target role (kubectl wi enable --pod-identity --role-arn ROLE --target-role-arn %s)",
		role, accounts, role.AccountID, account, role)
}

// JudgeTargetTrust reads the target role with iam:GetRole and evaluates its trust policy for
// the association's role assuming it and tagging the session (as EKS chains to it), for the
// accounts (namespace/name) of cluster. externalID is the association's; "" before EKS has
// created it, when a clause on sts:ExternalId cannot be judged yet (Trust.Undecided, not a
// refusal). A target role of another account than role's is only read when the credentials
// reach it: notRead then says it was not, and the Trust is empty.
func JudgeTargetTrust(ctx context.Context, a AWS, cluster awsread.Cluster, role, target identity.RoleARN, externalID, namespace string, accounts []string) (t Trust, notRead string, err error) {
	r, err := a.GetRole(ctx, target.Name)
	other := func(read string) string {
		return fmt.Sprintf("the target role %s is in account %s, and your AWS credentials read IAM of %s: its trust policy was not read (kubectl wi explain with credentials of %s judges it once the association exists)",
			target, target.AccountID, read, target.AccountID)
	}
	switch {
	case awsconfig.IsNotFound(err) && target.AccountID != role.AccountID:
		return Trust{Role: target}, other("another account"), nil
	case awsconfig.IsNotFound(err):
		return Trust{Role: target}, "", fmt.Errorf("the target role %s does not exist in the account of your AWS credentials: create it, or check its name", target)
	case err != nil:
		return Trust{Role: target}, "", err
	}
	if got, perr := identity.ParseRoleARN(r.ARN); perr == nil && got.AccountID != target.AccountID {
		return Trust{Role: target}, other(got.AccountID), nil
	}
	unknown := externalID == ""
	t, err = judgeDocument(target, r.TrustPolicy, accounts, func(d trustpolicy.Decision) bool { return unknown && d == trustpolicy.Undecided }, func(sa string) trustpolicy.Expect {
		e := trustpolicy.ExpectTargetRole(role.String(), role.AccountID, externalID, podIdentityContext(cluster, namespace, sa, false))
		if unknown {
			for i := range e.Requests {
				e.Requests[i].Unknown = append(e.Requests[i].Unknown, "sts:ExternalId")
			}
		}
		return e
	})
	t.SessionTags, t.Source = true, role.String()
	return t, "", err
}

// ServiceAccount names a service account an association is for.
type ServiceAccount struct{ Namespace, Name string }

// Preflight is what the pre-flight of an association's write found: the checks passed and the
// facts it could not judge, a line each, and the problems, each with its fix. Any problem
// refuses the write.
type Preflight struct {
	Passed   []string
	Notes    []string
	Problems []string
}

// PreflightConfig is what CheckSpec judges: the association spec, its roles as parsed where
// they were read, gives the accounts in cluster. SkipIAM leaves out the reads of IAM
// (iam:GetRole), for credentials that may not make them: the role's existence and both trust
// policies are then not judged.
type PreflightConfig struct {
	Cluster  awsread.Cluster
	Spec     ParsedSpec
	Accounts []ServiceAccount
	// ExternalIDs are the external IDs of the accounts' associations that exist, by
	// namespace/name: a target role's trust may require it.
	ExternalIDs map[ServiceAccount]string
	SkipIAM     bool
}

// CheckSpec is the pre-flight of `enable --pod-identity`, the checks migrate makes before
// its writes: the role in the cluster's account (RoleAccountProblem), its trust for EKS Auth
// with sts:AssumeRole and, unless session tags are disabled, sts:TagSession (JudgeTrust), the
// target role's trust for the role (JudgeTargetTrust), and the agent's DaemonSet (CheckAgent).
// It reads only. An AWS call that fails, an iam:GetRole denied among them, is the error, a
// *awsconfig.CallError.
func CheckSpec(ctx context.Context, a AWS, c kubernetes.Interface, cfg PreflightConfig) (Preflight, error) {
	var p Preflight
	role := cfg.Spec.Role
	byNamespace := map[string][]string{}
	for _, sa := range cfg.Accounts {
		byNamespace[sa.Namespace] = append(byNamespace[sa.Namespace], sa.Name)
	}
	namespaces := make([]string, 0, len(byNamespace))
	for ns := range byNamespace {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	problem := RoleAccountProblem(cfg.Cluster, role, accountsOf(byNamespace, namespaces))
	switch {
	case problem != "":
		// As migrate: the role of another account is not read, its trust is beside the point.
		p.Problems = append(p.Problems, problem)
	case cfg.SkipIAM:
		p.Passed = append(p.Passed, fmt.Sprintf("the role %s is in the account of EKS cluster %s", role, cfg.Cluster.Name))
		note := fmt.Sprintf("not read (--skip-preflight): whether the role %s exists and trusts %s", role, trustpolicy.PodIdentityService)
		if cfg.Spec.TargetRole != nil {
			note += ", and whether the target role " + cfg.Spec.TargetRole.String() + " trusts it"
		}
		p.Notes = append(p.Notes, note)
	default:
		p.Passed = append(p.Passed, fmt.Sprintf("the role %s is in the account of EKS cluster %s", role, cfg.Cluster.Name))
		for _, ns := range namespaces {
			if err := p.judgeRole(ctx, a, cfg, role, ns, byNamespace[ns]); err != nil {
				return p, err
			}
		}
	}

	if agent := CheckAgent(ctx, c); agent.State == AgentNotReady {
		p.Problems = append(p.Problems, "the Pod Identity agent: "+agent.Message)
	}
	return p, nil
}

// judgeRole judges the role's trust, then the target role's, for the accounts of namespace ns.
func (p *Preflight) judgeRole(ctx context.Context, a AWS, cfg PreflightConfig, role identity.RoleARN, ns string, names []string) error {
	who := accountsOf(map[string][]string{ns: names}, []string{ns})
	fix := "apply it, then run the same command again"
	t, err := JudgeTrust(ctx, a, cfg.Cluster, role, ns, names, cfg.Spec.DisableSessionTags)
	var ce *awsconfig.CallError
	switch {
	case errors.As(err, &ce):
		return err
	case err != nil:
		p.Problems = append(p.Problems, err.Error())
		return nil // no trust to read, nor a target role to judge from it
	case !t.Allowed:
		p.Problems = append(p.Problems, t.Refusal(fix))
	default:
		p.Passed = append(p.Passed, fmt.Sprintf("the role %s trusts %s with %s for %s", role, trustpolicy.PodIdentityService, t.Actions(), who))
	}
	if cfg.Spec.TargetRole == nil {
		return nil
	}
	target := *cfg.Spec.TargetRole
	// One external ID per association: the target role is judged per account when they differ.
	groups := map[string][]string{}
	for _, name := range names {
		id := cfg.ExternalIDs[ServiceAccount{Namespace: ns, Name: name}]
		groups[id] = append(groups[id], name)
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		tt, notRead, err := JudgeTargetTrust(ctx, a, cfg.Cluster, role, target, id, ns, groups[id])
		var ce *awsconfig.CallError
		switch {
		case errors.As(err, &ce):
			return err
		case err != nil:
			p.Problems = append(p.Problems, err.Error())
		case notRead != "":
			p.Notes = append(p.Notes, notRead)
		case !tt.Allowed:
			p.Problems = append(p.Problems, tt.Refusal(fix))
		case tt.Undecided:
			p.Notes = append(p.Notes, fmt.Sprintf("the target role %s trusts the role %s only with the association's external ID (sts:ExternalId), which EKS gives it when it creates it: kubectl wi explain judges it once the association exists", target, role))
		default:
			p.Passed = append(p.Passed, fmt.Sprintf("the target role %s trusts the role %s with %s for %s", target, role, tt.Actions(), accountsOf(map[string][]string{ns: groups[id]}, []string{ns})))
		}
	}
	return nil
}

// accountsOf names the accounts, serviceaccount/NAME -n NS, in the namespaces' order.
func accountsOf(byNamespace map[string][]string, namespaces []string) string {
	var out []string
	for _, ns := range namespaces {
		for _, name := range byNamespace[ns] {
			out = append(out, fmt.Sprintf("serviceaccount/%s -n %s", name, ns))
		}
	}
	return accountList(out)
}

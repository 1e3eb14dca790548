package podidentity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// Trust is a role's trust policy judged for EKS Pod Identity: whether it lets the EKS Auth
// service (pods.eks.amazonaws.com) assume the role and tag the session for each account that
// is to use it, and, when it does not, the policy that does.
type Trust struct {
	Role    identity.RoleARN
	Current *trustpolicy.Document
	Allowed bool
	// Problems are why it refuses, statement and clause, for the first account refused.
	Problems []trustpolicy.Problem
	// Corrected admits every account, the rest of the policy kept; nil when Allowed or when no
	// correction does.
	Corrected *trustpolicy.Document
	// Writable is true when Corrected only adds to the policy (a statement, or actions and
	// clauses of the statement for pods.eks.amazonaws.com): a correction that drops a Deny or
	// changes another statement is left to a person.
	Writable bool
}

// JudgeTrust reads the role with iam:GetRole and evaluates its trust policy, as IAM does, for
// the Pod Identity requests of the accounts (namespace/name) in cluster, session tags on
// unless disabled.
func JudgeTrust(ctx context.Context, a AWS, cluster explain.Cluster, role identity.RoleARN, namespace string, accounts []string, disableSessionTags bool) (Trust, error) {
	t := Trust{Role: role}
	r, err := a.GetRole(ctx, role.Name)
	if err != nil {
		if awsconfig.IsNotFound(err) {
			return t, fmt.Errorf("the role %s does not exist in the account of your AWS credentials: create it, or check its name", role)
		}
		return t, err
	}
	if t.Current, err = trustpolicy.ParseDocument(r.TrustPolicy); err != nil {
		return t, fmt.Errorf("the trust policy of %s is not a policy IAM would store: %w", role, err)
	}
	doc := t.Current
	t.Allowed = true
	for _, sa := range accounts {
		e := trustpolicy.ExpectPodIdentity(podIdentityContext(cluster, namespace, sa, disableSessionTags))
		if dec, _ := doc.Judge(e); dec == trustpolicy.Allowed {
			continue
		}
		d := trustpolicy.Diagnose(doc, e)
		if t.Allowed {
			t.Problems = d.Problems
		}
		t.Allowed = false
		if d.Corrected == nil {
			t.Corrected = nil
			return t, nil
		}
		doc = d.Corrected
		t.Corrected = doc
	}
	t.Writable = t.Corrected != nil && onlyAdds(t.Current, t.Corrected)
	return t, nil
}

// podIdentityContext is what EKS Auth's request carries for namespace/sa of cluster: the
// cluster as aws:SourceArn, its account as aws:SourceAccount, and the session tags.
func podIdentityContext(cluster explain.Cluster, namespace, sa string, disableSessionTags bool) trustpolicy.PodIdentityContext {
	account := ""
	if p := strings.SplitN(cluster.ARN, ":", 6); len(p) == 6 && p[0] == "arn" {
		account = p[4]
	}
	return trustpolicy.PodIdentityContext{ClusterARN: cluster.ARN, Account: account, ClusterName: cluster.Name,
		Namespace: namespace, ServiceAccount: sa, SessionTags: !disableSessionTags}
}

// onlyAdds is true when after keeps every statement of before in place, unchanged unless it is
// a statement for the EKS Auth service alone, and adds statements after them.
func onlyAdds(before, after *trustpolicy.Document) bool {
	if len(after.Statements) < len(before.Statements) {
		return false
	}
	for i := range before.Statements {
		if before.StatementJSON(i) == after.StatementJSON(i) {
			continue
		}
		p := before.Statements[i].Principal
		if before.Statements[i].Effect != "Allow" || p == nil || p.Any || len(p.Entries) != 1 || p.Entries[0].Type != "Service" ||
			!slices.Equal(p.Entries[0].Values.Items, []string{trustpolicy.PodIdentityService}) {
			return false
		}
	}
	return true
}

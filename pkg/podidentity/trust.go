package podidentity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
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
	// SessionTags is true when the requests tag the session (sts:TagSession).
	SessionTags bool
	// Source is the association's role when Role is its target role; "" for the role itself.
	Source string
	// Undecided is true when the verdict for some account depends on a value not known before
	// the association exists (a target role's sts:ExternalId); such an account is not refused.
	Undecided bool
}

// JudgeTrust reads the role with iam:GetRole and evaluates its trust policy, as IAM does, for
// the Pod Identity requests of the accounts (namespace/name) in cluster, session tags on
// unless disabled.
func JudgeTrust(ctx context.Context, a AWS, cluster awsread.Cluster, role identity.RoleARN, namespace string, accounts []string, disableSessionTags bool) (Trust, error) {
	r, err := a.GetRole(ctx, role.Name)
	if err != nil {
		if awsconfig.IsNotFound(err) {
			return Trust{Role: role}, fmt.Errorf("the role %s does not exist in the account of your AWS credentials: create it, or check its name", role)
		}
		return Trust{Role: role}, err
	}
	t, err := judgeDocument(role, r.TrustPolicy, accounts, func(trustpolicy.Decision) bool { return false }, func(sa string) trustpolicy.Expect {
		return trustpolicy.ExpectPodIdentity(podIdentityContext(cluster, namespace, sa, disableSessionTags))
	})
	t.SessionTags = !disableSessionTags
	return t, err
}

// judgeDocument evaluates a role's trust policy (as iam:GetRole returns it) for each account's
// requests: a decision other than Allowed refuses, unless pass accepts it. The correction
// admits every account refused.
func judgeDocument(role identity.RoleARN, policy string, accounts []string, pass func(trustpolicy.Decision) bool, expect func(sa string) trustpolicy.Expect) (Trust, error) {
	t := Trust{Role: role}
	var err error
	if t.Current, err = trustpolicy.ParseDocument(policy); err != nil {
		return t, fmt.Errorf("the trust policy of %s is not a policy IAM would store: %w", role, err)
	}
	doc := t.Current
	t.Allowed = true
	for _, sa := range accounts {
		e := expect(sa)
		dec, _ := doc.Judge(e)
		if dec == trustpolicy.Allowed {
			continue
		}
		if pass(dec) {
			t.Undecided = true
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

// Actions are what the trust must allow its principal, for a sentence.
func (t *Trust) Actions() string {
	if t.SessionTags {
		return trustpolicy.ActionAssumeRole + " and " + trustpolicy.ActionTagSession
	}
	return trustpolicy.ActionAssumeRole
}

// Refusal says why the trust refuses, and its fix: the corrected policy, its diff and the AWS
// CLI command that applies it, then how, what the caller offers to do with it; without a
// correction, to fix it by hand.
func (t *Trust) Refusal(how string) string {
	reason, detail, fix := t.refusal(how)
	return reason + detail + "; " + fix
}

// refusal is Refusal in its parts, which migrate's plan shows apart: the reason, the
// corrected policy with its diff ("" without a correction), and the fix.
func (t *Trust) refusal(how string) (reason, detail, fix string) {
	var why []string
	for _, p := range t.Problems {
		why = append(why, p.Message)
	}
	reason = fmt.Sprintf("the role %s does not trust %s with %s (%s)", t.Role, t.principal(), t.Actions(), strings.Join(why, "; "))
	if t.Corrected == nil {
		return reason + ", and no correction of its policy does", "", "fix it by hand (kubectl wi explain shows the clause)"
	}
	detail = fmt.Sprintf(". The policy to apply (the rest of it kept):\n%s%s", indent(t.Corrected.JSON()), trustpolicy.Diff(t.Current, t.Corrected, t.Role.Name))
	fix = fmt.Sprintf("%s:\n  aws iam update-assume-role-policy --role-name %s --policy-document '%s'", how, t.Role.Name, t.Corrected.Compact())
	return reason, detail, fix
}

// principal is whom the trust must admit: the EKS Auth service, or for a target role the
// association's role.
func (t *Trust) principal() string {
	if t.Source != "" {
		return "the association's role " + t.Source
	}
	return trustpolicy.PodIdentityService
}

// podIdentityContext is what EKS Auth's request carries for namespace/sa of cluster: the
// cluster as aws:SourceArn, its account as aws:SourceAccount, and the session tags.
func podIdentityContext(cluster awsread.Cluster, namespace, sa string, disableSessionTags bool) trustpolicy.PodIdentityContext {
	return trustpolicy.PodIdentityContext{ClusterARN: cluster.ARN, Account: ClusterAccount(cluster), ClusterName: cluster.Name,
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

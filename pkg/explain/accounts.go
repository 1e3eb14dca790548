package explain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/shell"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// What --exchange proves and does not, said in its output.
var (
	exchangeProven    = []string{"the role exists and its trust policy admits the account's token", "the IAM OIDC provider exists and lists the audience", "STS fetches the issuer's keys and accepts the token's signature"}
	exchangeNotProven = []string{"that the pod identity webhook injects the role into the account's pods", "that the pods mount the projected token", "that the pods reach STS over their own network path (proxy, egress, DNS)"}
	exchangeScope     = "--exchange proves the IAM side from this machine: a TokenRequest token per account, exchanged with AssumeRoleWithWebIdentity and checked with GetCallerIdentity, the credentials discarded unseen. " +
		"It does not prove " + strings.Join(exchangeNotProven, ", ") + ": kubectl wi verify proves those, from inside a pod"
)

// irsa reads one IRSA account's AWS side: the role, the OIDC provider and the audience, and
// the trust policy evaluated for the account's token.
func (r *runner) irsa(ctx context.Context, a account) ([]item, error) {
	sa := a.ref()
	arn, err := identity.ParseRoleARN(a.cfg.RoleARN)
	if err != nil {
		return []item{{ev: check.New(CheckServiceAccount, check.StatusFail, fmt.Sprintf("%s: %v", sa, err),
			fmt.Sprintf("kubectl wi enable serviceaccount/%s -n %s --role-arn arn:aws:iam::<account>:role/<name> --overwrite", a.Name, a.Namespace),
			map[string]any{"service_account": sa, "role_arn": a.cfg.RoleARN})}}, nil
	}
	aud := a.cfg.EffectiveAudience()
	items, role, ok, err := r.role(ctx, arn, func() string { return r.irsaPolicy(arn, a, aud) })
	if err != nil {
		return nil, err
	}
	if !ok {
		return append(items, item{ev: check.New(CheckTrust, check.StatusSkip, fmt.Sprintf("%s: the trust policy of %s cannot be read", sa, arn), "", map[string]any{"service_account": sa, "role_arn": arn.String()})}), nil
	}
	if r.hostPath == "" {
		return append(items, item{ev: check.New(CheckTrust, check.StatusSkip, fmt.Sprintf("%s: the trust policy of %s is not evaluated: the cluster's issuer is unknown", sa, arn), "", map[string]any{"service_account": sa})}), nil
	}
	more, err := r.oidcProvider(ctx, arn, aud)
	if err != nil {
		return nil, err
	}
	items = append(items, more...)
	doc, perr := trustpolicy.ParseDocument(role.TrustPolicy)
	if perr != nil {
		return append(items, item{ev: check.New(CheckTrust, check.StatusFail, fmt.Sprintf("%s: the trust policy of %s is not a policy IAM would store: %v", sa, arn, perr), "", map[string]any{"service_account": sa, "role_arn": arn.String()})}), nil
	}
	provider := trustpolicy.ProviderARN(arn.Partition, arn.AccountID, r.hostPath)
	want := trustpolicy.ExpectWebIdentity(trustpolicy.WebIdentityRequest{ProviderARN: provider, HostPath: r.hostPath, Subject: a.subject(), Audience: aud})
	want.InUse = r.subjectInUse(ctx, a.cfg.RoleARN)
	what := fmt.Sprintf("%s (aud %s) through the provider %s", a.subject(), aud, provider)
	return append(items, r.judge(CheckTrust, sa, arn, doc, want, what)...), nil
}

// irsaPolicy is the trust policy a missing IRSA role is created with.
func (r *runner) irsaPolicy(arn identity.RoleARN, a account, aud string) string {
	if r.issuer == "" {
		return ""
	}
	p, err := trustpolicy.ForIRSA(trustpolicy.IRSA{Partition: arn.Partition, AccountID: arn.AccountID, Issuer: r.issuer, Audience: aud, Namespace: a.Namespace, ServiceAccount: a.Name})
	if err != nil {
		return ""
	}
	b, err := p.JSON()
	if err != nil {
		return ""
	}
	d, err := trustpolicy.ParseDocument(string(b))
	if err != nil {
		return ""
	}
	return d.Compact()
}

// role reads a role once per run and says, once, whether it exists. ok is false when the chain
// stops there: the role is missing, or in an account these credentials cannot read.
func (r *runner) role(ctx context.Context, arn identity.RoleARN, createPolicy func() string) (items []item, role awsread.Role, ok bool, err error) {
	role, err = r.roles.get(arn.Name, func() (awsread.Role, error) { return r.aws.GetRole(ctx, arn.Name) })
	key := "role:" + arn.String()
	data := map[string]any{"role_arn": arn.String()}
	otherAccount := func(caller string) item {
		return item{once: key, ev: check.New(CheckRole, check.StatusSkip,
			fmt.Sprintf("the role %s is in account %s, and your AWS credentials read account %s: explain reads no further; run it with credentials of %s (--profile)", arn, arn.AccountID, caller, arn.AccountID), "", data)}
	}
	switch {
	case awsconfig.IsNotFound(err):
		if c := r.caller(); c != "" && c != arn.AccountID {
			return []item{otherAccount(c)}, awsread.Role{}, false, nil
		}
		path := ""
		if arn.Path != "/" {
			path = " --path " + shell.Quote(arn.Path)
		}
		fix := fmt.Sprintf("create it: aws iam create-role --role-name %s%s --assume-role-policy-document %s", arn.Name, path, shell.Quote(orPlaceholder(createPolicy(), "file://trust-policy.json")))
		msg := fmt.Sprintf("the role %s does not exist: iam:GetRole answers NoSuchEntity for %s", arn, arn.Name)
		if r.caller() == "" {
			msg += " in the account of your AWS credentials (if that is not " + arn.AccountID + ", use credentials for it)"
		}
		return []item{{once: key, ev: check.New(CheckRole, check.StatusFail, msg, fix, data)}}, awsread.Role{}, false, nil
	case err != nil:
		return nil, awsread.Role{}, false, err
	}
	acct := arnAccount(role.ARN)
	r.learnAccount(acct)
	if acct != arn.AccountID {
		return []item{otherAccount(acct)}, awsread.Role{}, false, nil
	}
	if role.ARN != arn.String() {
		data["iam_arn"] = role.ARN
		return []item{{once: key, ev: check.New(CheckRole, check.StatusWarn,
			fmt.Sprintf("IAM names the role %s, not %s: the path differs", role.ARN, arn), "use the ARN IAM gives: kubectl wi enable ... --role-arn "+role.ARN+" --overwrite", data)}}, role, true, nil
	}
	return []item{{once: key, ev: check.New(CheckRole, check.StatusPass, fmt.Sprintf("the role %s exists", arn), "", data)}}, role, true, nil
}

// oidcProvider checks, once per account and audience, that the role's account has an IAM
// OIDC provider for the issuer and that it lists the audience as a client ID.
func (r *runner) oidcProvider(ctx context.Context, arn identity.RoleARN, aud string) ([]item, error) {
	want := trustpolicy.ProviderARN(arn.Partition, arn.AccountID, r.hostPath)
	key := "provider:" + want
	data := map[string]any{"provider_arn": want, "issuer": r.issuer}
	arns, err := r.providers.get("", func() ([]string, error) { return r.aws.ListOpenIDConnectProviders(ctx) })
	if err != nil {
		return nil, err
	}
	missing := func() []item {
		msg := fmt.Sprintf("there is no IAM OIDC provider for the issuer %s in account %s (%s): STS refuses every token of this cluster", r.issuer, arn.AccountID, want)
		if other, ok := identity.OtherEKSIssuerForm(r.hostPath); ok && slices.Contains(arns, trustpolicy.ProviderARN(arn.Partition, arn.AccountID, other)) {
			// The cause, not one provider among others: the same cluster's issuer under
			// its other host, which the tokens do not carry.
			data["other_form_provider_arn"] = trustpolicy.ProviderARN(arn.Partition, arn.AccountID, other)
			msg = fmt.Sprintf("the account %s has an IAM OIDC provider for https://%s, the other host EKS serves this cluster's issuer under, but the tokens carry iss %s, "+
				"and STS finds a provider by the token's iss: that provider never matches, and STS refuses every token of this cluster (no IAM OIDC provider %s)", arn.AccountID, other, r.issuer, want)
		} else if others := providerHosts(arns); len(others) > 0 {
			msg += "; the account has providers for " + strings.Join(others, ", ")
		}
		return []item{{once: key, ev: check.New(CheckOIDCProvider, check.StatusFail, msg,
			fmt.Sprintf("aws iam create-open-id-connect-provider --url %s --client-id-list %s", r.issuer, aud), data)}}
	}
	if !slices.Contains(arns, want) {
		return missing(), nil
	}
	p, err := r.provider.get(want, func() (awsread.OIDCProvider, error) { return r.aws.GetOpenIDConnectProvider(ctx, want) })
	switch {
	case awsconfig.IsNotFound(err):
		return missing(), nil
	case err != nil:
		return nil, err
	}
	items := []item{{once: key, ev: check.New(CheckOIDCProvider, check.StatusPass, fmt.Sprintf("the IAM OIDC provider %s exists for the issuer %s", want, r.issuer), "", data)}}
	adata := map[string]any{"provider_arn": want, "audience": aud, "client_ids": p.ClientIDs}
	if slices.Contains(p.ClientIDs, aud) {
		return append(items, item{once: key + ":aud:" + aud, ev: check.New(CheckOIDCAudience, check.StatusPass, fmt.Sprintf("the IAM OIDC provider %s lists the audience %s as a client ID", want, aud), "", adata)}), nil
	}
	return append(items, item{once: key + ":aud:" + aud, ev: check.New(CheckOIDCAudience, check.StatusFail,
		fmt.Sprintf("the IAM OIDC provider %s does not list the audience %s as a client ID (it lists %s): STS refuses tokens of this audience (InvalidIdentityToken: Incorrect token audience)", want, aud, orNone(strings.Join(p.ClientIDs, ", "))),
		fmt.Sprintf("aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s", want, aud), adata)}), nil
}

func providerHosts(arns []string) []string {
	var hosts []string
	for _, a := range arns {
		if _, host, ok := strings.Cut(a, ":oidc-provider/"); ok {
			hosts = append(hosts, "https://"+host)
		}
	}
	return hosts
}

// judge evaluates a role's trust policy for what the account needs, and words the verdict:
// the statement and condition that refuse, the corrected policy as a diff, the command that
// applies it, and the corrected policy's size against IAM's limit.
func (r *runner) judge(name, sa string, arn identity.RoleARN, doc *trustpolicy.Document, want trustpolicy.Expect, what string) []item {
	diag := trustpolicy.Diagnose(doc, want)
	data := map[string]any{"service_account": sa, "role_arn": arn.String(), "decision": string(diag.Decision), "size": doc.Size()}
	if diag.Decision == trustpolicy.Allowed {
		return append([]item{{ev: check.New(name, check.StatusPass, fmt.Sprintf("%s: the trust policy of %s admits %s", sa, arn, what), "", data)}},
			breadth(sa, arn, doc, want)...)
	}
	msgs := make([]string, len(diag.Problems))
	for i, p := range diag.Problems {
		msgs[i] = p.Message
	}
	data["problems"] = diag.Problems
	status, verb := check.StatusFail, "does not admit"
	if diag.Decision == trustpolicy.Undecided {
		status, verb = check.StatusWarn, "may not admit"
	}
	msg := fmt.Sprintf("%s: the trust policy of %s %s %s: %s", sa, arn, verb, what, strings.Join(msgs, "; "))
	if diag.Corrected == nil {
		return []item{{ev: check.New(name, status, msg, "edit the trust policy of "+arn.Name+" by hand: no change explain can make admits it", data)}}
	}
	corrected := diag.Corrected.Compact()
	diff := trustpolicy.Diff(doc, diag.Corrected, "role/"+arn.Name)
	data["corrected_policy"] = corrected
	ev := check.New(name, status, msg, fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document %s", arn.Name, shell.Quote(corrected)), data)
	ev.Detail = diff
	return []item{{ev: ev}, {ev: sizeCheck(sa, arn, doc, diag.Corrected)}}
}

// breadth warns, one finding each, of what else an admitting IRSA trust policy admits: the
// statement and clause, who else in words, the finding's tightening as a diff, and the
// command that applies every tightening of the policy.
func breadth(sa string, arn identity.RoleARN, doc *trustpolicy.Document, want trustpolicy.Expect) []item {
	b := trustpolicy.CheckBreadth(doc, want)
	if len(b.Findings) == 0 {
		return nil
	}
	tightened := b.Tightened.Compact()
	fix := fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document %s", arn.Name, shell.Quote(tightened))
	items := make([]item, 0, len(b.Findings))
	for _, f := range b.Findings {
		msg := fmt.Sprintf("%s: the trust policy of %s admits the account, but %s", sa, arn, f.Message)
		if f.Admits != "" {
			msg += "; it also admits " + f.Admits
		}
		data := map[string]any{"service_account": sa, "role_arn": arn.String(), "code": f.Code, "statement": f.Statement,
			"element": f.Element, "tightened_policy": tightened}
		if f.Sid != "" {
			data["sid"] = f.Sid
		}
		if f.Admits != "" {
			data["admits"] = f.Admits
		}
		ev := check.New(CheckTrustBreadth, check.StatusWarn, msg, fix, data)
		ev.Detail = trustpolicy.Diff(doc, f.Tightened, "role/"+arn.Name)
		items = append(items, item{ev: ev})
	}
	return items
}

// sizeCheck weighs a corrected trust policy against IAM's limit on its length.
func sizeCheck(sa string, arn identity.RoleARN, before, after *trustpolicy.Document) check.Event {
	n, was := after.Size(), before.Size()
	data := map[string]any{"service_account": sa, "role_arn": arn.String(), "size": n, "size_before": was, "default_limit": TrustPolicyDefaultLimit, "max_limit": TrustPolicyMaxLimit}
	switch {
	case n > TrustPolicyMaxLimit:
		return check.New(CheckTrustSize, check.StatusFail,
			fmt.Sprintf("%s: the corrected trust policy of %s is %d characters (now %d), over IAM's largest limit of %d: IAM refuses it (LimitExceeded)", sa, arn, n, was, TrustPolicyMaxLimit),
			"admit the namespace with StringLike instead of listing its accounts (kubectl wi trust-policy --namespace-wide), or split the accounts across roles", data)
	case n > TrustPolicyDefaultLimit:
		return check.New(CheckTrustSize, check.StatusWarn,
			fmt.Sprintf("%s: the corrected trust policy of %s is %d characters (now %d), over IAM's default limit of %d: IAM refuses it (LimitExceeded) unless the account's quota was raised", sa, arn, n, was, TrustPolicyDefaultLimit),
			fmt.Sprintf("raise the IAM quota \"Role trust policy length\" in Service Quotas (up to %d), or admit the namespace with StringLike instead of listing its accounts", TrustPolicyMaxLimit), data)
	}
	return check.New(CheckTrustSize, check.StatusPass, fmt.Sprintf("%s: the corrected trust policy of %s is %d of IAM's %d characters", sa, arn, n, TrustPolicyDefaultLimit), "", data)
}

// podIdentity reads one Pod Identity association: the association, its role's trust for the
// EKS Auth service, and its target role's trust for the role.
func (r *runner) podIdentity(ctx context.Context, a account, ref awsread.AssociationRef) ([]item, error) {
	sa := a.ref()
	if r.aws == nil || r.cluster == nil {
		return nil, nil
	}
	as, err := r.assoc.get(ref.ID, func() (awsread.Association, error) {
		return r.aws.DescribePodIdentityAssociation(ctx, r.cluster.Name, ref.ID)
	})
	if err != nil {
		return nil, err
	}
	data := map[string]any{"service_account": sa, "association_id": as.ID, "role_arn": as.RoleARN}
	msg := fmt.Sprintf("%s: the Pod Identity association %s gives the role %s", sa, as.ID, as.RoleARN)
	if as.TargetRoleARN != "" {
		data["target_role_arn"] = as.TargetRoleARN
		msg += ", which assumes the target role " + as.TargetRoleARN
	}
	if as.ExternalID != "" {
		data["external_id"] = as.ExternalID
		msg += fmt.Sprintf(" with the external ID %s (sts:ExternalId), which the target role's trust policy requires so that only this association may assume it", as.ExternalID)
	}
	if as.DisableSessionTags {
		data["disable_session_tags"] = true
		msg += " (session tags disabled: the credentials carry none of the six tags, and the roles' trust need not allow sts:TagSession)"
	}
	status, fix := check.StatusPass, ""
	if as.Policy != "" {
		data["policy"] = as.Policy
		whose := "the role " + as.RoleARN
		if as.TargetRoleARN != "" {
			whose = "the target role " + as.TargetRoleARN + " (EKS applies it to the target role's session only)"
		}
		summary, err := summarizeSessionPolicy(as.Policy)
		if err != nil {
			summary = err.Error()
			status = check.StatusWarn
		}
		data["policy_allows"] = summary
		msg += fmt.Sprintf("; its inline session policy narrows the pods' credentials to what both %s's permissions and it allow: %s", whose, summary)
		if !as.DisableSessionTags {
			status = check.StatusWarn
			msg += "; EKS takes a session policy only with disableSessionTags set, and this association has session tags"
			fix = fmt.Sprintf("aws eks update-pod-identity-association --cluster-name %s --association-id %s --disable-session-tags", r.cluster.Name, as.ID)
		}
	}
	items := []item{{ev: check.New(CheckAssociation, status, msg, fix, data)}}
	if !a.exists {
		items = append(items, item{ev: check.New(CheckServiceAccount, check.StatusFail,
			fmt.Sprintf("%s: the Pod Identity association %s names a service account that does not exist", sa, as.ID),
			fmt.Sprintf("kubectl create serviceaccount %s -n %s", a.Name, a.Namespace), map[string]any{"service_account": sa})})
	}
	arn, err := identity.ParseRoleARN(as.RoleARN)
	if err != nil {
		return append(items, item{ev: check.New(CheckPodIdentityTrust, check.StatusFail, fmt.Sprintf("%s: %v", sa, err), "", data)}), nil
	}
	podPolicy := func() string {
		d, _ := trustpolicy.ParseDocument(mustJSON(trustpolicy.ForPodIdentity()))
		return d.Compact()
	}
	more, role, ok, err := r.role(ctx, arn, podPolicy)
	items = append(items, more...)
	if err != nil || !ok {
		return items, err
	}
	doc, perr := trustpolicy.ParseDocument(role.TrustPolicy)
	if perr != nil {
		return append(items, item{ev: check.New(CheckPodIdentityTrust, check.StatusFail, fmt.Sprintf("%s: the trust policy of %s is not a policy IAM would store: %v", sa, arn, perr), "", data)}), nil
	}
	pc := trustpolicy.PodIdentityContext{ClusterARN: r.cluster.ARN, Account: arnAccount(r.cluster.ARN), ClusterName: r.cluster.Name,
		Namespace: a.Namespace, ServiceAccount: a.Name, SessionTags: !as.DisableSessionTags}
	what := "the EKS Pod Identity service " + trustpolicy.PodIdentityService + " with sts:AssumeRole"
	if pc.SessionTags {
		what += " and sts:TagSession"
	}
	items = append(items, r.judge(CheckPodIdentityTrust, sa, arn, doc, trustpolicy.ExpectPodIdentity(pc), what)...)
	if as.TargetRoleARN == "" {
		return items, nil
	}
	tarn, err := identity.ParseRoleARN(as.TargetRoleARN)
	if err != nil {
		return append(items, item{ev: check.New(CheckTargetRoleTrust, check.StatusFail, fmt.Sprintf("%s: %v", sa, err), "", data)}), nil
	}
	targetPolicy := func() string {
		d := &trustpolicy.Document{Version: trustpolicy.PolicyVersion, Statements: []trustpolicy.Stmt{trustpolicy.ExpectTargetRole(arn.String(), arn.AccountID, as.ExternalID, pc).Statement}}
		return d.Compact()
	}
	more, target, ok, err := r.role(ctx, tarn, targetPolicy)
	items = append(items, more...)
	if err != nil || !ok {
		return items, err
	}
	tdoc, perr := trustpolicy.ParseDocument(target.TrustPolicy)
	if perr != nil {
		return append(items, item{ev: check.New(CheckTargetRoleTrust, check.StatusFail, fmt.Sprintf("%s: the trust policy of %s is not a policy IAM would store: %v", sa, tarn, perr), "", data)}), nil
	}
	what = "the association's role " + arn.String() + " with sts:AssumeRole and sts:TagSession"
	if as.ExternalID != "" {
		what += " and sts:ExternalId " + as.ExternalID
	}
	want := trustpolicy.ExpectTargetRole(arn.String(), arn.AccountID, as.ExternalID, pc)
	items = append(items, r.judge(CheckTargetRoleTrust, sa, tarn, tdoc, want, what)...)
	if dec, _ := tdoc.Judge(want); dec == trustpolicy.Allowed && as.ExternalID != "" {
		items = append(items, item{ev: externalIDCheck(sa, tarn, arn, tdoc, as.ExternalID, trustpolicy.ExpectTargetRole(arn.String(), arn.AccountID, "", pc))})
	}
	return items, nil
}

// externalIDCheck says whether the target role's trust policy, which admits the association,
// requires its external ID: without it any session of the association's role (another
// association, anything else that role runs) may assume the target role, the confused deputy
// the external ID is for (EKS API, PodIdentityAssociation.externalId).
func externalIDCheck(sa string, tarn, arn identity.RoleARN, doc *trustpolicy.Document, externalID string, without trustpolicy.Expect) check.Event {
	data := map[string]any{"service_account": sa, "role_arn": tarn.String(), "external_id": externalID}
	dec, results := doc.Judge(without)
	if dec != trustpolicy.Allowed {
		return check.New(CheckTargetRoleExternalID, check.StatusPass,
			fmt.Sprintf("%s: the trust policy of the target role %s requires the association's external ID %s", sa, tarn, externalID), "", data)
	}
	// The statements that admit without it get the condition.
	fix := doc.Clone()
	var where []string
	for _, sr := range results[0].Statements {
		st := &fix.Statements[sr.Index]
		if st.Effect != "Allow" || sr.Applies != trustpolicy.True {
			continue
		}
		st.Conditions = append(st.Conditions, trustpolicy.Clause{Operator: "StringEquals", Key: "sts:ExternalId", Values: trustpolicy.NewValues(externalID)})
		where = append(where, trustpolicy.Problem{Statement: sr.Index, Sid: st.Sid}.Where())
	}
	tightened := fix.Compact()
	data["tightened_policy"] = tightened
	ev := check.New(CheckTargetRoleExternalID, check.StatusWarn,
		fmt.Sprintf("%s: the trust policy of the target role %s admits the association's role %s without its external ID %s (%s has no sts:ExternalId condition): any session of %s may assume the target role, not only this association's",
			sa, tarn, arn, externalID, strings.Join(where, ", "), arn.Name),
		fmt.Sprintf("aws iam update-assume-role-policy --role-name %s --policy-document %s", tarn.Name, shell.Quote(tightened)), data)
	ev.Detail = trustpolicy.Diff(doc, fix, "role/"+tarn.Name)
	return ev
}

func mustJSON(p trustpolicy.Policy) string {
	b, err := p.JSON()
	if err != nil {
		panic(err) // a generated policy always renders
	}
	return string(b)
}

// exchange proves one IRSA account with a token exchange: a TokenRequest token with the
// audience the webhook gives the account's pods, AssumeRoleWithWebIdentity, GetCallerIdentity.
// A refusal is explained from IAM when AWS credentials are at hand.
func (r *runner) exchange(ctx context.Context, a account) ([]item, error) {
	sa := a.ref()
	aud := a.cfg.EffectiveAudience()
	data := map[string]any{"service_account": sa, "role_arn": a.cfg.RoleARN, "audience": aud}
	tr, err := r.deps.Client.CoreV1().ServiceAccounts(a.Namespace).CreateToken(ctx, a.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{aud}, ExpirationSeconds: ptr.To[int64](TokenExpiration)},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, apicall.Wrap(err, "create", "serviceaccounts/token", a.Namespace, a.Name)
	}
	items := []item{{ev: check.New(CheckExchangeToken, check.StatusPass,
		fmt.Sprintf("%s: the TokenRequest API issued a token for %s with audience %s, valid %ds (never shown)", sa, a.subject(), aud, TokenExpiration), "", data)}}
	got, err := r.deps.STS.Exchange(ctx, a.cfg.RoleARN, tr.Status.Token)
	r.stsCalls.Add(1)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d := probe.DiagnoseSTSError(err, probe.DiagnosisContext{Op: "AssumeRoleWithWebIdentity", RoleARN: a.cfg.RoleARN, Issuer: r.issuer, Audience: []string{aud}, Subject: a.subject()})
		data["code"] = d.Code
		items = append(items,
			item{ev: check.New(CheckExchangeAssume, check.StatusFail, fmt.Sprintf("%s: STS refused to exchange the token for %s: %s (%s: %s)", sa, a.cfg.RoleARN, d.Cause, d.Code, d.Message), d.Fix, data)},
			item{ev: check.New(CheckExchangeCaller, check.StatusSkip, sa+": no session to ask GetCallerIdentity with", "", map[string]any{"service_account": sa})})
		if r.aws != nil && awsconfig.Code(err) != "" {
			// The refusal's clause, from IAM.
			more, err := r.irsa(ctx, a)
			if err != nil {
				return nil, err
			}
			items = append(items, more...)
		}
		return items, nil
	}
	r.stsCalls.Add(1)
	data["assumed_role_arn"] = got.AssumedRoleARN
	items = append(items, item{ev: check.New(CheckExchangeAssume, check.StatusPass,
		fmt.Sprintf("%s: STS exchanged the token for the session %s (its credentials discarded)", sa, got.AssumedRoleARN), "", data)})
	cdata := map[string]any{"service_account": sa, "caller_arn": got.CallerARN}
	switch {
	case got.CallerErr != nil:
		items = append(items, item{ev: check.New(CheckExchangeCaller, check.StatusWarn, fmt.Sprintf("%s: GetCallerIdentity with the session failed: %v", sa, got.CallerErr), "", cdata)})
	case assumedRoleOf(got.CallerARN, a.cfg.RoleARN):
		items = append(items, item{ev: check.New(CheckExchangeCaller, check.StatusPass, fmt.Sprintf("%s: GetCallerIdentity says %s", sa, got.CallerARN), "", cdata)})
	default:
		items = append(items, item{ev: check.New(CheckExchangeCaller, check.StatusFail,
			fmt.Sprintf("%s: GetCallerIdentity says %s, not a session of %s", sa, got.CallerARN, a.cfg.RoleARN), "check the STS endpoint (AWS_ENDPOINT_URL_STS) the exchange went to", cdata)})
	}
	return items, nil
}

// assumedRoleOf reports whether caller is a session of the role roleARN.
func assumedRoleOf(caller, roleARN string) bool {
	role, err := identity.ParseRoleARN(roleARN)
	if err != nil {
		return false
	}
	session, ok := identity.ParseAssumedRoleARN(caller)
	return ok && session.SessionOf(role)
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

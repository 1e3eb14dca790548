package explain

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

const (
	issuer   = "https://oidc.example.com/id/ABC"
	hostPath = "oidc.example.com/id/ABC"
	acct     = "111122223333"
	provider = "arn:aws:iam::" + acct + ":oidc-provider/" + hostPath
	cluster  = "arn:aws:eks:us-west-2:" + acct + ":cluster/prod"
	secret   = "eyJTOKEN-never-shown"
)

// fakeAWS answers from maps; a missing entry is AWS's NoSuchEntity.
type fakeAWS struct {
	mu        sync.Mutex
	roles     map[string]string // name -> trust policy JSON
	providers map[string][]string
	assocs    []awsread.Association
	deny      string // an action answered AccessDenied
	calls     map[string]int
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func (f *fakeAWS) call(action string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[action]++
	if f.deny == action {
		return awsconfig.Wrap(apiErr("AccessDenied"), action, "")
	}
	return nil
}

func (f *fakeAWS) GetRole(_ context.Context, name string) (awsread.Role, error) {
	if err := f.call(awsread.ActionGetRole); err != nil {
		return awsread.Role{}, err
	}
	doc, ok := f.roles[name]
	if !ok {
		return awsread.Role{}, awsconfig.Wrap(apiErr("NoSuchEntity"), awsread.ActionGetRole, name)
	}
	return awsread.Role{ARN: "arn:aws:iam::" + acct + ":role/" + name, TrustPolicy: url.QueryEscape(doc)}, nil
}

func (f *fakeAWS) ListOpenIDConnectProviders(context.Context) ([]string, error) {
	if err := f.call(awsread.ActionListOpenIDConnectProviders); err != nil {
		return nil, err
	}
	var out []string
	for arn := range f.providers {
		out = append(out, arn)
	}
	return out, nil
}

func (f *fakeAWS) GetOpenIDConnectProvider(_ context.Context, arn string) (awsread.OIDCProvider, error) {
	if err := f.call(awsread.ActionGetOpenIDConnectProvider); err != nil {
		return awsread.OIDCProvider{}, err
	}
	ids, ok := f.providers[arn]
	if !ok {
		return awsread.OIDCProvider{}, awsconfig.Wrap(apiErr("NoSuchEntity"), awsread.ActionGetOpenIDConnectProvider, arn)
	}
	return awsread.OIDCProvider{ARN: arn, URL: hostPath, ClientIDs: ids}, nil
}

func (f *fakeAWS) DescribeCluster(_ context.Context, name string) (awsread.Cluster, error) {
	if err := f.call(awsread.ActionDescribeCluster); err != nil {
		return awsread.Cluster{}, err
	}
	if name != "prod" {
		return awsread.Cluster{}, awsconfig.Wrap(apiErr("ResourceNotFoundException"), awsread.ActionDescribeCluster, name)
	}
	return awsread.Cluster{Name: name, ARN: cluster, Issuer: issuer}, nil
}

func (f *fakeAWS) ListPodIdentityAssociations(_ context.Context, _, namespace, serviceAccount string) ([]awsread.AssociationRef, error) {
	if err := f.call(awsread.ActionListPodIdentityAssociations); err != nil {
		return nil, err
	}
	var out []awsread.AssociationRef
	for _, a := range f.assocs {
		if (namespace == "" || a.Namespace == namespace) && (serviceAccount == "" || a.ServiceAccount == serviceAccount) {
			out = append(out, awsread.AssociationRef{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount})
		}
	}
	return out, nil
}

func (f *fakeAWS) DescribePodIdentityAssociation(_ context.Context, _, id string) (awsread.Association, error) {
	if err := f.call(awsread.ActionDescribePodIdentityAssociation); err != nil {
		return awsread.Association{}, err
	}
	for _, a := range f.assocs {
		if a.ID == id {
			return a, nil
		}
	}
	return awsread.Association{}, awsconfig.Wrap(apiErr("ResourceNotFoundException"), awsread.ActionDescribePodIdentityAssociation, id)
}

// recorder is a report.Reporter that keeps the events.
type recorder struct{ events []check.Event }

func (r *recorder) Step(report.Step)     {}
func (r *recorder) Event(ev check.Event) { r.events = append(r.events, ev) }
func (r *recorder) Raw(string)           {}
func (r *recorder) checks(name string) []check.Event {
	var out []check.Event
	for _, ev := range r.events {
		if ev.Check == name && ev.Type == check.TypeCheck {
			out = append(out, ev)
		}
	}
	return out
}

func (r *recorder) json(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(r.events)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func irsaPolicy(op, sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"` + op + `":{"` + hostPath + `:aud":"sts.amazonaws.com","` + hostPath + `:sub":"` + sub + `"}}}]}`
}

const podPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

func sa(ns, name, role string) *corev1.ServiceAccount { //nolint:unparam // one namespace today, the helper names it
	s := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if role != "" {
		s.Annotations = map[string]string{"eks.amazonaws.com/role-arn": role}
	}
	return s
}

func roleARN(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

func discovery(context.Context) ([]byte, error) {
	return []byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys"}`), nil
}

func run(t *testing.T, cfg Config, aws *fakeAWS, objs ...runtime.Object) (*recorder, Outcome, error) {
	t.Helper()
	rec := &recorder{}
	deps := Deps{Client: fake.NewClientset(objs...), Discovery: discovery, Now: func() time.Time { return time.Unix(0, 0) }}
	if aws != nil {
		deps.AWS = aws
	}
	out, err := Run(context.Background(), cfg, deps, rec)
	return rec, out, err
}

func healthyAWS() *fakeAWS {
	return &fakeAWS{
		roles:     map[string]string{"app": irsaPolicy("StringEquals", "system:serviceaccount:team:app")},
		providers: map[string][]string{provider: {"sts.amazonaws.com"}},
	}
}

func TestHealthyAccountPasses(t *testing.T) {
	aws := healthyAWS()
	rec, out, err := run(t, Config{Namespace: "team", Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "app"}}, aws, sa("team", "app", roleARN("app")))
	if err != nil {
		t.Fatal(err)
	}
	if out.Failed != 0 || out.Status != check.StatusPass {
		t.Fatalf("outcome %+v:\n%s", out, rec.json(t))
	}
	for _, name := range []string{CheckClusterIssuer, CheckRole, CheckOIDCProvider, CheckOIDCAudience, CheckTrust} {
		if evs := rec.checks(name); len(evs) != 1 || evs[0].Status != check.StatusPass {
			t.Fatalf("%s: %+v", name, evs)
		}
	}
	if got := aws.calls; got[awsread.ActionGetRole] != 1 || got[awsread.ActionListOpenIDConnectProviders] != 1 || got[awsread.ActionGetOpenIDConnectProvider] != 1 {
		t.Fatalf("calls %v", got)
	}
	if last := rec.events[len(rec.events)-1]; last.Type != check.TypeResult || last.Data["aws_calls_total"] != int64(3) {
		t.Fatalf("verdict %+v", last)
	}
}

// TestOneReadPerRole: many accounts on few roles read each role once, and say each shared
// fact once.
func TestOneReadPerRole(t *testing.T) {
	aws := healthyAWS()
	aws.roles["shared"] = irsaPolicy("StringLike", "system:serviceaccount:team:*")
	objs := []runtime.Object{sa("team", "app", roleARN("app")), sa("team", "plain", "")}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		objs = append(objs, sa("team", n, roleARN("shared")))
	}
	rec, out, err := run(t, Config{Namespace: "team", Workers: 3}, aws, objs...)
	if err != nil {
		t.Fatal(err)
	}
	if out.Accounts != 6 || out.Failed != 0 {
		t.Fatalf("outcome %+v\n%s", out, rec.json(t))
	}
	if aws.calls[awsread.ActionGetRole] != 2 || aws.calls[awsread.ActionListOpenIDConnectProviders] != 1 || aws.calls[awsread.ActionGetOpenIDConnectProvider] != 1 {
		t.Fatalf("calls %v, want 2 GetRole and one of each provider read", aws.calls)
	}
	if n := len(rec.checks(CheckRole)); n != 2 {
		t.Fatalf("%d iam.role checks, want one per role", n)
	}
	if n := len(rec.checks(CheckTrust)); n != 6 {
		t.Fatalf("%d iam.trust checks, want one per account", n)
	}
	// In order, whatever the workers' timing.
	trust := rec.checks(CheckTrust)
	for i, want := range []string{"team/a:", "team/app:", "team/b:", "team/c:", "team/d:", "team/e:"} {
		if !strings.HasPrefix(trust[i].Message, want) {
			t.Fatalf("trust check %d is %q, want %s first", i, trust[i].Message, want)
		}
	}
}

func TestMisconfigurationsNamed(t *testing.T) {
	tests := []struct {
		name   string
		aws    func(*fakeAWS)
		check  string
		inMsg  []string
		inFix  string
		detail string
	}{
		{name: "wildcard in StringEquals", aws: func(f *fakeAWS) { f.roles["app"] = irsaPolicy("StringEquals", "system:serviceaccount:team:*") },
			check: CheckTrust, inMsg: []string{"statement 0", `"StringEquals": {"` + hostPath + `:sub": "system:serviceaccount:team:*"}`, "literal character"},
			inFix: "aws iam update-assume-role-policy --role-name app --policy-document '", detail: `+        "StringLike": {`},
		{name: "missing role", aws: func(f *fakeAWS) { delete(f.roles, "app") },
			check: CheckRole, inMsg: []string{"does not exist", "NoSuchEntity"}, inFix: "aws iam create-role --role-name app --assume-role-policy-document '{"},
		{name: "no provider", aws: func(f *fakeAWS) {
			f.providers = map[string][]string{"arn:aws:iam::" + acct + ":oidc-provider/other.example.com": {"sts.amazonaws.com"}}
		},
			check: CheckOIDCProvider, inMsg: []string{"no IAM OIDC provider for the issuer " + issuer, "https://other.example.com"}, inFix: "aws iam create-open-id-connect-provider --url " + issuer},
		{name: "audience not a client ID", aws: func(f *fakeAWS) { f.providers[provider] = []string{"vault"} },
			check: CheckOIDCAudience, inMsg: []string{"does not list the audience sts.amazonaws.com", "vault"}, inFix: "aws iam add-client-id-to-open-id-connect-provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws := healthyAWS()
			tt.aws(aws)
			rec, out, err := run(t, Config{Namespace: "team", Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "app"}}, aws, sa("team", "app", roleARN("app")))
			if err != nil {
				t.Fatal(err)
			}
			evs := rec.checks(tt.check)
			if len(evs) != 1 || evs[0].Status != check.StatusFail || out.Status != check.StatusFail {
				t.Fatalf("%s: %+v\n%s", tt.check, evs, rec.json(t))
			}
			for _, s := range tt.inMsg {
				if !strings.Contains(evs[0].Message, s) {
					t.Fatalf("message %q lacks %q", evs[0].Message, s)
				}
			}
			if !strings.Contains(evs[0].Fix, tt.inFix) {
				t.Fatalf("fix %q lacks %q", evs[0].Fix, tt.inFix)
			}
			if !strings.Contains(evs[0].Detail, tt.detail) {
				t.Fatalf("detail %q lacks %q", evs[0].Detail, tt.detail)
			}
			if v := rec.events[len(rec.events)-1]; !strings.Contains(v.Fix, tt.inFix) {
				t.Fatalf("the verdict's fixes lack the check's: %q", v.Fix)
			}
		})
	}
}

// TestBreadthWarned: a trust policy that admits the account and more passes iam.trust and
// warns of each finding in iam.trust_breadth, with the clause, who else, a diff and the
// command; the run's status is warn, not fail. A tight policy draws no warning.
func TestBreadthWarned(t *testing.T) {
	noSub := `{"Version":"2012-10-17","Statement":[{"Sid":"Cluster","Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hostPath + `:aud":"sts.amazonaws.com"}}}]}`
	tests := []struct {
		name     string
		policy   string
		wantWarn []string // in the warning's message, one warning
		detail   string
	}{
		{name: "tight", policy: irsaPolicy("StringEquals", "system:serviceaccount:team:app")},
		{name: "namespace-wide in the account's namespace", policy: irsaPolicy("StringLike", "system:serviceaccount:team:*")},
		{name: "no sub", policy: noSub,
			wantWarn: []string{`statement 0 ("Cluster")`, "no condition on " + hostPath + ":sub", "it also admits every service account of the cluster"},
			detail:   `+          "` + hostPath + `:sub": "system:serviceaccount:team:app"`},
		{name: "a wildcard over the namespaces", policy: irsaPolicy("StringLike", "system:serviceaccount:*:app"),
			wantWarn: []string{`"StringLike": {"` + hostPath + `:sub": "system:serviceaccount:*:app"}`, "it also admits the service account app of other namespaces"},
			detail:   `+        "StringEquals": {`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws := healthyAWS()
			aws.roles["app"] = tt.policy
			rec, out, err := run(t, Config{Namespace: "team", Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "app"}}, aws, sa("team", "app", roleARN("app")))
			if err != nil {
				t.Fatal(err)
			}
			if tr := rec.checks(CheckTrust); len(tr) != 1 || tr[0].Status != check.StatusPass {
				t.Fatalf("iam.trust: %+v", tr)
			}
			warns := rec.checks(CheckTrustBreadth)
			if tt.wantWarn == nil {
				if len(warns) != 0 || out.Status != check.StatusPass {
					t.Fatalf("a tight policy warned: %+v", warns)
				}
				return
			}
			if len(warns) != 1 || warns[0].Status != check.StatusWarn || out.Status != check.StatusWarn || out.Failed != 0 {
				t.Fatalf("outcome %+v, warnings %+v", out, warns)
			}
			w := warns[0]
			for _, s := range tt.wantWarn {
				if !strings.Contains(w.Message, s) {
					t.Errorf("message %q lacks %q", w.Message, s)
				}
			}
			if !strings.Contains(w.Detail, tt.detail) || !strings.HasPrefix(w.Fix, "aws iam update-assume-role-policy --role-name app --policy-document '") {
				t.Errorf("detail %q fix %q", w.Detail, w.Fix)
			}
		})
	}
}

// TestProviderForTheOtherIssuerHost: an account whose only provider is for the dual-stack
// host of the EKS issuer the tokens carry (or the reverse) is told that this is the cause.
func TestProviderForTheOtherIssuerHost(t *testing.T) {
	tests := []struct{ name, tokens, registered string }{
		{name: "tokens IPv4, provider dual-stack", tokens: "oidc.eks.us-west-2.amazonaws.com/id/ABC", registered: "oidc-eks.us-west-2.api.aws/id/ABC"},
		{name: "tokens dual-stack, provider IPv4", tokens: "oidc-eks.us-west-2.api.aws/id/ABC", registered: "oidc.eks.us-west-2.amazonaws.com/id/ABC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := "arn:aws:iam::" + acct + ":oidc-provider/" + tt.registered
			aws := &fakeAWS{
				roles:     map[string]string{"app": strings.ReplaceAll(irsaPolicy("StringEquals", "system:serviceaccount:team:app"), hostPath, tt.tokens)},
				providers: map[string][]string{other: {"sts.amazonaws.com"}},
			}
			rec, _, err := run(t, Config{Namespace: "team", Issuer: "https://" + tt.tokens, Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "app"}}, aws, sa("team", "app", roleARN("app")))
			if err != nil {
				t.Fatal(err)
			}
			evs := rec.checks(CheckOIDCProvider)
			if len(evs) != 1 || evs[0].Status != check.StatusFail {
				t.Fatalf("iam.oidc_provider: %+v", evs)
			}
			for _, want := range []string{"has an IAM OIDC provider for https://" + tt.registered, "the other host EKS serves this cluster's issuer under", "the tokens carry iss https://" + tt.tokens} {
				if !strings.Contains(evs[0].Message, want) {
					t.Errorf("message %q lacks %q", evs[0].Message, want)
				}
			}
			if !strings.Contains(evs[0].Fix, "--url https://"+tt.tokens) || evs[0].Data["other_form_provider_arn"] != other {
				t.Errorf("fix %q data %v", evs[0].Fix, evs[0].Data)
			}
		})
	}
}

func TestAccessDeniedNamesTheAction(t *testing.T) {
	aws := healthyAWS()
	aws.deny = awsread.ActionGetRole
	_, _, err := run(t, Config{Namespace: "team"}, aws, sa("team", "app", roleARN("app")))
	var ce *awsconfig.CallError
	if !errors.As(err, &ce) || ce.Action != awsread.ActionGetRole || !strings.Contains(err.Error(), "ask for iam:GetRole") {
		t.Fatalf("error %v, want a CallError naming iam:GetRole", err)
	}
}

func TestRoleOfAnotherAccountIsSkipped(t *testing.T) {
	aws := healthyAWS()
	other := "arn:aws:iam::444455556666:role/app"
	rec, out, err := run(t, Config{Namespace: "team", Cluster: "prod"}, aws, sa("team", "app", other))
	if err != nil {
		t.Fatal(err)
	}
	evs := rec.checks(CheckRole)
	if len(evs) != 1 || evs[0].Status != check.StatusSkip || !strings.Contains(evs[0].Message, "your AWS credentials read account "+acct) || out.Failed != 0 {
		t.Fatalf("role check %+v\n%s", evs, rec.json(t))
	}
}

func TestPodIdentity(t *testing.T) {
	aws := healthyAWS()
	aws.roles["pod"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	aws.roles["good"] = podPolicy
	aws.roles["target"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + roleARN("good") + `"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"wrong"}}}]}`
	aws.assocs = []awsread.Association{
		{ID: "a-1", Namespace: "team", ServiceAccount: "worker", RoleARN: roleARN("pod")},
		{ID: "a-2", Namespace: "team", ServiceAccount: "chained", RoleARN: roleARN("good"), TargetRoleARN: roleARN("target"), ExternalID: "ext"},
		{ID: "a-3", Namespace: "team", ServiceAccount: "ok", RoleARN: roleARN("good")},
		{ID: "a-4", Namespace: "team", ServiceAccount: "ghost", RoleARN: roleARN("good")},
	}
	rec, out, err := run(t, Config{Namespace: "team", Cluster: "prod"}, aws,
		sa("team", "worker", ""), sa("team", "chained", ""), sa("team", "ok", ""))
	if err != nil {
		t.Fatal(err)
	}
	if out.Accounts != 4 {
		t.Fatalf("accounts %d, want the 4 with associations\n%s", out.Accounts, rec.json(t))
	}
	byAccount := map[string]check.Event{}
	for _, ev := range rec.checks(CheckPodIdentityTrust) {
		byAccount[ev.Data["service_account"].(string)] = ev
	}
	if ev := byAccount["team/worker"]; ev.Status != check.StatusFail || !strings.Contains(ev.Message, "does not allow sts:TagSession") || !strings.Contains(ev.Detail, `+        "sts:TagSession"`) {
		t.Fatalf("worker: %+v", ev)
	}
	if ev := byAccount["team/ok"]; ev.Status != check.StatusPass {
		t.Fatalf("ok: %+v", ev)
	}
	target := rec.checks(CheckTargetRoleTrust)
	if len(target) != 1 || target[0].Status != check.StatusFail || !strings.Contains(target[0].Message, "sts:ExternalId") {
		t.Fatalf("target: %+v", target)
	}
	ghost := false
	for _, ev := range rec.checks(CheckServiceAccount) {
		ghost = ghost || ev.Status == check.StatusFail && strings.HasPrefix(ev.Message, "team/ghost:")
	}
	if !ghost {
		t.Fatalf("no finding for the association of a missing service account\n%s", rec.json(t))
	}
	if aws.calls[awsread.ActionGetRole] != 3 {
		t.Fatalf("GetRole %d times for 3 roles", aws.calls[awsread.ActionGetRole])
	}
}

// TestAssociationRestrictions: the association's external ID and inline session policy are
// shown with what they restrict; a target role whose trust admits the association's role
// without the external ID is warned of, with the condition to add; one that requires it passes.
func TestAssociationRestrictions(t *testing.T) {
	target := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"FromPods","Effect":"Allow","Principal":{"AWS":"` + roleARN("good") + `"},"Action":["sts:AssumeRole","sts:TagSession"]` + cond + `}]}`
	}
	const session = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::reports","arn:aws:s3:::reports/*"]}]}`
	tests := []struct {
		name       string
		assoc      awsread.Association
		target     string
		assocState check.Status
		assocMsg   []string
		extState   check.Status // "" when the check must not be there
		extDetail  string
	}{
		{name: "external ID required", target: target(`,"Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}`),
			assoc:      awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "app", RoleARN: roleARN("good"), TargetRoleARN: roleARN("target"), ExternalID: "ext-1"},
			assocState: check.StatusPass, assocMsg: []string{"with the external ID ext-1 (sts:ExternalId)"}, extState: check.StatusPass},
		{name: "external ID not required", target: target(""),
			assoc:      awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "app", RoleARN: roleARN("good"), TargetRoleARN: roleARN("target"), ExternalID: "ext-1"},
			assocState: check.StatusPass, extState: check.StatusWarn, extDetail: `+          "sts:ExternalId": "ext-1"`},
		{name: "a session policy on the target role", target: target(`,"Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}`),
			assoc: awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "app", RoleARN: roleARN("good"), TargetRoleARN: roleARN("target"), ExternalID: "ext-1",
				DisableSessionTags: true, Policy: session},
			assocState: check.StatusPass, extState: check.StatusPass,
			assocMsg: []string{"inline session policy narrows the pods' credentials to what both the target role " + roleARN("target") + " (EKS applies it to the target role's session only)",
				"Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::reports, arn:aws:s3:::reports/*", "session tags disabled"}},
		{name: "a session policy with session tags",
			assoc:      awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "app", RoleARN: roleARN("good"), Policy: session},
			assocState: check.StatusWarn, assocMsg: []string{"what both the role " + roleARN("good") + "'s permissions and it allow", "EKS takes a session policy only with disableSessionTags set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws := healthyAWS()
			aws.roles["good"] = podPolicy
			if tt.target != "" {
				aws.roles["target"] = tt.target
			}
			aws.assocs = []awsread.Association{tt.assoc}
			rec, _, err := run(t, Config{Namespace: "team", Cluster: "prod"}, aws, sa("team", "app", ""))
			if err != nil {
				t.Fatal(err)
			}
			as := rec.checks(CheckAssociation)
			if len(as) != 1 || as[0].Status != tt.assocState {
				t.Fatalf("eks.association: %+v", as)
			}
			for _, want := range tt.assocMsg {
				if !strings.Contains(as[0].Message, want) {
					t.Errorf("eks.association %q lacks %q", as[0].Message, want)
				}
			}
			ext := rec.checks(CheckTargetRoleExternalID)
			if tt.extState == "" {
				if len(ext) != 0 {
					t.Fatalf("an external ID check without a target role: %+v", ext)
				}
				return
			}
			if len(ext) != 1 || ext[0].Status != tt.extState || !strings.Contains(ext[0].Detail, tt.extDetail) {
				t.Fatalf("%s: %+v", CheckTargetRoleExternalID, ext)
			}
			if tt.extState == check.StatusWarn && (!strings.Contains(ext[0].Message, `statement 0 ("FromPods") has no sts:ExternalId condition`) || !strings.Contains(ext[0].Fix, "--role-name target")) {
				t.Errorf("the warning does not name the statement and the fix: %+v", ext[0])
			}
		})
	}
}

// fakeSTS admits the tokens of the subjects in ok.
type fakeSTS struct {
	mu     sync.Mutex
	tokens []string
	refuse bool
}

func (f *fakeSTS) Exchange(_ context.Context, role, token string) (Exchanged, error) {
	f.mu.Lock()
	f.tokens = append(f.tokens, token)
	f.mu.Unlock()
	if f.refuse {
		return Exchanged{}, awsconfig.Wrap(apiErr("AccessDenied"), ActionAssumeRoleWithWebIdentity, role)
	}
	name := role[strings.LastIndex(role, "/")+1:]
	arn := "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + SessionName
	return Exchanged{AssumedRoleARN: arn, CallerARN: arn}, nil
}

func tokenClient(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
		if tr.Spec.Audiences[0] == "forbidden" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, "app", errors.New(`User "x" cannot create resource "serviceaccounts/token"`))
		}
		tr.Status.Token = secret
		return true, tr, nil
	})
	return c
}

func TestExchange(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		sts := &fakeSTS{refuse: refuse}
		rec := &recorder{}
		aws := healthyAWS()
		aws.roles["app"] = irsaPolicy("StringEquals", "system:serviceaccount:team:*")
		client := tokenClient(sa("team", "app", roleARN("app")), sa("team", "b", roleARN("app")))
		out, err := Run(context.Background(), Config{Namespace: "team", Exchange: true}, Deps{Client: client, Discovery: discovery, AWS: aws, STS: sts}, rec)
		if err != nil {
			t.Fatal(err)
		}
		all := rec.json(t)
		if strings.Contains(all, secret) {
			t.Fatal("the token appears in the events")
		}
		if len(sts.tokens) != 2 || sts.tokens[0] != secret {
			t.Fatalf("STS got %d tokens", len(sts.tokens))
		}
		if !strings.Contains(all, `"check":"exchange.scope"`) || !strings.Contains(all, "does not prove") {
			t.Fatalf("no word of what the exchange does not prove:\n%s", all)
		}
		if !refuse {
			if out.Failed != 0 || out.STSCalls != 4 || len(rec.checks(CheckExchangeCaller)) != 2 || aws.calls[awsread.ActionGetRole] != 0 {
				t.Fatalf("admitted: %+v, AWS calls %v\n%s", out, aws.calls, all)
			}
			continue
		}
		// Refused, with AWS credentials at hand: the refusal names its clause.
		if out.Failed == 0 || out.STSCalls != 2 {
			t.Fatalf("refused: %+v", out)
		}
		trust := rec.checks(CheckTrust)
		if len(trust) != 2 || !strings.Contains(trust[0].Message, "literal character") {
			t.Fatalf("the refusal is not explained: %+v", trust)
		}
	}
}

func TestExchangeForbiddenTokenNamesThePermission(t *testing.T) {
	client := tokenClient(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": roleARN("app"), "eks.amazonaws.com/audience": "forbidden"}}})
	_, err := Run(context.Background(), Config{Namespace: "team", Exchange: true}, Deps{Client: client, Discovery: discovery, STS: &fakeSTS{}}, &recorder{})
	if err == nil || !strings.Contains(err.Error(), `RBAC verb "create" on "serviceaccounts/token"`) {
		t.Fatalf("error %v, want one naming create serviceaccounts/token", err)
	}
}

func TestNoIdentity(t *testing.T) {
	rec, out, err := run(t, Config{Namespace: "team", Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "plain"}}, healthyAWS(), sa("team", "plain", ""))
	if err != nil {
		t.Fatal(err)
	}
	if evs := rec.checks(CheckServiceAccount); len(evs) != 1 || evs[0].Status != check.StatusFail || out.Failed != 1 {
		t.Fatalf("%+v", evs)
	}
}

// TestAssociationsNotRead: when the Pod Identity associations are not read, the output says
// so, why, and what reads them, never "no association" or a count of 0; an account without a
// role annotation is then not judged, which fails rather than passes.
func TestAssociationsNotRead(t *testing.T) {
	plainTarget := &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "plain"}
	tests := []struct {
		name    string
		cfg     Config
		noAWS   bool
		wantWhy string
	}{
		{name: "no EKS cluster named", cfg: Config{Namespace: "team"}, wantWhy: "not read: no EKS cluster named (pass --eks-cluster NAME"},
		{name: "the EKS cluster is not found", cfg: Config{Namespace: "team", Cluster: "nope"}, wantWhy: "not read: there is no EKS cluster nope in this region (check --eks-cluster and --region)"},
		{name: "--exchange with no AWS credentials", cfg: Config{Namespace: "team", Cluster: "prod", Exchange: true}, noAWS: true, wantWhy: "not read: no AWS credentials at hand"},
		{name: "--exchange with no EKS cluster", cfg: Config{Namespace: "team", Exchange: true}, wantWhy: "not read: no EKS cluster named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws := healthyAWS()
			aws.assocs = []awsread.Association{{ID: "a-1", Namespace: "team", ServiceAccount: "plain", RoleARN: roleARN("good")}}
			deps := func() Deps {
				d := Deps{Client: tokenClient(sa("team", "app", roleARN("app")), sa("team", "plain", "")), Discovery: discovery, STS: &fakeSTS{}}
				if !tt.noAWS {
					d.AWS = aws
				}
				return d
			}

			// The namespace: the count names what was read only.
			rec := &recorder{}
			out, err := Run(context.Background(), tt.cfg, deps(), rec)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.AssociationsNotRead, tt.wantWhy) {
				t.Fatalf("AssociationsNotRead %q, want %q", out.AssociationsNotRead, tt.wantWhy)
			}
			var found check.Event
			for _, ev := range rec.events {
				if ev.Check == CheckAccounts {
					found = ev
				}
			}
			if !strings.Contains(found.Message, "Pod Identity associations "+tt.wantWhy) || strings.Contains(found.Message, "with a Pod Identity association") ||
				found.Data["associations_read"] != false {
				t.Fatalf("the accounts line claims what was not read: %+v", found)
			}
			if aws.calls[awsread.ActionListPodIdentityAssociations] != 0 {
				t.Fatal("the associations were read")
			}

			// TARGET without a role annotation: not judged, failed, the reason named.
			rec = &recorder{}
			cfg := tt.cfg
			cfg.Target = plainTarget
			out, err = Run(context.Background(), cfg, deps(), rec)
			if err != nil {
				t.Fatal(err)
			}
			evs := rec.checks(CheckServiceAccount)
			if len(evs) != 1 || evs[0].Status != check.StatusFail || out.Status != check.StatusFail ||
				!strings.Contains(evs[0].Message, "team/plain: not judged: the service account has no eks.amazonaws.com/role-arn annotation, and its Pod Identity associations were "+tt.wantWhy) ||
				evs[0].Data["judged"] != false {
				t.Fatalf("the account not judged: %+v, outcome %+v", evs, out)
			}
			if all := rec.json(t); strings.Contains(all, "no Pod Identity association") || strings.Contains(all, "and no Pod Identity association") {
				t.Fatalf("an unread source is called none:\n%s", all)
			}
		})
	}
	t.Run("read, and none: said as none", func(t *testing.T) {
		rec, out, err := run(t, Config{Namespace: "team", Cluster: "prod", Target: plainTarget}, healthyAWS(), sa("team", "plain", ""))
		if err != nil {
			t.Fatal(err)
		}
		evs := rec.checks(CheckServiceAccount)
		if out.AssociationsNotRead != "" || len(evs) != 1 || evs[0].Status != check.StatusFail ||
			!strings.Contains(evs[0].Message, "has no eks.amazonaws.com/role-arn annotation and no Pod Identity association") {
			t.Fatalf("%+v %+v", out, evs)
		}
	})
}

// TestEmptySelectionIsNotAPass: a selection of no account judges nothing, and its verdict is
// not a pass.
func TestEmptySelectionIsNotAPass(t *testing.T) {
	rec, out, err := run(t, Config{Namespace: "team", Cluster: "prod", Selector: "x=y"}, healthyAWS(), sa("team", "app", roleARN("app")))
	if err != nil {
		t.Fatal(err)
	}
	var result check.Event
	for _, ev := range rec.events {
		if ev.Type == check.TypeResult {
			result = ev
		}
	}
	if out.Accounts != 0 || out.Status != check.StatusSkip || result.Status != check.StatusSkip ||
		!strings.HasPrefix(result.Message, "no service account judged: all 2 checks passed for 0 service accounts") {
		t.Fatalf("outcome %+v, result %+v", out, result)
	}
}

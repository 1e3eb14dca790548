//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// TestExplainAssociationRestrictions: explain shows a Pod Identity association's external ID
// and inline session policy with what they restrict, and warns of a target role whose trust
// admits the association's role without the external ID, with the condition to add; a
// target role that requires it passes.
func TestExplainAssociationRestrictions(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	user := e.newAWSUser(t)
	clusterName := "restrict-" + randSuffix()
	e.addSTSEntries(t, "clusters", awsCluster{Name: clusterName, Region: explainRegion, Issuer: e.issuer})
	pfx := "rs" + randSuffix()
	arnOf := func(name string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, name) }
	podRole, openTarget, tightTarget := pfx+"-pod", pfx+"-open-target", pfx+"-tight-target"
	e.addSTSRole(t, podRole, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "pods.eks.amazonaws.com"}, "Action": []any{"sts:AssumeRole", "sts:TagSession"}}}})
	targetPolicy := func(cond map[string]any) map[string]any {
		st := map[string]any{"Sid": "FromPods", "Effect": "Allow", "Principal": map[string]any{"AWS": arnOf(podRole)}, "Action": []any{"sts:AssumeRole", "sts:TagSession"}}
		if cond != nil {
			st["Condition"] = cond
		}
		return map[string]any{"Version": "2012-10-17", "Statement": []any{st}}
	}
	e.addSTSRole(t, openTarget, targetPolicy(nil))
	e.awaitRole(t, user, openTarget)

	const session = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}`
	api := eks.NewFromConfig(e.awsConfig(user))
	create := func(sa, target string, policy bool) string {
		t.Helper()
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), saObject(sa, nil), createOpts()); err != nil {
			t.Fatal(err)
		}
		in := &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(clusterName), Namespace: aws.String(ns), ServiceAccount: aws.String(sa),
			RoleArn: aws.String(arnOf(podRole)), TargetRoleArn: aws.String(arnOf(target))}
		if policy {
			in.Policy, in.DisableSessionTags = aws.String(session), aws.Bool(true)
		}
		out, err := api.CreatePodIdentityAssociation(context.Background(), in)
		if err != nil {
			t.Fatalf("CreatePodIdentityAssociation %s: %v", sa, err)
		}
		return aws.ToString(out.Association.ExternalId)
	}
	openID := create("open", openTarget, false)
	tightID := create("tight", tightTarget, true)
	if openID == "" || tightID == "" {
		t.Fatalf("the stand-in gave no external IDs (%q, %q)", openID, tightID)
	}
	// The tight target role requires its association's external ID, known only now.
	e.addSTSRole(t, tightTarget, targetPolicy(map[string]any{"StringEquals": map[string]any{"sts:ExternalId": tightID}}))
	e.awaitRole(t, user, tightTarget)

	cmd := execWI(e, "explain", "-n", ns, "--eks-cluster", clusterName, "-o", "json")
	cmd.Env = e.awsEnv(&user)
	res := e.run(t, cmd)
	if res.code != 0 {
		t.Fatalf("explain exited %d, want 0 (warnings only):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	evs := explainEvents(t, res.stdout)

	open := accountChecks(evs, ns+"/open")
	if a := open["eks.association"]; len(a) != 1 || !strings.Contains(a[0].Message, "with the external ID "+openID+" (sts:ExternalId)") {
		t.Errorf("open: the association does not show its external ID: %+v", a)
	}
	if x := open["iam.target_role_external_id"]; len(x) != 1 || x[0].Status != check.StatusWarn ||
		!strings.Contains(x[0].Message, `statement 0 ("FromPods") has no sts:ExternalId condition`) ||
		!strings.Contains(x[0].Detail, `+          "sts:ExternalId": "`+openID+`"`) || !strings.Contains(x[0].Fix, "--role-name "+openTarget) {
		t.Errorf("open: no warning that the target role does not require the external ID: %+v", x)
	}

	tight := accountChecks(evs, ns+"/tight")
	a := tight["eks.association"]
	if len(a) != 1 || a[0].Status != check.StatusPass {
		t.Fatalf("tight: eks.association %+v", a)
	}
	for _, want := range []string{
		"inline session policy narrows the pods' credentials to what both the target role " + arnOf(tightTarget),
		"Allow s3:GetObject on arn:aws:s3:::reports/*",
		"session tags disabled",
	} {
		if !strings.Contains(a[0].Message, want) {
			t.Errorf("tight: eks.association %q does not say %q", a[0].Message, want)
		}
	}
	if x := tight["iam.target_role_external_id"]; len(x) != 1 || x[0].Status != check.StatusPass {
		t.Errorf("tight: the target role requires the external ID, yet %+v", x)
	}
}

// TestExplainIssuerOtherHost: the tokens carry the IPv4 EKS issuer host and the account's
// IAM OIDC provider, like the role's trust policy, is for the dual-stack host of the same
// issuer: explain names that as the cause, in the provider check and in the trust check.
func TestExplainIssuerOtherHost(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	user := e.newAWSUser(t)
	id := strings.ToUpper(randSuffix() + randSuffix())
	ipv4 := "oidc.eks." + explainRegion + ".amazonaws.com/id/" + id
	dual := "oidc-eks." + explainRegion + ".api.aws/id/" + id
	// Registered only; the stand-in fetches a provider's keys on first use, and nothing here
	// exchanges a token.
	e.addSTSEntries(t, "providers", map[string]any{"issuer": "https://" + dual, "clientIDs": []string{"sts.amazonaws.com"}})
	role := "ih" + randSuffix()
	e.addSTSRole(t, role, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Federated": fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.stsAccount, dual)},
		"Action":    "sts:AssumeRoleWithWebIdentity",
		"Condition": map[string]any{"StringEquals": map[string]any{dual + ":aud": "sts.amazonaws.com", dual + ":sub": "system:serviceaccount:" + ns + ":app"}},
	}}})
	e.awaitRole(t, user, role)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, role)})

	cmd := execWI(e, "explain", "serviceaccount/app", "-n", ns, "--issuer", "https://"+ipv4, "-o", "json")
	cmd.Env = e.awsEnv(&user)
	res := e.run(t, cmd)
	if res.code != 1 {
		t.Fatalf("explain exited %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var provider, trust *check.Event
	for _, ev := range explainEvents(t, res.stdout) {
		switch ev.Check {
		case "iam.oidc_provider":
			provider = &ev
		case "iam.trust":
			trust = &ev
		}
	}
	if provider == nil || provider.Status != check.StatusFail ||
		!strings.Contains(provider.Message, "has an IAM OIDC provider for https://"+dual+", the other host EKS serves this cluster's issuer under, but the tokens carry iss https://"+ipv4) ||
		!strings.Contains(provider.Fix, "aws iam create-open-id-connect-provider --url https://"+ipv4) {
		t.Errorf("iam.oidc_provider: %+v", provider)
	}
	if trust == nil || trust.Status != check.StatusFail || !strings.Contains(trust.Message, "is the provider of this cluster's issuer under its other host (https://"+dual+")") {
		t.Errorf("iam.trust: %+v", trust)
	}
}

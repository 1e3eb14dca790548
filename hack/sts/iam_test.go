package sts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestIAMGetRole(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	dev := a.iam(devKeyID, devSecret)

	out, err := dev.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	r := out.Role
	if aws.ToString(r.RoleName) != "app" || aws.ToString(r.Arn) != roleARN("app") || aws.ToString(r.Path) != "/" ||
		!strings.HasPrefix(aws.ToString(r.RoleId), "AROA") || aws.ToInt32(r.MaxSessionDuration) != 3600 || r.CreateDate == nil {
		t.Errorf("GetRole(app) = name %q arn %q path %q id %q max %d created %v", aws.ToString(r.RoleName), aws.ToString(r.Arn),
			aws.ToString(r.Path), aws.ToString(r.RoleId), aws.ToInt32(r.MaxSessionDuration), r.CreateDate)
	}
	// IAM returns the document percent-encoded and the SDK leaves it so.
	doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil || !strings.Contains(aws.ToString(r.AssumeRolePolicyDocument), "%7B") {
		t.Fatalf("AssumeRolePolicyDocument %q: want it URL-encoded (%v)", aws.ToString(r.AssumeRolePolicyDocument), err)
	}
	var pol struct {
		Statement []struct{ Principal map[string]string }
	}
	if err := json.Unmarshal([]byte(doc), &pol); err != nil || len(pol.Statement) != 1 || !strings.Contains(pol.Statement[0].Principal["Federated"], ":oidc-provider/") {
		t.Errorf("decoded trust policy %s: %v", doc, err)
	}

	// a role with a path, its policy given as a string: returned as that very text
	out, err = dev.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("team-app")})
	if err != nil {
		t.Fatalf("GetRole(team-app): %v", err)
	}
	doc, _ = url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if aws.ToString(out.Role.Path) != "/team/" || aws.ToInt32(out.Role.MaxSessionDuration) != 7200 || !strings.HasPrefix(doc, `{"Version":"2012-10-17","Statement":{"Effect":"Allow"`) {
		t.Errorf("GetRole(team-app) = path %q max %d policy %s", aws.ToString(out.Role.Path), aws.ToInt32(out.Role.MaxSessionDuration), doc)
	}

	_, err = dev.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("missing")})
	assertAPIError(t, err, "NoSuchEntity", "The role with name missing cannot be found.", false, 404)

	_, err = a.iam(limitedKeyID, limitedSecret).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::111122223333:user/team/limited is not authorized to perform: iam:GetRole on resource: role app because no identity-based policy allows the iam:GetRole action", false, 403)

	_, err = a.iam("AKIAEXAMPLEUNKNOWN1", devSecret).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	assertAPIError(t, err, "InvalidClientTokenId", msgInvalidClientID, false, 403)
	_, err = a.iam(devKeyID, "not-the-secret-key-000000").GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	assertAPIError(t, err, "SignatureDoesNotMatch", msgSignatureMismatch, false, 403)
	_, err = dev.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("no spaces")})
	assertAPIError(t, err, "ValidationError", "1 validation error detected: Value 'no spaces' at 'roleName'", true, 400)

	// the user's keys work for STS too
	id, err := a.stsClient(staticCreds(devKeyID, devSecret, "")).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::111122223333:user/dev" || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
		t.Errorf("GetCallerIdentity as dev = %+v, %v", id, err)
	}
}

func TestIAMOpenIDConnectProviders(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	dev := a.iam(devKeyID, devSecret)
	hp := issuerHostPath(a.iss.srv.URL)
	local := "arn:aws:iam::111122223333:oidc-provider/" + hp

	list, err := dev.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatalf("ListOpenIDConnectProviders: %v", err)
	}
	var arns []string
	for _, p := range list.OpenIDConnectProviderList {
		arns = append(arns, aws.ToString(p.Arn))
	}
	want := []string{local, "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"}
	if fmt.Sprint(arns) != fmt.Sprint(want) && fmt.Sprint(arns) != fmt.Sprint([]string{want[1], want[0]}) {
		t.Errorf("providers %v, want %v", arns, want)
	}

	p, err := dev.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(local)})
	if err != nil {
		t.Fatalf("GetOpenIDConnectProvider: %v", err)
	}
	if aws.ToString(p.Url) != hp || fmt.Sprint(p.ClientIDList) != "[sts.amazonaws.com other-client]" || len(p.ThumbprintList) != 0 || p.CreateDate == nil {
		t.Errorf("provider = url %q clients %v thumbprints %v created %v", aws.ToString(p.Url), p.ClientIDList, p.ThumbprintList, p.CreateDate)
	}

	missing := "arn:aws:iam::111122223333:oidc-provider/example.com/none"
	_, err = dev.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(missing)})
	assertAPIError(t, err, "NoSuchEntity", "OpenIDConnect Provider not found for arn "+missing, false, 404)
	_, err = dev.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::111122223333:role/app")})
	assertAPIError(t, err, "InvalidInput", "ARN arn:aws:iam::111122223333:role/app is not valid.", false, 400)
}

func TestIAMUpdateAssumeRolePolicy(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	dev := a.iam(devKeyID, devSecret)
	hp := issuerHostPath(a.iss.srv.URL)
	provider := "arn:aws:iam::111122223333:oidc-provider/" + hp
	policy := func(sub string, padding int) string {
		return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "%s",
    "Effect": "Allow",
    "Principal": {"Federated": "%s"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {"%s:sub": "%s"}}
  }]
}`, strings.Repeat("x", padding), provider, hp, sub)
	}

	_, err := dev.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(`{"Version": "2012-10-17",`)})
	assertAPIError(t, err, "MalformedPolicyDocument", "This policy contains invalid Json", false, 400)
	_, err = dev.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(`{"Statement": [{"Effect": "Maybe"}]}`)})
	assertAPIError(t, err, "MalformedPolicyDocument", "Syntax errors in policy.", false, 400)
	_, err = dev.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("missing"), PolicyDocument: aws.String(policy("x", 0))})
	assertAPIError(t, err, "NoSuchEntity", "The role with name missing cannot be found.", false, 404)

	// The quota counts characters without whitespace: a document just at it passes however
	// much whitespace it has, one character more does not.
	base := nonSpaceLen(policy(testSubject, 0))
	atLimit := policy(testSubject, maxTrustPolicySize-base)
	if len(atLimit) <= maxTrustPolicySize || nonSpaceLen(atLimit) != maxTrustPolicySize {
		t.Fatalf("test document: %d characters, %d without whitespace", len(atLimit), nonSpaceLen(atLimit))
	}
	_, err = dev.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(policy(testSubject, maxTrustPolicySize-base+1))})
	assertAPIError(t, err, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", false, 409)

	// A session of a role with no allow list may not write.
	tok := a.token(t, rsaKey, kubeClaims(a.iss.srv.URL, testSubject, []string{testAudience}, time.Now(), time.Hour))
	assumed, err := a.stsClient(nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity before the update: %v", err)
	}
	c := assumed.Credentials
	a.remember(aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	_, err = a.iam(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey)).UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(atLimit)})
	if err == nil {
		t.Fatal("a session without its token was let in")
	}
	sessIAM := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(a.srv.URL), HTTPClient: a.srv.Client(), Retryer: aws.NopRetryer{},
		Credentials: staticCreds(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
	_, err = sessIAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(atLimit)})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: iam:UpdateAssumeRolePolicy on resource: role app", true, 403)

	// Now the write: the role's trust moves to another service account.
	moved := policy("system:serviceaccount:default:other", 0)
	if _, err := dev.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(moved)}); err != nil {
		t.Fatalf("UpdateAssumeRolePolicy: %v", err)
	}
	got, err := dev.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument)); doc != moved {
		t.Errorf("GetRole after the update returned\n%s\nwant the document as written\n%s", doc, moved)
	}
	_, err = a.stsClient(nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("s2"), WebIdentityToken: aws.String(tok)})
	assertAPIError(t, err, "AccessDenied", msgAccessDenied, false, 403)

	// the config file holds it, so a restart (or a reload) keeps it
	cfg, err := LoadConfig(a.configPath)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	for _, r := range cfg.Roles {
		if r.Name == "app" && policyText(r.TrustPolicy) != moved {
			t.Errorf("config file's policy for app: %s", policyText(r.TrustPolicy))
		}
	}
	if len(cfg.Users) != 3 || len(cfg.Clusters) != 1 {
		t.Errorf("config file after the write: %d users, %d clusters; want the rest kept", len(cfg.Users), len(cfg.Clusters))
	}
}

// A session may call what its role's allow list names, read from the configuration at each
// call, and nothing else beside STS, refused in IAM's words.
func TestRoleSessionAllowList(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	tok := a.token(t, rsaKey, kubeClaims(a.iss.srv.URL, testSubject, []string{testAudience}, time.Now(), time.Hour))
	assumed, err := a.stsClient(nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("app")), RoleSessionName: aws.String("reader"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatal(err)
	}
	c := assumed.Credentials
	a.remember(aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	sess := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(a.srv.URL), HTTPClient: a.srv.Client(), Retryer: aws.NopRetryer{},
		Credentials: staticCreds(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
	getRole := func() error {
		_, err := sess.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
		return err
	}
	listProviders := func() error {
		_, err := sess.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
		return err
	}
	tests := []struct {
		name      string
		allow     []string
		call      func() error
		wantError string // "" for allowed
	}{
		{name: "no allow list: STS only", call: getRole,
			wantError: "User: arn:aws:sts::111122223333:assumed-role/app/reader is not authorized to perform: iam:GetRole on resource: role app"},
		{name: "the action listed", allow: []string{"iam:GetRole"}, call: getRole},
		{name: "a pattern", allow: []string{"iam:List*"}, call: listProviders},
		{name: "another action listed", allow: []string{"iam:GetOpenIDConnectProvider"}, call: listProviders,
			wantError: "User: arn:aws:sts::111122223333:assumed-role/app/reader is not authorized to perform: iam:ListOpenIDConnectProviders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(a.configPath)
			if err != nil {
				t.Fatal(err)
			}
			for i := range cfg.Roles {
				if cfg.Roles[i].Name == "app" {
					cfg.Roles[i].Allow = tt.allow
				}
			}
			if err := a.handler.Reload(cfg); err != nil {
				t.Fatal(err)
			}
			err = tt.call()
			if tt.wantError == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			assertAPIError(t, err, "AccessDenied", tt.wantError, true, 403)
		})
	}
}

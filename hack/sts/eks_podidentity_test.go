package sts

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
)

var associationIDRE = regexp.MustCompile(`^a-[a-z0-9]{17}$`)

// webhookIdentities reads the webhook's associations file as the webhook does.
func webhookIdentities(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("webhook file: %v", err)
	}
	var f struct {
		Identities []struct{ Namespace, ServiceAccount string } `json:"identities"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("webhook file %s: %v", b, err)
	}
	out := []string{}
	for _, id := range f.Identities {
		out = append(out, id.Namespace+"/"+id.ServiceAccount)
	}
	return out
}

func TestPodIdentityAssociations(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()
	c := a.eks(devKeyID, devSecret, testRegion)
	if got := webhookIdentities(t, a.webhook); len(got) != 0 {
		t.Fatalf("webhook file at start: %v, want none", got)
	}

	create := func(ns, sa, role, token string) (*types.PodIdentityAssociation, error) {
		in := &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(testCluster), Namespace: aws.String(ns),
			ServiceAccount: aws.String(sa), RoleArn: aws.String(role), Tags: map[string]string{"team": "a"}}
		if token != "" {
			in.ClientRequestToken = aws.String(token)
		}
		out, err := c.CreatePodIdentityAssociation(ctx, in)
		if err != nil {
			return nil, err
		}
		return out.Association, nil
	}
	first, err := create("demo", "app", roleARN("app"), "token-1")
	if err != nil {
		t.Fatalf("CreatePodIdentityAssociation: %v", err)
	}
	id := aws.ToString(first.AssociationId)
	if !associationIDRE.MatchString(id) || aws.ToString(first.AssociationArn) != "arn:aws:eks:us-west-2:111122223333:podidentityassociation/local/"+id ||
		aws.ToString(first.ClusterName) != testCluster || aws.ToString(first.RoleArn) != roleARN("app") || first.Tags["team"] != "a" ||
		first.CreatedAt == nil || first.ModifiedAt == nil || aws.ToBool(first.DisableSessionTags) || first.TargetRoleArn != nil {
		t.Errorf("created association = %+v", first)
	}
	if got := webhookIdentities(t, a.webhook); len(got) != 1 || got[0] != "demo/app" {
		t.Errorf("webhook file after create: %v", got)
	}

	// idempotency: the same request again is the same association; another with the token is refused
	again, err := create("demo", "app", roleARN("app"), "token-1")
	if err != nil || aws.ToString(again.AssociationId) != id {
		t.Errorf("retry with the same token = %v, %v; want association %s", again, err, id)
	}
	_, err = create("demo", "app", roleARN("other-sub"), "token-1")
	assertAPIError(t, err, "InvalidRequestException", "The clientRequestToken token-1 was already used with a different request.", false, 400)
	_, err = create("demo", "app", roleARN("other-sub"), "")
	assertAPIError(t, err, "ResourceInUseException", "Association already exists: "+id, false, 409)

	// validation, the cluster, permissions
	_, err = create("Demo", "app", roleARN("app"), "")
	assertAPIError(t, err, "InvalidParameterException", "The namespace Demo is not a valid Kubernetes namespace name.", false, 400)
	_, err = create("demo", "x", "arn:aws:iam::111122223333:user/dev", "")
	assertAPIError(t, err, "InvalidParameterException", "The roleArn arn:aws:iam::111122223333:user/dev is not a valid IAM role ARN.", false, 400)
	_, err = c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String("other"),
		Namespace: aws.String("demo"), ServiceAccount: aws.String("x"), RoleArn: aws.String(roleARN("app"))})
	assertAPIError(t, err, "ResourceNotFoundException", "No cluster found for name: other.", false, 404)
	limited := a.eks(limitedKeyID, limitedSecret, testRegion)
	_, err = limited.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(testCluster),
		Namespace: aws.String("demo"), ServiceAccount: aws.String("x"), RoleArn: aws.String(roleARN("app"))})
	assertAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/team/limited is not authorized to perform: iam:PassRole on resource: "+roleARN("app"), true, 403)
	_, err = limited.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id)})
	assertAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/team/limited is not authorized to perform: eks:DescribePodIdentityAssociation", true, 403)

	// describe
	d, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id)})
	if err != nil || aws.ToString(d.Association.ServiceAccount) != "app" || aws.ToString(d.Association.Namespace) != "demo" {
		t.Errorf("Describe = %+v, %v", d, err)
	}
	_, err = c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String("a-00000000000000000")})
	assertAPIError(t, err, "ResourceNotFoundException", "No Pod Identity association found for id: a-00000000000000000.", false, 404)

	// list: filters and pages
	for _, ns := range []string{"n1", "n2", "n3", "n4"} {
		if _, err := create(ns, "app", roleARN("app"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := create("n1", "worker", roleARN("app"), ""); err != nil {
		t.Fatal(err)
	}
	var seen []string
	p := eks.NewListPodIdentityAssociationsPaginator(c, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if len(page.Associations) > 2 {
			t.Errorf("page of %d, want at most 2", len(page.Associations))
		}
		for _, s := range page.Associations {
			seen = append(seen, aws.ToString(s.Namespace)+"/"+aws.ToString(s.ServiceAccount))
		}
	}
	sort.Strings(seen)
	if pages != 3 || len(seen) != 6 || seen[0] != "demo/app" || seen[5] != "n4/app" {
		t.Errorf("listed %v in %d pages; want the 6 associations in 3", seen, pages)
	}
	l, err := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster), Namespace: aws.String("n1")})
	if err != nil || len(l.Associations) != 2 || l.NextToken != nil {
		t.Errorf("namespace filter = %+v, %v", l, err)
	}
	l, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster), Namespace: aws.String("n1"), ServiceAccount: aws.String("worker")})
	if err != nil || len(l.Associations) != 1 {
		t.Errorf("namespace and service account filter = %+v, %v", l, err)
	}
	_, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster), MaxResults: aws.Int32(101)})
	assertAPIError(t, err, "InvalidParameterException", "maxResults must be between 1 and 100.", false, 400)
	_, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster), NextToken: aws.String("garbage!")})
	assertAPIError(t, err, "InvalidParameterException", "The nextToken is not valid.", false, 400)

	// update: the role, a target role (and its external id), then the target removed
	u, err := c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id),
		RoleArn: aws.String(roleARN("other-sub")), TargetRoleArn: aws.String(roleARN("team/team-app"))})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if aws.ToString(u.Association.RoleArn) != roleARN("other-sub") || aws.ToString(u.Association.TargetRoleArn) != roleARN("team/team-app") ||
		aws.ToString(u.Association.ExternalId) == "" || !u.Association.ModifiedAt.After(*u.Association.CreatedAt) && !u.Association.ModifiedAt.Equal(*u.Association.CreatedAt) {
		t.Errorf("updated association = %+v", u.Association)
	}
	u, err = c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id), TargetRoleArn: aws.String("")})
	if err != nil || u.Association.TargetRoleArn != nil || u.Association.ExternalId != nil || aws.ToString(u.Association.RoleArn) != roleARN("other-sub") {
		t.Errorf("target role removed = %+v, %v", u, err)
	}
	_, err = c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id), Policy: aws.String(`{"Version":"2012-10-17"}`)})
	assertAPIError(t, err, "InvalidParameterException", "disableSessionTags must be true when a policy is given.", false, 400)

	// delete
	del, err := c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id)})
	if err != nil || aws.ToString(del.Association.AssociationId) != id {
		t.Fatalf("Delete = %+v, %v", del, err)
	}
	_, err = c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String(testCluster), AssociationId: aws.String(id)})
	assertAPIError(t, err, "ResourceNotFoundException", "No Pod Identity association found for id: "+id+".", false, 404)
	if got := webhookIdentities(t, a.webhook); len(got) != 5 || got[0] != "n1/app" {
		t.Errorf("webhook file after delete: %v", got)
	}

	// a restart keeps them: a new server from the same files
	_ = os.WriteFile(a.webhook, []byte(`{"identities":[]}`), 0o600)
	a.srv.Config.Handler = a.newHandler(t)
	l, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(testCluster)})
	if err != nil || len(l.Associations) != 5 {
		t.Errorf("after a restart: %+v, %v", l, err)
	}
	if got := webhookIdentities(t, a.webhook); len(got) != 5 {
		t.Errorf("webhook file after a restart: %v, want the 5 associations pushed again", got)
	}

	// the request log counts the writes that landed
	writes := map[string]int{}
	for _, line := range a.requestLines(t) {
		if line.Write && line.Outcome == "OK" {
			writes[line.Action]++
		}
		if line.Service != "eks" || line.Principal == "" {
			t.Errorf("request log line %+v: want service eks and a principal", line)
		}
	}
	if writes["CreatePodIdentityAssociation"] != 7 || writes["UpdatePodIdentityAssociation"] != 2 || writes["DeletePodIdentityAssociation"] != 1 {
		t.Errorf("writes in the request log: %v", writes)
	}
}

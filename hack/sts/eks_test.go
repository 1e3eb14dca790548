package sts

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
)

func TestEKSDescribeCluster(t *testing.T) {
	a := newAWSEnv(t)
	ctx := context.Background()

	out, err := a.eks(devKeyID, devSecret, testRegion).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(testCluster)})
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	c := out.Cluster
	if aws.ToString(c.Name) != testCluster || aws.ToString(c.Arn) != testClusterARN || c.Identity == nil || c.Identity.Oidc == nil ||
		aws.ToString(c.Identity.Oidc.Issuer) != a.iss.srv.URL || c.CreatedAt == nil || c.Status != "ACTIVE" {
		t.Errorf("DescribeCluster = %+v", c)
	}

	_, err = a.eks(devKeyID, devSecret, testRegion).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("other")})
	assertAPIError(t, err, "ResourceNotFoundException", "No cluster found for name: other.", false, 404)
	// a cluster lives in one region
	_, err = a.eks(devKeyID, devSecret, "eu-west-1").DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(testCluster)})
	assertAPIError(t, err, "ResourceNotFoundException", "No cluster found for name: local.", false, 404)

	_, err = a.eks(limitedKeyID, limitedSecret, testRegion).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(testCluster)})
	assertAPIError(t, err, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/team/limited is not authorized to perform: eks:DescribeCluster on resource: "+testClusterARN, true, 403)
	_, err = a.eks("AKIAEXAMPLEUNKNOWN1", devSecret, testRegion).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(testCluster)})
	assertAPIError(t, err, "UnrecognizedClientException", msgInvalidClientID, false, 403)
	_, err = a.eks(devKeyID, "not-the-secret-key-000000", testRegion).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(testCluster)})
	assertAPIError(t, err, "InvalidSignatureException", msgSignatureMismatch, false, 403)
}

// TestRouting: one port, the service taken from the signature's scope; an unsigned query
// request is STS's, an unsigned REST request is refused as EKS refuses it.
func TestRouting(t *testing.T) {
	a := newAWSEnv(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		contains                 string
		errorType                string
	}{
		{"unsigned STS", http.MethodPost, "/", "Action=GetCallerIdentity&Version=2011-06-15", 403, "<Code>MissingAuthenticationToken</Code>", ""},
		{"unsigned web identity", http.MethodPost, "/", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15", 400, "<Code>ValidationError</Code>", ""},
		{"unsigned REST", http.MethodGet, "/clusters/local", "", 403, `"message":"Missing Authentication Token"`, "MissingAuthenticationTokenException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, a.srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := a.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.contains) || resp.Header.Get("X-Amzn-ErrorType") != tc.errorType {
				t.Errorf("%s %s: %d %q type %q; want %d containing %q type %q", tc.method, tc.path, resp.StatusCode, b.String(),
					resp.Header.Get("X-Amzn-ErrorType"), tc.status, tc.contains, tc.errorType)
			}
		})
	}
}

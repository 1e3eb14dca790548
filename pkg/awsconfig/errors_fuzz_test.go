package awsconfig

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// bodyDoer answers every request with one status and body, as a hostile or broken endpoint
// would, without a network.
type bodyDoer struct {
	status  int
	body    string
	headers map[string]string
}

func (d bodyDoer) Do(*http.Request) (*http.Response, error) {
	h := http.Header{}
	for k, v := range d.headers {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: d.status, Header: h, Body: io.NopCloser(strings.NewReader(d.body))}, nil
}

// FuzzAWSErrorBody feeds IAM's and EKS's error bodies, any bytes, through the SDK's decoders
// and CallError: nothing panics, every error names the call, and a denial names an action.
func FuzzAWSErrorBody(f *testing.F) {
	f.Add(403, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111122223333:user/u is not authorized to perform: iam:GetRole on resource: role app</Message></Error><RequestId>1</RequestId></ErrorResponse>`, "")
	f.Add(404, `<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>The role with name app cannot be found.</Message></Error></ErrorResponse>`, "")
	f.Add(400, `{"message":"User: arn:aws:iam::1:user/u is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/app"}`, "AccessDeniedException")
	f.Add(404, `{"message":"No cluster found for name: prod."}`, "ResourceNotFoundException")
	f.Add(500, `not json <xml`, "")
	f.Add(400, `{"message":`, "AccessDeniedException:http://internal.amazon.com/coral/")
	f.Fuzz(func(t *testing.T, status int, body, errorType string) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		d := bodyDoer{status: status, body: body, headers: map[string]string{"X-Amzn-ErrorType": errorType, "Content-Type": "application/json"}}
		creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
		})
		ctx := context.Background()
		iamClient := iam.New(iam.Options{Region: GlobalRegion, HTTPClient: d, Credentials: creds, RetryMaxAttempts: 1})
		_, err := iamClient.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
		checkCallError(t, Wrap(err, "iam:GetRole", "app"), "iam:GetRole")
		eksClient := eks.New(eks.Options{Region: "us-west-2", HTTPClient: d, Credentials: creds, RetryMaxAttempts: 1})
		_, err = eksClient.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("prod")})
		checkCallError(t, Wrap(err, "eks:DescribeCluster", "prod"), "eks:DescribeCluster")
	})
}

func checkCallError(t *testing.T, err error, action string) {
	t.Helper()
	if err == nil {
		return // a body the SDK read as success is not an error body
	}
	msg := err.Error()
	if !strings.Contains(msg, action) {
		t.Errorf("error %q does not name %s", msg, action)
	}
	if IsAccessDenied(err) && !strings.Contains(msg, "ask for ") {
		t.Errorf("denial %q names no action to ask for", msg)
	}
}

// The fuzz harness decodes real error bodies: a denial names the action AWS names.
func TestAWSErrorBodyDecoded(t *testing.T) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
	})
	d := bodyDoer{status: 403, body: `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111122223333:user/u is not authorized to perform: iam:GetRole on resource: role app</Message></Error></ErrorResponse>`}
	_, err := iam.New(iam.Options{Region: GlobalRegion, HTTPClient: d, Credentials: creds, RetryMaxAttempts: 1}).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")})
	if msg := Wrap(err, "iam:GetRole", "app").Error(); !strings.Contains(msg, "ask for iam:GetRole, a read-only action") {
		t.Errorf("IAM denial: %s", msg)
	}
	d = bodyDoer{status: 400, body: `{"message":"User: arn:aws:iam::1:user/u is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/app"}`,
		headers: map[string]string{"X-Amzn-ErrorType": "AccessDeniedException", "Content-Type": "application/json"}}
	_, err = eks.New(eks.Options{Region: "us-west-2", HTTPClient: d, Credentials: creds, RetryMaxAttempts: 1}).DescribeCluster(context.Background(), &eks.DescribeClusterInput{Name: aws.String("prod")})
	if msg := Wrap(err, "eks:DescribeCluster", "prod").Error(); !strings.Contains(msg, "ask for iam:PassRole") {
		t.Errorf("EKS denial: %s", msg)
	}
}

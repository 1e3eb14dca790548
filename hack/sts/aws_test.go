package sts

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// Users of the test configuration, and the cluster.
const (
	devKeyID       = "AKIAEXAMPLEDEV00001"
	devSecret      = "dev-secret-key-0000000000000000000000"
	limitedKeyID   = "AKIAEXAMPLELIMITED1"
	limitedSecret  = "limited-secret-key-00000000000000000000"
	testRegion     = "us-west-2"
	testCluster    = "local"
	testClusterARN = "arn:aws:eks:us-west-2:111122223333:cluster/local"
)

func testUsersAndClusters(issuer string) string {
	return `users:
- arn: arn:aws:iam::111122223333:user/dev
  accessKeyId: ` + devKeyID + `
  secretAccessKey: ` + devSecret + `
- arn: arn:aws:iam::111122223333:user/team/limited
  accessKeyId: ` + limitedKeyID + `
  secretAccessKey: ` + limitedSecret + `
  deny: [iam:GetRole, "eks:Describe*"]
clusters:
- name: ` + testCluster + `
  region: ` + testRegion + `
  issuer: ` + issuer + `
`
}

// awsEnv is the whole stand-in over TLS, configured from a file, as wi-sts runs it.
type awsEnv struct {
	*testEnv
	srv        *httptest.Server
	configPath string
}

func newAWSEnv(t *testing.T) *awsEnv {
	t.Helper()
	testKeys(t)
	env := &testEnv{iss: newTestIssuer(t), log: &syncBuffer{}}
	env.iss.publish(rsaKey)
	env.iss.publish(ecKey)
	env.remember(devSecret, limitedSecret)
	path := filepath.Join(t.TempDir(), "sts.yaml")
	if err := os.WriteFile(path, []byte(testConfig(env.iss.srv.URL, env.iss.caFile)+testUsersAndClusters(env.iss.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	srv, err := New(cfg, WithLog(env.log), WithConfigFile(path), WithClock(func() time.Time {
		return time.Now().Add(time.Duration(env.offset.Load()))
	}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a := &awsEnv{testEnv: env, srv: httptest.NewTLSServer(srv), configPath: path}
	t.Cleanup(a.srv.Close)
	t.Cleanup(func() {
		log := env.log.String()
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, s := range env.secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("server log contains a secret (%d characters)", len(s))
			}
		}
	})
	return a
}

func (a *awsEnv) iam(keyID, secret string) *iam.Client {
	return iam.New(iam.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(a.srv.URL), HTTPClient: a.srv.Client(),
		Credentials: staticCreds(keyID, secret, ""), Retryer: aws.NopRetryer{},
	})
}

func (a *awsEnv) eks(keyID, secret, region string) *eks.Client {
	return eks.New(eks.Options{
		Region: region, BaseEndpoint: aws.String(a.srv.URL), HTTPClient: a.srv.Client(),
		Credentials: staticCreds(keyID, secret, ""), Retryer: aws.NopRetryer{},
	})
}

func (a *awsEnv) stsClient(creds aws.CredentialsProvider) *awssts.Client {
	return awssts.New(awssts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(a.srv.URL), HTTPClient: a.srv.Client(),
		Credentials: creds, Retryer: aws.NopRetryer{},
	})
}

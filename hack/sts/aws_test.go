package sts

import (
	"encoding/json"
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

func testUsersAndClusters(issuer, associationsFile string) string {
	return `users:
- arn: arn:aws:iam::111122223333:user/dev
  accessKeyId: ` + devKeyID + `
  secretAccessKey: ` + devSecret + `
- arn: arn:aws:iam::111122223333:user/team/limited
  accessKeyId: ` + limitedKeyID + `
  secretAccessKey: ` + limitedSecret + `
  deny: [iam:GetRole, "eks:Describe*", iam:PassRole]
clusters:
- name: ` + testCluster + `
  region: ` + testRegion + `
  issuer: ` + issuer + `
  associationsFile: ` + associationsFile + `
`
}

// awsEnv is the whole stand-in over TLS, configured from a file, as wi-sts runs it.
type awsEnv struct {
	*testEnv
	srv        *httptest.Server
	configPath string
	statePath  string
	webhook    string // the cluster's associations file
	requests   *syncBuffer
	handler    *Server
}

func newAWSEnv(t *testing.T) *awsEnv {
	t.Helper()
	testKeys(t)
	env := &testEnv{iss: newTestIssuer(t), log: &syncBuffer{}}
	env.iss.publish(rsaKey)
	env.iss.publish(ecKey)
	env.remember(devSecret, limitedSecret)
	dir := t.TempDir()
	a := &awsEnv{testEnv: env, configPath: filepath.Join(dir, "sts.yaml"), statePath: filepath.Join(dir, "state.json"),
		webhook: filepath.Join(dir, "pod-identity-associations.json"), requests: &syncBuffer{}}
	if err := os.WriteFile(a.configPath, []byte(testConfig(env.iss.srv.URL, env.iss.caFile)+testUsersAndClusters(env.iss.srv.URL, a.webhook)), 0o600); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewTLSServer(a.newHandler(t))
	t.Cleanup(a.srv.Close)
	t.Cleanup(func() {
		log := env.log.String() + a.requests.String()
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

// newHandler builds a server from the env's files, as wi-sts does when it starts.
func (a *awsEnv) newHandler(t *testing.T) *Server {
	t.Helper()
	cfg, err := LoadConfig(a.configPath)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	srv, err := New(cfg, WithLog(a.log), WithConfigFile(a.configPath), WithStateFile(a.statePath), WithRequestLog(a.requests),
		WithClock(func() time.Time { return time.Now().Add(time.Duration(a.offset.Load())) }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.handler = srv
	return srv
}

// requestLines parses the JSON request log.
func (a *awsEnv) requestLines(t *testing.T) []RequestLogLine {
	t.Helper()
	var out []RequestLogLine
	for _, line := range strings.Split(strings.TrimSpace(a.requests.String()), "\n") {
		if line == "" {
			continue
		}
		var l RequestLogLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("request log line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

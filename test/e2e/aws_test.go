//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"k8s.io/client-go/kubernetes"
)

// loadAWSEnv reads the AWS stand-in's environment that services-up writes (export K=V lines):
// endpoints, CA bundle, region and the test user's keys. Nothing of it is logged.
func loadAWSEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the AWS stand-in's environment (WI_AWS_ENV=%q): %v; run through hack/e2e.sh", path, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_EKS", "AWS_CA_BUNDLE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if out[k] == "" {
			t.Fatalf("%s lacks %s", path, k)
		}
	}
	return out
}

// eksClient is the SDK's EKS client on the AWS stand-in, as the test user.
func (e env) eksClient(t *testing.T) *eks.Client {
	t.Helper()
	pem, err := os.ReadFile(e.aws["AWS_CA_BUNDLE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", e.aws["AWS_CA_BUNDLE"])
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	keyID, secret := e.aws["AWS_ACCESS_KEY_ID"], e.aws["AWS_SECRET_ACCESS_KEY"]
	return eks.New(eks.Options{
		Region: e.aws["AWS_REGION"], BaseEndpoint: aws.String(e.aws["AWS_ENDPOINT_URL_EKS"]),
		HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, Source: "aws.env"}, nil
		}),
	})
}

// associate gives ns/sa a Pod Identity association with role through the EKS API, as a user
// does, deletes it when the test ends, and, under the EKS profile (where the webhook reads
// the associations EKS pushes), waits until the webhook admits pods of it accordingly. It
// returns the association's id. A targetRole, when given, is the association's target role,
// which EKS reaches by chaining from role.
func (e env) associate(t *testing.T, c kubernetes.Interface, ns, sa, role string, targetRole ...string) string {
	t.Helper()
	ctx := context.Background()
	api := e.eksClient(t)
	in := &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(e.eksCluster), Namespace: aws.String(ns), ServiceAccount: aws.String(sa),
		RoleArn: aws.String(role), ClientRequestToken: aws.String(ns + "-" + sa),
	}
	if len(targetRole) > 0 {
		in.TargetRoleArn = aws.String(targetRole[0])
	}
	out, err := api.CreatePodIdentityAssociation(ctx, in)
	if err != nil {
		t.Fatalf("CreatePodIdentityAssociation %s/%s: %v", ns, sa, err)
	}
	id := aws.ToString(out.Association.AssociationId)
	t.Cleanup(func() {
		if _, err := api.DeletePodIdentityAssociation(context.Background(), &eks.DeletePodIdentityAssociationInput{
			ClusterName: aws.String(e.eksCluster), AssociationId: aws.String(id)}); err != nil {
			t.Errorf("DeletePodIdentityAssociation %s: %v", id, err)
		}
	})
	if e.eksProfile() {
		waitFor(t, 30*time.Second, "the webhook to read the association of "+ns+"/"+sa, func(context.Context) (bool, error) {
			return envOf(dryRunPod(t, c, ns, sa).Spec.Containers[0])["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != "", nil
		})
	}
	return id
}

// requirePodIdentity skips a test outside the EKS profile, where the webhook does not inject
// the agent's credentials, and fails it when the agent's address is not this host's.
func (e env) requirePodIdentity(t *testing.T) {
	t.Helper()
	e.requireProfile(t, "eks", "the webhook injects the agent's credentials only under it")
	e.requireAgent(t)
}

// requireAgent fails the test unless the Pod Identity agent's address is an address of this
// host and the agent answers there: a request without a token gets the agent's own 400.
func (e env) requireAgent(t *testing.T) {
	t.Helper()
	ip := net.ParseIP(e.agentAddr)
	if ip == nil {
		t.Fatalf("WI_POD_IDENTITY_AGENT=%q is not an address", e.agentAddr)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	local := false
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			local = true
		}
	}
	if !local {
		t.Fatalf("%s is not an address of this host: the test bed puts it on lo (hack/services-up.sh)", ip)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + e.agentAddr + "/v1/credentials")
	if err != nil {
		t.Fatalf("the Pod Identity agent does not answer at %s: %v", e.agentAddr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Service account token cannot be empty") {
		t.Fatalf("%s answered %d %q to a request without a token; want the agent's 400", e.agentAddr, resp.StatusCode, body)
	}
}

// awsRequest is a line of the AWS stand-in's request log (hack/sts RequestLogLine).
type awsRequest struct {
	Service, Action, Principal, Outcome string
	Write                               bool
	Role, TargetRole, Session           string
	Namespace, ServiceAccount           string
	SessionTags                         map[string]string
}

// awsRequests reads the AWS stand-in's request log.
func (e env) awsRequests(t *testing.T) []awsRequest {
	t.Helper()
	b, err := os.ReadFile(e.awsRequestLog)
	if err != nil {
		t.Fatalf("the AWS stand-in's request log: %v", err)
	}
	// The last line may be mid-write while parallel tests call the stand-in: only whole lines.
	whole := string(b[:bytes.LastIndexByte(b, '\n')+1])
	var out []awsRequest
	for _, line := range strings.Split(whole, "\n") {
		if line == "" {
			continue
		}
		var r awsRequest
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("request log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

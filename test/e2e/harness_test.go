//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// clusterHTTPS is an HTTP client that trusts the local cluster's CA, which issued the
// certificates of the STS stand-in and MinIO.
var clusterHTTPS = sync.OnceValue(func() *http.Client {
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(os.Getenv("WI_CA_FILE")); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
})

// stsClient talks to an STS at endpoint over TLS, anonymously unless creds are given.
func stsClient(endpoint string, creds aws.CredentialsProvider) *sts.Client {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds, HTTPClient: clusterHTTPS()})
}

func assumeRole(ctx context.Context, endpoint, roleARN, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return stsClient(endpoint, nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("e2e"), WebIdentityToken: aws.String(token),
	})
}

func apiErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	}
	return ""
}

// TestHarness proves the local cluster: a pod using an annotated service account runs on the
// real node, was mutated by the webhook stand-in, and its projected token is accepted by the
// STS stand-in and by MinIO; a token of another service account is refused by the trust policy.
func TestHarness(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	roleARN := e.addSTSRole(t, "harness-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": roleARN})
	serviceAccount(t, c, ns, "other", nil)

	pod := runPod(t, c, ns, e.idlePod("app", "app"))

	// The stored pod carries the injection.
	env := map[string]string{}
	for _, v := range pod.Spec.Containers[0].Env {
		env[v.Name] = v.Value
	}
	if env["AWS_ROLE_ARN"] != roleARN || env["AWS_WEB_IDENTITY_TOKEN_FILE"] != "/var/run/secrets/eks.amazonaws.com/serviceaccount/token" {
		t.Fatalf("pod env not mutated by the webhook stand-in: %v", env)
	}
	var projected *corev1.ServiceAccountTokenProjection
	for _, v := range pod.Spec.Volumes {
		if v.Name == "aws-iam-token" && v.Projected != nil {
			projected = v.Projected.Sources[0].ServiceAccountToken
		}
	}
	if projected == nil || projected.Audience != "sts.amazonaws.com" || ptr.Deref(projected.ExpirationSeconds, 0) != 86400 {
		t.Fatalf("pod has no aws-iam-token volume as the webhook adds it: %+v", pod.Spec.Volumes)
	}

	token := e.projectedToken(t, pod, "aws-iam-token")

	t.Run("STS stand-in accepts the pod's token", func(t *testing.T) {
		out, err := assumeRole(ctx, e.stsEndpoint, roleARN, token)
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
		}
		creds := credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
		who, err := stsClient(e.stsEndpoint, creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity: %v", err)
		}
		if want := ":assumed-role/harness-" + ns + "/e2e"; !strings.HasSuffix(*who.Arn, want) {
			t.Fatalf("caller %s, want one ending in %s", *who.Arn, want)
		}
	})

	t.Run("MinIO accepts the pod's token", func(t *testing.T) {
		out, err := assumeRole(ctx, e.minioEndpoint, e.minioRoleARN, token)
		if err != nil {
			t.Fatalf("MinIO AssumeRoleWithWebIdentity: %v", err)
		}
		if aws.ToString(out.Credentials.AccessKeyId) == "" {
			t.Fatal("MinIO returned no credentials")
		}
	})

	t.Run("MinIO refuses a token for another audience", func(t *testing.T) {
		other := createToken(t, c, ns, "app", "not-sts")
		if _, err := assumeRole(ctx, e.minioEndpoint, e.minioRoleARN, other); err == nil {
			t.Fatal("MinIO accepted a token for audience not-sts")
		}
	})

	t.Run("trust policy refuses another service account", func(t *testing.T) {
		other := createToken(t, c, ns, "other", "sts.amazonaws.com")
		_, err := assumeRole(ctx, e.stsEndpoint, roleARN, other)
		if got := apiErrorCode(err); got != "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" {
			t.Fatalf("token of another service account: error %v (code %q), want AccessDenied", err, got)
		}
	})
}

// createToken asks the apiserver's TokenRequest API for a token.
func createToken(t *testing.T, c kubernetes.Interface, ns, sa, audience string) string {
	t.Helper()
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

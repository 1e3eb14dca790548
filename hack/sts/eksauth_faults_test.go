package sts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eks"
)

// setFaults makes the running server's EKS Auth faults these, as an edit of its file does.
func (a *awsEnv) setFaults(t *testing.T, faults ...EKSAuthFault) {
	t.Helper()
	cfg := a.handler.config.Load().cfg.clone()
	cfg.EKSAuthFaults = faults
	if err := a.handler.Reload(cfg); err != nil {
		t.Fatal(err)
	}
}

// rawEKSAuth calls EKS Auth signed as the agent, with a client that gives up after timeout,
// and returns what came back.
func (a *awsEnv) rawEKSAuth(t *testing.T, token string, timeout time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/clusters/"+testCluster+"/assume-role-for-pod-identity", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: agentKeyID, SecretAccessKey: agentSecret},
		req, hex.EncodeToString(sum[:]), "eks-auth", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	client := a.srv.Client()
	client.Timeout = timeout
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

func TestEKSAuthFaults(t *testing.T) {
	a := newAWSEnv(t)
	c := a.eks(devKeyID, devSecret, testRegion)
	for _, sa := range []string{"app", "other"} {
		if _, err := c.CreatePodIdentityAssociation(context.Background(), &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(testCluster),
			Namespace: aws.String("demo"), ServiceAccount: aws.String(sa), RoleArn: aws.String(roleARN("pod-app"))}); err != nil {
			t.Fatal(err)
		}
	}
	minted := 0
	token := func(sa string) string {
		minted++ // a minute apart: each token differs, and a once fault is a token's first call
		tok := mint(t, rsaKey, podClaims(a.iss.srv.URL, "demo", sa, []string{PodIdentityAudience}, time.Now().Add(-time.Duration(minted)*time.Minute)))
		a.remember(tok)
		return tok
	}
	tests := []struct {
		fault      string
		wantStatus []int  // one per call with the same token; 0: no answer
		wantCode   string // X-Amzn-ErrorType of the first answer
		wantBody   string // in the first answer's body
	}{
		{FaultDown, []int{0}, "", ""},
		{FaultHang, []int{0}, "", ""},
		{FaultFail, []int{500, 500}, "InternalServerException", ""},
		{FaultFailOnce, []int{500, 200}, "InternalServerException", ""},
		{FaultUnavailable, []int{503}, "ServiceUnavailableException", ""},
		{FaultThrottle, []int{429, 429}, "ThrottlingException", ""},
		{FaultThrottleOnce, []int{429, 200}, "ThrottlingException", ""},
		{FaultProxy, []int{502}, "", "<html>"},
		{FaultMalformed, []int{200}, "", `{"assumedRoleUser": {"arn": `},
		{FaultMissingField, []int{200}, "", `"podIdentityAssociation"`},
		{FaultMissingCredentials, []int{200}, "", `"credentials"`},
		{FaultNodeDenied, []int{403}, "AccessDeniedException",
			"User: arn:aws:iam::111122223333:user/eks-pod-identity-agent is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: " + testClusterARN},
		{FaultNodeUnknown, []int{403}, "UnrecognizedClientException", msgInvalidClientID},
		{FaultNodeExpired, []int{403}, "ExpiredTokenException", msgExpiredClientID},
		{FaultNodeSignature, []int{403}, "InvalidSignatureException", "The request signature we calculated"},
		{FaultRoleMissing, []int{400}, "AccessDeniedException", trustRefusal(roleARN("pod-app"), "the service principal pods.eks.amazonaws.com")},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			a.setFaults(t, EKSAuthFault{Namespace: "demo", ServiceAccount: "app", Fault: tt.fault})
			tok := token("app")
			for i, want := range tt.wantStatus {
				resp, body, err := a.rawEKSAuth(t, tok, 500*time.Millisecond)
				if want == 0 {
					if err == nil {
						t.Fatalf("call %d: %d %s; want no answer", i+1, resp.StatusCode, body)
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i+1, err)
				}
				if resp.StatusCode != want {
					t.Fatalf("call %d: %d %s; want %d", i+1, resp.StatusCode, body, want)
				}
				if i > 0 {
					continue
				}
				if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantCode {
					t.Errorf("error type %q, want %q", got, tt.wantCode)
				}
				switch tt.fault {
				case FaultMissingField, FaultMissingCredentials:
					if strings.Contains(string(body), tt.wantBody) {
						t.Errorf("body %s holds %s", body, tt.wantBody)
					}
				default:
					if !strings.Contains(string(body), tt.wantBody) {
						t.Errorf("body %s; want %q in it", body, tt.wantBody)
					}
				}
			}
			// another service account of the namespace is not disturbed
			if resp, body, err := a.rawEKSAuth(t, token("other"), 5*time.Second); err != nil || resp.StatusCode != 200 {
				t.Errorf("demo/other beside the fault: %v %v %s", err, resp, body)
			}
		})
	}
	a.setFaults(t)
	if resp, body, err := a.rawEKSAuth(t, token("app"), 5*time.Second); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the faults are gone: %v %v %s", err, resp, body)
	}
}

func TestEKSAuthFaultsValidate(t *testing.T) {
	tests := []struct {
		name    string
		fault   EKSAuthFault
		wantErr string
	}{
		{"known", EKSAuthFault{Namespace: "demo", Fault: FaultHang}, ""},
		{"unknown fault", EKSAuthFault{Namespace: "demo", Fault: "explode"}, `unknown fault "explode"`},
		{"no namespace", EKSAuthFault{Fault: FaultHang}, "namespace is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := (&Config{EKSAuthFaults: []EKSAuthFault{tt.fault}}).validateFaults()
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("errors %v, want none", errs)
			case tt.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr)):
				t.Errorf("errors %v, want %q", errs, tt.wantErr)
			}
		})
	}
}

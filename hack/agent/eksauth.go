package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxAnswer bounds what is read of EKS Auth's answer.
const maxAnswer = 1 << 20

// eksAuth calls EKS Auth's AssumeRoleForPodIdentity (REST JSON), signed with the node's
// credentials.
type eksAuth struct {
	endpoint    string // https://host:port, no path
	region      string
	credentials aws.CredentialsProvider
	client      *http.Client
	now         func() time.Time
}

// credentials are EKS Auth's answer, in the container credentials format the agent serves.
type credentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Token           string    `json:"Token"`
	AccountID       string    `json:"AccountId"`
	Expiration      time.Time `json:"Expiration"`
}

// apiError is an error EKS Auth answered.
type apiError struct {
	status    int
	code      string
	message   string
	requestID string
}

// Error is the real agent's wording of an EKS Auth error.
func (e *apiError) Error() string {
	fault := "client"
	if e.status >= 500 {
		fault = "server"
	}
	return fmt.Sprintf("[%s]: (%s): %s, fault: %s", e.requestID, e.code, e.message, fault)
}

func (c *eksAuth) assumeRoleForPodIdentity(ctx context.Context, cluster, token string) (*credentials, error) {
	body, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		return nil, err
	}
	u := c.endpoint + "/clusters/" + url.PathEscape(cluster) + "/assume-role-for-pod-identity"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("unable to build the EKS Auth request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := c.credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("unable to load the node's credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "eks-auth", c.region, c.now()); err != nil {
		return nil, fmt.Errorf("unable to sign the EKS Auth request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unable to fetch credentials from EKS Auth: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("unable to fetch credentials from EKS Auth: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{status: resp.StatusCode, requestID: resp.Header.Get("X-Amzn-Requestid")}
		e.code, _, _ = strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
		var m struct {
			Message string `json:"message"`
			Type    string `json:"__type"`
		}
		_ = json.Unmarshal(raw, &m)
		e.message = m.Message
		if e.code == "" {
			e.code = m.Type
		}
		if e.code == "" {
			e.code = "UnknownError"
		}
		return nil, e
	}
	var ans struct {
		AssumedRoleUser *struct {
			Arn string `json:"arn"`
		} `json:"assumedRoleUser"`
		Credentials *struct {
			AccessKeyID     string  `json:"accessKeyId"`
			SecretAccessKey string  `json:"secretAccessKey"`
			SessionToken    string  `json:"sessionToken"`
			Expiration      float64 `json:"expiration"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("invalid response from server: %w", err)
	}
	if ans.Credentials == nil || ans.AssumedRoleUser == nil {
		return nil, fmt.Errorf("invalid response from server: credentials or assumed role empty")
	}
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	parts := strings.SplitN(ans.AssumedRoleUser.Arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return nil, fmt.Errorf("unable to parse arn from assumed role: %q", ans.AssumedRoleUser.Arn)
	}
	sec := int64(ans.Credentials.Expiration)
	return &credentials{
		AccessKeyID:     ans.Credentials.AccessKeyID,
		SecretAccessKey: ans.Credentials.SecretAccessKey,
		Token:           ans.Credentials.SessionToken,
		AccountID:       parts[4],
		Expiration:      time.Unix(sec, int64((ans.Credentials.Expiration-float64(sec))*1e9)).UTC(),
	}, nil
}

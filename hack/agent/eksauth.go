package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxAnswer bounds what is read of EKS Auth's answer.
const maxAnswer = 1 << 20

// The SDK's standard retryer as the real agent gets it: aws-sdk-go-v2 v1.39.2 (the agent's
// go.mod), aws/retry/standard.go and jitter_backoff.go, legacy (pre-2026) mode.
const (
	maxAttempts      = 3                // retry.DefaultMaxAttempts
	maxBackoff       = 20 * time.Second // retry.DefaultMaxBackoff
	retryQuota       = 500              // retry.DefaultRetryRateTokens
	retryCost        = 5                // retry.DefaultRetryCost
	retryTimeoutCost = 10               // retry.DefaultRetryTimeoutCost
	noRetryIncrement = 1                // retry.DefaultNoRetryIncrement
)

// retryableStatus are retry.DefaultRetryableHTTPStatusCodes.
var retryableStatus = map[int]bool{500: true, 502: true, 503: true, 504: true}

// retryableCodes are retry.DefaultRetryableErrorCodes and retry.DefaultThrottleErrorCodes.
var retryableCodes = map[string]bool{
	"RequestTimeout": true, "RequestTimeoutException": true,
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
}

// modeledFaults are the errors EKS Auth's API model declares (service/eksauth/types/errors.go),
// with their fault; the SDK reports any other code with fault "unknown".
var modeledFaults = map[string]string{
	"AccessDeniedException": "client", "ExpiredTokenException": "client", "InvalidParameterException": "client",
	"InvalidRequestException": "client", "InvalidTokenException": "client", "ResourceNotFoundException": "client",
	"ThrottlingException": "client", "InternalServerException": "server", "ServiceUnavailableException": "server",
}

// eksAuth calls EKS Auth's AssumeRoleForPodIdentity (REST JSON), signed with the node's
// credentials, retrying as the SDK's standard retryer does.
type eksAuth struct {
	endpoint    string // https://host:port, no path
	region      string
	credentials aws.CredentialsProvider
	client      *http.Client
	now         func() time.Time
	// sleep waits between attempts; tests make it instant.
	sleep func(context.Context, time.Duration) error

	mu     sync.Mutex
	tokens int // the retry quota left
}

// credentials are EKS Auth's answer, in the container credentials format the agent serves.
type credentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Token           string    `json:"Token"`
	AccountID       string    `json:"AccountId"`
	Expiration      time.Time `json:"Expiration"`
}

// callError is one failed EKS Auth call as the SDK reports it to the agent: an HTTP answer
// (status, request id) that may have decoded as an API error (code, message, fault), or no
// answer at all (err).
type callError struct {
	status    int // 0: no answer
	requestID string
	code      string // "": the answer did not decode as an error
	message   string
	fault     string
	err       error // the transport's error when no answer came
}

func (e *callError) Error() string {
	if e.status == 0 {
		return fmt.Sprintf("no answer from EKS Auth: %v", e.err)
	}
	return fmt.Sprintf("EKS Auth answered %d (%s) request id %q", e.status, orUnknown(e.code), e.requestID)
}

func orUnknown(s string) string {
	if s == "" {
		return "not decoded"
	}
	return s
}

// timeout says the call gave up waiting (the retry costs more quota).
func (e *callError) timeout() bool {
	var t interface{ Timeout() bool }
	return e.err != nil && errors.As(e.err, &t) && t.Timeout()
}

// retryable is the standard retryer's verdict: no answer (a connection error: refused, reset,
// timed out), a 500/502/503/504, or a throttling or timeout code.
func (e *callError) retryable() bool {
	if e.status == 0 {
		return !errors.Is(e.err, context.Canceled)
	}
	return retryableStatus[e.status] || retryableCodes[e.code]
}

// errDropConnection: EKS Auth's 2xx answer lacks a field the real agent dereferences
// (internal/cloud/eksauth/service.go): its handler panics, and the server closes the
// connection without an answer.
var errDropConnection = errors.New("EKS Auth's answer lacks a field the agent reads: the real agent's handler panics here")

// assumeRoleForPodIdentity calls EKS Auth with the standard retryer's attempts, backoff and
// quota.
func (c *eksAuth) assumeRoleForPodIdentity(ctx context.Context, cluster, token string) (*credentials, error) {
	paid := 0
	for attempt := 1; ; attempt++ {
		creds, err := c.call(ctx, cluster, token)
		var ce *callError
		if !errors.As(err, &ce) {
			if err == nil {
				c.refund(attempt, paid)
			}
			return creds, err
		}
		if !ce.retryable() || attempt >= maxAttempts {
			return nil, err
		}
		cost := retryCost
		if ce.timeout() {
			cost = retryTimeoutCost
		}
		if left, ok := c.take(cost); !ok {
			return nil, fmt.Errorf("unable to fetch credentials from EKS Auth: operation error EKS Auth: AssumeRoleForPodIdentity, failed to get rate limit token, retry quota exceeded, %d available, %d requested", left, cost)
		}
		paid = cost
		if err := c.sleep(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// backoff is the legacy ExponentialJitterBackoff: a random share of 2^attempt seconds, capped
// at 20 s.
func backoff(attempt int) time.Duration {
	if attempt > int(math.Log2(maxBackoff.Seconds())) {
		return maxBackoff
	}
	return time.Duration(rand.Float64() * float64(int64(1)<<attempt) * float64(time.Second))
}

func (c *eksAuth) take(cost int) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens < cost {
		return c.tokens, false
	}
	c.tokens -= cost
	return c.tokens, true
}

// refund gives back a successful retry's cost, or adds the no-retry increment.
func (c *eksAuth) refund(attempt, paid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if attempt == 1 {
		c.tokens = min(c.tokens+noRetryIncrement, retryQuota)
		return
	}
	c.tokens = min(c.tokens+paid, retryQuota)
}

// podIdentityAnswer is AssumeRoleForPodIdentity's output; pointers, as the SDK's, so a field
// left out is told from an empty one.
type podIdentityAnswer struct {
	AssumedRoleUser *struct {
		Arn          *string `json:"arn"`
		AssumeRoleID *string `json:"assumeRoleId"`
	} `json:"assumedRoleUser"`
	Credentials *struct {
		AccessKeyID     *string  `json:"accessKeyId"`
		SecretAccessKey *string  `json:"secretAccessKey"`
		SessionToken    *string  `json:"sessionToken"`
		Expiration      *float64 `json:"expiration"`
	} `json:"credentials"`
	PodIdentityAssociation *struct {
		AssociationID *string `json:"associationId"`
	} `json:"podIdentityAssociation"`
}

// call makes one attempt.
func (c *eksAuth) call(ctx context.Context, cluster, token string) (*credentials, error) {
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
		return nil, fmt.Errorf("error getting credentials to cache: unable to fetch credentials from EKS Auth: failed to retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "eks-auth", c.region, c.now()); err != nil {
		return nil, fmt.Errorf("unable to sign the EKS Auth request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &callError{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	answered := &callError{status: resp.StatusCode, requestID: resp.Header.Get("X-Amzn-Requestid")}
	if err != nil {
		answered.err = err
		return nil, answered
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		decodeError(answered, resp.Header, raw)
		return nil, answered
	}
	var ans podIdentityAnswer
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &ans); err != nil {
			return nil, answered // the SDK's DeserializationError: the agent writes only the request id
		}
	}
	if ans.Credentials == nil || ans.AssumedRoleUser == nil {
		return nil, errors.New("error getting credentials to cache: invalid response from server: credentials or assumed role empty")
	}
	k, u2 := ans.Credentials, ans.AssumedRoleUser
	if u2.Arn == nil || u2.AssumeRoleID == nil || k.AccessKeyID == nil || k.SecretAccessKey == nil || k.SessionToken == nil ||
		k.Expiration == nil || ans.PodIdentityAssociation == nil || ans.PodIdentityAssociation.AssociationID == nil {
		return nil, errDropConnection
	}
	account, err := accountOf(*u2.Arn)
	if err != nil {
		return nil, fmt.Errorf("error getting credentials to cache: unable to parse arn from assumed role: %w", err)
	}
	sec := int64(*k.Expiration)
	return &credentials{
		AccessKeyID:     *k.AccessKeyID,
		SecretAccessKey: *k.SecretAccessKey,
		Token:           *k.SessionToken,
		AccountID:       account,
		Expiration:      time.Unix(sec, int64((*k.Expiration-float64(sec))*1e9)).UTC(),
	}, nil
}

// accountOf is the account of arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, with the errors
// of the SDK's arn.Parse.
func accountOf(arn string) (string, error) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", errors.New("arn: invalid prefix")
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", errors.New("arn: not enough sections")
	}
	return parts[4], nil
}

// decodeError reads an error answer as the SDK's REST JSON deserializer does: the code from
// X-Amzn-ErrorType, else the body's code or __type, else UnknownError; the message from the
// body. A body that is not JSON leaves the code empty (a DeserializationError).
func decodeError(e *callError, h http.Header, raw []byte) {
	var body struct {
		Code    string `json:"code"`
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) != nil {
		return
	}
	code := sanitizeCode(h.Get("X-Amzn-Errortype"))
	if code == "" {
		code = sanitizeCode(body.Code)
	}
	if code == "" {
		code = sanitizeCode(body.Type)
	}
	if code == "" {
		code = "UnknownError"
	}
	e.code, e.message, e.fault = code, body.Message, "unknown"
	for modeled, fault := range modeledFaults {
		if strings.EqualFold(modeled, code) {
			e.code, e.fault = modeled, fault
			return
		}
	}
	if e.message == "" {
		e.message = code // a generic API error's message defaults to its code
	}
}

// sanitizeCode is restjson.SanitizeErrorCode: "ns#Code:uri" is Code.
func sanitizeCode(c string) string {
	c, _, _ = strings.Cut(c, ":")
	if i := strings.LastIndex(c, "#"); i >= 0 {
		c = c[i+1:]
	}
	return c
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

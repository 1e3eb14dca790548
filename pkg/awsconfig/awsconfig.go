// Package awsconfig is how kubectl-wi calls AWS with the user's own credentials: the SDK's
// default configuration (environment, shared config and credentials files, SSO, IMDS) with
// --profile and --region on top, and errors that name the IAM action of the failed call, so a
// denial says exactly which permission to ask for.
//
// The SDK's own environment applies: AWS_PROFILE, AWS_REGION, AWS_CA_BUNDLE (a private CA, a
// TLS-inspecting proxy), AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (IAM, EKS, STS: a
// VPC endpoint, or a test bed's stand-in).
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// Options are the user's choices on top of the SDK's defaults.
type Options struct {
	Profile string // --profile; "" for AWS_PROFILE or the default profile
	Region  string // --region; "" for AWS_REGION or the profile's
	// NoIMDS leaves out the instance metadata service: for a look at whether credentials are
	// at hand that must not wait for, or reach, an address the machine may not have.
	NoIMDS bool
}

// ProfileError is a --profile (or AWS_PROFILE) that no shared config file defines: bad input.
type ProfileError struct{ Err error }

func (e *ProfileError) Error() string { return e.Err.Error() }
func (e *ProfileError) Unwrap() error { return e.Err }

// Load reads the SDK's default configuration with the options on top. It makes no call: the
// credentials are resolved by the first request.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	// The SDK's own logger writes to stderr (IMDS falling back to IMDSv1, a retry): its words
	// are not the command's, and a failure reaches the user as the call's error instead.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.NoIMDS {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var missing config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &missing):
		return aws.Config{}, &ProfileError{Err: fmt.Errorf("the AWS profile %q is not in the shared config or credentials file: check --profile or AWS_PROFILE (aws configure list-profiles)", missing.Profile)}
	case err != nil:
		return aws.Config{}, fmt.Errorf("failed to load the AWS configuration: %w", err)
	}
	return cfg, nil
}

// GlobalRegion is the region a global service's client signs for when none is configured:
// IAM's endpoint in the aws partition is global, and the SDK wants a region all the same.
const GlobalRegion = "us-east-1"

// CallError is a failed AWS call. It unwraps to the SDK's error.
type CallError struct {
	Action   string // iam:GetRole
	Resource string // what it was called on: a role name, a cluster; "" for a list
	Err      error
}

// Error names the call; a denial says which action to ask for, missing credentials how to
// give them.
func (e *CallError) Error() string {
	on := ""
	if e.Resource != "" {
		on = " on " + e.Resource
	}
	switch {
	case IsAccessDenied(e.Err):
		// The call may need another action than its own (EKS's CreatePodIdentityAssociation
		// needs iam:PassRole on the role): AWS's message names the one denied.
		denied := e.Action
		if m := deniedActionRE.FindStringSubmatch(apiMessage(e.Err)); m != nil {
			denied = m[1]
		}
		kind := ""
		if readOnly(denied) {
			kind = ", a read-only action"
		}
		return fmt.Sprintf("your AWS credentials may not call %s%s (%s): ask for %s%s", e.Action, on, apiMessage(e.Err), denied, kind)
	case IsNoCredentials(e.Err):
		return fmt.Sprintf("no AWS credentials for %s: set AWS_PROFILE or pass --profile, log in (aws sso login), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (%v)", e.Action, e.Err)
	}
	return fmt.Sprintf("%s%s failed: %v", e.Action, on, e.Err)
}

// deniedActionRE finds the action in AWS's wording of a denial: "User: ARN is not authorized
// to perform: iam:PassRole on resource: ...".
var deniedActionRE = regexp.MustCompile(`not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)`)

// readOnly is true for an action that only reads: IAM's and EKS's Get, List and Describe.
func readOnly(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, verb := range []string{"Get", "List", "Describe"} {
		if strings.HasPrefix(name, verb) {
			return true
		}
	}
	return false
}

// Unwrap returns the SDK's error.
func (e *CallError) Unwrap() error { return e.Err }

// Wrap returns nil for a nil err, or err as a *CallError naming the call.
func Wrap(err error, action, resource string) error {
	if err == nil {
		return nil
	}
	return &CallError{Action: action, Resource: resource, Err: err}
}

// Code is the AWS error code of err, "" when it is not an answer from AWS.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if m := apiErr.ErrorMessage(); m != "" {
			return apiErr.ErrorCode() + ": " + m
		}
		return apiErr.ErrorCode()
	}
	return err.Error()
}

// IsNotFound is true for AWS's answer that the object does not exist.
func IsNotFound(err error) bool {
	switch Code(err) {
	case "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NotFoundException":
		return true
	}
	return false
}

// IsAccessDenied is true for AWS's refusal of the call to these credentials.
func IsAccessDenied(err error) bool {
	switch Code(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException":
		return true
	}
	return false
}

// IsNoCredentials is true when the SDK found no credentials to sign the call with.
func IsNoCredentials(err error) bool {
	if err == nil || Code(err) != "" {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "get identity:") || strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "failed to refresh cached credentials")
}

// CredentialsAtHand is whether the SDK finds credentials in cfg, within a second: a caller that
// can do without them should not wait for the instance metadata service of a machine that has
// none.
func CredentialsAtHand(ctx context.Context, cfg aws.Config) bool {
	if cfg.Credentials == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := cfg.Credentials.Retrieve(ctx)
	return err == nil && c.HasKeys()
}

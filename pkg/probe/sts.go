package probe

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// DefaultRegion is the STS region when neither the pod's env nor the --region flag names one.
const DefaultRegion = "us-east-1"

// DefaultSessionName is the RoleSessionName of the probe's AssumeRoleWithWebIdentity call.
const DefaultSessionName = "kubectl-wi-probe"

// STSClient is the part of the STS API the probe calls. *sts.Client implements it; tests use
// STSFuncs.
type STSClient interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// AssumeRoleWithWebIdentityFunc is one STS call as a function, for mocks.
type AssumeRoleWithWebIdentityFunc func(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)

// GetCallerIdentityFunc is one STS call as a function, for mocks.
type GetCallerIdentityFunc func(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)

// STSFuncs implements STSClient with functions, so a test mocks only the calls it needs. A nil
// function panics when called, which a test should notice.
type STSFuncs struct {
	AssumeRoleWithWebIdentityFn AssumeRoleWithWebIdentityFunc
	GetCallerIdentityFn         GetCallerIdentityFunc
}

// AssumeRoleWithWebIdentity implements STSClient.
func (f STSFuncs) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return f.AssumeRoleWithWebIdentityFn(ctx, in, optFns...)
}

// GetCallerIdentity implements STSClient.
func (f STSFuncs) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f.GetCallerIdentityFn(ctx, in, optFns...)
}

// STSTarget says where the probe sends STS calls, worked out from the pod's env the way the AWS
// SDKs do, so the probe reaches the endpoint the workload would.
type STSTarget struct {
	Region       string // the signing region
	RegionSource string // AWS_REGION, AWS_DEFAULT_REGION, --region or default

	// Endpoint overrides the SDK's endpoint resolution when not empty: from
	// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
	// is true.
	Endpoint       string
	EndpointSource string

	// Regional is true when AWS_STS_REGIONAL_ENDPOINTS=regional. Otherwise the legacy regions
	// use the global endpoint sts.amazonaws.com, as the SDKs' legacy mode does.
	Regional bool
}

// ResolveSTSTarget reads the env that decides the STS endpoint. flagRegion is the probe's
// --region, used only when the pod's env names no region.
func ResolveSTSTarget(getenv func(string) string, flagRegion string) STSTarget {
	var t STSTarget
	switch {
	case getenv("AWS_REGION") != "":
		t.Region, t.RegionSource = getenv("AWS_REGION"), "AWS_REGION"
	case getenv("AWS_DEFAULT_REGION") != "":
		t.Region, t.RegionSource = getenv("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"
	case flagRegion != "":
		t.Region, t.RegionSource = flagRegion, "--region"
	default:
		t.Region, t.RegionSource = DefaultRegion, "default"
	}
	if !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		switch {
		case getenv("AWS_ENDPOINT_URL_STS") != "":
			t.Endpoint, t.EndpointSource = getenv("AWS_ENDPOINT_URL_STS"), "AWS_ENDPOINT_URL_STS"
		case getenv("AWS_ENDPOINT_URL") != "":
			t.Endpoint, t.EndpointSource = getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
		}
	}
	t.Regional = strings.EqualFold(getenv("AWS_STS_REGIONAL_ENDPOINTS"), "regional")
	return t
}

// URL is the endpoint STS calls go to, as the SDK resolves it.
func (t STSTarget) URL(ctx context.Context) (string, error) {
	params := sts.EndpointParameters{Region: aws.String(t.Region)}
	if t.Endpoint != "" {
		params.Endpoint = aws.String(t.Endpoint)
	}
	ep, err := t.resolver().ResolveEndpoint(ctx, params)
	if err != nil {
		return "", err
	}
	return ep.URI.String(), nil
}

func (t STSTarget) resolver() sts.EndpointResolverV2 {
	return legacyGlobalResolver{global: !t.Regional, next: sts.NewDefaultEndpointResolverV2()}
}

// legacyGlobalResolver sends the legacy regions to sts.amazonaws.com unless regional endpoints
// were asked for. aws-sdk-go-v2 is always regional; SDKs in legacy mode are not, and the
// webhook's sts-regional-endpoints annotation exists for them.
type legacyGlobalResolver struct {
	global bool
	next   sts.EndpointResolverV2
}

func (r legacyGlobalResolver) ResolveEndpoint(ctx context.Context, p sts.EndpointParameters) (smithyendpoints.Endpoint, error) {
	if r.global {
		p.UseGlobalEndpoint = aws.Bool(true)
	}
	return r.next.ResolveEndpoint(ctx, p)
}

// NewSTSClient builds the real STS client for t. creds nil means anonymous, which is all
// AssumeRoleWithWebIdentity needs. httpClient nil means the SDK's default client. optFns adjust
// the options last (tests lower the retries).
func NewSTSClient(t STSTarget, creds aws.CredentialsProvider, httpClient sts.HTTPClient, optFns ...func(*sts.Options)) *sts.Client {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	opts := sts.Options{
		Region:             t.Region,
		Credentials:        creds,
		HTTPClient:         httpClient,
		AppID:              DefaultSessionName,
		EndpointResolverV2: t.resolver(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryOnTLS)}, o.Retryables...)
		}),
	}
	if t.Endpoint != "" {
		opts.BaseEndpoint = aws.String(t.Endpoint)
	}
	return sts.New(opts, optFns...)
}

// staticCredentials hands the SDK credentials the probe already holds.
func staticCredentials(accessKeyID, secretAccessKey, sessionToken string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID:     accessKeyID,
			SecretAccessKey: secretAccessKey,
			SessionToken:    sessionToken,
			Source:          "kubectl-wi-probe",
		}, nil
	})
}

// HTTPDoer sends one HTTP request. *http.Client implements it.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

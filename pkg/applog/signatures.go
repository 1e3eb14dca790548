// Package applog recognises, in an application's own log lines, the messages the AWS SDKs
// and AWS write when a pod does not get the credentials of its workload identity: an SDK too
// old for EKS Pod Identity, a credential chain that found nothing, a call made as the node's
// instance role, a refused web identity, an unreachable Pod Identity agent, an expired token.
// Each signature says what it means, what to do and where the exact message comes from. The
// versions an old SDK's signature names are the minimums of appsdk's table, written only there.
//
// Log lines are untrusted and may carry secrets: Redact removes access key IDs, secret keys,
// session tokens, JWTs, Authorization values and other token-like strings, and every Finding
// holds only the redacted line.
package applog

import (
	"regexp"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/appsdk"
)

// Class groups the signatures that have one cause and one fix.
type Class string

// Classes.
const (
	ClassOldSDK        Class = "old-sdk"              // the SDK refuses the Pod Identity agent's address
	ClassNoCredentials Class = "no-credentials"       // the default chain found nothing
	ClassNodeRole      Class = "node-role"            // the app called AWS as the node's instance role
	ClassWebIdentity   Class = "web-identity-refused" // STS or the token file refused the web identity
	ClassCredentials   Class = "credentials-failed"   // an SDK could not get credentials, cause in the line
	ClassAgent         Class = "agent-unreachable"    // the container credentials endpoint failed
	ClassExpired       Class = "expired-token"        // credentials or a token used past their expiry
)

// Title is the class in words, for a message.
func (c Class) Title() string {
	switch c {
	case ClassOldSDK:
		return "an AWS SDK too old for EKS Pod Identity"
	case ClassNoCredentials:
		return "no credentials found by the AWS SDK's default chain"
	case ClassNodeRole:
		return "AWS calls made as the node's instance role"
	case ClassWebIdentity:
		return "a refused web identity (IRSA)"
	case ClassCredentials:
		return "AWS calls without credentials"
	case ClassAgent:
		return "failed requests to the EKS Pod Identity agent"
	case ClassExpired:
		return "expired AWS credentials or tokens"
	}
	return string(c)
}

// Severity is how bad a signature is: Fail when the app cannot be using its identity, Warn
// when the line may be a passing state.
type Severity string

// Severities.
const (
	Fail Severity = "fail"
	Warn Severity = "warn"
)

// Signature is one documented message of an AWS SDK or of AWS.
type Signature struct {
	ID       string // stable name: sdk-what
	SDK      string // who writes the message
	Class    Class
	Severity Severity
	Cause    string // what the line means, in words
	Fix      string
	Source   string // where the exact message is produced or documented
	// match holds patterns that must all be found in the line.
	match []*regexp.Regexp
	// sdks are the appsdk SDK ids of an old-SDK signature, whose Pod Identity minimums its
	// SDK and Fix name.
	sdks []string
}

// agentHost is the EKS Pod Identity agent's address, IPv4 or IPv6. A refusal of an address
// only means an old SDK when the address refused is the agent's: newer SDKs keep the same
// refusal for other hosts.
var agentHost = regexp.MustCompile(`169\.254\.170\.23|fd00:ec2::23`)

func all(patterns ...string) []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	return res
}

func withAgent(pattern string) []*regexp.Regexp {
	return append(all(pattern), agentHost)
}

// sdkName is an SDK of appsdk's table, with the name an old-SDK signature calls it by.
type sdkName struct{ id, name string }

// oldSDK completes the signature of SDKs too old for EKS Pod Identity from appsdk's table of
// its minimums, the one place they are written: SDK says which versions write the message
// and Fix what to upgrade to. A package with a minimum per major line (the AWS CLI) names
// the line.
func oldSDK(s Signature, sdks ...sdkName) Signature {
	var before, fixes []string
	for _, sdk := range sdks {
		r, ok := appsdk.Minimum(sdk.id, appsdk.PodIdentity)
		if !ok {
			panic("applog: appsdk has no Pod Identity minimum for " + sdk.id)
		}
		s.sdks = append(s.sdks, sdk.id)
		if r.Unsupported {
			before = append(before, sdk.name+" (no version supports EKS Pod Identity)")
			fixes = append(fixes, r.Instead)
			continue
		}
		var versions, upgrades []string
		for _, m := range r.Minimums {
			target, version := m.Module, m.Version
			if perLine(r.Minimums, m.Module) {
				major, _, _ := strings.Cut(strings.TrimPrefix(m.Version, "v"), ".")
				target, version = target+" "+major+".x", version+" ("+major+".x)"
			}
			if m.Module != sdk.name {
				version = m.Module + " " + version
			}
			versions = append(versions, version)
			upgrades = append(upgrades, target+" to "+m.Version+" or later")
		}
		before = append(before, sdk.name+" before "+strings.Join(versions, " and "))
		fixes = append(fixes, "upgrade "+strings.Join(upgrades, ", "))
	}
	s.SDK = strings.Join(before, ", ")
	s.Fix = strings.Join(fixes, "; ") + " (" + podIdentityMinimums + ")"
	s.Class, s.Severity, s.Cause = ClassOldSDK, Fail, oldSDKCause
	return s
}

// perLine says whether module has a minimum per major line.
func perLine(mins []appsdk.ModuleVersion, module string) bool {
	n := 0
	for _, m := range mins {
		if m.Module == module {
			n++
		}
	}
	return n > 1
}

// Fixes and causes shared by several signatures.
const (
	podIdentityMinimums = "the SDK versions EKS Pod Identity needs are listed in the EKS user guide, \"Use pod identity with the AWS SDK\""
	oldSDKCause         = "the SDK's container credentials provider accepts only loopback hosts, so it refuses the EKS Pod Identity agent at 169.254.170.23 and the app gets no credentials from its association"
	noCredentialsCause  = "the SDK's default credential chain found no credentials: the container has neither identity's env (web identity or container credentials), its SDK ignores what it got, or the pod was created before the identity; instance metadata gave no role either"
	noCredentialsFix    = "outside.credentials names the source each container's env gives the SDK; restart pods created before the identity (kubectl rollout restart), and for EKS Pod Identity check the SDK's version (" + podIdentityMinimums + ")"
	imdsCause           = "the SDK fell through its credential chain to instance metadata (IMDS), which gave no role to the pod: the container got no identity, or its SDK does not know the one it got"
	webIdentityFix      = "kubectl wi explain shows what the role's trust policy and the cluster's OIDC provider accept; kubectl wi trust-policy serviceaccount/<name> -n <namespace> prints the trust policy the role needs"
	agentCause          = "the SDK's request to the container credentials endpoint (the EKS Pod Identity agent) failed: the agent is not running on the node, a NetworkPolicy or a proxy stands in the way, or the agent refused the token"
	agentFix            = "outside.network_policy says whether a NetworkPolicy denies the agent; check the agent runs on the pod's node (kubectl get daemonset eks-pod-identity-agent -n kube-system); with HTTP_PROXY set, NO_PROXY must name 169.254.170.23"
)

// signatures is the table, most specific first: Match returns the first that matches, so an
// old SDK's refusal wins over the chain's summary that quotes it.
var signatures = []Signature{
	oldSDK(Signature{ID: "go-v1-loopback-only",
		Source: "aws/aws-sdk-go aws/defaults/defaults.go, localHTTPCredProvider, before commit a71bedc",
		match:  withAgent(`only loopback hosts are allowed`)},
		sdkName{appsdk.SDKGo, "aws-sdk-go v1"}),
	oldSDK(Signature{ID: "go-v2-loopback-only",
		Source: "aws/aws-sdk-go-v2 config/local.go, validateLocalURL, which config applied to AWS_CONTAINER_CREDENTIALS_FULL_URI until it accepted the EKS container host (config's CHANGELOG.md)",
		match:  withAgent(`only host resolving to loopback addresses are allowed`)},
		sdkName{appsdk.SDKGoV2, "aws-sdk-go-v2"}),
	oldSDK(Signature{ID: "java-v1-host-list",
		Source: "aws/aws-sdk-java aws-java-sdk-core/src/main/java/com/amazonaws/auth/ContainerCredentialsProvider.java, FullUriCredentialsEndpointProvider (allowed hosts localhost, 127.0.0.1)",
		match:  withAgent(`has an invalid host\. Host can only be one of \[`)},
		sdkName{appsdk.SDKJava, "AWS SDK for Java 1.x"}, sdkName{appsdk.SDKKotlin, "the Kotlin SDK"}),
	oldSDK(Signature{ID: "java-v2-loopback-only",
		Source: "aws/aws-sdk-java-v2 core/auth/src/main/java/software/amazon/awssdk/auth/credentials/ContainerCredentialsProvider.java, createGenericContainerUrl",
		match:  withAgent(`Host should resolve to a loopback address`)},
		sdkName{appsdk.SDKJavaV2, "AWS SDK for Java 2.x"}),
	oldSDK(Signature{ID: "js-v2-unsupported-hostname",
		Source: "aws/aws-sdk-js lib/credentials/remote_credentials.js, FULL_URI_ALLOWED_HOSTNAMES before commit 1596ee4",
		match:  withAgent(`Unsupported hostname: AWS\.RemoteCredentials only supports`)},
		sdkName{appsdk.SDKJS, "AWS SDK for JavaScript v2"}),
	oldSDK(Signature{ID: "js-v3-invalid-hostname",
		Source: "aws/aws-sdk-js-v3 packages/credential-provider-imds/src/fromContainerMetadata.ts (GREENGRASS_HOSTS: localhost, 127.0.0.1), which the default chain used until credential-provider-node added fromHttp (its CHANGELOG.md; aws/aws-sdk-js-v3#5709)",
		match:  withAgent(`is not a valid container metadata service hostname`)},
		sdkName{appsdk.SDKJSV3, "AWS SDK for JavaScript v3"}),
	oldSDK(Signature{ID: "botocore-unsupported-host",
		Source: "boto/botocore botocore/utils.py, ContainerMetadataFetcher._validate_allowed_url, before boto/botocore#3044",
		match:  all(`Unsupported host '(169\.254\.170\.23|fd00:ec2::23)'`)},
		sdkName{appsdk.SDKBotocore, "botocore"}, sdkName{appsdk.SDKBoto3, "boto3"}, sdkName{appsdk.SDKAWSCLI, "awscli"}),
	oldSDK(Signature{ID: "rust-not-loopback",
		Source: "smithy-lang/smithy-rs aws/rust-runtime/aws-config/src/ecs.rs, InvalidFullUriErrorKind::NotLoopback, before smithy-rs#3416",
		match:  all(`URI did not refer to the loopback interface`)},
		sdkName{appsdk.SDKRust, "the AWS SDK for Rust"}),
	{
		ID: "sts-web-identity-denied", SDK: "AWS STS, through any SDK", Class: ClassWebIdentity, Severity: Fail,
		Cause:  "STS refused AssumeRoleWithWebIdentity: the role's trust policy does not trust this service account's token (issuer, sub or aud), or the role does not exist",
		Fix:    webIdentityFix,
		Source: "STS's AccessDenied for AssumeRoleWithWebIdentity, as an SDK logs it (aws/aws-node-termination-handler#373)",
		match:  all(`Not authorized to perform sts:AssumeRoleWithWebIdentity`),
	},
	{
		ID: "sts-invalid-identity-token", SDK: "AWS STS, through any SDK", Class: ClassWebIdentity, Severity: Fail,
		Cause:  "STS could not validate the service account token: the account has no IAM OIDC provider for the cluster's issuer, or the provider's audience does not match the token's",
		Fix:    webIdentityFix,
		Source: "STS API reference, AssumeRoleWithWebIdentity, error InvalidIdentityToken",
		match:  all(`\bInvalidIdentityToken(Exception)?\b`),
	},
	{
		ID: "go-v1-web-identity", SDK: "aws-sdk-go v1", Class: ClassWebIdentity, Severity: Fail,
		Cause:  "the web identity provider failed: it could not read the token file, or STS refused the token (the \"caused by\" part says which)",
		Fix:    webIdentityFix + "; a token file the container cannot read needs the pod's fsGroup",
		Source: "aws/aws-sdk-go aws/credentials/stscreds/web_identity_provider.go, ErrCodeWebIdentity",
		match:  all(`\bWebIdentityErr\b`),
	},
	{
		ID: "go-v2-web-identity", SDK: "aws-sdk-go-v2", Class: ClassWebIdentity, Severity: Fail,
		Cause:  "the web identity provider's AssumeRoleWithWebIdentity call failed (the rest of the line has STS's error)",
		Fix:    webIdentityFix,
		Source: "aws/aws-sdk-go-v2 credentials/stscreds/web_identity_provider.go, Retrieve",
		match:  all(`failed to retrieve credentials, operation error STS: AssumeRoleWithWebIdentity`),
	},
	{
		ID: "node-role-denied", SDK: "an AWS service, through any SDK", Class: ClassNodeRole, Severity: Fail,
		Cause:  "AWS denied a call made as a session of the node's instance role (its session is named after the EC2 instance, i-...): the SDK found no pod identity and fell back to instance metadata",
		Fix:    "give the container its identity (outside.credentials names what its env lacks, and the fix), and keep pods off instance metadata (IMDSv2 hop limit 1 on the nodes)",
		Source: "IAM's denial names the caller's ARN; an instance profile's session is the instance ID (jtblin/kube2iam#19, aws/amazon-eks-pod-identity-webhook#228)",
		match:  all(`assumed-role/[\w+=,.@-]+/i-[0-9a-f]{8}(?:[0-9a-f]{9})?\b`, `(?i)AccessDenied|not authorized to perform|UnauthorizedOperation`),
	},
	{
		ID: "go-v1-endpoint-credentials", SDK: "aws-sdk-go v1", Class: ClassAgent, Severity: Warn,
		Cause: agentCause, Fix: agentFix,
		Source: "aws/aws-sdk-go aws/credentials/endpointcreds/provider.go, CredentialsEndpointError",
		match:  all(`CredentialsEndpointError: failed to load credentials`),
	},
	{
		ID: "go-v2-endpoint-credentials", SDK: "aws-sdk-go-v2", Class: ClassAgent, Severity: Warn,
		Cause: agentCause, Fix: agentFix,
		Source: "aws/aws-sdk-go-v2 credentials/endpointcreds/provider.go, Retrieve, under aws/credential_cache.go",
		match:  all(`failed to refresh cached credentials, failed to load credentials`),
	},
	{
		ID: "botocore-container-role", SDK: "botocore, boto3 and the AWS CLI", Class: ClassAgent, Severity: Warn,
		Cause: agentCause, Fix: agentFix,
		Source: "boto/botocore botocore/credentials.py, ContainerProvider (METHOD container-role), and botocore/exceptions.py, CredentialRetrievalError",
		match:  all(`Error when retrieving credentials from container-role`),
	},
	{
		ID: "go-v1-no-providers", SDK: "aws-sdk-go v1", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-go aws/credentials/chain_provider.go, ErrNoValidProvidersFoundInChain",
		match:  all(`NoCredentialProviders: no valid providers in chain`),
	},
	{
		ID: "go-v1-no-ec2-role", SDK: "aws-sdk-go v1", Class: ClassNoCredentials, Severity: Fail,
		Cause: imdsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-go aws/credentials/ec2rolecreds/ec2_role_provider.go, requestCredList",
		match:  all(`EC2RoleRequestError: no EC2 instance role found`),
	},
	{
		ID: "go-v2-no-imds-role", SDK: "aws-sdk-go-v2", Class: ClassNoCredentials, Severity: Fail,
		Cause: imdsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-go-v2 credentials/ec2rolecreds/provider.go, requestCredList",
		match:  all(`no EC2 IMDS role found`),
	},
	{
		ID: "java-v1-chain", SDK: "AWS SDK for Java 1.x", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-java aws-java-sdk-core/src/main/java/com/amazonaws/auth/AWSCredentialsProviderChain.java, getCredentials",
		match:  all(`Unable to load AWS credentials from any provider in the chain`),
	},
	{
		ID: "java-v2-chain", SDK: "AWS SDK for Java 2.x", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-java-v2 core/auth/src/main/java/software/amazon/awssdk/auth/credentials/AwsCredentialsProviderChain.java, resolveCredentials",
		match:  all(`Unable to load credentials from any of the providers in the chain`),
	},
	{
		ID: "js-v2-missing-credentials", SDK: "AWS SDK for JavaScript v2", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-js lib/event_listeners.js, VALIDATE_CREDENTIALS (CredentialsError)",
		match:  all(`Missing credentials in config`),
	},
	{
		ID: "js-v3-no-providers", SDK: "AWS SDK for JavaScript v3", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "aws/aws-sdk-js-v3 packages/credential-provider-node/src/defaultProvider.ts (CredentialsProviderError)",
		match:  all(`Could not load credentials from any providers`),
	},
	{
		ID: "botocore-no-credentials", SDK: "botocore, boto3 and the AWS CLI", Class: ClassNoCredentials, Severity: Fail,
		Cause: noCredentialsCause, Fix: noCredentialsFix,
		Source: "boto/botocore botocore/exceptions.py, NoCredentialsError",
		match:  all(`Unable to locate credentials`),
	},
	{
		ID: "go-v2-get-credentials", SDK: "aws-sdk-go-v2", Class: ClassCredentials, Severity: Fail,
		Cause:  "an aws-sdk-go-v2 client could not get credentials for a call; the rest of the line has the provider's error",
		Fix:    noCredentialsFix,
		Source: "aws/aws-sdk-go-v2 service/*/auth.go (\"get identity: %w\"), internal/auth/smithy/credentials_adapter.go (\"get credentials: %w\"), aws/credential_cache.go",
		match:  all(`get identity: get credentials: |failed to refresh cached credentials`),
	},
	{
		ID: "expired-token", SDK: "an AWS service, through any SDK", Class: ClassExpired, Severity: Warn,
		Cause:  "the app sent credentials, or a web identity token, past their expiry: it keeps credentials it fetched once instead of letting the SDK refresh them, reads a copy of the token file, or runs an SDK that does not refresh",
		Fix:    "create clients with the SDK's default credential chain and let it refresh (do not cache credentials or the token yourself); upgrade an old SDK",
		Source: "AWS common errors, ExpiredTokenException (\"The security token included in the request is expired\", HTTP 403); STS AssumeRoleWithWebIdentity, ExpiredTokenException; aws/aws-sdk-js lib/event_listeners.js treats ExpiredToken and ExpiredTokenException as expired credentials",
		match:  all(`\bExpiredToken(Exception)?\b`),
	},
}

// Signatures returns the table, in matching order.
func Signatures() []Signature {
	out := make([]Signature, len(signatures))
	copy(out, signatures)
	return out
}

// Match returns the first signature found in line.
func Match(line string) (Signature, bool) {
	for _, s := range signatures {
		if s.matches(line) {
			return s, true
		}
	}
	return Signature{}, false
}

func (s Signature) matches(line string) bool {
	for _, re := range s.match {
		if !re.MatchString(line) {
			return false
		}
	}
	return len(s.match) > 0
}

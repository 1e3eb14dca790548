// Package logapp is what the test bed's log app (hack/cmd/wi-logapp) prints: AWS SDK
// credential-failure lines of each class as the SDKs print them, for the tests of verify's
// check of what an app already logs (#22). Some lines also carry fake secret-looking values,
// the way careless apps log their configuration; verify must never repeat them, and the e2e
// tests search its output for the Fake constants below. None of them is a real credential.
package logapp

import (
	"fmt"
	"slices"
	"strings"
)

// Class names one kind of credential failure; a test runs one class per container.
type Class string

// The classes, each a documented failure of an SDK's default credential chain.
const (
	NoCredentialProviders Class = "no-credential-providers" // aws-sdk-go: the chain found nothing
	WebIdentity           Class = "web-identity"            // aws-sdk-go: AssumeRoleWithWebIdentity refused
	NoIMDSRole            Class = "no-imds-role"            // aws-sdk-go-v2: the chain fell through to instance metadata
	ProviderChain         Class = "provider-chain"          // AWS SDK for Java 2.x: the chain found nothing
	MissingCredentials    Class = "missing-credentials"     // AWS SDK for JavaScript v2: the chain found nothing
	NodeRoleDenied        Class = "node-role-denied"        // botocore: the call ran as the node's instance role
	ExpiredToken          Class = "expired-token"           // any SDK: the session credentials expired
	LoopbackOnly          Class = "loopback-only"           // aws-sdk-go before v1.47.11: Pod Identity's agent refused
	HostNotAllowed        Class = "host-not-allowed"        // AWS SDK for Java 1.x before Pod Identity: the agent refused
	NotLoopback           Class = "not-loopback"            // AWS SDK for Rust before Pod Identity: the agent refused
)

// Fake secret-looking values some lines carry, each shaped like the real thing so a redactor
// that knows real shapes must catch it.
const (
	// FakeAccessKeyID is shaped like a long-term access key ID (AKIA and 16 base32 characters).
	FakeAccessKeyID = "AKIAWITESTFAKEKEY2QX"
	// FakeSessionAccessKeyID is shaped like a temporary access key ID (ASIA...).
	FakeSessionAccessKeyID = "ASIAWITESTFAKESESS7N"
	// FakeSecretAccessKey is shaped like a secret access key (40 base64 characters).
	FakeSecretAccessKey = "wiTestFake/SecretAccessKey+NotReal000000"
	// FakeSessionToken is shaped like an STS session token (base64, starting as theirs do).
	FakeSessionToken = "IQoJb3JpZ2luX2Vjd2ktdGVzdC1mYWtlLXNlc3Npb24tdG9rZW4sIG5ldmVyIGEgcmVhbCBjcmVkZW50aWFsOyB3aS10ZXN0LWZha2Utc2Vzc2lvbi10b2tlbiwgbmV2ZXIgYSByZWFsIGNyZWRlbnRpYWw7IHdpLXRlc3QtZmFrZS1zZXNzaW9uLXRva2VuLCBuZXZlciBhIHJlYWwgY3JlZGVudGlhbDsg"
	// FakeJWT is shaped like a projected service account token: a header, claims and a
	// signature, base64url; the signature is text, not a signature.
	FakeJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IndpLXRlc3QtZmFrZSJ9." +
		"eyJhdWQiOlsic3RzLmFtYXpvbmF3cy5jb20iXSwiZXhwIjoxNzE0NTU3NjAwLCJpYXQiOjE3MTQ0NzEyMDAsImlzcyI6Imh0dHBzOi8vb2lkYy5la3MudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vaWQvV0lURVNURkFLRSIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDpkZWZhdWx0OndpLWxvZ2FwcCJ9." +
		"d2ktdGVzdC1mYWtlLXNpZ25hdHVyZSwgbm90IGEgcmVhbCBvbmV3aS10ZXN0LWZha2Utc2lnbmF0dXJlLCBub3QgYSByZWFsIG9uZXdpLXRlc3QtZmFrZS1zaWduYXR1cmUsIG5vdCBhIHJlYWwgb25l"
)

// FakeSecrets lists every fake value, for tests that search output for any of them.
func FakeSecrets() []string {
	return []string{FakeAccessKeyID, FakeSessionAccessKeyID, FakeSecretAccessKey, FakeSessionToken, FakeJWT}
}

// NodeRoleSession is the node's instance-role session the node-role-denied line names.
const NodeRoleSession = "arn:aws:sts::111122223333:assumed-role/eksctl-demo-nodegroup-ng-NodeInstanceRole-1A2B3C4D5E6F/i-0123456789abcdef0"

// PodIdentityAgentURI is EKS Pod Identity's credentials URI, as the webhook injects it.
const PodIdentityAgentURI = "http://169.254.170.23/v1/credentials"

// Line is one line the app prints (an SDK's error may span several lines, as SDKs print it).
type Line struct {
	Class Class
	// Signature is the part of Text that names the failure, verbatim from Source.
	Signature string
	// Source says where the signature is documented or defined.
	Source string
	// Text is the line as printed.
	Text string
}

// Secret reports whether the line carries a fake secret.
func (l Line) Secret() bool {
	return slices.ContainsFunc(FakeSecrets(), func(s string) bool { return strings.Contains(l.Text, s) })
}

// Classes returns every class, in the order the app prints them.
func Classes() []Class {
	return []Class{
		NoCredentialProviders, WebIdentity, NoIMDSRole, ProviderChain, MissingCredentials,
		NodeRoleDenied, ExpiredToken, LoopbackOnly, HostNotAllowed, NotLoopback,
	}
}

// Lines returns every line, grouped by class in Classes' order.
func Lines() []Line {
	const (
		goV1NoProviders = "NoCredentialProviders: no valid providers in chain"
		webIdentityErr  = "WebIdentityErr: failed to retrieve credentials"
		noIMDSRole      = "failed to refresh cached credentials, no EC2 IMDS role found"
		javaChain       = "Unable to load credentials from any of the providers in the chain"
		jsMissing       = "Missing credentials in config"
		expired         = "ExpiredToken"
		loopbackOnly    = `invalid endpoint host, "169.254.170.23", only loopback hosts are allowed`
		hostNotAllowed  = "Host can only be one of [localhost, 127.0.0.1]"
		notLoopback     = "URI did not refer to the loopback interface"
	)
	const (
		srcGoV1Chain = "aws-sdk-go aws/credentials/chain_provider.go (ErrNoValidProvidersFoundInChain)"
		srcGoV1Web   = "aws-sdk-go aws/credentials/stscreds/web_identity_provider.go (ErrCodeWebIdentity); STS AssumeRoleWithWebIdentity's AccessDenied"
		srcGoV2IMDS  = "aws-sdk-go-v2 aws/credential_cache.go and credentials/ec2rolecreds/provider.go"
		srcJava2     = "aws-sdk-java-v2 AwsCredentialsProviderChain.resolveCredentials"
		srcJSv2      = "aws-sdk-js lib/event_listeners.js (VALIDATE_CREDENTIALS)"
		srcNodeRole  = "botocore exceptions.py (ClientError); IAM User Guide, troubleshoot access denied error messages"
		srcExpired   = "AWS API common errors (ExpiredToken, HTTP 403); botocore exceptions.py (ClientError)"
		srcGoV1Old   = "aws-sdk-go v1.46.7 aws/defaults/defaults.go (localHTTPCredProvider); v1.47.11 added the EKS agent's host"
		srcJava1     = "aws-sdk-java ContainerCredentialsProvider (FullUriCredentialsEndpointProvider)"
		srcRust      = "aws-sdk-rust aws-config src/ecs.rs (InvalidFullUriError) and meta/credentials/chain.rs"
	)
	return []Line{
		{NoCredentialProviders, goV1NoProviders, srcGoV1Chain,
			"2024/05/01 10:00:00 failed to list buckets: NoCredentialProviders: no valid providers in chain. Deprecated.\n" +
				"\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors"},

		{WebIdentity, webIdentityErr, srcGoV1Web,
			"WebIdentityErr: failed to retrieve credentials\n" +
				"caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n" +
				"\tstatus code: 403, request id: 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"},
		{WebIdentity, webIdentityErr, srcGoV1Web,
			`level=error msg="assume role failed" role=arn:aws:iam::111122223333:role/app token=` + FakeJWT +
				` error="WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"`},

		{NoIMDSRole, noIMDSRole, srcGoV2IMDS,
			"2024/05/01 10:00:00 operation error S3: ListBuckets, get identity: get credentials: " +
				"failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, " +
				"http response error StatusCode: 404, request id: "},

		{ProviderChain, javaChain, srcJava2,
			"software.amazon.awssdk.core.exception.SdkClientException: Unable to load credentials from any of the providers in the chain " +
				"AwsCredentialsProviderChain(credentialsProviders=[SystemPropertyCredentialsProvider(), EnvironmentVariableCredentialsProvider(), " +
				"WebIdentityTokenCredentialsProvider(), ProfileCredentialsProvider(profileName=default, profileFile=ProfileFile(sections=[])), " +
				"ContainerCredentialsProvider(), InstanceProfileCredentialsProvider()]) : " +
				"[SystemPropertyCredentialsProvider(): Unable to load credentials from system settings. Access key must be specified either via environment variable (AWS_ACCESS_KEY_ID) or system property (aws.accessKeyId)., " +
				"EnvironmentVariableCredentialsProvider(): Unable to load credentials from system settings. Access key must be specified either via environment variable (AWS_ACCESS_KEY_ID) or system property (aws.accessKeyId)., " +
				"WebIdentityTokenCredentialsProvider(): Either the environment variable AWS_WEB_IDENTITY_TOKEN_FILE or the javaproperty aws.webIdentityTokenFile must be set., " +
				"ProfileCredentialsProvider(profileName=default, profileFile=ProfileFile(sections=[])): Profile file contained no credentials for profile 'default': ProfileFile(sections=[]), " +
				"ContainerCredentialsProvider(): Cannot fetch credentials from container - neither AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI environment variables are set., " +
				"InstanceProfileCredentialsProvider(): Failed to load credentials from IMDS.]"},

		{MissingCredentials, jsMissing, srcJSv2,
			"CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1\n" +
				"    at Timeout.connectTimeout [as _onTimeout] (/app/node_modules/aws-sdk/lib/http/node.js:69:15)\n" +
				"    at listOnTimeout (node:internal/timers:573:17)"},
		{MissingCredentials, jsMissing, srcJSv2,
			`{"level":"error","msg":"Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1","code":"CredentialsError",` +
				`"awsConfigFile":{"aws_access_key_id":"` + FakeAccessKeyID + `","aws_secret_access_key":"` + FakeSecretAccessKey + `"}}`},

		{NodeRoleDenied, NodeRoleSession, srcNodeRole,
			"botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject operation: User: " + NodeRoleSession +
				` is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::demo-bucket/config.json" because no identity-based policy allows the s3:GetObject action`},

		{ExpiredToken, expired, srcExpired,
			"botocore.exceptions.ClientError: An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired"},
		{ExpiredToken, expired, srcExpired,
			`level=error msg="put object failed" access_key_id=` + FakeSessionAccessKeyID + ` session_token=` + FakeSessionToken +
				` error="ExpiredToken: The security token included in the request is expired\n\tstatus code: 403, request id: 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"`},

		{LoopbackOnly, loopbackOnly, srcGoV1Old,
			`2024/05/01 10:00:00 Ignoring, HTTP credential provider invalid endpoint host, "169.254.170.23", only loopback hosts are allowed. <nil>`},

		{HostNotAllowed, hostNotAllowed, srcJava1,
			"com.amazonaws.SdkClientException: Unable to load AWS credentials from any provider in the chain: [" +
				"EnvironmentVariableCredentialsProvider: Unable to load AWS credentials from environment variables (AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) and AWS_SECRET_KEY (or AWS_SECRET_ACCESS_KEY)), " +
				"WebIdentityTokenCredentialsProvider: You must specify a value for roleArn and roleSessionName, " +
				"com.amazonaws.auth.EC2ContainerCredentialsProviderWrapper@5d3411d: The full URI (" + PodIdentityAgentURI + ") contained withing environment variable " +
				"AWS_CONTAINER_CREDENTIALS_FULL_URI has an invalid host. Host can only be one of [localhost, 127.0.0.1]]"},

		{NotLoopback, notLoopback, srcRust,
			"2024-05-01T10:00:00.000000Z  WARN aws_config::meta::credentials::chain: provider failed to provide credentials provider=EcsContainer " +
				"error=the credentials provider was not properly configured: invalid full URI for ECS provider (URI did not refer to the loopback interface): " +
				PodIdentityAgentURI},
	}
}

// Select returns the lines of the classes named in spec, a comma-separated list; "" and
// "all" mean every class.
func Select(spec string) ([]Line, error) {
	all := Lines()
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "all" {
		return all, nil
	}
	want := map[Class]bool{}
	for _, c := range strings.Split(spec, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(Classes(), Class(c)) {
			return nil, fmt.Errorf("unknown class %q: want all or some of %s", c, joinClasses(Classes()))
		}
		want[Class(c)] = true
	}
	var lines []Line
	for _, l := range all {
		if want[l.Class] {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

func joinClasses(cs []Class) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

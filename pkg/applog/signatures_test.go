package applog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/appsdk"
)

// Each signature is matched by a line as its source writes it (the message built by the
// code the signature's Source names, or quoted from the issue it names), and a line that
// quotes several wins the most specific.
func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       string // signature ID; "" for no match
	}{
		{name: "go v1 refuses the agent", want: "go-v1-loopback-only",
			line: `CredentialsEndpointError: invalid endpoint host, "169.254.170.23", only loopback hosts are allowed.`},
		{name: "go v2 refuses the agent", want: "go-v2-loopback-only",
			line: `unable to load SDK config, invalid endpoint host, "169.254.170.23", only host resolving to loopback addresses are allowed`},
		{name: "java v1 refuses the agent, quoted by the chain", want: "java-v1-host-list",
			line: `com.amazonaws.SdkClientException: Unable to load AWS credentials from any provider in the chain: [EnvironmentVariableCredentialsProvider: Unable to load AWS credentials from environment variables (AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) and AWS_SECRET_KEY (or AWS_SECRET_ACCESS_KEY)), com.amazonaws.auth.EC2ContainerCredentialsProviderWrapper@1fab1909: The full URI (http://169.254.170.23/v1/credentials) contained withing environment variable AWS_CONTAINER_CREDENTIALS_FULL_URI has an invalid host. Host can only be one of [localhost, 127.0.0.1]]`},
		{name: "java v2 refuses the agent", want: "java-v2-loopback-only",
			line: `software.amazon.awssdk.core.exception.SdkClientException: The full URI (http://169.254.170.23/v1/credentials) contained within environment variable AWS_CONTAINER_CREDENTIALS_FULL_URI has an invalid host. Host should resolve to a loopback address or have the full URI be HTTPS.`},
		{name: "js v2 refuses the agent", want: "js-v2-unsupported-hostname",
			line: `ECSCredentialsProviderFailure: Unsupported hostname: AWS.RemoteCredentials only supports localhost,127.0.0.1 for http:; http://169.254.170.23 requested.`},
		{name: "js v3 refuses the agent", want: "js-v3-invalid-hostname",
			line: `CredentialsProviderError: 169.254.170.23 is not a valid container metadata service hostname`},
		{name: "botocore refuses the agent over IPv6", want: "botocore-unsupported-host",
			line: `ValueError: Unsupported host 'fd00:ec2::23'.  Can only retrieve metadata from these hosts: 169.254.170.2, localhost, 127.0.0.1`},
		{name: "rust refuses the agent", want: "rust-not-loopback",
			line: `failed to load credentials: the credentials provider was not properly configured: URI did not refer to the loopback interface`},
		{name: "sts refuses the web identity, under WebIdentityErr", want: "sts-web-identity-denied",
			line: `2021/02/24 18:21:12 ??? There was a problem monitoring for events error="WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n\tstatus code: 403, request id: ef27c9bd-e129-44ca-bbbe-839cdcc3e840" event_type=SQS_TERMINATE`},
		{name: "sts cannot validate the token", want: "sts-invalid-identity-token",
			line: `botocore.errorfactory.InvalidIdentityTokenException: An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`},
		{name: "go v1 cannot read the token file", want: "go-v1-web-identity",
			line: `WebIdentityErr: failed fetching WebIdentity token: \ncaused by: WebIdentityErr: unable to read file at /var/run/secrets/eks.amazonaws.com/serviceaccount/token\ncaused by: open /var/run/secrets/eks.amazonaws.com/serviceaccount/token: permission denied`},
		{name: "go v2 web identity call failed", want: "go-v2-web-identity",
			line: `operation error S3: ListBuckets, get identity: get credentials: failed to refresh cached credentials, failed to retrieve credentials, operation error STS: AssumeRoleWithWebIdentity, https response error StatusCode: 400, RequestID: 3c8e4f4e-1111-2222-3333-444455556666, ExpiredTokenException: Token expired: current date/time 1700000000 must be before the expiration date/time1699990000`},
		{name: "a call as the node's role is denied", want: "node-role-denied",
			line: `An error occurred (AccessDeniedException) when calling the ListTables operation: User: arn:aws:sts::123456789012:assumed-role/nodes.k8s.dev.example.com/i-068a7d585ad916589 is not authorized to perform: dynamodb:ListTables on resource: *`},
		{name: "a call as an older instance's role is denied", want: "node-role-denied",
			line: `AccessDenied: User: arn:aws:sts::111122223333:assumed-role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1A2B3C4D5E6F/i-0a1b2c3d is not authorized to perform: s3:GetObject`},
		{name: "go v1 agent unreachable", want: "go-v1-endpoint-credentials",
			line: `CredentialsEndpointError: failed to load credentials\ncaused by: RequestError: send request failed\ncaused by: Get "http://169.254.170.23/v1/credentials": dial tcp 169.254.170.23:80: i/o timeout`},
		{name: "go v2 agent unreachable", want: "go-v2-endpoint-credentials",
			line: `operation error SQS: ReceiveMessage, get identity: get credentials: failed to refresh cached credentials, failed to load credentials, request send failed, Get "http://169.254.170.23/v1/credentials": dial tcp 169.254.170.23:80: connect: connection refused`},
		{name: "botocore agent unreachable", want: "botocore-container-role",
			line: `botocore.exceptions.CredentialRetrievalError: Error when retrieving credentials from container-role: Error retrieving metadata: Received error when attempting to retrieve container metadata: Connect timeout on endpoint URL: "http://169.254.170.23/v1/credentials"`},
		{name: "go v1 chain empty", want: "go-v1-no-providers",
			line: `NoCredentialProviders: no valid providers in chain. Deprecated.`},
		{name: "go v1 fell to IMDS", want: "go-v1-no-ec2-role",
			line: `EC2RoleRequestError: no EC2 instance role found\ncaused by: RequestError: send request failed\ncaused by: Get "http://169.254.169.254/latest/meta-data/iam/security-credentials/": context deadline exceeded`},
		{name: "go v2 fell to IMDS", want: "go-v2-no-imds-role",
			line: `operation error S3: ListBuckets, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled, context deadline exceeded`},
		{name: "java v1 chain empty", want: "java-v1-chain",
			line: `org.apache.kafka.connect.errors.ConnectException: com.amazonaws.SdkClientException: Unable to load AWS credentials from any provider in the chain: [EnvironmentVariableCredentialsProvider: Unable to load AWS credentials from environment variables (AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) and AWS_SECRET_KEY (or AWS_SECRET_ACCESS_KEY)),`},
		{name: "java v2 chain empty", want: "java-v2-chain",
			line: `software.amazon.awssdk.core.exception.SdkClientException: Unable to load credentials from any of the providers in the chain AwsCredentialsProviderChain(credentialsProviders=[SystemPropertyCredentialsProvider(), EnvironmentVariableCredentialsProvider(), WebIdentityTokenCredentialsProvider(), ProfileCredentialsProvider(profileName=default)])`},
		{name: "js v2 chain empty", want: "js-v2-missing-credentials",
			line: `CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1`},
		{name: "js v3 chain empty", want: "js-v3-no-providers",
			line: `CredentialsProviderError: Could not load credentials from any providers`},
		{name: "botocore chain empty", want: "botocore-no-credentials",
			line: `botocore.exceptions.NoCredentialsError: Unable to locate credentials`},
		{name: "go v2 other provider failed", want: "go-v2-get-credentials",
			line: `operation error DynamoDB: GetItem, get identity: get credentials: failed to refresh cached credentials, process provider error: exit status 1`},
		{name: "s3 says the token expired", want: "expired-token",
			line: `An error occurred (ExpiredToken) when calling the GetObject operation: The provided token has expired.`},
		{name: "a json service says the token expired", want: "expired-token",
			line: `ExpiredTokenException: The security token included in the request is expired`},

		{name: "an access log", line: `10.0.3.7 - - [24/Feb/2021:18:21:12 +0000] "GET /healthz HTTP/1.1" 200 2`},
		{name: "another library's expired token", line: `TokenExpiredError: jwt expired; ExpiredTokenError in session middleware`},
		{name: "the app's own role is denied", line: `AccessDenied: User: arn:aws:sts::123456789012:assumed-role/app-role/botocore-session-1700000000 is not authorized to perform: s3:GetObject`},
		{name: "the node's role, not denied", line: `caller: arn:aws:sts::123456789012:assumed-role/node-role/i-068a7d585ad916589`},
		{name: "a new go v1 refusing another host", line: `CredentialsEndpointError: invalid endpoint host, "10.0.0.5", only loopback hosts are allowed.`},
		{name: "a new java v2 refusing another host", line: `The full URI (http://10.0.0.5/creds) contained within environment variable AWS_CONTAINER_CREDENTIALS_FULL_URI has an invalid host. Host should resolve to a loopback address or have the full URI be HTTPS.`},
		{name: "credentials refreshed", line: `level=info msg="credentials refreshed" source=EKSPodIdentity expires=2024-01-01T00:00:00Z`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sig, ok := Match(tt.line)
			if tt.want == "" {
				if ok {
					t.Fatalf("Match() = %s, want no match", sig.ID)
				}
				return
			}
			if !ok || sig.ID != tt.want {
				t.Fatalf("Match() = %q (%v), want %s", sig.ID, ok, tt.want)
			}
		})
	}
}

// Every entry is complete, its ID unique, and its class's severity one: a check event per
// class takes it.
func TestSignatures(t *testing.T) {
	seen := map[string]bool{}
	severity := map[Class]Severity{}
	for _, s := range Signatures() {
		t.Run(s.ID, func(t *testing.T) {
			if s.ID == "" || s.SDK == "" || s.Cause == "" || s.Fix == "" || s.Source == "" || len(s.match) == 0 {
				t.Errorf("incomplete: %+v", s)
			}
			if seen[s.ID] {
				t.Errorf("duplicate ID")
			}
			seen[s.ID] = true
			if s.Severity != Fail && s.Severity != Warn {
				t.Errorf("severity %q", s.Severity)
			}
			if prev, ok := severity[s.Class]; ok && prev != s.Severity {
				t.Errorf("class %s is both %s and %s", s.Class, prev, s.Severity)
			}
			severity[s.Class] = s.Severity
			if s.Class.Title() == string(s.Class) {
				t.Errorf("class %s has no title", s.Class)
			}
		})
	}
}

// Scan numbers lines from 1, reports each matching line once, redacted, stops at maxLines,
// and cuts a huge line without losing a match at its start.
func TestScan(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	huge := "NoCredentialProviders: no valid providers in chain " + strings.Repeat("x", 200<<10)
	for _, tt := range []struct {
		name     string
		log      string
		maxLines int
		want     []string // ID@number
	}{
		{name: "two findings", log: "starting\nNoCredentialProviders: no valid providers in chain. Deprecated.\nok\r\nUnable to locate credentials secret_access_key=" + secret + "\n",
			want: []string{"go-v1-no-providers@2", "botocore-no-credentials@4"}},
		{name: "last line without newline", log: "a\nb\nExpiredToken", want: []string{"expired-token@3"}},
		{name: "stops at maxLines", log: "a\nb\nExpiredToken\n", maxLines: 2},
		{name: "no limit", log: strings.Repeat("a\n", 1000) + "ExpiredToken\n", want: []string{"expired-token@1001"}},
		{name: "a huge line", log: huge + "\nExpiredToken\n", want: []string{"go-v1-no-providers@1", "expired-token@2"}},
		{name: "nothing", log: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Scan(strings.NewReader(tt.log), tt.maxLines) {
				got = append(got, f.Signature.ID+"@"+strconv.Itoa(f.Number))
				if strings.Contains(f.Line, secret) {
					t.Errorf("line %d holds the secret: %s", f.Number, f.Line)
				}
				if len(f.Line) > MaxShownLength+len("…") {
					t.Errorf("line %d is %d bytes long", f.Number, len(f.Line))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Scan() = %v, want %v", got, tt.want)
			}
		})
	}
}

// versionLike finds what reads as a version: 1.34.41, v1.47.11, release-2023-11-14.
var versionLike = regexp.MustCompile(`\bv?\d+\.\d+(?:\.\d+)*\b|\brelease-\d{4}-\d{2}-\d{2}\b`)

// versionsIn returns the versions text names; the Pod Identity agent's address is none.
func versionsIn(text string) []string {
	return versionLike.FindAllString(strings.ReplaceAll(text, "169.254.170.23", ""), -1)
}

// An old-SDK signature's SDK and Fix name exactly appsdk's Pod Identity minimums for the SDKs
// it covers, and no other version; no other signature names a version.
func TestOldSDKFollowsAppsdk(t *testing.T) {
	for _, s := range Signatures() {
		t.Run(s.ID, func(t *testing.T) {
			if (s.Class == ClassOldSDK) != (len(s.sdks) > 0) {
				t.Fatalf("class %s with appsdk SDKs %v: want SDKs exactly on old-SDK signatures", s.Class, s.sdks)
			}
			allowed := map[string]bool{}
			for _, id := range s.sdks {
				r, ok := appsdk.Minimum(id, appsdk.PodIdentity)
				if !ok {
					t.Fatalf("appsdk has no Pod Identity minimum for %s", id)
				}
				if r.Unsupported {
					if !strings.Contains(s.Fix, r.Instead) {
						t.Errorf("Fix %q lacks appsdk's %q for %s", s.Fix, r.Instead, id)
					}
					for _, v := range versionsIn(r.Instead) {
						allowed[v] = true
					}
				}
				for _, m := range r.Minimums {
					allowed[m.Version] = true
					if !strings.Contains(s.SDK, m.Version) {
						t.Errorf("SDK %q lacks appsdk's minimum %s %s", s.SDK, m.Module, m.Version)
					}
					if !strings.Contains(s.Fix, m.Module) || !strings.Contains(s.Fix, " to "+m.Version+" or later") {
						t.Errorf("Fix %q lacks the upgrade of %s to appsdk's %s", s.Fix, m.Module, m.Version)
					}
				}
			}
			for _, v := range versionsIn(s.SDK + "\n" + s.Fix) {
				if !allowed[v] {
					t.Errorf("version %s in SDK or Fix is none of appsdk's minimums for %v", v, s.sdks)
				}
			}
		})
	}
}

// signatures.go writes no version outside a Source: the minimums are appsdk's. A Source may
// name where a message changed; the Pod Identity agent's address is no version.
func TestSignaturesWriteNoVersion(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "signatures.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[ast.Expr]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Source" {
				sources[kv.Value] = true
			}
		}
		return true
	})
	var found []string
	ast.Inspect(file, func(n ast.Node) bool {
		if e, ok := n.(ast.Expr); ok && sources[e] {
			return false
		}
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		text, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
		}
		for _, v := range versionsIn(text) {
			found = append(found, fset.Position(lit.Pos()).String()+": "+v)
		}
		return true
	})
	if len(found) > 0 {
		t.Errorf("versions written in signatures.go, not taken from appsdk:\n%s", strings.Join(found, "\n"))
	}
}

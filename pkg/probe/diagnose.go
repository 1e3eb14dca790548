package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// STS operation names, as the SDK reports them and as a diagnosis needs them.
const (
	opAssumeRoleWithWebIdentity = "AssumeRoleWithWebIdentity"
	opGetCallerIdentity         = "GetCallerIdentity"
)

// DiagnosisContext is what a diagnosis may name in its fix: the facts the probe has seen.
type DiagnosisContext struct {
	Op       string   // AssumeRoleWithWebIdentity or GetCallerIdentity
	Endpoint string   // the STS endpoint URL
	Region   string   // the STS region
	RoleARN  string   // the role being assumed
	Issuer   string   // the token's iss claim (or the expected issuer)
	Audience []string // the token's aud claim
	Subject  string   // the token's sub claim
	Proxy    string   // the proxy STS calls go through; empty when direct
	// ProxyFrom is the env that named Proxy: HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy.
	ProxyFrom string
	CABundle  string // AWS_CA_BUNDLE's path; empty when unset
}

// CodeStopped is the code of a call the probe gave up because a signal stopped it: its pod's
// deadline, verify's end, or the pod's deletion. verify, reading it, asks what took the pod.
const CodeStopped = "stopped"

// Diagnosis is an STS failure explained: what went wrong and the one thing to do about it.
type Diagnosis struct {
	Code      string // the STS error code, or network or timeout
	Message   string // what STS (or the network) said, secrets removed by the caller
	Cause     string // what it means
	Fix       string
	RequestID string
}

// DiagnoseSTSError classifies an error returned by an STS call.
func DiagnoseSTSError(err error, dc DiagnosisContext) Diagnosis {
	var d Diagnosis
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		d.RequestID = respErr.ServiceRequestID()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		d.Code, d.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		d.Cause, d.Fix = diagnoseAPIError(d.Code, d.Message, dc)
		return d
	}
	return diagnoseTransport(err, dc, d)
}

func diagnoseAPIError(code, msg string, dc DiagnosisContext) (cause, fix string) {
	issuer := dc.Issuer
	if issuer == "" {
		issuer = "<issuer>"
	}
	aud := strings.Join(dc.Audience, ",")
	if aud == "" {
		aud = DefaultAudience
	}
	lower := strings.ToLower(msg)
	switch code {
	case "InvalidIdentityToken":
		switch {
		case strings.Contains(lower, "no openidconnect provider found"):
			return fmt.Sprintf("the account has no IAM OIDC provider for the issuer %s", issuer),
				fmt.Sprintf("create the IAM OIDC provider: aws iam create-open-id-connect-provider --url %s --client-id-list %s (on EKS: eksctl utils associate-iam-oidc-provider --cluster <cluster> --approve)", issuer, aud)
		case strings.Contains(lower, "incorrect token audience"):
			return fmt.Sprintf("the token's audience %s is not a client ID of the IAM OIDC provider for %s", aud, issuer),
				fmt.Sprintf("add the audience to the provider (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s) or set the service account's eks.amazonaws.com/audience annotation to a client ID the provider lists, then restart the pod", oidcProviderARN(dc), aud)
		case strings.Contains(lower, "thumbprint"):
			return fmt.Sprintf("the TLS certificate of %s does not match the IAM OIDC provider's thumbprint", issuer),
				fmt.Sprintf("update the thumbprint: aws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn %s --thumbprint-list <sha1 of the issuer's top CA>", oidcProviderARN(dc))
		default:
			return "STS rejected the token",
				fmt.Sprintf("check that the IAM OIDC provider for %s exists and that the issuer's discovery document and keys (%s/.well-known/openid-configuration) are reachable from the internet and match the token", issuer, strings.TrimSuffix(issuer, "/"))
		}
	case "IDPCommunicationError":
		return fmt.Sprintf("STS could not fetch the signing keys from the issuer %s", issuer),
			fmt.Sprintf("serve %s/.well-known/openid-configuration and its jwks_uri over public HTTPS (STS fetches them from the internet), then retry", strings.TrimSuffix(issuer, "/"))
	case "IDPRejectedClaim":
		return "the identity provider rejected a claim in the token",
			"check the token's claims against the IAM OIDC provider's configuration"
	case "AccessDenied", "AccessDeniedException":
		if dc.Op == opAssumeRoleWithWebIdentity {
			return refusalCauses(dc), explainFix(dc) + "; if it is the trust policy: " + trustPolicyFix(dc)
		}
		return "STS denied the call", "check the role's permissions and any service control policy that denies sts:GetCallerIdentity"
	case "ExpiredTokenException", "ExpiredToken":
		if dc.Op == opAssumeRoleWithWebIdentity {
			return "the service account token had expired when STS checked it",
				"the kubelet rewrites the token at 80% of its lifetime: check the kubelet on this node and that the node's clock is right (NTP)"
		}
		return "the session credentials had expired when STS checked them",
			"check that the node's clock is right (NTP)"
	case "InvalidClientTokenId":
		return "STS does not recognise the credentials",
			fmt.Sprintf("credentials from a regional STS endpoint are valid only where STS is active: activate STS in %s for the account (IAM > Account settings), or check that the endpoint %s belongs to the role's partition", orPlaceholder(dc.Region, "this region"), orPlaceholder(dc.Endpoint, "in use"))
	case "RegionDisabledException":
		return fmt.Sprintf("STS is not active in %s for the account", orPlaceholder(dc.Region, "this region")),
			fmt.Sprintf("activate STS in %s (IAM > Account settings > Security Token Service), or use an active region's endpoint (AWS_REGION)", orPlaceholder(dc.Region, "this region"))
	case "ValidationError":
		return "STS refused the request as malformed",
			fmt.Sprintf("check AWS_ROLE_ARN (%s) and the session name", orPlaceholder(dc.RoleARN, "unset"))
	case "Throttling", "ThrottlingException", "RequestLimitExceeded":
		return "STS throttled the call", "retry later; many pods assuming roles at once share the account's STS quota"
	}
	return fmt.Sprintf("STS returned %s", code),
		fmt.Sprintf("look up the STS error %s for %s", code, orPlaceholder(dc.Op, "this call"))
}

// diagnoseTransport explains an error that never reached STS: TLS, DNS, connection, timeout.
func diagnoseTransport(err error, dc DiagnosisContext, d Diagnosis) Diagnosis {
	endpoint := orPlaceholder(dc.Endpoint, "the STS endpoint")
	host := endpoint
	if u, perr := url.Parse(dc.Endpoint); perr == nil && u.Host != "" {
		host = u.Host
	}
	regionalHint := fmt.Sprintf("; in a private VPC add an STS interface VPC endpoint and use regional endpoints (eks.amazonaws.com/sts-regional-endpoints: \"true\" gives sts.%s.amazonaws.com)", orPlaceholder(dc.Region, "<region>"))
	var dnsErr *net.DNSError
	if cause, fix, ok := diagnoseTLS(err, dc, host); ok {
		d.Code, d.Message, d.Cause, d.Fix = codeTLS, err.Error(), cause, fix
		return d
	}
	if dc.Proxy != "" {
		return diagnoseProxy(err, dc, d, endpoint, host)
	}
	switch {
	case errors.As(err, &dnsErr):
		d.Code = "network"
		d.Message = dnsErr.Error()
		d.Cause = fmt.Sprintf("the pod cannot resolve %s (STS endpoint %s)", dnsErr.Name, endpoint)
		d.Fix = "check the cluster DNS and the pod's egress to STS" + regionalHint
	case errors.Is(err, context.Canceled):
		d.Code = CodeStopped
		d.Message = err.Error()
		d.Cause = fmt.Sprintf("the probe was stopped (its pod's deadline, verify ended, or its pod was deleted) while it waited for STS at %s, which had not answered", endpoint)
		d.Fix = fmt.Sprintf("raise --timeout if STS is slow to answer; if it never answers, allow egress to %s (NetworkPolicy, security group, proxy)", host) + regionalHint
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		d.Code = "timeout"
		d.Message = err.Error()
		d.Cause = fmt.Sprintf("no answer from STS at %s in time", endpoint)
		d.Fix = fmt.Sprintf("allow egress to %s (NetworkPolicy, security group, proxy)", host) + regionalHint
	default:
		d.Code = "network"
		d.Message = err.Error()
		d.Cause = fmt.Sprintf("the pod cannot reach STS at %s", endpoint)
		d.Fix = fmt.Sprintf("allow egress to %s (NetworkPolicy, security group, proxy)", host) + regionalHint
	}
	return d
}

// diagnoseProxy explains a failure of an STS call that went through a proxy: the proxy is
// named first, since the pod never spoke to STS itself. Go's transport wraps a failure to
// reach the proxy (its dial, its name, its TLS) as a net.OpError "proxyconnect"
// (net/http.Transport.dialConn); a proxy that refuses the CONNECT answers with a status.
func diagnoseProxy(err error, dc DiagnosisContext, d Diagnosis, endpoint, host string) Diagnosis {
	from := orPlaceholder(dc.ProxyFrom, "the proxy env")
	bypass := fmt.Sprintf("or, if STS is reachable without it, add %s to NO_PROXY in the container's env", host)
	d.Code, d.Message = "network", err.Error()
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		d.Cause = fmt.Sprintf("the pod cannot reach its proxy %s (%s), which its STS calls to %s go through", dc.Proxy, from, endpoint)
		d.Fix = fmt.Sprintf("check that the proxy %s runs and that the pod may reach it (NetworkPolicy egress, the proxy's address in %s), %s", dc.Proxy, from, bypass)
	case errors.Is(err, context.Canceled):
		d.Code = CodeStopped
		d.Cause = fmt.Sprintf("the probe was stopped (its pod's deadline, verify ended, or its pod was deleted) while it waited for STS at %s through the proxy %s (%s), which had not answered", endpoint, dc.Proxy, from)
		d.Fix = fmt.Sprintf("check that the proxy %s answers and lets CONNECT to %s through, %s", dc.Proxy, host, bypass)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		d.Code = "timeout"
		d.Cause = fmt.Sprintf("no answer in time from the proxy %s (%s), which the pod's STS calls to %s go through", dc.Proxy, from, endpoint)
		d.Fix = fmt.Sprintf("check that the proxy %s answers and lets CONNECT to %s through, %s", dc.Proxy, host, bypass)
	default:
		d.Cause = fmt.Sprintf("the proxy %s (%s) did not carry the pod's STS call to %s: %s", dc.Proxy, from, endpoint, err.Error())
		d.Fix = fmt.Sprintf("allow %s through the proxy %s, %s", host, dc.Proxy, bypass)
	}
	return d
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// refusalCauses words an AccessDenied of AssumeRoleWithWebIdentity. STS gives the same answer
// for every cause below, and only IAM, read with credentials, tells them apart: the probe,
// which has none, never claims one of them.
func refusalCauses(dc DiagnosisContext) string {
	role := orPlaceholder(dc.RoleARN, "the role")
	sub := orPlaceholder(dc.Subject, "this service account")
	return fmt.Sprintf("STS refused to let %s assume %s, and its AccessDenied does not say why; it answers the same for each of: "+
		"(1) the role %s does not exist; "+
		"(2) the role's trust policy names an IAM OIDC provider that is not registered for the issuer %s in the role's account (%s); "+
		"(3) the role's trust policy does not admit %s (its principal, action or a condition on sub or aud)",
		sub, role, role, orPlaceholder(dc.Issuer, "<issuer>"), oidcProviderARN(dc), sub)
}

// explainFix points at the command that tells the causes of a refusal apart from IAM.
func explainFix(dc DiagnosisContext) string {
	cmd := "kubectl wi explain serviceaccount/<name> -n <namespace>"
	if ns, name, ok := serviceAccountFromSubject(dc.Subject); ok {
		cmd = fmt.Sprintf("kubectl wi explain serviceaccount/%s -n %s", name, ns)
	}
	return "find which with AWS credentials that may read IAM (iam:GetRole, iam:ListOpenIDConnectProviders): " + cmd +
		" (verify runs it itself when such credentials are at hand)"
}

func trustPolicyFix(dc DiagnosisContext) string {
	sub := orPlaceholder(dc.Subject, "system:serviceaccount:<namespace>:<name>")
	cmd := "kubectl wi trust-policy serviceaccount/<name> -n <namespace>"
	if ns, name, ok := serviceAccountFromSubject(dc.Subject); ok {
		cmd = fmt.Sprintf("kubectl wi trust-policy serviceaccount/%s -n %s", name, ns)
	}
	if r, err := identity.ParseRoleARN(dc.RoleARN); err == nil {
		cmd += " --account-id " + r.AccountID
	}
	hp := issuerHostPath(orPlaceholder(dc.Issuer, "<issuer>"))
	return fmt.Sprintf("the role's trust policy must allow sts:AssumeRoleWithWebIdentity for Federated %s with %s:sub = %s and %s:aud = %s; print one with: %s",
		oidcProviderARN(dc), hp, sub, hp, orPlaceholder(strings.Join(dc.Audience, ","), DefaultAudience), cmd)
}

// oidcProviderARN is the ARN IAM gives the provider of dc's issuer, in the role's account.
func oidcProviderARN(dc DiagnosisContext) string {
	partition, account := "aws", "<account>"
	if r, err := identity.ParseRoleARN(dc.RoleARN); err == nil {
		partition, account = r.Partition, r.AccountID
	}
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, issuerHostPath(orPlaceholder(dc.Issuer, "<issuer>")))
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

// unsupportedAction reports whether err says the STS does not implement the call at all, as
// MinIO answers GetCallerIdentity: InvalidParameterValue "Unsupported action GetCallerIdentity".
func unsupportedAction(err error) (code, msg string, ok bool) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return "", "", false
	}
	code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	switch code {
	case "InvalidAction", "NotImplemented", "UnsupportedOperation":
		return code, msg, true
	case "InvalidParameterValue":
		return code, msg, strings.Contains(strings.ToLower(msg), "unsupported action")
	}
	return code, msg, false
}

package probe

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The causes of a failed podidentity.agent check, in its data as "cause": one per way the
// agent's answer goes wrong, each with its own fix.
const (
	CauseAgentProxy       = "agent-proxy"        // a proxy took the request for the agent
	CauseAgentNotRunning  = "agent-not-running"  // nothing listens at the agent's address
	CauseAgentNoRoute     = "agent-no-route"     // the pod cannot reach the link-local address
	CauseAgentUnreachable = "agent-unreachable"  // another connection error
	CauseAgentClosed      = "agent-closed"       // the agent accepted the connection, answered nothing
	CauseAgentAddress     = "agent-address"      // the agent refused the address it was called at
	CauseAgentRateLimit   = "agent-rate-limit"   // the agent's own rate limit
	CauseAgentToken       = "agent-token"        // the agent's own token checks refused the token
	CauseAgentError       = "agent-error"        // the agent failed for a reason of its own
	CauseNoAssociation    = "no-association"     // EKS Auth: no association for the account
	CauseNodePermission   = "node-permission"    // EKS Auth: the node may not call it
	CauseNodeCredentials  = "node-credentials"   // EKS Auth: the node's credentials are not good
	CauseRoleRefused      = "role-refused"       // EKS Auth: the role is missing or its trust refuses
	CausePodToken         = "pod-token"          // EKS Auth: the pod's token is refused
	CauseEKSAuthThrottled = "eks-auth-throttled" // EKS Auth throttled the agent, retries spent
	CauseEKSAuthFailed    = "eks-auth-failed"    // EKS Auth failed, retries spent
	CauseEKSAuthNoAnswer  = "eks-auth-unreachable"
	CauseEKSAuthUnread    = "eks-auth-unreadable" // the agent got an answer it could not read
	CauseEKSAuthOther     = "eks-auth-error"      // another EKS Auth error
)

// agentAnswerRE reads an error the real agent passes on from its EKS Auth client
// (pkg/errors/errors.go, HandleCredentialFetchingError): "[REQUEST-ID]", then, when EKS Auth's
// answer decoded as an API error, ": (CODE): MESSAGE, fault: FAULT". Its own refusals (the
// address, the token, the rate limit) and other failures are plain text without the brackets.
var agentAnswerRE = regexp.MustCompile(`(?s)^\[([^\]\s]*)\](?:: \(([A-Za-z0-9_.#:]+)\): (.*), fault: (client|server|unknown))?$`)

// notAuthorizedRE finds the caller IAM names in an authorization refusal: "User: ARN is not
// authorized to perform: ACTION".
var notAuthorizedRE = regexp.MustCompile(`User: (arn:[^\s]+) is not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)`)

// eksAuthAnswer is an agent's error answer, read.
type eksAuthAnswer struct {
	fromEKSAuthClient bool // "[...]": the agent's EKS Auth client failed
	requestID         string
	code, text, fault string
}

func readAgentAnswer(body []byte) eksAuthAnswer {
	m := agentAnswerRE.FindStringSubmatch(strings.TrimRight(string(body), "\r\n"))
	if m == nil {
		return eksAuthAnswer{}
	}
	return eksAuthAnswer{fromEKSAuthClient: true, requestID: m[1], code: m[2], text: m[3], fault: m[4]}
}

// nodeCredentialCodes are the codes AWS answers for a caller whose credentials it does not
// take: an unknown key, a wrong signature (secret or clock), an expired session.
var nodeCredentialCodes = map[string]bool{
	"UnrecognizedClientException": true, "InvalidClientTokenId": true, "InvalidSignatureException": true,
	"SignatureDoesNotMatch": true, "IncompleteSignatureException": true, "MissingAuthenticationTokenException": true,
}

// agentDiagnosis is a failed agent answer's cause, message, fix and data.
type agentDiagnosis struct {
	cause, msg, fix string
	data            map[string]any
}

// diagnoseAgentAnswer tells a failed answer of the agent (any status but a 200 with
// credentials JSON) by its status and EKS Auth's error code and the action and principal
// it names, never by the wording of the rest of the message.
func (r *runner) diagnoseAgentAnswer(resp *http.Response, body []byte, proxy string, claims TokenClaims) (agentDiagnosis, bool) {
	ans := readAgentAnswer(body)
	if resp.StatusCode == http.StatusOK && (!ans.fromEKSAuthClient || ans.code != "") {
		return agentDiagnosis{}, false // credentials, or not: the caller reads them
	}
	who := "the agent"
	if proxy != "" {
		who = "the proxy " + proxy + " (or the agent behind it)"
	}
	d := agentDiagnosis{data: map[string]any{}, msg: fmt.Sprintf("%s answered %s: %s", who, resp.Status, agentErrorText(body))}
	if ans.code != "" {
		d.data["error_code"] = ans.code
	}
	if ans.requestID != "" {
		d.data["eks_auth_request_id"] = ans.requestID
	}
	target := serviceAccountTarget(claims)
	region := orPlaceholder(firstNonEmpty(r.deps.Getenv("AWS_REGION"), r.deps.Getenv("AWS_DEFAULT_REGION")), "<region>")
	switch {
	case proxy != "":
		d.cause, d.fix = CauseAgentProxy, noProxyFix(claims)
	case !ans.fromEKSAuthClient:
		d.cause, d.fix = agentOwnRefusal(resp.StatusCode, body)
	case ans.code == "" && ans.requestID == "":
		d.cause = CauseEKSAuthNoAnswer
		d.msg = fmt.Sprintf("the agent got no answer from EKS Auth (eks-auth.%s.api.aws), after its retries: it answered %s with no EKS Auth request id", region, resp.Status)
		if resp.StatusCode != http.StatusInternalServerError {
			d.msg += fmt.Sprintf(" (%d is not the agent's own 500: a proxy on the node's way answered)", resp.StatusCode)
		}
		d.fix = eksAuthPathFix(region)
	case ans.code == "":
		d.cause = CauseEKSAuthUnread
		d.msg = fmt.Sprintf("the agent got an answer from EKS Auth it could not read (HTTP %d, request id %s) and passed on only the request id", resp.StatusCode, ans.requestID)
		d.fix = "the agent could not decode EKS Auth's answer: check its version (kubectl -n kube-system get ds eks-pod-identity-agent -o jsonpath='{..image}'; update the add-on: aws eks update-addon --addon-name eks-pod-identity-agent) and its logs (" + agentLogsCmd + ")"
	case ans.code == "ResourceNotFoundException":
		d.cause = CauseNoAssociation
		d.fix = "no EKS Pod Identity association names this service account: create one with kubectl wi enable " + target + " --pod-identity --role-arn <role ARN> " +
			"(the agent caches credentials for up to 3 hours: a pod started before the association may need a restart)"
	case ans.code == "AccessDeniedException" && namesNodeAction(ans.text):
		principal, _ := deniedPrincipal(ans.text)
		d.cause, d.data["principal"] = CauseNodePermission, principal
		d.fix = nodePermissionFix(principal)
	case nodeCredentialCodes[ans.code], ans.code == "ExpiredTokenException" && resp.StatusCode == http.StatusForbidden:
		d.cause = CauseNodeCredentials
		d.fix = "EKS Auth did not take the node's own credentials (" + ans.code + "), which the agent signs with: check the node's instance profile (the node role attached to the instance), " +
			"that the agent reaches the instance metadata service (IMDSv2 hop limit: aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 if the agent runs in a container), " +
			"and the node's clock (chronyc tracking: a skewed clock makes signatures and sessions look expired)"
	case ans.code == "AccessDeniedException":
		d.cause = CauseRoleRefused
		d.msg = fmt.Sprintf("EKS Auth refused to assume the association's role (%s): the role may not exist, or its trust policy (or a target role's) does not admit EKS Pod Identity", ans.text)
		d.fix = "the association's role may not exist, or its trust policy must allow the principal pods.eks.amazonaws.com sts:AssumeRole and sts:TagSession " +
			"(a target role: the association's role, with both actions); EKS Auth does not say which: kubectl wi explain " + target +
			" (with AWS read credentials) tells, and kubectl wi trust-policy " + target + " --pod-identity prints the trust it needs"
	case ans.code == "InvalidTokenException", ans.code == "ExpiredTokenException", ans.code == "InvalidParameterException":
		d.cause = CausePodToken
		d.fix = "EKS did not take the pod's token: its audience must be " + PodIdentityAudience + " and it must not have expired (check the node's clock); the webhook projects it, so recreate the pod"
	case ans.code == "ThrottlingException":
		d.cause = CauseEKSAuthThrottled
		d.fix = "EKS Auth throttled the agent through its 3 attempts: retry; many pods starting at once on the cluster share EKS Auth's rate"
	case ans.fault == "server", resp.StatusCode >= 500:
		d.cause = CauseEKSAuthFailed
		d.fix = "EKS Auth failed (" + ans.code + ") through the agent's 3 attempts: retry, and check the AWS Health Dashboard for EKS in " + region
	default:
		d.cause = CauseEKSAuthOther
		d.fix = "EKS Auth refused the agent's call (" + ans.code + "): check kubectl wi explain " + target + " and the agent's logs (" + agentLogsCmd + ")"
	}
	return d, true
}

// agentOwnRefusal is the cause and fix of an answer the agent wrote itself.
func agentOwnRefusal(status int, body []byte) (cause, fix string) {
	switch status {
	case http.StatusForbidden:
		return CauseAgentAddress, "the agent refuses requests not sent to " + PodIdentityAgentHost + ": " + envContainerFullURI + " must be http://" + PodIdentityAgentHost + "/v1/credentials, as the webhook sets it"
	case http.StatusTooManyRequests:
		return CauseAgentRateLimit, "the agent's own rate limit (1000 requests a second on the node) refused the request: retry, and look for a pod on this node that asks for credentials in a loop"
	case http.StatusBadRequest:
		return CauseAgentToken, "the agent refused the pod's token before asking EKS (" + agentErrorText(body) + "): the webhook projects it, so recreate the pod, and check the node's clock"
	}
	return CauseAgentError, "the agent failed on its own (" + agentErrorText(body) + "): check its logs (" + agentLogsCmd + ") and its version (update the add-on)"
}

const agentLogsCmd = "kubectl -n kube-system logs ds/eks-pod-identity-agent"

// agentClosedFix: the agent took the TCP connection, so it is installed and listening.
const agentClosedFix = "the agent is installed (it accepted the connection) but ended the request without an answer, as it does when its handler panics on an EKS Auth answer it did not expect: " +
	"check its logs for the panic (" + agentLogsCmd + ") and its version (update the add-on: aws eks update-addon --addon-name eks-pod-identity-agent)"

// eksAuthPathFix names the node's way to EKS Auth.
func eksAuthPathFix(region string) string {
	return "the agent on this node could not reach EKS Auth at eks-auth." + region + ".api.aws:443: check the node's egress (security group and network ACL outbound 443), " +
		"its route out (a NAT gateway for a private subnet, or the EKS Auth VPC interface endpoint com.amazonaws." + region + ".eks-auth with private DNS), " +
		"and any proxy set for the agent on the node (HTTPS_PROXY, NO_PROXY)"
}

// namesNodeAction says an AccessDeniedException is IAM's refusal of the caller (the node) to
// call AssumeRoleForPodIdentity, not EKS Auth's refusal of the association's role.
func namesNodeAction(text string) bool {
	_, action := deniedPrincipal(text)
	return strings.EqualFold(action, "eks-auth:AssumeRoleForPodIdentity")
}

// deniedPrincipal is the caller and the action of an IAM authorization refusal.
func deniedPrincipal(text string) (principal, action string) {
	m := notAuthorizedRE.FindStringSubmatch(text)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// nodePermissionFix names the node's role from the refused principal and the managed policy
// that carries eks-auth:AssumeRoleForPodIdentity.
func nodePermissionFix(principal string) string {
	role := "<node role>"
	switch {
	case strings.Contains(principal, ":assumed-role/"):
		rest := principal[strings.Index(principal, ":assumed-role/")+len(":assumed-role/"):]
		role, _, _ = strings.Cut(rest, "/")
	case strings.Contains(principal, ":role/"):
		rest := principal[strings.Index(principal, ":role/")+len(":role/"):]
		role = rest[strings.LastIndex(rest, "/")+1:]
	}
	who := "the node"
	if principal != "" {
		who = principal
	}
	return "EKS Auth refused " + who + " the action eks-auth:AssumeRoleForPodIdentity, which the Pod Identity agent calls with the node's credentials: " +
		"attach the AWS managed policy AmazonEKSWorkerNodePolicy (it carries the action) to the node role: " +
		"aws iam attach-role-policy --role-name " + role + " --policy-arn arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
}

// serviceAccountTarget is the service account a fix names.
func serviceAccountTarget(claims TokenClaims) string {
	if ns, sa, ok := serviceAccountFromSubject(claims.Subject); ok {
		return "serviceaccount/" + sa + " -n " + ns
	}
	return "serviceaccount/<name> -n <namespace>"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

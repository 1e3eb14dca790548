// Package sts is a local stand-in for the AWS services workload identity touches, for
// end-to-end tests: STS, IAM, EKS and EKS Auth, behind one HTTPS port. Each request goes to
// the service its SigV4 credential scope names (router.go); an unsigned query request is STS's,
// since AssumeRoleWithWebIdentity needs no signature. The AWS SDK for Go v2 clients of each
// service parse its answers exactly as they parse AWS's, success and error envelopes alike.
//
// STS (query protocol, API version 2011-06-15; server.go):
//
//   - AssumeRoleWithWebIdentity: the web identity token is checked the way AWS checks it. The
//     issuer must be a registered OpenID Connect provider; the signature is verified against
//     the keys published at the issuer's jwks_uri (found through
//     /.well-known/openid-configuration, cached per issuer, fetched again once when a token
//     names an unknown key id); exp must be in the future; aud must include one of the
//     provider's client IDs; and the role's trust policy must allow the federated principal
//     with its StringEquals / StringLike conditions on <issuer>:sub and <issuer>:aud. Failures
//     carry AWS's own error codes and messages: InvalidIdentityToken, ExpiredTokenException,
//     AccessDenied, ValidationError.
//   - GetCallerIdentity: the request must be SigV4-signed with credentials this server issued
//     or a configured user's access key. The access key id and the session token must match,
//     and the signature is recomputed with the stored secret key.
//
// IAM (query protocol, API version 2010-05-08; iam.go), signed by a configured user:
// GetRole (the trust policy URL-encoded, as IAM returns it), ListOpenIDConnectProviders,
// GetOpenIDConnectProvider, and one write, UpdateAssumeRolePolicy, which checks the document
// (MalformedPolicyDocument), IAM's quota of 2048 characters without whitespace
// (LimitExceeded), and goes into the running configuration and its file.
//
// EKS (REST JSON; eks.go, eks_podidentity.go): DescribeCluster, from the configured clusters,
// and the Pod Identity association operations: Create (with clientRequestToken idempotency,
// tags, targetRoleArn, disableSessionTags; the caller needs iam:PassRole on the role),
// List (namespace and serviceAccount filters, maxResults/nextToken pages), Describe, Update,
// Delete. Errors carry the code in X-Amzn-ErrorType and the message in the body:
// ResourceInUseException (409) for a second association of one service account,
// ResourceNotFoundException, InvalidParameterException, InvalidRequestException,
// AccessDeniedException. Associations are kept in a state file (WithStateFile) and, on every
// change and at start, written to each cluster's associationsFile in the pod identity
// webhook's format, as EKS pushes them to its webhook.
//
// EKS Auth (REST JSON, signing name eks-auth; eksauth.go): AssumeRoleForPodIdentity, which
// the Pod Identity agent calls with a pod's token, signed with the node's credentials (a
// configured user). The token is checked as EKS checks it: issued by the cluster's issuer,
// signed by a key of its OIDC discovery's JWKS, unexpired, audience pods.eks.amazonaws.com,
// bound to a pod (InvalidTokenException, ExpiredTokenException). Its subject's association
// (ResourceNotFoundException when none) names the role, whose trust policy must allow the
// service principal pods.eks.amazonaws.com both sts:AssumeRole and sts:TagSession (only the
// former when the association disables session tags); with a targetRoleArn the target role's
// trust must allow the association's role (AWS principal) the same, with sts:ExternalId set to
// the association's externalId. A refusal is AccessDeniedException (400) naming the role, the
// principal and the actions it needs, in the same words whether the role is missing or its
// trust refuses, as EKS Auth does not tell the two apart. The credentials answer GetCallerIdentity as
// assumed-role/ROLE/eks-CLUSTER-POD-UUID; the six session tags (eks-cluster-arn,
// eks-cluster-name, kubernetes-namespace, kubernetes-service-account, kubernetes-pod-name,
// kubernetes-pod-uid, from the token's kubernetes.io claims) are kept on the session and
// written to the request log.
//
// The configuration's eksAuthFaults make EKS Auth fail for the pods of one namespace (and
// service account), read from the token before anything else (eksauth_faults.go): no answer
// (down, hang), InternalServerException, ServiceUnavailableException or ThrottlingException
// once or always, a proxy's 502 page, a 2xx that is not JSON or lacks a field, the node
// refused (AccessDeniedException naming it and eks-auth:AssumeRoleForPodIdentity), unknown
// (UnrecognizedClientException), expired (ExpiredTokenException) or mis-signed
// (InvalidSignatureException), the association's role taken as missing. Tests add and remove
// them in the file while the server runs.
//
// WithRequestLog adds a JSON log, one line per request (service, action, principal, outcome,
// whether it was a write; for EKS the cluster, association, namespace and service account), so
// tests can count what reached AWS.
//
// A user may call every action except those of its deny list, which answer AccessDenied
// (AccessDeniedException in EKS) worded as AWS words a missing permission. A session of a
// role may call STS and the actions its role's allow list names (the role's permission
// policy, read at each call), and is refused the rest in the same words.
//
// Issued credentials live in memory only. The server logs one line per request (service,
// action, principal, role, outcome) and never logs the web identity token, a secret access
// key or a session token; none of them appears in an error message either.
//
// The configuration names the account, the OIDC providers, the roles, the users and the
// clusters; see Config. With WithConfigFile the server reads the file again when it changes
// and writes IAM's changes back to it.
//
// Known differences from AWS:
//
//   - Trust policies: only the String condition operators are evaluated; a policy using any
//     other is refused when loaded, and UpdateAssumeRolePolicy answers MalformedPolicyDocument
//     where IAM would accept it. IAM's check of principals (that a role or provider exists) is
//     not made. The order of IAM's checks (JSON, grammar, quota) is a guess.
//   - Permissions: users have no policies, only a deny list; roles only a list of allowed
//     actions, on every resource. There is no resource-level permission, no condition, no
//     permission boundary, no SCP.
//   - Roles and providers all carry the server's start time as CreateDate; RoleLastUsed,
//     tags, descriptions and permission policies are not served.
//   - DescribeCluster answers name, arn, createdAt, status ACTIVE and identity.oidc.issuer
//     only: no endpoint, version, certificate or network configuration.
//   - Errors: messages of NoSuchEntity for a provider and of authentication errors are close
//     to, not checked against, AWS's. Throttling is never answered.
//   - Presigned (query string) signatures are not accepted.
//   - Pod Identity associations: a session policy is stored and returned, never applied (a
//     role's allow list is not narrowed). The namespace and service account are checked as
//     Kubernetes names, a guess at EKS's rule; the messages of InvalidParameterException,
//     InvalidRequestException (a clientRequestToken reused for another request) and of a
//     missing association are this server's own. Changes take effect at once: EKS is
//     eventually consistent and its webhook learns of an association seconds later.
//     TagResource, UntagResource and add-on owned associations (ownerArn) are not served.
//   - AssumeRoleForPodIdentity: the wording of its error messages is this server's own (AWS's
//     are not published); the status of AccessDeniedException is 400 as the API reference
//     gives it. Credentials last 6 hours, an hour when chained, whatever the role's
//     MaxSessionDuration. A role of another account is never found (AccessDeniedException).
//     The session tags are not matched against the roles' allow lists (they have no
//     conditions), only offered to trust policy conditions as aws:RequestTag/KEY and
//     aws:TagKeys.
package sts

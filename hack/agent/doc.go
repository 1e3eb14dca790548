// Package agent is a local stand-in for the EKS Pod Identity agent, for end-to-end tests. It
// serves GET /v1/credentials on the agent's link-local address the way the real agent does:
//
//   - the Host must be 169.254.170.23 or [fd00:ec2::23] (any port), else 403;
//   - the Authorization header is the pod's raw service account token: empty, not a JWT, or
//     failing the basic claim checks (exp, nbf) is 400, and EKS Auth is not called;
//   - otherwise it calls EKS Auth's AssumeRoleForPodIdentity for its cluster, over HTTPS,
//     SigV4-signed (signing name eks-auth) with the node's credentials, and answers 200 with
//     {AccessKeyId, SecretAccessKey, Token, AccountId, Expiration}, the container credentials
//     format the SDKs read; an EKS Auth error is answered with EKS Auth's HTTP status and the
//     real agent's text, "[REQUEST-ID]: (CODE): MESSAGE, fault: client|server";
//   - credentials are cached per token until 15 seconds before they expire, at most 3 hours;
//     a request for a token already being fetched waits for that fetch;
//   - past the rate limit (the real agent's 1000 requests a second, burst 500) it answers 429.
//
// Errors are text/plain, as http.Error writes them. The agent logs one line per request and
// never logs a token, a secret access key or a session token.
//
// Known differences from the real agent:
//
//   - It listens on one address (the test bed's 169.254.170.23); the real one binds IPv4 and
//     IPv6 and sets up its link itself (the test bed does that here).
//   - No background renewal: a cached entry is used until it is near expiry, then fetched
//     again on demand; the real agent renews entries in the background (rate limited) and
//     drops them on an unrecoverable error.
//   - The EKS Auth call has no retries and a 5-second timeout (the real agent: the SDK's
//     retries, a 1-second timeout), so a slow test machine does not fail a probe spuriously.
//   - The cache is bounded by count (2000) with the oldest entry evicted, not an LRU.
//   - No probe, health or metrics servers, no credential rotation from a shared file.
package agent

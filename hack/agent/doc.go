// Package agent is a local stand-in for the EKS Pod Identity agent (aws/eks-pod-identity-agent,
// release 0.1.37), for end-to-end tests. It serves GET /v1/credentials on the agent's
// link-local address and answers as the real agent does:
//
//   - a ServeMux, as the real server's: another path is 404, a path that is not clean
//     ("//v1/credentials") a 307 to the clean one;
//   - past the rate limit (the real agent's 1000 requests a second, burst 500) 429;
//   - the Host must be 169.254.170.23 or [fd00:ec2::23] (any port), else 403;
//   - the Authorization header is the pod's raw service account token: empty, not a JWT, or
//     failing the basic claim checks (exp, nbf) is 400 with golang-jwt v5.2.2's words, and
//     EKS Auth is not called;
//   - otherwise it calls EKS Auth's AssumeRoleForPodIdentity for its cluster, over HTTPS,
//     SigV4-signed (signing name eks-auth) with the node's credentials, each attempt bounded
//     by 1 s (dial 500 ms), retried as the AWS SDK's standard retryer does (3 attempts, a
//     random backoff under 2^attempt seconds, the retry quota of 500 tokens; no answer, 500,
//     502, 503, 504 and the throttling codes are retried), and answers 200 with
//     {AccessKeyId, SecretAccessKey, Token, AccountId, Expiration};
//   - an EKS Auth error is answered with EKS Auth's HTTP status and the real agent's text,
//     "[REQUEST-ID]: (CODE): MESSAGE, fault: client|server|unknown" (unknown for a code EKS
//     Auth's model does not declare: UnrecognizedClientException, InvalidSignatureException);
//     an answer that does not decode as an error is "[REQUEST-ID]" with its status; no answer
//     at all (refused, reset, timed out) is 500 "[]";
//   - a 2xx that does not decode is 200 text/plain "[REQUEST-ID]"; a 2xx without credentials
//     or assumedRoleUser is 500; a 2xx lacking a field the real agent dereferences (the
//     association id, a key, the expiration) drops the connection with no answer, as the real
//     handler's panic does;
//   - credentials are cached per token until 15 seconds before they expire, at most 3 hours;
//     a request for a token already being fetched waits for that fetch.
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
//   - A request for a token being fetched waits for that fetch and shares its result; the
//     real one polls every 200 ms, up to 9 times, then makes its own call.
//   - A 2xx without credentials or assumedRoleUser: the real text ends with the SDK's output
//     struct printed by %v (": &{...}", pointer addresses included); the stand-in stops
//     before it.
//   - The retryer has no clock-skew correction, and an exhausted retry quota is worded as the
//     SDK's error chain reads, not byte for byte.
//   - Claims of an odd JSON type fail with Go's own JSON error text, which names the stand-in's
//     types where golang-jwt's would name its own.
//   - The cache is bounded by count (2000) with the oldest entry evicted, not an LRU.
//   - The node's credentials are static (from the environment): no IMDS, no rotation from a
//     shared file, so their retrieval never fails.
//   - No probe, health or metrics servers, no Prometheus counters.
package agent

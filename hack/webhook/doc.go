// Package webhook is a stand-in for the amazon-eks-pod-identity-webhook, for tests only.
//
// The real webhook is not available from the Go module proxy, so the project's end-to-end tests
// run this one instead: a real mutating admission webhook written from the real one's documented
// and observed behaviour (v0.6.17 and later, docs/webhook.md), one fixture in testdata per row of
// that behaviour.
// It is deliberately an independent implementation: it imports nothing from the plugin's pkg/
// directory, so the plugin is tested against code it did not write itself.
//
// What it reproduces:
//
//   - Service account annotations, under eks.amazonaws.com/: role-arn (not trimmed, not
//     validated), audience (absent: --token-audience; present but empty: an empty audience),
//     sts-regional-endpoints (a Go bool; when it parses it overrides --sts-regional-endpoint,
//     else the flag applies) and token-expiration (an integer, not trimmed, raised to 600).
//     They are read from an informer cache (see Cache): an account created or annotated a
//     moment before its pod can be missed, and the pod is then admitted unmutated.
//   - Pod annotations: token-expiration (wins over the account's, raised to 600, never capped)
//     and skip-containers (one CSV record, not trimmed: "a, b" skips "a" only).
//   - Every container and init container not skipped gets, in order,
//     AWS_STS_REGIONAL_ENDPOINTS=regional (when asked and not set), AWS_DEFAULT_REGION and
//     AWS_REGION (with --aws-default-region, when the container sets neither), AWS_ROLE_ARN and
//     AWS_WEB_IDENTITY_TOKEN_FILE (unless it sets either itself: then it keeps its own, and
//     still gets the rest), and a read-only mount of the token directory (looked for by volume
//     name). A container that sets its identity variables, a region and
//     AWS_STS_REGIONAL_ENDPOINTS is left exactly as it is.
//   - The pod gets the projected volume aws-iam-token {audience, expirationSeconds, path token},
//     inserted first, unless a volume of that name exists: a pod that has it still gets a patch
//     for its other containers.
//   - Windows pods (nodeSelector kubernetes.io/os or beta.kubernetes.io/os: windows) get the
//     token file as C:\var\run\....
//   - Container credentials (EKS Pod Identity): for an account listed in the associations file
//     (--watch-container-credentials-config), the pod gets AWS_CONTAINER_CREDENTIALS_FULL_URI
//     and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, the eks-pod-identity-token volume with audience
//     pods.eks.amazonaws.com, a default lifetime replaced by one drawn from 79200..86400, and
//     the label eks.amazonaws.com/pod-identity=enabled. It wins over role-arn.
//   - The skip label eks.amazonaws.com/skip-pod-identity-webhook is not looked at by the
//     handler; the registration's objectSelector keeps such pods away (as the real webhook's
//     own deployment manifest does).
//   - Only pod CREATE is mutated; running pods never are.
//
// Where it differs, and why:
//
//   - --cache-lag is its own: it delays every service account change by a fixed time, so that
//     tests can reproduce on one machine the lag that EKS's remote webhook has.
//   - With --service-account-lookup-grace-period, an account missing from the cache is fetched
//     from the apiserver at once, bounded by the grace period; the real webhook queues the
//     fetch behind a rate limiter and waits for a notification. The outcome is the same.
//   - The ConfigMap mode (--watch-config-map), --compose-role-arn, metrics, the in-cluster
//     certificate request and the debug handlers are not reproduced: nothing in this project
//     uses them.
//   - It logs one line per admission, saying why a pod was or was not mutated, so tests can
//     tell what it decided; the real webhook's logs differ.
//
// The command hack/cmd/wi-webhook serves this over HTTPS and can register itself.
package webhook

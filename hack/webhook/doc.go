// Package webhook is a stand-in for the amazon-eks-pod-identity-webhook, for tests only.
//
// The real webhook is not available from the Go module proxy, so the project's end-to-end tests
// run this one instead: a real mutating admission webhook that reproduces the behaviour observed
// from the real one (v0.6.17), as listed in shared/reference/local-cluster/README.md.
//
// It is deliberately an independent implementation: it imports nothing from the plugin's pkg/
// directory, so the plugin is tested against code it did not write itself.
//
// On a pod CREATE whose service account (spec.serviceAccountName, default "default", in the
// request's namespace) carries the annotation eks.amazonaws.com/role-arn:
//
//   - every container and init container, except those named in the pod annotation
//     eks.amazonaws.com/skip-containers and those that already set AWS_ROLE_ARN or
//     AWS_WEB_IDENTITY_TOKEN_FILE, gets the env AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE,
//     AWS_STS_REGIONAL_ENDPOINTS=regional when the service account says
//     eks.amazonaws.com/sts-regional-endpoints: "true", AWS_REGION and AWS_DEFAULT_REGION when a
//     default region is configured, and a read-only mount of the token directory;
//   - the pod gets the projected volume aws-iam-token holding a service account token with the
//     audience of the service account annotation eks.amazonaws.com/audience (default
//     sts.amazonaws.com) and the expirationSeconds of the pod annotation
//     eks.amazonaws.com/token-expiration, else the service account's, else 86400, raised to 600
//     when lower and never capped.
//
// The service account is read from the API server at admission time, with no cache, so a
// service account created in the same apply as its pod is seen. A pod that already has the
// aws-iam-token volume is left as it is (reinvocation), and so is a pod labelled
// eks.amazonaws.com/skip-pod-identity-webhook (the webhook configuration's objectSelector
// already keeps such pods away; the handler checks again).
//
// The command hack/cmd/wi-webhook serves this over HTTPS and can register itself.
package webhook

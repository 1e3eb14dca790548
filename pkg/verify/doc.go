// Package verify is the machinery of `kubectl wi verify` outside the terminal: it resolves the
// TARGET, checks the cluster from outside (the service account, the pod identity webhook, the
// issuer), creates the probe pod, checks the pod as the apiserver stored it (after the webhook
// mutated it, or did not), waits for it to run and says why when it does not, follows its log
// and decodes the probe's events, and deletes the pod on every exit path.
//
// Everything it finds is a check.Event, so one renderer shows the outside checks, the stored
// pod's and the probe's alike. Run reports to a Reporter: Step for progress (what a spinner
// shows), Event for each check or info event and, last, the verdict (a result event), Raw for
// a log line that is not an event. The renderers (pkg/plugin/render, pkg/plugin/tui) implement
// Reporter; this package draws nothing.
//
// Check names of the plugin's own checks, beside the probe's (see pkg/probe):
//
//	outside.serviceaccount   the service account exists and names a role
//	outside.webhook          a mutating webhook on pods CREATE is registered and selects the pod
//	outside.issuer           the cluster's issuer, from /.well-known/openid-configuration
//	outside.workload_pods, outside.credentials   a workload target's running pods and their credential source
//	outside.app_logs         a workload target's app containers log no AWS SDK credential failure (pkg/applog)
//	outside.network_policy   the NetworkPolicies selecting its pods let them reach the agent and STS (pkg/netpolicy)
//	outside.not_proved       info: what the probe pod does not prove of the app (its SDK, its pod's network)
//	pod.create               info: the probe pod, its image and service account
//	pod.mutation             the stored pod carries the identity the webhook injects
//	pod.role_arn, pod.token_file, pod.token_mount, pod.token_audience, pod.token_expiration
//	pod.podidentity_env, pod.podidentity_token
//	pod.start                the pod ran, or why it did not
//	probe.exit               the probe ended without a verdict
//	probe.output             info (-o json only): a log line that is not an event
//	iam.*                    explain's findings for an STS refusal, when Deps.Explain is set
package verify

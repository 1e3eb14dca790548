// Package probe is what runs inside the probe pod (`kubectl-wi probe`): its checks, each
// written as a pkg/check event, one JSON line, for the plugin to read from the pod's log.
//
// # The checks
//
// Run picks the identity path from the env the webhook injected: EKS Pod Identity when
// AWS_CONTAINER_CREDENTIALS_FULL_URI is set (it wins when IRSA env is set too; an info event
// says so), IRSA when AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE is set, and a failed env.path
// otherwise. Check names are stable; the Check* constants list them:
//
//	env.path                      which path the pod got
//	env.role_arn, env.token_file  IRSA env
//	token.file                    the token file is readable by the container's user
//	token.format                  it holds a JWT (decoded, never verified: STS verifies)
//	token.audience, token.lifetime, token.expiry, token.issuer, token.subject
//	sts.endpoint                  info: the STS endpoint and region in use
//	sts.assume_role               AssumeRoleWithWebIdentity, its failure diagnosed
//	sts.caller_identity           GetCallerIdentity is the expected role, not a node role; a warn
//	                              when the STS does not implement the call (MinIO)
//	podidentity.env, podidentity.token_file, podidentity.token_format, podidentity.audience,
//	podidentity.expiry, podidentity.issuer, podidentity.subject, podidentity.agent
//	app.processes                 info (in-pod): the app's processes the probe sees
//	app.sdk                       (in-pod) one per AWS SDK found: pass, or fail naming the SDK,
//	                              its version, the path's minimum and the upgrade; a skip for
//	                              what could not be read or judged
//
// In-pod (Config.InPod: verify --in-pod runs the probe as an ephemeral container in the app's
// pod, with its env and user, in its network and process namespaces) the same checks run from
// the app's own pod, then the app.* ones.
//
// A check that cannot run because an earlier one failed is emitted with status skip. The
// result's message is "N of M checks failed" (M counts every check event) and its Fix joins
// the failed checks' fixes, one per line (the warned ones' when nothing failed).
//
// This package has no cobra, no bubbletea and never touches os.Stdout or os.Stderr: the caller
// passes the writer.
package probe

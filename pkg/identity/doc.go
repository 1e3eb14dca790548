// Package identity holds the workload identity semantics that kubectl-wi mirrors from the
// amazon-eks-pod-identity-webhook: the service account annotations, the role ARN grammar, and
// what a pod looks like once the webhook has mutated it. enable, disable, status and verify
// all decide from here, so they cannot disagree about what "stale" means.
package identity

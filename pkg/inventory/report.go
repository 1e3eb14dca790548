// Package inventory builds the report of `kubectl wi status`: every service account that
// carries an IAM role, the workloads running as it, what its pods actually got from the pod
// identity webhook, and findings that each name a fix.
//
// It reads the cluster with one paginated LIST per kind and never a GET per object. Pods are
// folded into per-account counters and per-workload findings page by page, so memory stays
// bounded by one page of pods plus the (small) aggregates, whatever the cluster size.
package inventory

import (
	"cmp"
	"slices"
)

// Report is the result of Collect. Its JSON is the `status -o json` document: adding fields is
// allowed; renaming or retyping one is not.
type Report struct {
	// ServiceAccounts are sorted by namespace and name. Never null in JSON.
	ServiceAccounts []ServiceAccount `json:"serviceAccounts"`
	// Findings are sorted by severity (error first), namespace, object and check. Never null.
	Findings []Finding `json:"findings"`
	// Warnings say what could not be checked (a forbidden LIST of an optional kind).
	Warnings []string `json:"warnings,omitempty"`
	// PodIdentityAssociations says whether the EKS cluster's associations were read (set by
	// the caller that read them, or could not); nil when not asked.
	PodIdentityAssociations *AssociationsRead `json:"podIdentityAssociations,omitempty"`
}

// AssociationsRead says whether the EKS Pod Identity associations were read, and if not why:
// an account on Pod Identity whose pods lack its credentials shows only when they were.
type AssociationsRead struct {
	Read    bool   `json:"read"`
	Cluster string `json:"cluster,omitempty"`
	Count   int    `json:"count"`
	// NotRead says why they were not read, and the flag or credentials that read them.
	NotRead string `json:"notRead,omitempty"`
}

// ServiceAccount is one account that carries a role, or whose pods run on EKS Pod Identity,
// or that no longer carries a role while some of its pods still do (RoleARN empty).
type ServiceAccount struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Identity is how its pods get a role: IdentityIRSA (the annotation), IdentityPodIdentity
	// (an association, seen in the container credentials of its pods) or IdentityBoth; empty
	// for an account that asks for none while pods still carry a role.
	Identity string `json:"identity,omitempty"`
	// RoleARN is the eks.amazonaws.com/role-arn annotation as written, valid or not.
	RoleARN string `json:"roleARN"`
	// Audience is the audience the webhook puts in the token (the default when unannotated).
	Audience string `json:"audience,omitempty"`
	// TokenExpiration is the expirationSeconds the webhook puts on the token for a pod that
	// has no annotation of its own.
	TokenExpiration int64 `json:"tokenExpiration,omitempty"`
	// STSRegionalEndpoints is the sts-regional-endpoints annotation.
	STSRegionalEndpoints bool `json:"stsRegionalEndpoints,omitempty"`
	// Workloads run their pods as this account: kind/name, sorted. Never null.
	Workloads []string  `json:"workloads"`
	Pods      PodCounts `json:"pods"`
	// PodIdentityAssociation and PodIdentityRoleARN are its EKS Pod Identity association and
	// the role it gives, when the cluster's associations were read.
	PodIdentityAssociation string `json:"podIdentityAssociation,omitempty"`
	PodIdentityRoleARN     string `json:"podIdentityRoleARN,omitempty"`
}

// PodCounts classifies the account's running pods (terminated pods are not counted) with
// identity.Staleness.
type PodCounts struct {
	Total int `json:"total"`
	// Injected pods carry exactly what the account asks.
	Injected int `json:"injected"`
	// Stale pods need a restart: they lack the injection, or carry another role, audience or
	// expiration than the account now asks.
	Stale int `json:"stale"`
	// Skipped pods opted out with the eks.amazonaws.com/skip-pod-identity-webhook label, or
	// the webhook leaves every one of their containers alone (named in skip-containers, or
	// setting AWS_ROLE_ARN themselves), so a restart would not change them. Some containers
	// left out of an injected pod are reported as findings instead.
	Skipped int `json:"skipped"`
	// PodIdentity pods got EKS Pod Identity's container credentials: the account has an
	// association, which wins over its role-arn annotation.
	PodIdentity int `json:"podIdentity,omitempty"`
	// PodIdentityStale pods of an account on Pod Identity run without its container
	// credentials (created before the association): a restart gives them Pod Identity. Their
	// IRSA staleness is not counted in Stale then, since Pod Identity wins in the new pods.
	PodIdentityStale int `json:"podIdentityStale,omitempty"`
}

// How an account's pods get a role.
const (
	IdentityIRSA        = "IRSA"
	IdentityPodIdentity = "PodIdentity"
	IdentityBoth        = "IRSA+PodIdentity"
)

// Severity says how much a finding matters.
type Severity string

// Severities, from the most to the least severe.
const (
	SeverityError   Severity = "error"   // pods do not get the identity the account asks
	SeverityWarning Severity = "warning" // pods may not get it, or get more than intended
	SeverityInfo    Severity = "info"    // worth knowing, nothing is broken
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	case SeverityInfo:
		return 2
	default:
		return 3
	}
}

// Check names what a finding is about.
type Check string

// Checks.
const (
	CheckWebhookMissing   Check = "webhook-missing"    // no mutating webhook for pods CREATE
	CheckRoleARNInvalid   Check = "role-arn-invalid"   // the role-arn annotation does not parse
	CheckTokenExpiration  Check = "token-expiration"   // an annotation below 600 or above 86400
	CheckStalePods        Check = "stale-pods"         // pods need a restart
	CheckPodIdentityStale Check = "pod-identity-stale" // pods predate the account's association
	// Of an association read from EKS: no pod of the account has its credentials, the account
	// does not exist, or it runs no pod.
	CheckPodIdentityUninjected Check = "pod-identity-uninjected"
	CheckPodIdentityNoAccount  Check = "pod-identity-no-account"
	CheckPodIdentityNoPods     Check = "pod-identity-no-pods"
	CheckSelfSetEnv            Check = "self-set-env"          // containers set AWS_ROLE_ARN themselves
	CheckPodIdentityWins       Check = "pod-identity-wins"     // role-arn and a Pod Identity association
	CheckSkippedContainers     Check = "skipped-containers"    // skip-containers leaves containers out
	CheckTokenReadability      Check = "token-readability"     // non-root containers, no fsGroup
	CheckHostNetworkIdentity   Check = "host-network-identity" // hostNetwork pod on the Pod Identity path
)

// Finding is one thing wrong or worth knowing, with the fix.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    Check    `json:"check"`
	// Namespace and Object locate it: Object is kind/name (serviceaccount/app,
	// deployment/web, pod/p); both are empty for a cluster-wide finding.
	Namespace string `json:"namespace,omitempty"`
	Object    string `json:"object,omitempty"`
	// Pods is how many pods of Object the finding covers, for pod findings grouped by workload.
	Pods    int    `json:"pods,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

func sortReport(r *Report) {
	slices.SortFunc(r.ServiceAccounts, func(a, b ServiceAccount) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Severity.rank(), b.Severity.rank()),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Check, b.Check),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

package monitorinstall

import rbacv1 "k8s.io/api/rbac/v1"

// The monitor's RBAC rules: verify's (deploy/rbac/verify.yaml) with watches in place of its
// LISTs, since the monitor keeps informers, and the writes of a long-running process (its
// Lease, its status ConfigMap, Events). No secrets, no writes to anything it did not create
// but Events.

// watchedRules are granted in every namespace the monitor watches.
func watchedRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// The inventory (status's) kept by informers.
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
		// Probe pods: created, their log streamed, deleted; the app pods watched.
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		// verify's --ca-bundle travels in a ConfigMap that lives as long as its probe pod.
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "delete"}},
		// The workloads of an account (status's reads).
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"list", "watch"}},
		// Warning and Normal Events on the service accounts; both Event APIs, as client-go's
		// recorders write one or the other.
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

// namespaceReads are the namespace reads of cluster-wide mode (messages, new namespaces).
var namespaceReads = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}}

// clusterReads are cluster-scoped, granted in both modes: is the webhook registered and up,
// and the issuer check of verify.
var clusterReads = []rbacv1.PolicyRule{
	{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, Verbs: []string{"get", "list", "watch"}},
	// The webhook's Service and whether it has ready endpoints (it may run in any namespace).
	{APIGroups: []string{""}, Resources: []string{"services", "endpoints"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
	{NonResourceURLs: []string{"/.well-known/openid-configuration", "/openid/v1/jwks"}, Verbs: []string{"get"}},
}

// agentRules read the EKS Pod Identity agent's DaemonSet in kube-system.
var agentRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"apps"}, Resources: []string{"daemonsets"}, Verbs: []string{"get", "list", "watch"}},
}

// selfRules are granted in the monitor's own namespace: leader election, the status object.
func selfRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Leader election (a Lease named Name).
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		// The status object: created once, then updated. RBAC cannot limit create by name.
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{StatusConfigMap}, Verbs: []string{"get", "update", "patch"}},
		// Leader election's own Events.
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

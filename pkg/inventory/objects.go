package inventory

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
)

// Objects are the objects a report is built from when a cache already holds them (an
// informer's listers): the same classification as CollectScope, without a LIST.
type Objects struct {
	ServiceAccounts []*corev1.ServiceAccount
	Pods            []*corev1.Pod
	Webhooks        []*admissionregistrationv1.MutatingWebhookConfiguration
	// WebhooksRead says Webhooks is every configuration of the cluster: only then is a
	// missing pod webhook a finding.
	WebhooksRead bool
}

// FromObjects builds the report of scope (its Selector is not applied: the objects are
// already the ones to report on) from objs. Objects outside scope.Namespace are left out.
func FromObjects(scope Scope, objs Objects) *Report {
	c := newCollector()
	c.cluster = scope.Cluster
	in := func(ns string) bool { return scope.Namespace == "" || ns == scope.Namespace }
	for _, a := range scope.Associations {
		if in(a.Namespace) {
			c.addAssociation(a)
		}
	}
	// Accounts first: a pod is judged against its account as it is added.
	for _, sa := range objs.ServiceAccounts {
		if in(sa.Namespace) {
			c.addServiceAccount(sa)
		}
	}
	for _, p := range objs.Pods {
		if in(p.Namespace) {
			c.addPod(p)
		}
	}
	for _, w := range objs.Webhooks {
		c.addWebhookConfiguration(w)
	}
	if objs.WebhooksRead {
		c.markWebhooksChecked()
	}
	return c.report()
}

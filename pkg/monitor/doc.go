// Package monitor proves a cluster's identity accounts continuously: `kubectl-wi monitor run`.
//
// It watches service accounts, pods, the mutating webhook configurations and the Pod Identity
// agent's DaemonSet with informers (one LIST and a WATCH each, never a polling LIST), builds
// from their caches the inventory that `kubectl wi status` reports (pkg/inventory), and
// proves each account with an identity through verify's fleet engine: on a jittered schedule,
// and soon (debounced) after a change that can break it. Only the leader of a Lease proves,
// so two replicas never prove an account twice; it writes what it found as Prometheus
// metrics, Events on the service accounts when a proof fails or recovers, and a status
// ConfigMap that `kubectl wi monitor status` reads.
//
// The engines' own types (verify, explain, podidentity) are used in engines.go only; the
// rest of the package speaks of Account, Result and Check.
package monitor

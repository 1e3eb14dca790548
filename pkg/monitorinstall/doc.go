// Package monitorinstall builds and writes what `kubectl wi monitor install` puts in a cluster
// (a namespace, the monitor's service account, least-privilege RBAC, the Deployment running
// `kubectl-wi monitor run` from the plugin's own image, the Service of its metrics, and the
// alert rules), removes it all again, and reads the status object the running monitor writes.
//
// The objects are typed Kubernetes objects, so the same values are printed for GitOps
// (--dry-run=client -o yaml) and written by server-side apply under one field manager: a
// rerun changes nothing, and fields other writers own are left as they are.
package monitorinstall

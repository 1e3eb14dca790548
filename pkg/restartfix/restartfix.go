// Package restartfix writes the kubectl commands that give a workload new pods, so that a
// changed identity reaches them: what enable prints for the workloads it cannot restart
// itself, and the fix status prints for stale pods. It is the one place those commands are
// spelled, so the commands agree wherever they are shown.
package restartfix

import (
	"fmt"
	"sort"
	"strings"
)

// Workload is what the way to renew a workload's pods depends on.
type Workload struct {
	// Kind is deployment, statefulset, daemonset, job, cronjob or pod, with or without its
	// group (deployment.apps), or KIND.GROUP of a controller this package does not know.
	Kind      string
	Name      string
	Namespace string
	// Paused is a Deployment's spec.paused: `rollout restart` refuses it until resumed.
	Paused bool
	// OnDelete is a StatefulSet's or DaemonSet's OnDelete update strategy: a restart changes the
	// template but replaces no pod, so the pods must be deleted.
	OnDelete bool
	// Job is the running Job of a CronJob.
	Job string
	// Pods are the pods to delete where deleting pods is the way (OnDelete, a controller this
	// package does not know, a bare pod).
	Pods []string
}

// Fix is how to renew a workload's pods.
type Fix struct {
	// Command is what the user runs.
	Command string
	// Note says what else to do or know; "" when the command is all.
	Note string
	// Rollout is true when the command is a plain `kubectl rollout restart`, which enable
	// does itself.
	Rollout bool
}

// String is the command, then the note.
func (f Fix) String() string {
	if f.Note == "" {
		return f.Command
	}
	return f.Command + "; " + f.Note
}

// For says how to renew w's pods.
func For(w Workload) Fix {
	ns := w.Namespace
	kind := shortKind(w.Kind)
	switch kind {
	case "deployment":
		if w.Paused {
			return Fix{Command: fmt.Sprintf("kubectl rollout resume deployment/%s -n %s && kubectl rollout restart deployment/%s -n %s", w.Name, ns, w.Name, ns),
				Note: "the deployment is paused: a restart waits for the resume"}
		}
		return Fix{Command: fmt.Sprintf("kubectl rollout restart deployment/%s -n %s", w.Name, ns), Rollout: true}
	case "statefulset", "daemonset":
		if w.OnDelete {
			return Fix{Command: deletePods(w.Pods, ns), Note: "updateStrategy OnDelete: the controller replaces only pods that are deleted"}
		}
		return Fix{Command: fmt.Sprintf("kubectl rollout restart %s/%s -n %s", kind, w.Name, ns), Rollout: true}
	case "job":
		return Fix{Command: fmt.Sprintf("kubectl delete job %s -n %s", w.Name, ns), Note: "create the job again from its manifest"}
	case "cronjob":
		job := w.Job
		if job == "" {
			return Fix{Command: fmt.Sprintf("kubectl create job --from=cronjob/%s %s-rerun -n %s", w.Name, w.Name, ns), Note: "or wait for its next run"}
		}
		return Fix{Command: fmt.Sprintf("kubectl delete job %s -n %s && kubectl create job --from=cronjob/%s %s-rerun -n %s", job, ns, w.Name, job, ns),
			Note: "or wait for its next run"}
	case "pod":
		pods := w.Pods
		if len(pods) == 0 {
			pods = []string{w.Name}
		}
		return Fix{Command: deletePods(pods, ns), Note: "create the pod again from its manifest: pods are never mutated once running"}
	default:
		return Fix{Command: deletePods(w.Pods, ns), Note: fmt.Sprintf("%s/%s creates them again", w.Kind, w.Name)}
	}
}

// shortKind drops the group of the kinds this package knows: deployment.apps -> deployment.
func shortKind(kind string) string {
	k := strings.ToLower(kind)
	for _, g := range []string{".apps", ".batch"} {
		k = strings.TrimSuffix(k, g)
	}
	return k
}

func deletePods(pods []string, ns string) string {
	names := append([]string(nil), pods...)
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"POD"}
	}
	return fmt.Sprintf("kubectl delete pod %s -n %s", strings.Join(names, " "), ns)
}

// Package checktarget is the TARGET that verify and explain check: a service account, a
// deployment, statefulset or daemonset whose pods run under one, or one pod. Parsing the
// TARGET's kinds, aliases and name rules is pkg/targets' (shared with enable and disable);
// this package narrows it to what a check can prove.
package checktarget

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Kind is the kind of object a TARGET names.
type Kind string

// Kinds a check accepts.
const (
	KindServiceAccount Kind = "serviceaccount"
	KindDeployment     Kind = "deployment"
	KindStatefulSet    Kind = "statefulset"
	KindDaemonSet      Kind = "daemonset"
	// KindPod is one running pod, a check's own kind: enable and disable have no use for it,
	// since a bare pod cannot be restarted.
	KindPod Kind = "pod"
)

// podAliases are what a user may type before the slash for a pod, as kubectl takes them.
var podAliases = []string{"pod", "pods", "po"}

// IsPod reports whether arg names a pod: pod/NAME, pods/NAME or po/NAME.
func IsPod(arg string) bool {
	kind, _, ok := strings.Cut(arg, "/")
	return ok && slices.Contains(podAliases, strings.ToLower(kind))
}

// verifyKinds maps the kinds of pkg/targets that verify can prove to its own: a
// service account, or a workload whose pods run under one. TARGET parsing itself (aliases,
// name rules, messages) is the targets package's, shared with enable and disable.
var verifyKinds = map[string]Kind{
	"serviceaccount":   KindServiceAccount,
	"deployment.apps":  KindDeployment,
	"statefulset.apps": KindStatefulSet,
	"daemonset.apps":   KindDaemonSet,
}

// Target is a parsed TARGET: [serviceaccount/]NAME, deployment|statefulset|daemonset/NAME or
// pod/NAME.
type Target struct {
	Kind Kind
	Name string
}

// String renders the target as kubectl names objects: serviceaccount/app.
func (t Target) String() string { return string(t.Kind) + "/" + t.Name }

// Parse reads NAME or TYPE/NAME, with an error that says which forms are accepted.
func Parse(arg string) (Target, error) {
	if IsPod(arg) {
		_, name, _ := strings.Cut(arg, "/")
		switch {
		case name == "":
			return Target{}, fmt.Errorf("target %q has no name: expected pod/NAME", arg)
		case strings.Contains(name, "/"):
			return Target{}, fmt.Errorf("target %q has more than one slash: expected pod/NAME", arg)
		}
		if msgs := targets.ValidName(name); msgs != "" {
			return Target{}, fmt.Errorf("target %q: %q is not a valid object name: %s", arg, name, msgs)
		}
		return Target{Kind: KindPod, Name: name}, nil
	}
	ref, err := targets.Parse(arg)
	if err != nil {
		return Target{}, err
	}
	kind, ok := verifyKinds[ref.Kind.Name]
	if !ok {
		return Target{}, fmt.Errorf("target %q: verify proves a service account or a deployment, statefulset or daemonset using one; %s is a custom resource whose operator runs its own pods: verify their service account instead", arg, ref.Kind.Name)
	}
	return Target{Kind: kind, Name: ref.Name}, nil
}

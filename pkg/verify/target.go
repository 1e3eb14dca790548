package verify

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Kind is the kind of object a TARGET names.
type Kind string

// Kinds verify accepts.
const (
	KindServiceAccount Kind = "serviceaccount"
	KindDeployment     Kind = "deployment"
	KindStatefulSet    Kind = "statefulset"
	KindDaemonSet      Kind = "daemonset"
)

// verifyKinds maps the kinds of pkg/targets that verify can prove to its own: a
// service account, or a workload whose pods run under one. TARGET parsing itself (aliases,
// name rules, messages) is the targets package's, shared with enable and disable.
var verifyKinds = map[string]Kind{
	"serviceaccount":   KindServiceAccount,
	"deployment.apps":  KindDeployment,
	"statefulset.apps": KindStatefulSet,
	"daemonset.apps":   KindDaemonSet,
}

// Target is a parsed TARGET: [serviceaccount/]NAME or deployment|statefulset|daemonset/NAME.
type Target struct {
	Kind Kind
	Name string
}

// String renders the target as kubectl names objects: serviceaccount/app.
func (t Target) String() string { return string(t.Kind) + "/" + t.Name }

// ParseTarget reads NAME or TYPE/NAME, with an error that says which forms are accepted.
func ParseTarget(arg string) (Target, error) {
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

// Workload is what the probe pod takes from the target, so it sees what the workload's pods
// see: the service account and the pod-level settings that decide where it runs and as whom.
type Workload struct {
	ServiceAccount  string
	SecurityContext *corev1.PodSecurityContext
	NodeSelector    map[string]string
	Tolerations     []corev1.Toleration
	HostNetwork     bool
	// Annotations and Labels of the pod template that the webhook reads: token-expiration and
	// the skip label.
	Annotations map[string]string
	Labels      map[string]string
	// ProxyEnv is the proxy env (probe.ProxyEnv) of the first container that sets any, so the
	// probe reaches STS the way that container does.
	ProxyEnv []corev1.EnvVar
}

// Resolve reads the target's pod template (one GET) or, for a service account, nothing: the
// probe then runs with the defaults. A missing workload is an error apierrors.IsNotFound
// recognises.
func Resolve(ctx context.Context, c kubernetes.Interface, namespace string, t Target) (Workload, error) {
	var tmpl *corev1.PodTemplateSpec
	switch t.Kind {
	case KindServiceAccount:
		return Workload{ServiceAccount: t.Name}, nil
	case KindDeployment:
		obj, err := c.AppsV1().Deployments(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, apicall.Wrap(err, "get", "deployments.apps", namespace, t.Name)
		}
		tmpl = &obj.Spec.Template
	case KindStatefulSet:
		obj, err := c.AppsV1().StatefulSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, apicall.Wrap(err, "get", "statefulsets.apps", namespace, t.Name)
		}
		tmpl = &obj.Spec.Template
	case KindDaemonSet:
		obj, err := c.AppsV1().DaemonSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, apicall.Wrap(err, "get", "daemonsets.apps", namespace, t.Name)
		}
		tmpl = &obj.Spec.Template
	default:
		return Workload{}, fmt.Errorf("unknown target kind %q", t.Kind)
	}
	w := Workload{
		ServiceAccount:  identity.ServiceAccountName(&tmpl.Spec),
		SecurityContext: tmpl.Spec.SecurityContext.DeepCopy(),
		NodeSelector:    tmpl.Spec.NodeSelector,
		Tolerations:     tmpl.Spec.Tolerations,
		HostNetwork:     tmpl.Spec.HostNetwork,
		ProxyEnv:        proxyEnv(tmpl.Spec.Containers),
	}
	if v, ok := tmpl.Annotations[identity.AnnotationTokenExpiration]; ok {
		w.Annotations = map[string]string{identity.AnnotationTokenExpiration: v}
	}
	if v, ok := tmpl.Labels[identity.LabelSkipPodIdentityWebhook]; ok {
		w.Labels = map[string]string{identity.LabelSkipPodIdentityWebhook: v}
	}
	return w, nil
}

// proxyEnv is the proxy env of the first container that sets any (env, not envFrom).
func proxyEnv(containers []corev1.Container) []corev1.EnvVar {
	for _, c := range containers {
		var out []corev1.EnvVar
		for _, e := range c.Env {
			if slices.Contains(probe.ProxyEnv, e.Name) {
				out = append(out, e)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

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
	// Container is the container whose env the probe copies; "" for a service account.
	Container string
	// Env is that container's identity env (probeEnv): the probe runs with it, so it takes
	// the container's role, region, endpoints and proxy.
	Env []corev1.EnvVar
	// NotCopied names the variables of that container the probe leaves out: credentials, and
	// paths to files only that container has.
	NotCopied []string
}

// OwnRoleARN is the AWS_ROLE_ARN the container sets itself, which the webhook leaves as it is:
// the role the container uses.
func (w Workload) OwnRoleARN() string {
	for _, e := range w.Env {
		if e.Name == identity.EnvRoleARN {
			return e.Value
		}
	}
	return ""
}

// Resolve reads the target's pod template (one GET) or, for a service account, nothing: the
// probe then runs with the defaults. For a pod, its own spec stands for the template. A missing
// workload is an error apierrors.IsNotFound recognises.
func Resolve(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, container string) (Workload, error) {
	w, _, err := resolve(ctx, c, namespace, t, container)
	return w, err
}

// owner is the object a target names, as far as finding its pods needs: its UID and pod
// selector, or the pod itself for a pod target.
type owner struct {
	uid      types.UID
	selector *metav1.LabelSelector
	pod      *corev1.Pod
}

// resolve is Resolve, with the object read.
func resolve(ctx context.Context, c kubernetes.Interface, namespace string, t checktarget.Target, container string) (Workload, owner, error) {
	var (
		tmpl *corev1.PodTemplateSpec
		own  owner
	)
	switch t.Kind {
	case checktarget.KindServiceAccount:
		return Workload{ServiceAccount: t.Name}, owner{}, nil
	case checktarget.KindDeployment:
		obj, err := c.AppsV1().Deployments(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, owner{}, apicall.Wrap(err, "get", "deployments.apps", namespace, t.Name)
		}
		tmpl, own = &obj.Spec.Template, owner{uid: obj.UID, selector: obj.Spec.Selector}
	case checktarget.KindStatefulSet:
		obj, err := c.AppsV1().StatefulSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, owner{}, apicall.Wrap(err, "get", "statefulsets.apps", namespace, t.Name)
		}
		tmpl, own = &obj.Spec.Template, owner{uid: obj.UID, selector: obj.Spec.Selector}
	case checktarget.KindDaemonSet:
		obj, err := c.AppsV1().DaemonSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, owner{}, apicall.Wrap(err, "get", "daemonsets.apps", namespace, t.Name)
		}
		tmpl, own = &obj.Spec.Template, owner{uid: obj.UID, selector: obj.Spec.Selector}
	case checktarget.KindPod:
		obj, err := c.CoreV1().Pods(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, owner{}, apicall.Wrap(err, "get", "pods", namespace, t.Name)
		}
		tmpl, own = &corev1.PodTemplateSpec{ObjectMeta: obj.ObjectMeta, Spec: obj.Spec}, owner{uid: obj.UID, pod: obj}
	default:
		return Workload{}, owner{}, fmt.Errorf("unknown target kind %q", t.Kind)
	}
	ct, err := pickContainer(tmpl, t, container)
	if err != nil {
		return Workload{}, owner{}, err
	}
	w := Workload{
		ServiceAccount:  identity.ServiceAccountName(&tmpl.Spec),
		SecurityContext: tmpl.Spec.SecurityContext.DeepCopy(),
		NodeSelector:    tmpl.Spec.NodeSelector,
		Tolerations:     tmpl.Spec.Tolerations,
		HostNetwork:     tmpl.Spec.HostNetwork,
		Container:       ct.Name,
	}
	if own.pod != nil {
		ct = withoutInjection(own.pod, ct)
	}
	w.Env, w.NotCopied = probeEnv(ct)
	if v, ok := tmpl.Annotations[identity.AnnotationTokenExpiration]; ok {
		w.Annotations = map[string]string{identity.AnnotationTokenExpiration: v}
	}
	if v, ok := tmpl.Labels[identity.LabelSkipPodIdentityWebhook]; ok {
		w.Labels = map[string]string{identity.LabelSkipPodIdentityWebhook: v}
	}
	return w, own, nil
}

// withoutInjection is a running pod's container without the env the webhook injected into
// it, so a probe pod made from it is admitted as the pod was: with its own injection, not
// with a role the container seems to set itself.
func withoutInjection(pod *corev1.Pod, c corev1.Container) corev1.Container {
	id := identity.InspectPod(pod)
	var drop []string
	if slices.Contains(id.InjectedContainers, c.Name) {
		drop = append(drop, identity.EnvRoleARN, identity.EnvTokenFile)
	}
	if id.PodIdentity {
		drop = append(drop, identity.EnvPodIdentityURI, identity.EnvPodIdentityToken)
	}
	c.Env = slices.DeleteFunc(slices.Clone(c.Env), func(e corev1.EnvVar) bool { return slices.Contains(drop, e.Name) })
	return c
}

// ErrNoSuchContainer is --container naming no container of the workload.
var ErrNoSuchContainer = errors.New("no such container")

// pickContainer is the container named, else the one kubectl picks by default: the
// kubectl.kubernetes.io/default-container annotation, else the first.
func pickContainer(tmpl *corev1.PodTemplateSpec, t checktarget.Target, name string) (corev1.Container, error) {
	names := make([]string, len(tmpl.Spec.Containers))
	for i, c := range tmpl.Spec.Containers {
		names[i] = c.Name
	}
	want := name
	if want == "" {
		want = tmpl.Annotations[DefaultContainerAnnotation]
	}
	for _, c := range tmpl.Spec.Containers {
		if c.Name == want {
			return c, nil
		}
	}
	if name != "" {
		return corev1.Container{}, fmt.Errorf("%w: %s has no container %q; its containers: %s", ErrNoSuchContainer, t, name, strings.Join(names, ", "))
	}
	if len(tmpl.Spec.Containers) == 0 {
		return corev1.Container{}, nil
	}
	return tmpl.Spec.Containers[0], nil
}

// DefaultContainerAnnotation names the container kubectl logs and exec pick by default.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// notCopiedEnv are identity variables the probe never takes from the workload: credentials
// (the probe proves the pod's identity, and secrets are not copied), and paths of files in the
// workload's own volumes or image, which the probe pod does not have.
var notCopiedEnv = append([]string{"AWS_CA_BUNDLE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", identity.EnvProfile}, identity.SecretEnv...)

// probeEnv is the env of c that steers an AWS SDK, for the probe: the proxy variables and
// every AWS_ one (region, endpoints, regional STS, the container's own role or agent URI) but
// those of notCopiedEnv, and a token file other than the webhooks' (the probe pod gets only
// what the webhook mounts). Values from the container's
// resources are left out too: they name a container the probe pod does not have.
func probeEnv(c corev1.Container) (env []corev1.EnvVar, notCopied []string) {
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "AWS_") && !slices.Contains(probe.ProxyEnv, e.Name) {
			continue
		}
		switch {
		case slices.Contains(notCopiedEnv, e.Name),
			e.Name == identity.EnvTokenFile && e.Value != identity.TokenFile,
			e.Name == identity.EnvPodIdentityToken && e.Value != identity.PodIdentityTokenFile,
			e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			notCopied = append(notCopied, e.Name)
		default:
			env = append(env, *e.DeepCopy())
		}
	}
	return env, notCopied
}

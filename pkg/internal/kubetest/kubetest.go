// Package kubetest builds the Kubernetes objects the tests of enable, disable and restart
// need: service accounts, workloads with a finished rollout, and their pods as the pod
// identity webhook leaves them. Only tests import it.
package kubetest

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// RoleARN is a valid role ARN for tests; OtherRoleARN another one.
const (
	RoleARN      = "arn:aws:iam::123456789012:role/app"
	OtherRoleARN = "arn:aws:iam::123456789012:role/old"
)

// ServiceAccount builds a service account with the given annotations and an unrelated
// annotation and label that writes must keep.
func ServiceAccount(ns, name string, annotations map[string]string) *corev1.ServiceAccount {
	a := map[string]string{"keep.example.com/note": "untouched"}
	for k, v := range annotations {
		a[k] = v
	}
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: a, Labels: map[string]string{"team": "payments"}},
	}
}

// Namespace builds a namespace.
func Namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func template(name, sa string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
}

func meta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(ns + "-" + name), Generation: 1}
}

// Deployment builds a Deployment of one replica whose rollout is complete.
func Deployment(ns, name, sa string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: meta(ns, name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, sa),
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
	}
}

// StatefulSet builds a StatefulSet of one replica whose rollout is complete.
func StatefulSet(ns, name, sa string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: meta(ns, name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:       ptr.To[int32](1),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:       template(name, sa),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "r1", UpdateRevision: "r1"},
	}
}

// DaemonSet builds a DaemonSet on one node whose rollout is complete.
func DaemonSet(ns, name, sa string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: meta(ns, name),
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:       template(name, sa),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
		},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, UpdatedNumberScheduled: 1, NumberReady: 1, NumberAvailable: 1},
	}
}

// Job builds a Job, owned by the CronJob cron unless cron is "".
func Job(ns, name, sa, cron string) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: meta(ns, name), Spec: batchv1.JobSpec{Template: template(name, sa)}}
	if cron != "" {
		j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cron, UID: types.UID(ns + "-" + cron), Controller: ptr.To(true)}}
	}
	return j
}

// PodOf builds a running pod of owner (a Deployment, StatefulSet, DaemonSet or Job, or nil for
// a bare pod), using the owner's service account (sa for a bare pod). A Deployment's pod is
// owned by its ReplicaSet <deployment>-<hash>, as the controller names it.
func PodOf(owner any, name, sa string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	ref := func(apiVersion, kind, name string, uid types.UID) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}}
	}
	switch o := owner.(type) {
	case *appsv1.Deployment:
		p.Namespace, p.Spec.ServiceAccountName = o.Namespace, o.Spec.Template.Spec.ServiceAccountName
		p.Labels["app"], p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = o.Name, "5d9f8c7b6"
		ref("apps/v1", "ReplicaSet", o.Name+"-5d9f8c7b6", "rs-uid")
	case *appsv1.StatefulSet:
		p.Namespace, p.Spec.ServiceAccountName, p.Labels["app"] = o.Namespace, o.Spec.Template.Spec.ServiceAccountName, o.Name
		ref("apps/v1", "StatefulSet", o.Name, o.UID)
	case *appsv1.DaemonSet:
		p.Namespace, p.Spec.ServiceAccountName, p.Labels["app"] = o.Namespace, o.Spec.Template.Spec.ServiceAccountName, o.Name
		ref("apps/v1", "DaemonSet", o.Name, o.UID)
	case *batchv1.Job:
		p.Namespace, p.Spec.ServiceAccountName = o.Namespace, o.Spec.Template.Spec.ServiceAccountName
		ref("batch/v1", "Job", o.Name, o.UID)
	case string: // a bare pod in this namespace
		p.Namespace = o
	}
	if p.Spec.ServiceAccountName == "" {
		p.Spec.ServiceAccountName = "default"
	}
	return p
}

// Inject mutates pod as the pod identity webhook does for cfg, and returns it.
func Inject(pod *corev1.Pod, cfg identity.Config) *corev1.Pod {
	exp := cfg.EffectiveExpiration(pod.Annotations)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: cfg.EffectiveAudience(), ExpirationSeconds: ptr.To(exp), Path: "token",
		}}}},
	}})
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Env = append(c.Env, corev1.EnvVar{Name: identity.EnvRoleARN, Value: cfg.RoleARN}, corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
		if cfg.STSRegional {
			c.Env = append(c.Env, corev1.EnvVar{Name: identity.EnvSTSRegional, Value: "regional"})
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
	}
	return pod
}

// Injected builds PodOf(owner, name, sa) carrying the injection for cfg.
func Injected(owner any, name, sa string, cfg identity.Config) *corev1.Pod {
	return Inject(PodOf(owner, name, sa), cfg)
}

// Counts tallies API calls as "verb resource", e.g. "list pods", "patch serviceaccounts".
type Counts map[string]int

// Writes is the number of create, update, patch and delete calls.
func (c Counts) Writes() int {
	n := 0
	for k, v := range c {
		verb, _, _ := strings.Cut(k, " ")
		switch verb { // "dry-run create" stores nothing
		case "create", "update", "patch", "delete":
			n += v
		}
	}
	return n
}

// Count tallies the calls a fake clientset recorded. A server-side dry-run create stores
// nothing: it counts as "dry-run create", not as a write.
func Count(actions []clienttesting.Action) Counts {
	c := Counts{}
	for _, a := range actions {
		verb := a.GetVerb()
		if create, ok := a.(clienttesting.CreateActionImpl); ok && len(create.GetCreateOptions().DryRun) > 0 {
			verb = "dry-run create"
		}
		c[verb+" "+a.GetResource().Resource]++
	}
	return c
}

// InjectPodIdentity mutates pod as the webhook does for an account with an EKS Pod Identity
// association, and returns it.
func InjectPodIdentity(pod *corev1.Pod) *corev1.Pod {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels["eks.amazonaws.com/pod-identity"] = "enabled"
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: identity.PodIdentityVolumeName, VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: identity.PodIdentityAudience, ExpirationSeconds: ptr.To[int64](80000), Path: identity.PodIdentityVolumeName,
		}}}},
	}})
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Env = append(c.Env,
			corev1.EnvVar{Name: identity.EnvPodIdentityURI, Value: "http://169.254.170.23/v1/credentials"},
			corev1.EnvVar{Name: identity.EnvPodIdentityToken, Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"})
	}
	return pod
}

// OnPodIdentity builds PodOf(owner, name, sa) carrying EKS Pod Identity's container credentials.
func OnPodIdentity(owner any, name, sa string) *corev1.Pod {
	return InjectPodIdentity(PodOf(owner, name, sa))
}

// Webhook makes client admit dry-run pod creates as the pod identity webhook does: a pod whose
// service account (as stored in client now) carries a role comes back injected, and nothing is
// stored. Lag, when positive, is how many dry runs of an account come back unmutated first, as
// from a webhook whose cache has not caught up.
func Webhook(client *fake.Clientset, lag int) { WebhookWithAssociations(client, lag, nil) }

// WebhookWithAssociations is Webhook in the webhook's EKS Pod Identity mode: a pod of an account
// associated reports (namespace, name) gets the container credentials, which win over role-arn.
func WebhookWithAssociations(client *fake.Clientset, lag int, associated func(namespace, name string) bool) {
	seen := map[string]int{}
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		create, ok := a.(clienttesting.CreateActionImpl)
		if !ok || len(create.GetCreateOptions().DryRun) == 0 {
			return false, nil, nil
		}
		pod := create.GetObject().(*corev1.Pod).DeepCopy()
		sa, err := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("serviceaccounts"), create.GetNamespace(), identity.ServiceAccountName(&pod.Spec))
		if err != nil {
			return true, pod, nil
		}
		key := create.GetNamespace() + "/" + pod.Spec.ServiceAccountName
		if seen[key]++; seen[key] <= lag {
			return true, pod, nil
		}
		if associated != nil && associated(create.GetNamespace(), identity.ServiceAccountName(&pod.Spec)) {
			InjectPodIdentity(pod)
		} else if cfg, ok := identity.FromAnnotations(sa.(*corev1.ServiceAccount).Annotations); ok {
			Inject(pod, cfg)
		}
		return true, pod, nil
	})
}

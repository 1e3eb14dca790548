package verify

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// Where the probe pod finds --ca-bundle: a ConfigMap named as the pod, mounted read-only, and
// AWS_CA_BUNDLE naming the file, as the AWS SDKs read it.
const (
	caBundleVolume = "kubectl-wi-ca-bundle"
	caBundleDir    = "/etc/kubectl-wi/ca-bundle"
	caBundleKey    = "ca.crt"
	// CABundlePath is the bundle's path inside the probe pod.
	CABundlePath = caBundleDir + "/" + caBundleKey
)

// caBundleConfigMap holds the bundle for the pod named name: labelled as probe pods are, so
// a leftover is as easy to find.
func caBundleConfigMap(name, namespace string, pem []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace,
			Labels: map[string]string{LabelName: LabelValue, "app.kubernetes.io/managed-by": "kubectl-wi"},
		},
		Data: map[string]string{caBundleKey: string(pem)},
	}
}

// withCABundle mounts the ConfigMap named as the pod and points AWS_CA_BUNDLE at it.
func withCABundle(pod *corev1.Pod) {
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: caBundleVolume, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: pod.Name}},
	}})
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: caBundleVolume, MountPath: caBundleDir, ReadOnly: true})
	c.Env = append(c.Env, corev1.EnvVar{Name: probe.EnvCABundle, Value: CABundlePath})
}

// createCABundle creates the ConfigMap, named as the first probe pod, before the pod, so the
// kubelet finds it at the first mount; cleanup deletes it on every exit path.
func (r *runner) createCABundle(ctx context.Context) error {
	cm := caBundleConfigMap(r.podName, r.cfg.Namespace, r.cfg.CABundle)
	sctx, cancel := r.storeContext(ctx)
	_, err := r.deps.Client.CoreV1().ConfigMaps(r.cfg.Namespace).Create(sctx, cm, metav1.CreateOptions{})
	cancel()
	if err != nil {
		return r.ctxOr(ctx, fmt.Errorf("failed to create the ConfigMap %s/%s for --ca-bundle: %w", r.cfg.Namespace, r.podName, apicall.Wrap(err, "create", "configmaps", r.cfg.Namespace, r.podName)))
	}
	r.caBundle = cm.Name
	return r.ctxOr(ctx, ctx.Err())
}

// ownCABundle makes the pod the ConfigMap's owner, so the garbage collector removes it with
// the pod even when verify is killed, or when --keep keeps the pod.
func (r *runner) ownCABundle(ctx context.Context, pod *corev1.Pod) {
	if r.caBundle == "" {
		return
	}
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":%q,"uid":%q}]}}`, pod.Name, pod.UID)
	// Best effort: cleanup deletes the ConfigMap anyway.
	_, _ = r.deps.Client.CoreV1().ConfigMaps(r.cfg.Namespace).Patch(ctx, r.caBundle, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
}

// deleteCABundle deletes the ConfigMap, unless it stays with a kept pod that owns it.
func (r *runner) deleteCABundle(ctx context.Context) error {
	if r.caBundle == "" || r.out.Kept {
		return nil
	}
	err := r.deps.Client.CoreV1().ConfigMaps(r.cfg.Namespace).Delete(ctx, r.caBundle, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete the ConfigMap %s/%s: %w", r.cfg.Namespace, r.caBundle, err)
	}
	return nil
}

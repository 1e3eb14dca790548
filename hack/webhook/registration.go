package webhook

import (
	"context"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// WebhookName is the name of the webhook inside the configuration, the one EKS uses.
const WebhookName = "iam-for-pods.amazonaws.com"

// Registration returns the MutatingWebhookConfiguration that makes the apiserver call the
// webhook at url (https://127.0.0.1:PORT/mutate on loopback) for every pod CREATE, trusting
// caBundle (PEM). Failures are ignored (failurePolicy Ignore, as on EKS), the webhook is called
// again when a later webhook changes the pod (reinvocationPolicy IfNeeded), and pods labelled
// eks.amazonaws.com/skip-pod-identity-webhook are never sent.
func Registration(name, url string, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	return RegistrationFor(DefaultConfig(), name, url, caBundle)
}

// RegistrationFor is Registration with the skip label taken from cfg's annotation prefix.
func RegistrationFor(cfg Config, name, url string, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	failurePolicy := admissionregistrationv1.Ignore
	reinvocation := admissionregistrationv1.IfNeededReinvocationPolicy
	sideEffects := admissionregistrationv1.SideEffectClassNone
	matchPolicy := admissionregistrationv1.Equivalent
	scope := admissionregistrationv1.NamespacedScope
	timeout := int32(10)
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{
			APIVersion: admissionregistrationv1.SchemeGroupVersion.String(),
			Kind:       "MutatingWebhookConfiguration",
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{"app.kubernetes.io/name": "wi-webhook"},
		},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         WebhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
					Scope:       &scope,
				},
			}},
			FailurePolicy:           &failurePolicy,
			MatchPolicy:             &matchPolicy,
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &reinvocation,
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key:      cfg.SkipLabel(),
				Operator: metav1.LabelSelectorOpDoesNotExist,
			}}},
		}},
	}
}

// Register creates the configuration, or replaces the one of the same name.
func Register(ctx context.Context, client kubernetes.Interface, cfg *admissionregistrationv1.MutatingWebhookConfiguration) error {
	api := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		existing, err := api.Get(ctx, cfg.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = api.Create(ctx, cfg, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		update := cfg.DeepCopy()
		update.ResourceVersion = existing.ResourceVersion
		_, err = api.Update(ctx, update, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("failed to register mutatingwebhookconfiguration %s: %w", cfg.Name, err)
	}
	return nil
}

// Unregister deletes the configuration called name; one that does not exist is not an error.
func Unregister(ctx context.Context, client kubernetes.Interface, name string) error {
	err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete mutatingwebhookconfiguration %s: %w", name, err)
	}
	return nil
}

// WaitUntilCalled returns once the apiserver calls the webhook: it creates a pod in namespace
// with server-side dry-run (nothing is stored) every interval until called reports true, which
// closes the gap between registering a configuration and the apiserver using it. It gives up
// when ctx is done, returning the last error from the apiserver, if any.
func WaitUntilCalled(ctx context.Context, client kubernetes.Interface, namespace string, interval time.Duration, called func() bool) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "wi-webhook-readiness-",
			Labels:       map[string]string{"app.kubernetes.io/name": "wi-webhook-readiness"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "readiness", Image: "wi-webhook-readiness:none"}},
		},
	}
	var lastErr error
	for {
		_, err := client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if called() {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("the apiserver did not call the webhook: last dry-run pod create: %w", lastErr)
			}
			return fmt.Errorf("the apiserver did not call the webhook: %w", ctx.Err())
		case <-time.After(interval):
		}
	}
}

package restart

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// admissionParallelism bounds the dry-run creates in flight at once.
const admissionParallelism = 16

// Unseen is an account whose new identity the webhook could not be shown to admit pods with.
type Unseen struct {
	Account *Account
	Reason  string
}

// AwaitAdmission returns once the pod identity webhook admits a new pod of each account with
// the identity the account now asks for, or when timeout has passed. The webhook reads service
// accounts from an informer cache that can lag behind a change by a second or more, and a pod
// created in that window is admitted without the identity, for good: restarting right after
// annotating would replace working pods with pods that have none.
//
// Each check is a server-side dry-run create of a minimal pod as the account, which goes
// through admission, webhooks included, and stores nothing. It returns the accounts it could
// not confirm, with why (the webhook lags past the timeout, is down, or the dry run was refused).
func AwaitAdmission(ctx context.Context, c kubernetes.Interface, accounts []*Account, timeout, interval time.Duration) []Unseen {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		unseen []Unseen
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, admissionParallelism)
	for _, a := range accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if reason := awaitOne(ctx, c, a, interval); reason != "" {
				mu.Lock()
				unseen = append(unseen, Unseen{Account: a, Reason: reason})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Report in the accounts' order.
	order := map[*Account]int{}
	for i, a := range accounts {
		order[a] = i
	}
	slices.SortFunc(unseen, func(x, y Unseen) int { return order[x.Account] - order[y.Account] })
	return unseen
}

// AwaitAdmissionWritten is AwaitAdmission for accounts whose annotations this run wrote one
// after the other, in the order given (each write acknowledged before the next was sent), with
// far fewer dry runs: it waits for the last one only. The webhook reads service accounts from
// one informer, whose watch delivers changes in the order etcd committed them; once a dry-run
// pod of the account written last comes back with its new identity, the webhook instance that
// answered has every earlier write in its cache too. That is the guarantee AwaitAdmission gives
// account by account (some instance admits each account's new identity; with several
// instances, each a dry run may reach, neither proves them all).
//
// What the ordering does not cover is checked account by account, as AwaitAdmission does:
// accounts judged by EKS Pod Identity (its associations do not come from service accounts),
// and every account when the last one is not confirmed in half the time (its namespace may
// not be the webhook's, for one), in the time that is left.
func AwaitAdmissionWritten(ctx context.Context, c kubernetes.Interface, written []*Account, timeout, interval time.Duration) []Unseen {
	var byAnnotation, others []*Account
	for _, a := range written {
		if a.PodIdentity == PodIdentityUnjudged {
			byAnnotation = append(byAnnotation, a)
		} else {
			others = append(others, a)
		}
	}
	if len(byAnnotation) < 2 {
		return AwaitAdmission(ctx, c, written, timeout, interval)
	}
	// Half the time for the last account: when it is never confirmed (its namespace is not
	// the webhook's, say), the other half goes to checking each account.
	deadline := time.Now().Add(timeout)
	last := byAnnotation[len(byAnnotation)-1]
	lastCtx, cancel := context.WithTimeout(ctx, timeout/2)
	reason := awaitOne(lastCtx, c, last, interval)
	cancel()
	if reason != "" {
		others = written // nothing is shown for the earlier ones: each is checked
	}
	if len(others) == 0 {
		return nil
	}
	return AwaitAdmission(ctx, c, others, max(time.Until(deadline), 0), interval)
}

// awaitOne dry-runs a pod of a until the webhook admits it with a's identity; it returns "" then,
// else why not.
func awaitOne(ctx context.Context, c kubernetes.Interface, a *Account, interval time.Duration) string {
	last := ""
	for {
		pod, err := c.CoreV1().Pods(a.Namespace).Create(ctx, AdmissionPod(a.Name), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		switch {
		case err == nil:
			state, why := staleness(pod, a)
			if state != identity.PodStale {
				return ""
			}
			last = "a pod created now would be admitted stale: " + why
		case ctx.Err() != nil:
		case apierrors.IsForbidden(err):
			return fmt.Sprintf("cannot check: a dry-run create of a pod as serviceaccount/%s in namespace %q was forbidden (%v)", a.Name, a.Namespace, err)
		default:
			last = fmt.Sprintf("a dry-run create of a pod as serviceaccount/%s failed: %v", a.Name, err)
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = ctx.Err().Error()
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "the webhook did not admit pods with the new identity in time: " + last
			}
			return last
		case <-time.After(interval):
		}
	}
}

// AdmissionPod is the pod whose dry-run create shows what the webhook would give a new pod of
// serviceAccount: minimal, and admitted by the restricted Pod Security profile and by quotas
// that require resources.
func AdmissionPod(serviceAccount string) *corev1.Pod {
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("4Mi")}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "wi-admission-check-",
			Labels:       map[string]string{"app.kubernetes.io/name": "kubectl-wi-admission-check"},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			RestartPolicy:      corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:      "check",
				Image:     "kubectl-wi-admission-check:none",
				Resources: corev1.ResourceRequirements{Requests: small, Limits: small},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

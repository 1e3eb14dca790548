package annotate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// Ref renders kind/name, with the namespace when the run spans namespaces.
func (c *Config) Ref(kindName, namespace string) string {
	if c.AllNamespaces {
		return kindName + " -n " + namespace
	}
	return kindName
}

// plan works out a's changes toward cfg.Want, keeping the annotations cfg.Keep names, and the
// identity the account then asks for.
func (r *runner) plan(a *Account) {
	want := r.cfg.Want
	var have map[string]string
	if a.SA != nil {
		have = a.SA.Annotations
	}
	a.Changes = identity.AnnotationChanges(have, want)
	for _, key := range r.cfg.Keep {
		delete(a.Changes, key)
	}
	a.Want = nil
	if want != nil {
		after := map[string]string{}
		for k, v := range have {
			after[k] = v
		}
		for k, v := range a.Changes {
			if v == nil {
				delete(after, k)
			} else {
				after[k] = *v
			}
		}
		cfg, _ := identity.FromAnnotations(after)
		a.Want = &cfg
	}
}

// refuseOverwrite refuses, before any write, to replace a role that an account or custom
// resource already has with another, unless Overwrite: the error names every one of them,
// as kubectl annotate does for an annotation that has a value.
func (r *runner) refuseOverwrite(accounts []*Account, custom []*CustomTarget) error {
	want := r.cfg.Want
	if want == nil || r.cfg.Overwrite {
		return nil
	}
	var held []string
	for _, a := range accounts {
		if a.SA == nil || a.Changes[identity.AnnotationRoleARN] == nil {
			continue
		}
		if have := a.SA.Annotations[identity.AnnotationRoleARN]; have != "" {
			held = append(held, fmt.Sprintf("serviceaccount/%s -n %s has %s", a.Name, a.Namespace, have))
		}
	}
	for _, t := range custom {
		if have := t.Ref.Kind.Custom.RoleARN(t.Live); have != "" && have != want.RoleARN {
			held = append(held, fmt.Sprintf("%s has %s", r.cfg.Ref(t.Ref.String(), t.Namespace), have))
		}
	}
	return RefuseReplace(held, want.RoleARN)
}

// RefuseReplace is the error of a run that would replace the roles held (one line each)
// without --overwrite; nil when none is.
func RefuseReplace(held []string, roleARN string) error {
	if len(held) == 0 {
		return nil
	}
	them := "them"
	if len(held) == 1 {
		them = "it"
	}
	return inputErrorf("refusing to replace an existing role without --overwrite: %s; nothing was changed (add --overwrite to give %s %s)",
		strings.Join(held, "; "), them, roleARN)
}

// write applies one account's changes: a JSON merge patch of only the identity annotations
// (null removes one), or a create. Nothing is sent for a client dry run; Result is then what
// the server would store.
func (r *runner) write(ctx context.Context, a *Account) error {
	c, want := r.deps.Client, r.cfg.Want
	if len(a.Changes) == 0 {
		a.Result = a.SA
		return nil
	}
	if a.SA == nil {
		raced, err := r.create(ctx, a, want.Annotations())
		if err != nil || !raced {
			return err
		}
		// Created since we looked: annotate the one that is there.
		r.plan(a)
		if err := r.refuseOverwrite([]*Account{a}, nil); err != nil {
			return err
		}
		return r.write(ctx, a)
	}
	if r.cfg.DryRun == DryRunClient {
		a.Result = applyChanges(a.SA, a.Changes)
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": a.Changes}})
	if err != nil {
		return err
	}
	// The patch carries no resourceVersion, so it does not conflict with other writers; a
	// Conflict can still come from the server's own retries running out, and is retried.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := c.CoreV1().ServiceAccounts(a.Namespace).Patch(ctx, a.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: r.serverDryRun()})
		if err == nil {
			a.Result = got
		}
		return err
	})
	return apicall.Wrap(err, "patch", "serviceaccounts", a.Namespace, a.Name)
}

// create creates a's missing service account with the annotations (--create), or for a client
// dry run only sets Result to it. raced is true when the account was created by someone else
// since it was found missing: a.SA is then the one there, and nothing was created.
func (r *runner) create(ctx context.Context, a *Account, annotations map[string]string) (raced bool, err error) {
	c := r.deps.Client
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace, Annotations: annotations}}
	if r.cfg.DryRun == DryRunClient {
		a.Result = sa
		return false, nil
	}
	got, err := c.CoreV1().ServiceAccounts(a.Namespace).Create(ctx, sa, metav1.CreateOptions{DryRun: r.serverDryRun()})
	if apierrors.IsAlreadyExists(err) {
		if a.SA, err = c.CoreV1().ServiceAccounts(a.Namespace).Get(ctx, a.Name, metav1.GetOptions{}); err != nil {
			return false, apicall.Wrap(err, "get", "serviceaccounts", a.Namespace, a.Name)
		}
		return true, nil
	}
	a.Result = got
	return false, apicall.Wrap(err, "create", "serviceaccounts", a.Namespace, "")
}

func applyChanges(sa *corev1.ServiceAccount, changes map[string]*string) *corev1.ServiceAccount {
	out := sa.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for k, v := range changes {
		if v == nil {
			delete(out.Annotations, k)
		} else {
			out.Annotations[k] = *v
		}
	}
	return out
}

// serverDryRun is the DryRun option of the writes sent to the apiserver.
func (r *runner) serverDryRun() []string {
	if r.cfg.DryRun == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

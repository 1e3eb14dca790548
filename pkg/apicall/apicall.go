// Package apicall holds how kubectl-wi calls the Kubernetes API: LISTs read in pages, errors
// that name the verb, resource and namespace of the failed call, so an RBAC denial says
// exactly which permission to ask for, and the cluster's issuer read from the apiserver's
// discovery document.
package apicall

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PageSize is the number of objects asked for per LIST request, as kubectl's --chunk-size.
const PageSize = 500

// Error is a failed API call. It unwraps to the API error, so apierrors.IsForbidden and
// friends still work on it.
type Error struct {
	Verb      string // get, list, patch, create
	Resource  string // the plural resource, with its group when not core: deployments.apps
	Namespace string // "" for every namespace
	Name      string // "" for a LIST
	Err       error
}

// Error names the call; a forbidden one says which RBAC verb and resource to ask for.
func (e *Error) Error() string {
	where := fmt.Sprintf("in namespace %q", e.Namespace)
	if e.Namespace == "" {
		where = "at the cluster scope"
	}
	target := e.Resource
	if e.Name != "" {
		target = fmt.Sprintf("%s %q", e.Resource, e.Name)
	}
	if errors.Is(e.Err, context.Canceled) {
		return e.Interrupted()
	}
	if rbacDenied(e.Err) {
		hint := ""
		if e.Namespace == "" {
			hint = " in every namespace (a ClusterRole and ClusterRoleBinding)"
		}
		return fmt.Sprintf("cannot %s %s %s: forbidden; ask for RBAC verb %q on %q%s",
			e.Verb, e.Resource, where, e.Verb, e.Resource, hint)
	}
	if e.Verb == "list" && apierrors.IsResourceExpired(e.Err) {
		return fmt.Sprintf("the list of %s %s expired while it was read in pages (the cluster changed a lot meanwhile); run the command again", e.Resource, where)
	}
	return fmt.Sprintf("failed to %s %s %s: %v", e.Verb, target, where, e.Err)
}

// Interrupted is what to say of the call when the run was interrupted (Ctrl-C) while it was
// in flight: client-go's error is the request's URL (with a continue token mid-LIST), and
// its cause may be the signal's rather than context.Canceled; which call was cut short is all
// there is to say.
func (e *Error) Interrupted() string {
	where := fmt.Sprintf("in namespace %q", e.Namespace)
	if e.Namespace == "" {
		where = "at the cluster scope"
	}
	target := e.Resource
	if e.Name != "" {
		target = fmt.Sprintf("%s %q", e.Resource, e.Name)
	}
	return fmt.Sprintf("interrupted during the %s of %s %s", e.Verb, target, where)
}

// rbacDenied is true for a 403 from the authorizer ("User ... cannot create resource ...").
// Admission answers 403 too (a Pod Security violation, an exceeded quota, a webhook's denial),
// and asking for RBAC would not help with those.
func rbacDenied(err error) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, " cannot ") || strings.Contains(msg, "RBAC")
}

// Unwrap returns the API error.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns nil for a nil err, or err as an *Error naming the call.
func Wrap(err error, verb, resource, namespace, name string) error {
	if err == nil {
		return nil
	}
	return &Error{Verb: verb, Resource: resource, Namespace: namespace, Name: name, Err: err}
}

// ListAll reads every page of a LIST. list is one request; it returns the page's items and
// its ListMeta, whose Continue token asks for the next page.
func ListAll[T any](ctx context.Context, opts metav1.ListOptions, list func(context.Context, metav1.ListOptions) ([]T, metav1.ListMeta, error)) ([]T, error) {
	var all []T
	err := EachPage(ctx, opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		items, meta, err := list(ctx, o)
		all = append(all, items...)
		return meta.Continue, err
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// EachPage calls page for each page of a LIST (PageSize objects) until the server returns no
// continue token. page handles the items it got and returns the token, so a caller that folds
// pages as they come keeps none of them.
func EachPage(ctx context.Context, opts metav1.ListOptions, page func(context.Context, metav1.ListOptions) (string, error)) error {
	opts.Limit = PageSize
	for {
		cont, err := page(ctx, opts)
		if err != nil {
			return err
		}
		if cont == "" {
			return nil
		}
		opts.Continue = cont
	}
}

package apicall

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestErrorMessage(t *testing.T) {
	// As the authorizer words a denial; admission's 403s are not about RBAC.
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "app",
		errors.New(`User "jane" cannot patch resource "serviceaccounts" in API group "" in the namespace "x"`))
	podSecurity := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New(`violates PodSecurity "restricted:latest": runAsNonRoot != true`))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "forbidden in namespace", err: Wrap(forbidden, "patch", "serviceaccounts", "x", "app"),
			want: `cannot patch serviceaccounts in namespace "x": forbidden; ask for RBAC verb "patch" on "serviceaccounts"`},
		{name: "forbidden cluster-wide", err: Wrap(forbidden, "list", "pods", "", ""),
			want: `cannot list pods at the cluster scope: forbidden; ask for RBAC verb "list" on "pods" in every namespace (a ClusterRole and ClusterRoleBinding)`},
		{name: "forbidden by admission", err: Wrap(podSecurity, "create", "pods", "x", "p"),
			want: `failed to create pods "p" in namespace "x": pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`},
		{name: "a paged list that expired", err: Wrap(apierrors.NewResourceExpired("too old"), "list", "pods", "", ""),
			want: `the list of pods at the cluster scope expired while it was read in pages (the cluster changed a lot meanwhile); run the command again`},
		{name: "interrupted mid-list: no URL, no continue token", err: Wrap(&url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api/v1/pods?continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ&limit=500", Err: context.Canceled}, "list", "pods", "x", ""),
			want: `interrupted during the list of pods in namespace "x"`},
		{name: "other error", err: Wrap(errors.New("boom"), "get", "deployments.apps", "x", "web"),
			want: `failed to get deployments.apps "web" in namespace "x": boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q\nwant      %q", got, tt.want)
			}
		})
	}
	if !apierrors.IsForbidden(Wrap(forbidden, "patch", "serviceaccounts", "x", "app")) {
		t.Fatal("a wrapped forbidden error is no longer IsForbidden")
	}
	if err := Wrap(&url.Error{Op: "Get", URL: "https://x", Err: context.Canceled}, "list", "pods", "", ""); !errors.Is(err, context.Canceled) {
		t.Fatal("an interrupted call no longer unwraps to context.Canceled, so its exit code is not 130")
	}
	if Wrap(nil, "get", "pods", "", "") != nil {
		t.Fatal("Wrap(nil) != nil")
	}
}

func TestListAllFollowsContinue(t *testing.T) {
	var calls []metav1.ListOptions
	pages := map[string][]int{"": {1, 2}, "a": {3}, "b": {4, 5}}
	next := map[string]string{"": "a", "a": "b", "b": ""}
	got, err := ListAll(context.Background(), metav1.ListOptions{LabelSelector: "x=y"}, func(_ context.Context, o metav1.ListOptions) ([]int, metav1.ListMeta, error) {
		calls = append(calls, o)
		return pages[o.Continue], metav1.ListMeta{Continue: next[o.Continue]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(calls) != 3 {
		t.Fatalf("got %v in %d calls", got, len(calls))
	}
	for _, c := range calls {
		if c.Limit != PageSize || c.LabelSelector != "x=y" {
			t.Fatalf("call options %+v", c)
		}
	}
	_, err = ListAll(context.Background(), metav1.ListOptions{}, func(context.Context, metav1.ListOptions) ([]int, metav1.ListMeta, error) {
		return nil, metav1.ListMeta{}, errors.New("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

package monitorinstall

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Manifests are Objects as they are applied and printed: no status, no creationTimestamp,
// the fields install owns and nothing else. With rules, the PrometheusRule comes last.
func (c Config) Manifests(rules bool) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, obj := range c.Objects() {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Errorf("failed to convert %T: %w", obj, err)
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		out = append(out, u)
	}
	if rules {
		pr, err := c.PrometheusRule()
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// ResourceName is a kind's resource as the API and RBAC name it (every kind install writes
// takes a plain s): deployments.apps, serviceaccounts.
func ResourceName(kind, group string) string {
	r := strings.ToLower(kind) + "s"
	if group != "" {
		r += "." + group
	}
	return r
}

// ObjectName is u as kubectl prints it: deployment.apps/kubectl-wi-monitor.
func ObjectName(u *unstructured.Unstructured) string {
	k := strings.ToLower(u.GetKind())
	if g := u.GroupVersionKind().Group; g != "" {
		k += "." + g
	}
	return k + "/" + u.GetName()
}

package monitorinstall

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// newFakeDynamic is a dynamic client that knows the PrometheusRule. The fake's tracker cannot
// create by server-side apply, so an apply returns the object it was sent.
func newFakeDynamic() *dynamicfake.FakeDynamicClient {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{PrometheusRuleGVR: "PrometheusRuleList"})
	dyn.PrependReactor("patch", PrometheusRuleGVR.Resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(a.(k8stesting.PatchAction).GetPatch(), &u.Object); err != nil {
			return true, nil, err
		}
		return true, u, nil
	})
	return dyn
}

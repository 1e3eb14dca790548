package plugin

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// newClientset builds a typed client from the kubectl flags, returning the error rather than
// exiting.
func newClientset(cf *genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a client: %w", err)
	}
	return client, nil
}

// listOptions is the page size used for every LIST, so large clusters are read in pages.
func listOptions() metav1.ListOptions { return metav1.ListOptions{Limit: 500} }

package plugin

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// newClientset builds a typed client from the kubectl flags, returning the error rather than
// exiting.
//
// The client is not rate limited on the client side. client-go's default of 5 requests per
// second made `enable -l` on 500 service accounts spend over three minutes waiting to send its
// 1,000 patches, slower than a loop of kubectl commands. The commands send one request at a
// time (status: a few LISTs at once), and the apiserver's API Priority and Fairness protects
// it, which SIG API Machinery recommends relying on (controller-runtime disables the
// client-side limiter too).
func newClientset(cf *genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS = -1 // negative: no client-side rate limiter
	}
	// Protobuf, as kubectl and the controllers ask for built-in types: decoding a page of 500
	// pods from it takes a fraction of the CPU and garbage that JSON does, which is most of
	// status -A's time on a large cluster. JSON stays acceptable for what has no protobuf.
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.ContentType = runtime.ContentTypeProtobuf
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a client: %w", err)
	}
	return client, nil
}

// listOptions is the page size used for every LIST, so large clusters are read in pages.
func listOptions() metav1.ListOptions { return metav1.ListOptions{Limit: 500} }

// Command listpods reads every pod of the cluster the way `kubectl wi status -A` reads them
// (client-go, protobuf, no client-side rate limit, pages of apicall.PageSize) and does nothing
// else with them: `make bench-status` runs it beside status -A, so status's time is told
// against what the LIST alone costs on the same cluster and machine.
//
//	listpods
//
// It prints the number of pods and pages read. KUBECONFIG names the cluster.
package main

import (
	"context"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "listpods:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return err
	}
	// As the plugin's client (pkg/plugin/clients.go).
	cfg.QPS = -1
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.ContentType = runtime.ContentTypeProtobuf
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	pods, pages := 0, 0
	err = apicall.EachPage(context.Background(), metav1.ListOptions{}, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		l, err := client.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return "", err
		}
		pods += len(l.Items)
		pages++
		return l.Continue, nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d pods in %d pages\n", pods, pages)
	return nil
}

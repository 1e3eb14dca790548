package plugin

import (
	"io"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// fakeDeps are the deps of a command's unit test: client for the cluster, a kubeconfig that
// names no EKS cluster, no terminal, no custom resource clients, no AWS behind verify's
// refusals, and an empty environment.
func fakeDeps(client kubernetes.Interface) deps {
	d := defaultDeps()
	d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
	d.newCustom = nil
	d.kubeconfig = kubeconfigOf(func() (clientcmdapi.Config, error) { return clientcmdapi.Config{}, nil })
	d.explainRefusal = nil
	d.isTerminal = func(io.Writer) bool { return false }
	d.env = environment{}
	return d
}

// kubeconfigOf is a deps.kubeconfig that reads raw, whatever the flags.
func kubeconfigOf(raw func() (clientcmdapi.Config, error)) func(*genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error) {
	return func(*genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error) { return raw }
}

package plugin

import (
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestEKSClusterOfKubeconfig(t *testing.T) {
	arnCfg := clientcmdapi.Config{CurrentContext: "c", Contexts: map[string]*clientcmdapi.Context{"c": {Cluster: "arn:aws:eks:eu-west-1:111122223333:cluster/prod", AuthInfo: "u"}}}
	if n, r := eksClusterOf(arnCfg); n != "prod" || r != "eu-west-1" {
		t.Fatalf("ARN: %q %q", n, r)
	}
	execCfg := clientcmdapi.Config{CurrentContext: "c",
		Contexts:  map[string]*clientcmdapi.Context{"c": {Cluster: "mine", AuthInfo: "u"}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"u": {Exec: &clientcmdapi.ExecConfig{Command: "aws", Args: []string{"--region", "us-east-2", "eks", "get-token", "--cluster-name", "dev"}}}}}
	if n, r := eksClusterOf(execCfg); n != "dev" || r != "us-east-2" {
		t.Fatalf("exec: %q %q", n, r)
	}
	if n, _ := eksClusterOf(clientcmdapi.Config{CurrentContext: "c", Contexts: map[string]*clientcmdapi.Context{"c": {Cluster: "kind"}}}); n != "" {
		t.Fatalf("not EKS: %q", n)
	}
}

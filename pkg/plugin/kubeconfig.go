package plugin

import (
	"slices"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// eksClusterOf reads the EKS cluster of the kubeconfig's current context: its cluster entry
// named by ARN (aws eks update-kubeconfig names it so), or the --cluster-name and --region of
// its aws eks get-token exec plugin.
func eksClusterOf(raw clientcmdapi.Config) (name, region string) {
	ctx := raw.Contexts[raw.CurrentContext]
	if ctx == nil {
		return "", ""
	}
	if p := strings.SplitN(ctx.Cluster, ":", 6); len(p) == 6 && p[0] == "arn" && p[2] == "eks" && strings.HasPrefix(p[5], "cluster/") {
		return strings.TrimPrefix(p[5], "cluster/"), p[3]
	}
	if ai := raw.AuthInfos[ctx.AuthInfo]; ai != nil && ai.Exec != nil && slices.Contains(ai.Exec.Args, "get-token") {
		args := ai.Exec.Args
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--cluster-name", "-i", "--cluster-id":
				name = args[i+1]
			case "--region":
				region = args[i+1]
			}
		}
	}
	return name, region
}

package plugin

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// eksClusterHelp says where --eks-cluster's default comes from, for each command that takes it.
const eksClusterHelp = "default: the EKS cluster of the kubeconfig's context, as --context, --cluster and --user select it: " +
	"its cluster named by ARN (aws eks update-kubeconfig names it so), else the --cluster-name of its aws eks get-token command"

// namespaceOf is the namespace a command works in, as kubectl reads it: -n, else the
// kubeconfig context's, else default; "" for every namespace (-A), with no kubeconfig read.
func namespaceOf(cf *genericclioptions.ConfigFlags, allNamespaces bool) (string, error) {
	if allNamespaces {
		return "", nil
	}
	ns, _, err := cf.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	return ns, nil
}

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

// selectedContext is raw with its current context as kubectl's flags select it: --context
// names the context, and --cluster and --user replace its cluster and user. The EKS cluster
// read from it is then the one the command talks to.
func selectedContext(raw clientcmdapi.Config, cf *genericclioptions.ConfigFlags) clientcmdapi.Config {
	if cf == nil {
		return raw
	}
	name := raw.CurrentContext
	if cf.Context != nil && *cf.Context != "" {
		name = *cf.Context
	}
	var sel clientcmdapi.Context
	if c := raw.Contexts[name]; c != nil {
		sel = *c
	}
	if cf.ClusterName != nil && *cf.ClusterName != "" {
		sel.Cluster = *cf.ClusterName
	}
	if cf.AuthInfoName != nil && *cf.AuthInfoName != "" {
		sel.AuthInfo = *cf.AuthInfoName
	}
	contexts := make(map[string]*clientcmdapi.Context, len(raw.Contexts)+1)
	for k, v := range raw.Contexts {
		contexts[k] = v
	}
	contexts[name] = &sel
	raw.Contexts, raw.CurrentContext = contexts, name
	return raw
}

// checkClusterFlag refuses a --cluster that names no cluster of the kubeconfig, as kubectl
// does (cluster "X" does not exist), before anything is read. --cluster is kubectl's flag in
// every command; a command that takes an EKS cluster's name has --eks-cluster for it, and the
// error names it there, for a name meant as the EKS cluster's.
func checkClusterFlag(cmd *cobra.Command, cf *genericclioptions.ConfigFlags) error {
	if cf == nil || cf.ClusterName == nil || *cf.ClusterName == "" || (cf.APIServer != nil && *cf.APIServer != "") {
		return nil
	}
	raw, err := cf.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil // the command reports the kubeconfig it cannot load
	}
	name := *cf.ClusterName
	if _, ok := raw.Clusters[name]; ok {
		return nil
	}
	msg := fmt.Sprintf("cluster %q does not exist in the kubeconfig: --cluster names a kubeconfig cluster, as in kubectl (kubectl config get-clusters lists them)", name)
	if cmd != nil && cmd.Flags().Lookup("eks-cluster") != nil {
		msg += fmt.Sprintf("; to name the EKS cluster, pass --eks-cluster %s", name)
	}
	return FlagErrorf("%s", msg)
}

// kubeconfigClusters are the names of the kubeconfig's clusters, for --cluster's completion.
func kubeconfigClusters(raw clientcmdapi.Config) []string {
	names := make([]string, 0, len(raw.Clusters))
	for name := range raw.Clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// kubeconfigEKSClusters are the EKS clusters the kubeconfig's contexts name, for
// --eks-cluster's completion.
func kubeconfigEKSClusters(raw clientcmdapi.Config) []string {
	seen := map[string]bool{}
	for name := range raw.Contexts {
		raw.CurrentContext = name
		if eks, _ := eksClusterOf(raw); eks != "" {
			seen[eks] = true
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// completeEKSCluster completes --eks-cluster, in every command of root that has it, with the
// EKS clusters of the kubeconfig.
func completeEKSCluster(root *cobra.Command, cf *genericclioptions.ConfigFlags) {
	complete := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		raw, err := cf.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return kubeconfigEKSClusters(raw), cobra.ShellCompDirectiveNoFileComp
	}
	for _, c := range root.Commands() {
		if c.Flags().Lookup("eks-cluster") != nil {
			_ = c.RegisterFlagCompletionFunc("eks-cluster", complete)
		}
	}
}

// selectedConfig reads the kubeconfig as kubectl's flags select its context (selectedContext),
// for commands that find the EKS cluster there; empty without flags (tests).
func selectedConfig(cf *genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error) {
	return func() (clientcmdapi.Config, error) {
		if cf == nil {
			return clientcmdapi.Config{}, nil
		}
		raw, err := cf.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return raw, err
		}
		return selectedContext(raw, cf), nil
	}
}

// eksClusterAndRegion are the EKS cluster (eksClusterDefault) and region of --eks-cluster and
// --region as given: the region of the kubeconfig's cluster ARN fills an empty --region unless
// AWS_REGION or AWS_DEFAULT_REGION names one, which the SDK then takes.
func eksClusterAndRegion(d deps, cf *genericclioptions.ConfigFlags, flagCluster, flagRegion string) (cluster, region, from string) {
	cluster, region, from = eksClusterDefault(flagCluster, d.kubeconfig(cf))
	if flagRegion != "" || d.env.regionSet {
		region = flagRegion
	}
	return cluster, region, from
}

// eksClusterDefault is the EKS cluster a command works on: --eks-cluster (flag), else the one
// the kubeconfig's selected context names (eksClusterOf), with the region that names; from
// says which, for messages. All empty when neither names one.
func eksClusterDefault(flag string, raw func() (clientcmdapi.Config, error)) (name, region, from string) {
	if flag != "" {
		return flag, "", "--eks-cluster"
	}
	if raw == nil {
		return "", "", ""
	}
	cfg, err := raw()
	if err != nil {
		return "", "", ""
	}
	if name, region = eksClusterOf(cfg); name == "" {
		return "", "", ""
	}
	return name, region, "the kubeconfig"
}

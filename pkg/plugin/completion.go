package plugin

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// completionTimeout bounds the API calls behind one TAB: a slow cluster completes nothing
// rather than hang the shell.
const completionTimeout = 5 * time.Second

// completionNote is added to the help of `kubectl wi completion`: the scripts it prints are
// for the kubectl-wi binary itself; `kubectl wi <TAB>` goes through kubectl.
const completionNote = `

These scripts complete the kubectl-wi binary run on its own. To complete ` + "`kubectl wi <TAB>`" + `,
load kubectl's own completion (kubectl completion bash) and put the kubectl_complete-wi script
of the release archive on PATH next to kubectl-wi (with krew: link it from the plugin's
directory, as kubectl krew info wi says); kubectl v1.26 and later then ask kubectl-wi.`

// registerCompletions completes --namespace, --context and --cluster from the kubeconfig and
// the cluster, the way kubectl does. Failures complete nothing rather than print errors.
func registerCompletions(root *cobra.Command, cf *genericclioptions.ConfigFlags, d deps) {
	_ = root.RegisterFlagCompletionFunc("cluster", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := cf.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return kubeconfigClusters(cfg), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := cf.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(cfg.Contexts))
		for name := range cfg.Contexts {
			names = append(names, name)
		}
		sort.Strings(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("namespace", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		client, err := d.newClient(cf)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := completionContext(c)
		defer cancel()
		list, err := client.CoreV1().Namespaces().List(ctx, listOptions())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(list.Items))
		for _, ns := range list.Items {
			names = append(names, ns.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// initCompletionCommand adds cobra's completion command, once the root has its
// subcommands (cobra adds none to a root without), with the note on kubectl.
func initCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Long = strings.TrimRight(c.Long, "\n") + completionNote
		}
	}
}

func completionContext(c *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}

// completeValues completes a flag from a fixed list of values.
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// completeTargets completes TARGET from the cluster: with no slash typed yet, the service
// accounts of the namespace and the KIND/ prefixes of kinds; after KIND/, the names of that
// kind, read with d's client. kinds picks the kinds the command takes; maxArgs is how many
// TARGETs it takes (0: any).
func completeTargets(cf *genericclioptions.ConfigFlags, d deps, kinds func(*targets.Registry) []*targets.Kind, maxArgs int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		const none = cobra.ShellCompDirectiveNoFileComp
		if cf == nil || maxArgs > 0 && len(args) >= maxArgs {
			return nil, none
		}
		registry, err := loadRegistry("")
		if err != nil {
			registry = targets.Builtin()
		}
		client, err := d.newClient(cf)
		if err != nil {
			return nil, none
		}
		ns, err := namespaceOf(cf, false)
		if err != nil {
			return nil, none
		}
		ctx, cancel := completionContext(c)
		defer cancel()
		if kindText, prefix, typed := strings.Cut(toComplete, "/"); typed {
			kind := registry.Kind(kindText)
			if kind == nil {
				return nil, none
			}
			names, _ := kind.Names(ctx, client, ns)
			var out []string
			for _, n := range names {
				if strings.HasPrefix(n, prefix) {
					out = append(out, kindText+"/"+n)
				}
			}
			return out, none
		}
		var out []string
		accounts, _ := targets.ServiceAccount.Names(ctx, client, ns)
		for _, n := range accounts {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		directive := none
		for _, k := range kinds(registry) {
			if p := k.Aliases[0] + "/"; strings.HasPrefix(p, toComplete) {
				out = append(out, p)
				directive |= cobra.ShellCompDirectiveNoSpace // KIND/ goes on to a name
			}
		}
		return out, directive
	}
}

// identityTargetKinds are the kinds enable and disable take: every kind of the registry.
func identityTargetKinds(r *targets.Registry) []*targets.Kind { return r.Kinds() }

// workloadTargetKinds are the kinds verify and trust-policy take: service accounts and the
// workloads that run as one.
func workloadTargetKinds(*targets.Registry) []*targets.Kind {
	return append([]*targets.Kind{targets.ServiceAccount}, targets.WorkloadKinds()...)
}

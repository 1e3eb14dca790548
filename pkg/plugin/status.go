package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

const statusLong = `Show every service account that carries an IAM role (eks.amazonaws.com/role-arn), the
workloads running as it, and what its pods actually got from the pod identity webhook:

  PODS      running and pending pods of the account (terminated pods are not counted)
  INJECTED  pods that carry exactly the role, audience and expiration the account asks
  STALE     pods that need a restart: created before the annotation, or with another role,
            audience or expiration than the account now asks
  SKIPPED   pods with the eks.amazonaws.com/skip-pod-identity-webhook label, or whose every
            container the webhook leaves alone (skip-containers, or AWS_ROLE_ARN set by hand)

Then the findings, each with its fix: no mutating webhook for pods, an invalid role ARN,
stale pods, containers that set AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE themselves,
containers left out by skip-containers, non-root containers with no fsGroup, hostNetwork pods
on the EKS Pod Identity path, and token-expiration annotations outside 600..86400.

Then the custom resources that carry a role for their operator (Portworx StorageClusters,
Crossplane DeploymentRuntimeConfigs, and the kinds of a targets file, --targets); with -A,
cluster-scoped ones too.

Accounts on EKS Pod Identity show through the container credentials of their pods and, with
your AWS credentials at hand and the EKS cluster known (--eks-cluster, else the kubeconfig's),
through the cluster's associations (eks:ListPodIdentityAssociations, every page, and
eks:DescribePodIdentityAssociation for each role): an account with an association is listed
whatever its pods carry, with what is wrong (pods without the credentials, no pod, no such
service account). When the associations were not read, status says so and why.

Each kind is read with one paginated LIST, never a GET per object. status is a report: it
exits 0 whatever it finds, and 3 when the cluster cannot be read.

` + exitCodesNoChecksHelp

const statusExample = `  # Service accounts with a role in the current namespace, and what their pods got
  kubectl wi status

  # In every namespace, with audience, expiration and workloads
  kubectl wi status -A -o wide

  # As JSON, for scripts
  kubectl wi status -n team -o json

  # The service accounts labelled team=payments, and the roles alone
  kubectl wi status -A -l team=payments -o jsonpath='{range .serviceAccounts[*]}{.namespace}/{.name} {.roleARN}{"\n"}{end}'`

// StatusOptions holds everything `kubectl wi status` needs. Flags bind to fields.
type StatusOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Output        string // "" | "wide" | "json" | "yaml" | "jsonpath=..."
	AllNamespaces bool
	Selector      string
	TargetsFile   string
	EKSCluster    string

	namespace string // "" with -A
	registry  *targets.Registry

	deps deps
}

// newStatusOptions are the defaults, reaching outside through d.
func newStatusOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *StatusOptions {
	return &StatusOptions{configFlags: cf, IOStreams: streams, deps: d}
}

// newCmdStatus builds `kubectl wi status` around o.
func newCmdStatus(o *StatusOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show which service accounts carry a role and whether their pods got it",
		Long:    statusLong,
		Example: statusExample,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return FlagErrorf("status takes no arguments, got %q: use -n NAMESPACE or -A", args)
			}
			return nil
		},
		RunE: completeValidateRun(o, nil),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: wide|json|yaml|jsonpath=TEMPLATE")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Report on every namespace")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "Report on the service accounts with these labels only (e.g. -l team=payments); custom resources are left out")
	completeValues(cmd, "output", "wide", "json", "yaml", "jsonpath=")
	cmd.Flags().StringVar(&o.EKSCluster, "eks-cluster", "", eksClusterFlagHelp)
	cmd.Flags().StringVar(&o.TargetsFile, "targets", "", "A targets file adding custom resource kinds to report on (default: kubectl-wi/targets.yaml under the user's config directory, if it exists)")
	return cmd
}

// Complete works out the namespace and the custom resource kinds.
func (o *StatusOptions) Complete(_ *cobra.Command, _ []string) error {
	var err error
	if o.registry, err = loadRegistry(o.TargetsFile); err != nil {
		return err
	}
	o.namespace, err = namespaceOf(o.configFlags, o.AllNamespaces)
	return err
}

// Validate checks the flags.
func (o *StatusOptions) Validate() error {
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return FlagErrorf("invalid -l selector %q: %v", o.Selector, err)
		}
	}
	return checkOutput(o.Output, "", "wide", "json", "yaml")
}

// Run reads the cluster and prints the report.
func (o *StatusOptions) Run(ctx context.Context) error {
	client, err := o.deps.newClient(o.configFlags)
	if err != nil {
		return err
	}
	assoc := readAssociations(ctx, o.deps, o.EKSCluster, o.deps.kubeconfig(o.configFlags), o.namespace, "")
	report, err := collectWithAssociations(ctx, client, o.namespace, o.Selector, assoc)
	if err != nil {
		return err
	}
	for _, w := range report.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	if !assoc.Read {
		fmt.Fprintln(o.ErrOut, associationsNotReadNote(assoc))
	}
	custom, err := o.collectCustom(ctx)
	if err != nil {
		return err
	}
	switch {
	case o.Output == "json", o.Output == "yaml", isJSONPath(o.Output):
		return printDocument(o.Out, o.Output, statusDocument{Report: report, CustomResources: custom})
	}
	if err := o.printTable(report); err != nil {
		return err
	}
	return o.printCustom(report, custom)
}

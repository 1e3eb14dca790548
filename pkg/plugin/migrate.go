package plugin

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

const migrateLong = `Move service accounts from IRSA (the eks.amazonaws.com/role-arn annotation) to EKS Pod
Identity, proving each step before the next, with your own AWS credentials.

TARGET is NAME or serviceaccount/NAME, or deployment/NAME, statefulset/NAME or daemonset/NAME
for its service account; with none, every service account of the namespace with a role-arn
annotation. For each account, migrate:

  1. pre-flight, reads only: the EKS cluster; the account's association; its role's trust
     policy (iam:GetRole), evaluated for pods.eks.amazonaws.com with sts:AssumeRole and
     sts:TagSession, and when it refuses, the corrected policy to apply, written
     (iam:UpdateAssumeRolePolicy, a statement added, the rest kept) only with --write-trust;
     the Pod Identity agent (the eks-pod-identity-agent DaemonSet of kube-system ready on
     every node; an agent the cluster cannot show is proven in step 4); the workloads to
     restart. A problem leaves the accounts it concerns untouched, each named with why and
     the fix; the other accounts go on. Bad input (an account not found, or with neither a
     role-arn annotation nor an association; an unknown EKS cluster) stops the whole run
     here, exit 2, nothing written;
  2. creates the association, for the role its role-arn annotation names;
  3. waits until the webhook admits new pods of the account with the container credentials;
  4. proves it with a probe pod of the account, as kubectl wi verify does: the agent answers,
     the role's trust admits EKS Auth, the caller is the role's session;
  5. restarts exactly the workloads whose live pods lack the container credentials, waits for
     their rollouts (--timeout) and checks that every new pod carries them;
  6. with --remove-irsa, removes the role-arn annotation; Pod Identity wins over it, so
     nothing is restarted for that.

An account that fails at step 3 or 4 is left as it was: the association this run created is
deleted, no workload restarted, and the trust policy --write-trust wrote for its role is put
back as IAM had it once no other account of the run needs it. A policy someone changed after
migrate wrote it is left alone; then, or when the restore fails, the output says what stays
changed and the command that restores it. One that fails later keeps its association, which
its new pods use, and the output says what to do. A rerun finds the migrated accounts done: no
AWS write, no restart.

--dry-run prints the plan, as eksctl's utils migrate-to-pod-identity does before --approve:
every account with its tasks in order (the trust policy, the association as the AWS CLI
command that creates it, the proof, each restart, the annotation's removal), or SKIPPED with
why and the fix. EKS and IAM have no dry run: with --dry-run=server only the Kubernetes writes
go to the apiserver, as dry runs.

Output is text by default, on a terminal too: the lines are the plan you review (with --dry-run,
the one to paste into a change ticket). -o tui shows the run live instead, a row per account
with its latest step and then its outcome, the run's own findings above them, and the whole
report with the verdict when it ends; it needs a terminal, and q or Ctrl-C cancels as Ctrl-C
does in text. -o json writes the run as events, one JSON object per line, as verify's: each
step's results with their account, the proofs' checks, each account's outcome
(migrate.account) and the verdict last.

Exit 0 when every account is on Pod Identity (or, with --dry-run, would be); 1 when an account
was skipped at the pre-flight or failed a later step, the others migrated (a dry run that
skips an account exits 1 too, so that CI sees it before the run); 2 for bad input.

The EKS cluster is --eks-cluster, else the kubeconfig's (the cluster of its context named by
ARN, or its aws eks get-token --cluster-name); --cluster stays kubectl's, a cluster of the
kubeconfig. The probe pod takes verify's
--image, --sts-endpoint and --ca-bundle (and their environment defaults).

` + exitCodesHelp

const migrateExample = `  # Move every IRSA service account of the namespace shop to EKS Pod Identity
  kubectl wi migrate -n shop --to pod-identity

  # The service account of one Deployment, writing the role's trust for Pod Identity if missing,
  # and removing the role-arn annotation once its pods are proven
  kubectl wi migrate deployment/web -n shop --to pod-identity --write-trust --remove-irsa

  # Show the plan: each account's tasks, and the accounts the pre-flight would skip, and why
  kubectl wi migrate -n shop --to pod-identity --eks-cluster prod --region us-west-2 --dry-run=client`

// MigrateOptions holds everything `kubectl wi migrate` needs. Flags bind to fields.
type MigrateOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	ids identityOptions // the cluster's name and the AWS profile and region, as enable --pod-identity has them

	To         string
	Output     string // "text" (the default, a terminal's too) | "json" | "tui"
	RemoveIRSA bool
	WriteTrust bool
	DryRun     string // the flag; dryRun is what Complete read from it
	Timeout    time.Duration
	Image      string
	stsFlags
	VerifyTimeout time.Duration
	Parallel      int

	refs      []targets.Ref
	targetErr error // why TARGET did not parse, for Validate to say
	namespace string
	dryRun    dryRun
	terminal  bool // Out is a terminal, which -o tui needs
}

// NewCmdMigrate builds `kubectl wi migrate`.
func NewCmdMigrate(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	o := &MigrateOptions{configFlags: cf, IOStreams: streams, ids: newIdentityOptions(cf, streams, d),
		Timeout: 5 * time.Minute, Image: ProbeImage(), VerifyTimeout: 2 * time.Minute, Parallel: verify.DefaultParallel}
	cmd := &cobra.Command{
		Use:     "migrate [TARGET...] --to pod-identity",
		Short:   "Move service accounts from IRSA to EKS Pod Identity, proving each step before the next",
		Long:    migrateLong,
		Example: migrateExample,
		RunE:    completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "What to move to: pod-identity (required)")
	f.StringVarP(&o.Output, "output", "o", "text", "Output format. One of: text|json|tui; text, the plan you review, is the default on a terminal too, json is the events (one JSON object per line), tui shows the run live")
	f.BoolVar(&o.RemoveIRSA, "remove-irsa", false, "Remove the role-arn annotation once the account's new pods are proven on Pod Identity")
	f.BoolVar(&o.WriteTrust, "write-trust", false, "Add Pod Identity's statement to a role's trust policy that lacks it (iam:UpdateAssumeRolePolicy), instead of stopping with the policy to apply")
	addDryRunFlag(cmd, &o.DryRun, "Only show what would change: client sends nothing, server sends the Kubernetes writes as server-side dry runs; the AWS calls are shown, never sent", dryRunNone, dryRunClient, dryRunServer)
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the restarted workloads' rollouts")
	f.StringVar(&o.Image, "image", o.Image, "Probe image of the proof (see kubectl wi verify)")
	f.StringVar(&o.STSEndpoint, "sts-endpoint", "", "STS endpoint URL for the probe (default $"+EnvSTSEndpoint+")")
	f.StringVar(&o.CABundle, "ca-bundle", "", "PEM file of CA certificates the probe trusts beside the public roots (default $"+EnvCABundle+")")
	f.DurationVar(&o.VerifyTimeout, "verify-timeout", o.VerifyTimeout, "Bound on each account's probe pod")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "How many accounts to prove at once")
	o.ids.podIdentityOptions.addFlags(cmd, false)
	_ = f.MarkHidden("pod-identity") // migrate is always to Pod Identity
	completeValues(cmd, "to", "pod-identity")
	completeValues(cmd, "output", "text", "json", "tui")
	cmd.ValidArgsFunction = completeTargets(cf, d, identityTargetKinds, 0)
	return cmd
}

// Complete reads the namespace, the targets and the environment's defaults.
func (o *MigrateOptions) Complete(cmd *cobra.Command, args []string) error {
	ns, err := namespaceOf(o.configFlags, false)
	if err != nil {
		return err
	}
	o.namespace = ns
	o.targetErr = nil
	if err := targets.Builtin().CheckArgs(args); err != nil {
		o.targetErr = &FlagError{Err: err}
	}
	for _, arg := range args {
		ref, err := targets.Builtin().Parse(arg)
		if err != nil && o.targetErr == nil {
			o.targetErr = &FlagError{Err: err}
		}
		o.refs = append(o.refs, ref)
	}
	o.complete(cmd, o.ids.deps.env)
	o.ids.completeCluster()
	o.dryRun = parseDryRun(o.ErrOut, o.DryRun)
	o.terminal = o.ids.deps.isTerminal(o.Out)
	return nil
}

// Validate checks every flag with no API call, the cluster's name included.
func (o *MigrateOptions) Validate() error {
	switch {
	case o.targetErr != nil:
		return o.targetErr
	case o.To == "":
		return FlagErrorf("--to is required: --to pod-identity")
	case o.To != "pod-identity":
		return FlagErrorf("--to %q is not supported: migrate moves to pod-identity", o.To)
	case o.Parallel < 1:
		return FlagErrorf("--parallel must be 1 or more, not %d", o.Parallel)
	case o.Image == "":
		return FlagErrorf("--image must not be empty")
	}
	if err := checkRunOutput(o.Output, o.terminal); err != nil {
		return err
	}
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunClient, dryRunServer); err != nil {
		return err
	}
	for _, d := range []time.Duration{o.Timeout, o.VerifyTimeout} {
		if err := checkTimeout(d); err != nil {
			return err
		}
	}
	if err := o.validate(); err != nil {
		return err
	}
	return o.ids.checkCluster()
}

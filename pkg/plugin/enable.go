package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Seams for tests that run enable and disable through Main: the client (a fake), the clock
// of restartedAt, how often --wait polls, and how long and how often a restart asks the
// webhook whether it admits pods with the new identity (its cache lags by about a second on
// EKS). newIdentityCustomClients (customtargets.go) is the seam of custom resource targets.
var (
	newIdentityClient        = newClientset
	identityNow              = time.Now
	identityPollInterval     = time.Second
	identityAdmissionTimeout = 30 * time.Second
	identityAdmissionPoll    = 250 * time.Millisecond
)

const enableExample = `  # Give the pods of service account app the IAM role app, restarting the workloads that need it
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app -n shop

  # The same, naming the Deployment; its pod template's service account is annotated
  kubectl wi enable deployment/web --role-arn arn:aws:iam::123456789012:role/web -n shop

  # Every service account labelled team=payments in every namespace, waiting for the rollouts
  kubectl wi enable -l team=payments -A --role-arn arn:aws:iam::123456789012:role/payments --wait

  # Show what would change, letting the server validate it, and print the service account
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app --dry-run=server -o yaml

  # Create the service account if it is missing, with a one-hour token and regional STS
  kubectl wi enable app --create --role-arn arn:aws:iam::123456789012:role/app --token-expiration 3600 --sts-regional-endpoints

  # Move app to another role, keeping its audience and token settings
  kubectl wi enable app --role-arn arn:aws:iam::123456789012:role/app-v2 --overwrite

  # Give Portworx the role for its cloud snapshots; the operator restarts its pods
  kubectl wi enable storagecluster/px-cluster -n portworx --role-arn arn:aws:iam::123456789012:role/portworx

  # Give the Crossplane providers using runtime config aws the role
  kubectl wi enable deploymentruntimeconfig/aws --role-arn arn:aws:iam::123456789012:role/crossplane

  # Turn on workload identity in a Control Plane mk8s cluster manifest, then apply it
  kubectl wi enable --manifest cluster.yaml

  # Give app the role through an EKS Pod Identity association instead, with your AWS credentials
  kubectl wi enable app --pod-identity --role-arn arn:aws:iam::123456789012:role/app --cluster prod --region us-west-2`

// EnableOptions holds everything `kubectl wi enable` needs. Flags bind to fields.
type EnableOptions struct {
	identityOptions

	RoleARN         string
	Audience        string
	TokenExpiration int64
	STSRegional     bool
	Create          bool
	Overwrite       bool
	Reset           bool
	Manifest        string // a cpln mk8s manifest to edit (manifest.go)

	audienceSet       bool
	expirationSet     bool
	stsRegionalSet    bool
	cfg               identity.Config
	manifestConflicts []string // flags given with --manifest that do not apply to it
}

// NewEnableOptions returns the options with their defaults.
func NewEnableOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *EnableOptions {
	o := &EnableOptions{identityOptions: newIdentityOptions(cf, streams)}
	o.canCreate = true
	return o
}

// NewCmdEnable builds `kubectl wi enable`.
func NewCmdEnable(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewEnableOptions(cf, streams)
	cmd := &cobra.Command{
		Use:   "enable [TARGET...] --role-arn ARN",
		Short: "Annotate service accounts with an IAM role and restart the workloads that need it",
		Long: `Annotate service accounts with an IAM role for the pod identity webhook, and restart the
Deployments, StatefulSets and DaemonSets whose pods need new pods to get it.

TARGET is NAME or serviceaccount/NAME (sa/NAME), or deployment/NAME, statefulset/NAME or
daemonset/NAME (deploy, sts, ds) for the service account of that workload's pod template.
-l SELECTOR selects many service accounts; -A with -l selects them in every namespace.

TARGET may also be a custom resource whose operator takes the role itself and restarts its
own pods: storagecluster/NAME (Portworx, the role goes in spec.workloadIdentity.credentials)
or deploymentruntimeconfig/NAME (Crossplane, in the template of the providers' service
account). More kinds come from a targets file in the same format as the built-in ones
(--targets FILE, and targets.yaml in the kubectl-wi directory under the user's config
directory). A service account that Helm manages is annotated too, with a warning that gives
the values line that keeps the annotation across upgrades.

--manifest FILE turns on the awsWorkloadIdentity add-on in a Control Plane (cpln) mk8s
cluster manifest instead, keeping the rest of the file, to apply with cpln apply.

TARGET is KIND/NAME or NAME, never KIND NAME. A workload whose pods run as the namespace's
default service account is refused: a role there reaches every pod without an account of its
own. Name serviceaccount/default to mean it. --create creates only the accounts TARGET names.

Only the eks.amazonaws.com/ identity annotations are written, with a patch: every other
annotation, label and field stays as it is. Running again with the same flags writes nothing.
A role the account already has is replaced only with --overwrite (checked for every selected
account before any write). Settings not named on the command line (--audience,
--token-expiration, --sts-regional-endpoints) keep the account's values; --reset returns them
to the webhook's defaults.

` + podIdentityHelp + `

With --restart=auto (the default) a workload is restarted when one of its live pods lacks the
injection or carries another role, audience, expiration or STS setting than the account now
asks. Paused Deployments, OnDelete update strategies, Jobs, CronJobs and bare pods are listed
with the command that restarts them.

` + exitCodesNoChecksHelp,
		Example: enableExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.RoleARN, "role-arn", "", "IAM role the pods assume, arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (required)")
	f.StringVar(&o.Audience, "audience", "", "Audience of the projected token (default sts.amazonaws.com)")
	f.Int64Var(&o.TokenExpiration, "token-expiration", 0, "Lifetime of the projected token in seconds, 600 to 86400 (default 86400)")
	f.BoolVar(&o.STSRegional, "sts-regional-endpoints", false, "Make the SDKs use the regional STS endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional)")
	f.BoolVar(&o.Create, "create", false, "Create the service accounts TARGET names (NAME, serviceaccount/NAME) when they are missing, instead of failing")
	f.BoolVar(&o.Overwrite, "overwrite", false, "Replace a role an account (or custom resource) already has; without it, enable refuses to change an existing role")
	f.BoolVar(&o.Reset, "reset", false, "Return the settings not named on the command line (audience, token expiration, STS endpoints) to the webhook's defaults; without it they are kept")
	f.StringVar(&o.Manifest, "manifest", "", "Turn on workload identity in a Control Plane (cpln) mk8s cluster manifest FILE instead of in the cluster")
	o.addFlags(cmd)
	o.podIdentityOptions.addFlags(cmd, true)
	cmd.ValidArgsFunction = completeTargets(cf, identityTargetKinds, 0)
	return cmd
}

// Complete works out the namespace, the client and which optional flags were given.
func (o *EnableOptions) Complete(cmd *cobra.Command, args []string) error {
	o.audienceSet = cmd.Flags().Changed("audience")
	o.expirationSet = cmd.Flags().Changed("token-expiration")
	o.stsRegionalSet = cmd.Flags().Changed("sts-regional-endpoints")
	if err := o.checkPodIdentityFlags(cmd, []string{"audience", "token-expiration", "sts-regional-endpoints", "create", "reset", "manifest"}); err != nil {
		return err
	}
	if o.Manifest != "" {
		return o.completeManifest(cmd, args)
	}
	return o.complete(cmd, args)
}

// Validate checks every flag and argument; it makes no API call.
func (o *EnableOptions) Validate() error {
	if o.Manifest != "" {
		return o.validateManifest()
	}
	if err := o.targetRegistry().CheckArgs(o.args); err != nil {
		return &FlagError{Err: err} // before the flags: the form of TARGET is the first mistake
	}
	if o.RoleARN == "" {
		return FlagErrorf("--role-arn is required: the IAM role the pods assume, e.g. --role-arn arn:aws:iam::123456789012:role/NAME")
	}
	if o.PodIdentity {
		o.overwrite = o.Overwrite
		return o.validatePodIdentity(o.RoleARN)
	}
	if _, err := identity.ParseRoleARN(o.RoleARN); err != nil {
		return &FlagError{Err: fmt.Errorf("invalid --role-arn: %w", err)}
	}
	if err := checkAudience(o.ErrOut, o.Audience, o.audienceSet); err != nil {
		return err
	}
	if o.expirationSet {
		if err := identity.ValidateTokenExpiration(o.TokenExpiration); err != nil {
			return &FlagError{Err: fmt.Errorf("invalid --token-expiration: %w", err)}
		}
	}
	o.cfg = identity.Config{RoleARN: o.RoleARN, Audience: o.Audience, TokenExpiration: o.TokenExpiration, STSRegional: o.STSRegional}
	o.overwrite = o.Overwrite
	o.keep = o.keep[:0]
	if !o.Reset {
		for key, named := range map[string]bool{
			identity.AnnotationAudience:        o.audienceSet,
			identity.AnnotationTokenExpiration: o.expirationSet,
			identity.AnnotationSTSRegional:     o.stsRegionalSet,
		} {
			if !named {
				o.keep = append(o.keep, key)
			}
		}
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.Create && o.Selector != "" {
		return FlagErrorf("--create creates the service accounts TARGET names, and -l selects existing ones: name the accounts to create")
	}
	for _, ref := range o.customRefs {
		if o.Create {
			return FlagErrorf("--create creates service accounts, and %s is a custom resource", ref)
		}
		if err := ref.Kind.Custom.CheckConfig(o.cfg); err != nil {
			return &FlagError{Err: fmt.Errorf("%s: %w", ref, err)}
		}
	}
	return nil
}

// Run annotates the service accounts and restarts what needs it.
func (o *EnableOptions) Run(ctx context.Context) error {
	if o.Manifest != "" {
		return o.runManifest()
	}
	if o.PodIdentity {
		return o.runPodIdentity(ctx, &podidentity.Spec{RoleARN: o.RoleARN, TargetRoleARN: o.TargetRoleARN, DisableSessionTags: o.DisableSessionTags})
	}
	return o.run(ctx, &o.cfg, o.Create)
}

// identityOptions are what enable and disable share: which service accounts, how to restart,
// dry run and output, and the run that brings the accounts' annotations to an identity (or to
// none).
type identityOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	podIdentityOptions

	Restart       string
	Wait          bool
	Timeout       time.Duration
	DryRun        string
	Output        string
	Selector      string
	AllNamespaces bool
	TargetsFile   string

	args       []string
	namespace  string
	timeoutSet bool
	// keep are the identity annotations this run leaves as they are: enable's settings not
	// named on the command line (unless --reset).
	keep []string
	// overwrite lets enable replace a role an account or custom resource already has.
	overwrite  bool
	refs       []targets.Ref // service accounts and workloads
	customRefs []targets.Ref // custom resources that take the role themselves
	registry   *targets.Registry
	mode       restart.Mode
	canCreate  bool // the command has --create (enable), so a missing account's error suggests it

	newClient    func() (kubernetes.Interface, error)
	newCustom    func() (*customClients, error)
	restarter    restart.ObjectRestarterFunc
	pollInterval time.Duration
}

func newIdentityOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) identityOptions {
	return identityOptions{
		configFlags:  cf,
		IOStreams:    streams,
		Restart:      string(restart.Auto),
		Timeout:      5 * time.Minute,
		DryRun:       "none",
		newClient:    func() (kubernetes.Interface, error) { return newIdentityClient(cf) },
		newCustom:    func() (*customClients, error) { return newIdentityCustomClients(cf) },
		restarter:    restart.DefaultRestarter(func() time.Time { return identityNow() }),
		pollInterval: identityPollInterval,
	}
}

func (o *identityOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Restart, "restart", o.Restart, "Which workloads using the service accounts to restart: auto (those with stale pods), always, never")
	f.BoolVar(&o.Wait, "wait", false, "Wait for the restarted workloads to finish rolling out")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --wait waits for the rollouts")
	f.StringVar(&o.DryRun, "dry-run", o.DryRun, "Only show what would change: none, client (send nothing), server (the server validates, nothing is stored); --dry-run alone is client, as in kubectl")
	f.Lookup("dry-run").NoOptDefVal = dryRunBare
	f.StringVarP(&o.Output, "output", "o", "", "Print the resulting service accounts: yaml, json, name or jsonpath=TEMPLATE; the summary then goes to stderr")
	f.StringVarP(&o.Selector, "selector", "l", "", "Select service accounts by label instead of naming them (e.g. -l team=payments)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With -l, select service accounts in every namespace")
	f.StringVar(&o.TargetsFile, "targets", "", "A targets file adding custom resource kinds TARGET may name (default: kubectl-wi/targets.yaml under the user's config directory, if it exists)")
	completeValues(cmd, "restart", string(restart.Auto), string(restart.Always), string(restart.Never))
	completeValues(cmd, "dry-run", "none", "client", "server")
	completeValues(cmd, "output", "yaml", "json", "name", "jsonpath=")
}

func (o *identityOptions) complete(cmd *cobra.Command, args []string) error {
	o.args = args
	o.timeoutSet = cmd.Flags().Changed("timeout")
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
	}
	o.namespace = ns
	o.registry, err = loadRegistry(o.TargetsFile)
	return err
}

func (o *identityOptions) validate() error {
	mode, err := restart.ParseMode(o.Restart)
	if err != nil {
		return &FlagError{Err: err}
	}
	o.mode = mode
	if err := o.dryRunStrategy(); err != nil {
		return err
	}
	if err := checkOutput(o.Output, "", "yaml", "json", "name"); err != nil {
		return err
	}
	if err := checkTimeout(o.Timeout); err != nil {
		return err
	}
	if o.timeoutSet && !o.Wait {
		return FlagErrorf("--timeout only applies with --wait")
	}
	if o.Wait && o.mode == restart.Never {
		return FlagErrorf("--wait waits for restarts, and --restart=never makes none")
	}
	if o.Wait && o.DryRun != "none" {
		return FlagErrorf("--wait cannot be combined with --dry-run: nothing rolls out")
	}
	switch {
	case o.Selector != "" && len(o.args) > 0:
		return FlagErrorf("name service accounts with TARGET or select them with -l, not both")
	case o.Selector == "" && len(o.args) == 0:
		return FlagErrorf("a TARGET or -l SELECTOR is required: e.g. enable app, enable deployment/web, enable -l team=payments")
	case o.AllNamespaces && o.Selector == "":
		return FlagErrorf("-A/--all-namespaces needs -l SELECTOR: name service accounts in one namespace with -n, or select them with -l")
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return FlagErrorf("invalid -l selector %q: %v", o.Selector, err)
		}
	}
	if err := o.targetRegistry().CheckArgs(o.args); err != nil {
		return &FlagError{Err: err}
	}
	o.refs, o.customRefs = o.refs[:0], o.customRefs[:0]
	for _, arg := range o.args {
		ref, err := o.targetRegistry().Parse(arg)
		if err != nil {
			return &FlagError{Err: err}
		}
		if ref.IsCustom() {
			o.customRefs = append(o.customRefs, ref)
			continue
		}
		o.refs = append(o.refs, ref)
	}
	return o.validateCustom()
}

// dryRunBare is what --dry-run with no value sets, as kubectl's AddDryRunFlag does.
const dryRunBare = "unchanged"

// dryRunStrategy reads --dry-run the way kubectl does: none, client or server; alone or as a
// boolean it is deprecated in kubectl and means client (true) or none (false), with a warning.
func (o *identityOptions) dryRunStrategy() error {
	switch o.DryRun {
	case "none", "client", "server":
		return nil
	case dryRunBare, "true":
		fmt.Fprintln(o.ErrOut, "Warning: --dry-run is deprecated and can be replaced with --dry-run=client.")
		o.DryRun = "client"
	case "false":
		fmt.Fprintln(o.ErrOut, "Warning: --dry-run=false is deprecated (boolean value) and can be replaced with --dry-run=none.")
		o.DryRun = "none"
	default:
		return FlagErrorf("--dry-run %q is not supported: must be none, client or server", o.DryRun)
	}
	return nil
}

// targetRegistry is the kinds TARGET may name: the built-in ones until complete loads the
// user's.
func (o *identityOptions) targetRegistry() *targets.Registry {
	if o.registry == nil {
		o.registry = targets.Builtin()
	}
	return o.registry
}

// account is one service account and what this run does to it.
type account struct {
	namespace, name string
	sa              *corev1.ServiceAccount // nil: missing, to be created
	changes         map[string]*string     // identity.AnnotationChanges, less the settings kept
	want            *identity.Config       // the identity it asks for after the run; nil: none
	result          *corev1.ServiceAccount // as stored (or as it would be) after the run
}

// plan works out a's changes toward want, keeping the annotations o.keep names, and the
// identity the account then asks for.
func (o *identityOptions) plan(a *account, want *identity.Config) {
	var have map[string]string
	if a.sa != nil {
		have = a.sa.Annotations
	}
	a.changes = identity.AnnotationChanges(have, want)
	for _, key := range o.keep {
		delete(a.changes, key)
	}
	a.want = nil
	if want != nil {
		after := map[string]string{}
		for k, v := range have {
			after[k] = v
		}
		for k, v := range a.changes {
			if v == nil {
				delete(after, k)
			} else {
				after[k] = *v
			}
		}
		cfg, _ := identity.FromAnnotations(after)
		a.want = &cfg
	}
}

// run brings the selected accounts' annotations to want (nil: no identity), then restarts.
// Every read and every check comes before the first write.
func (o *identityOptions) run(ctx context.Context, want *identity.Config, create bool) error {
	client, err := o.newClient()
	if err != nil {
		return err
	}
	custom, err := o.planCustom(ctx, client, want)
	if err != nil {
		return err
	}
	var accounts []*account
	if o.Selector != "" || len(o.refs) > 0 {
		if accounts, err = o.resolve(ctx, client, create); err != nil {
			return err
		}
	}
	restartAccounts := make([]restart.Account, len(accounts))
	for i, a := range accounts {
		o.plan(a, want)
		restartAccounts[i] = restart.Account{Namespace: a.namespace, Name: a.name, Want: a.want, Changed: len(a.changes) > 0}
	}
	if err := o.refuseOverwrite(accounts, custom, want); err != nil {
		return err
	}
	var actions []restart.Action
	if o.mode != restart.Never && len(accounts) > 0 {
		inv, err := restart.Load(ctx, client, restart.Scope(restartAccounts), restartAccounts)
		if err != nil {
			return err
		}
		actions = restart.Plan(inv, o.mode, restartAccounts)
	}

	summary := o.summaryOut()
	if err := o.writeCustom(ctx, summary, custom, want); err != nil {
		return err
	}
	changed := 0
	for i, a := range accounts {
		if err := o.write(ctx, client, a, want); err != nil {
			if i == 0 {
				return err
			}
			// A run stopped halfway (the apiserver went away): the next run plans from what is
			// there, so it writes only the rest.
			return fmt.Errorf("%w (stopped after %d of %d service accounts; rerun the same command to finish: the accounts done are left unchanged)", err, i, len(accounts))
		}
		if len(a.changes) > 0 {
			changed++
		}
		fmt.Fprintln(summary, o.accountLine(a, want))
		o.warnHelm(a, want)
	}
	if o.mode == restart.Never && changed > 0 {
		fmt.Fprintln(o.ErrOut, "Warning: --restart=never: pods created before this change keep their old identity until they are restarted")
	}

	if o.DryRun == "none" {
		o.awaitAdmission(ctx, client, actions)
	}
	restarted, err := o.restartAll(ctx, client, actions)
	if err != nil {
		return err
	}
	if err := o.printAccounts(accounts, customObjects(custom)); err != nil {
		return err
	}
	return o.waitRestarted(ctx, client, restartAccounts, restarted)
}

// restartAll restarts the workloads actions name, and prints a line per decision.
func (o *identityOptions) restartAll(ctx context.Context, client kubernetes.Interface, actions []restart.Action) ([]*restart.Action, error) {
	var restarted []*restart.Action
	var errs []error
	for i := range actions {
		a := &actions[i]
		if a.Type == restart.Restart && o.DryRun != "client" {
			if err := restart.Do(ctx, client, a, o.restarter, o.serverDryRun()); err != nil {
				errs = append(errs, err)
				continue
			}
			restarted = append(restarted, a)
		}
		fmt.Fprintln(o.summaryOut(), o.actionLine(a))
	}
	return restarted, errors.Join(errs...)
}

// waitRestarted waits, with --wait, for the rollouts and checks the new pods.
func (o *identityOptions) waitRestarted(ctx context.Context, client kubernetes.Interface, accounts []restart.Account, restarted []*restart.Action) error {
	if !o.Wait || len(restarted) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := restart.Wait(wctx, client, restarted, o.pollInterval, o.summaryOut(), o.ErrOut); err != nil {
		return err
	}
	return o.checkNewPods(ctx, client, accounts, restarted)
}

// awaitAdmission holds the restarts of accounts this run changed until the pod identity
// webhook admits new pods of theirs with the new identity: its service account cache lags, and
// a pod created before it catches up gets no identity at all. The wait is bounded; an account
// it could not confirm is restarted anyway, with a warning that says why.
func (o *identityOptions) awaitAdmission(ctx context.Context, client kubernetes.Interface, actions []restart.Action) {
	seen := map[*restart.Account]bool{}
	var check []*restart.Account
	for i := range actions {
		if a := actions[i].Account; actions[i].Type == restart.Restart && a.Changed && !seen[a] {
			seen[a] = true
			check = append(check, a)
		}
	}
	o.awaitAccounts(ctx, client, check)
}

// awaitAccounts is awaitAdmission for the accounts given.
func (o *identityOptions) awaitAccounts(ctx context.Context, client kubernetes.Interface, check []*restart.Account) {
	if len(check) == 0 {
		return
	}
	bound := min(o.Timeout, identityAdmissionTimeout)
	for _, u := range restart.AwaitAdmission(ctx, client, check, bound, identityAdmissionPoll) {
		fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s in namespace %q: %s (waited up to %s); restarting anyway: check the new pods with kubectl wi status -n %s\n",
			u.Account.Name, u.Account.Namespace, u.Reason, bound, u.Account.Namespace)
	}
}

// checkNewPods reads the restarted workloads' pods once their rollouts are done and fails,
// naming them, when some still lack the identity their account asks for.
func (o *identityOptions) checkNewPods(ctx context.Context, client kubernetes.Interface, accounts []restart.Account, restarted []*restart.Action) error {
	inv, err := restart.Load(ctx, client, restart.Scope(accounts), accounts)
	if err != nil {
		return err
	}
	stale := restart.StalePods(inv, accounts, restarted)
	for _, s := range stale {
		fmt.Fprintf(o.ErrOut, "%s in namespace %q: new pod %s did not get the identity: %s\n", s.Workload, s.Namespace, s.Pod, s.Reason)
	}
	if len(stale) > 0 {
		fmt.Fprintf(o.ErrOut, "The pod identity webhook admitted %d new pod(s) without the identity: it was down or failing (its failure policy admits pods unmutated), or its cache had not caught up; run the restart again once kubectl wi verify passes\n",
			len(stale))
		return &ChecksFailedError{Failed: len(stale)}
	}
	return nil
}

// resolve finds the service accounts: one LIST for a selector, else a GET per workload target
// and per service account. A missing one is an InputError naming it (and its namespace when
// that is what is missing), unless create is set.
func (o *identityOptions) resolve(ctx context.Context, c kubernetes.Interface, create bool) ([]*account, error) {
	if o.Selector != "" {
		ns := o.namespace
		if o.AllNamespaces {
			ns = ""
		}
		items, err := apicall.ListAll(ctx, metav1.ListOptions{LabelSelector: o.Selector},
			func(ctx context.Context, opts metav1.ListOptions) ([]corev1.ServiceAccount, metav1.ListMeta, error) {
				l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, opts)
				if err != nil {
					return nil, metav1.ListMeta{}, err
				}
				return l.Items, l.ListMeta, nil
			})
		if err != nil {
			return nil, apicall.Wrap(err, "list", "serviceaccounts", ns, "")
		}
		if len(items) == 0 {
			where := fmt.Sprintf("in namespace %q", ns)
			if ns == "" {
				where = "in any namespace"
			}
			return nil, InputErrorf("no service accounts match -l %s %s", o.Selector, where)
		}
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].Namespace != items[j].Namespace {
				return items[i].Namespace < items[j].Namespace
			}
			return items[i].Name < items[j].Name
		})
		accounts := make([]*account, len(items))
		for i := range items {
			accounts[i] = &account{namespace: items[i].Namespace, name: items[i].Name, sa: &items[i]}
		}
		return accounts, nil
	}

	seen := map[string]bool{}
	var accounts []*account
	for _, ref := range o.refs {
		name, err := targets.ServiceAccountName(ctx, c, o.namespace, ref)
		if apierrors.IsNotFound(err) {
			return nil, o.notFound(ctx, c, ref.Kind, ref.Name, o.didYouMean(ctx, c, ref.Kind, ref.Name))
		}
		if err != nil {
			return nil, err
		}
		if name == defaultAccount && !ref.IsServiceAccount() {
			return nil, o.refuseDefault(ctx, c, ref)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		sa, err := c.CoreV1().ServiceAccounts(o.namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && create && ref.IsServiceAccount():
			if err := o.namespaceExists(ctx, c); err != nil {
				return nil, err
			}
			sa = nil
		case apierrors.IsNotFound(err):
			return nil, o.notFound(ctx, c, targets.ServiceAccount, name, o.accountHint(ctx, c, ref, name))
		case err != nil:
			return nil, apicall.Wrap(err, "get", "serviceaccounts", o.namespace, name)
		}
		accounts = append(accounts, &account{namespace: o.namespace, name: name, sa: sa})
	}
	return accounts, nil
}

// notFound says which object is missing: the namespace when it is the namespace.
func (o *identityOptions) notFound(ctx context.Context, c kubernetes.Interface, kind *targets.Kind, name, hint string) error {
	if err := o.namespaceExists(ctx, c); err != nil {
		return err
	}
	return InputErrorf("%s %q not found in namespace %q%s", kind.Name, name, o.namespace, hint)
}

// didYouMean is "; did you mean KIND/NAME?" with the closest name of that kind in the
// namespace, or "" when none is close or the names cannot be read.
func (o *identityOptions) didYouMean(ctx context.Context, c kubernetes.Interface, kind *targets.Kind, name string) string {
	names, err := kind.Names(ctx, c, o.namespace)
	if err != nil {
		return ""
	}
	if near := targets.Suggest(name, names); near != "" {
		return fmt.Sprintf("; did you mean %s/%s?", kind.Aliases[0], near)
	}
	return ""
}

// accountHint is what the error about a missing service account adds: whose account it is,
// then a close name that exists, else how to create it. --create creates only accounts that
// TARGET names, so a workload's missing account is named for the user to create.
func (o *identityOptions) accountHint(ctx context.Context, c kubernetes.Interface, ref targets.Ref, name string) string {
	hint := ""
	if !ref.IsServiceAccount() {
		hint = fmt.Sprintf(" (the service account of %s)", ref)
	}
	if ref.IsServiceAccount() {
		if near := o.didYouMean(ctx, c, targets.ServiceAccount, name); near != "" {
			return hint + near
		}
	}
	switch {
	case !o.canCreate:
	case ref.IsServiceAccount():
		hint += fmt.Sprintf("; create it with --create, or kubectl create serviceaccount %s -n %s", name, o.namespace)
	default:
		hint += fmt.Sprintf("; create it first: kubectl wi enable serviceaccount/%s -n %s --create --role-arn ARN", name, o.namespace)
	}
	return hint
}

// defaultAccount is the account pods run as when their template names none.
const defaultAccount = "default"

// refuseDefault refuses to give a role to the namespace's default account because a workload
// target runs as it: every pod of the namespace without its own account would get the role.
// The error names the workloads that share the account; naming serviceaccount/default
// explicitly is how to mean it.
func (o *identityOptions) refuseDefault(ctx context.Context, c kubernetes.Interface, ref targets.Ref) error {
	shared := "no other workload runs as it now"
	acc := []restart.Account{{Namespace: o.namespace, Name: defaultAccount}}
	if inv, err := restart.Load(ctx, c, o.namespace, acc); err == nil {
		var others []string
		for _, a := range restart.Plan(inv, restart.Always, acc) {
			if a.Kind == ref.Kind.Name && a.Name == ref.Name {
				continue
			}
			others = append(others, a.Ref())
		}
		if len(others) > 0 {
			shared = "it is shared by " + listSome(others, 10)
		}
	}
	verb, cmd := "give it a role", "enable"
	if !o.canCreate {
		verb, cmd = "remove its role", "disable"
	}
	return InputErrorf("%s runs as serviceaccount/%s, the account of every pod in namespace %q that names none: %s, and every such pod created later gets what it carries; refusing to %s for one workload. "+
		"Give the workload its own account (kubectl create serviceaccount NAME -n %s, then set serviceAccountName in its pod template), "+
		"or name the shared account to mean it: kubectl wi %s serviceaccount/%s -n %s ...",
		ref, defaultAccount, o.namespace, shared, verb, o.namespace, cmd, defaultAccount, o.namespace)
}

// listSome joins up to limit items, then says how many more there are.
func listSome(items []string, limit int) string {
	if len(items) <= limit {
		return joinAnd(items)
	}
	return strings.Join(items[:limit], ", ") + fmt.Sprintf(" and %d more", len(items)-limit)
}

// joinAnd joins a, b and c.
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// refuseOverwrite refuses, before any write, to replace a role that an account or custom
// resource already has with another, unless --overwrite: the error names every one of them,
// as kubectl annotate does for an annotation that has a value.
func (o *identityOptions) refuseOverwrite(accounts []*account, custom []*customTarget, want *identity.Config) error {
	if want == nil || o.overwrite {
		return nil
	}
	var held []string
	for _, a := range accounts {
		if a.sa == nil || a.changes[identity.AnnotationRoleARN] == nil {
			continue
		}
		if have := a.sa.Annotations[identity.AnnotationRoleARN]; have != "" {
			held = append(held, fmt.Sprintf("serviceaccount/%s -n %s has %s", a.name, a.namespace, have))
		}
	}
	for _, t := range custom {
		if have := t.ref.Kind.Custom.RoleARN(t.live); have != "" && have != want.RoleARN {
			held = append(held, fmt.Sprintf("%s has %s", o.ref(t.ref.String(), t.namespace), have))
		}
	}
	if len(held) == 0 {
		return nil
	}
	return InputErrorf("refusing to replace an existing role without --overwrite: %s; nothing was changed (add --overwrite to give %s %s)",
		strings.Join(held, "; "), plural(len(held), "it", "them"), want.RoleARN)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// namespaceExists is nil unless the namespace is certainly missing; a forbidden GET of the
// namespace proves nothing and is not an error here.
func (o *identityOptions) namespaceExists(ctx context.Context, c kubernetes.Interface) error {
	_, err := c.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return InputErrorf("namespace %q not found: check -n or the kubeconfig's context", o.namespace)
	}
	return nil
}

// write applies one account's changes: a JSON merge patch of only the identity annotations
// (null removes one), or a create. Nothing is sent for --dry-run=client; result is then what
// the server would store.
func (o *identityOptions) write(ctx context.Context, c kubernetes.Interface, a *account, want *identity.Config) error {
	if len(a.changes) == 0 {
		a.result = a.sa
		return nil
	}
	if a.sa == nil {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.namespace, Annotations: want.Annotations()}}
		if o.DryRun == "client" {
			a.result = sa
			return nil
		}
		got, err := c.CoreV1().ServiceAccounts(a.namespace).Create(ctx, sa, metav1.CreateOptions{DryRun: o.serverDryRun()})
		if apierrors.IsAlreadyExists(err) {
			// Created since we looked: annotate the one that is there.
			if a.sa, err = c.CoreV1().ServiceAccounts(a.namespace).Get(ctx, a.name, metav1.GetOptions{}); err != nil {
				return apicall.Wrap(err, "get", "serviceaccounts", a.namespace, a.name)
			}
			o.plan(a, want)
			if err := o.refuseOverwrite([]*account{a}, nil, want); err != nil {
				return err
			}
			return o.write(ctx, c, a, want)
		}
		a.result = got
		return apicall.Wrap(err, "create", "serviceaccounts", a.namespace, "")
	}
	if o.DryRun == "client" {
		a.result = applyChanges(a.sa, a.changes)
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": a.changes}})
	if err != nil {
		return err
	}
	// The patch carries no resourceVersion, so it does not conflict with other writers; a
	// Conflict can still come from the server's own retries running out, and is retried.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := c.CoreV1().ServiceAccounts(a.namespace).Patch(ctx, a.name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: o.serverDryRun()})
		if err == nil {
			a.result = got
		}
		return err
	})
	return apicall.Wrap(err, "patch", "serviceaccounts", a.namespace, a.name)
}

func applyChanges(sa *corev1.ServiceAccount, changes map[string]*string) *corev1.ServiceAccount {
	out := sa.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for k, v := range changes {
		if v == nil {
			delete(out.Annotations, k)
		} else {
			out.Annotations[k] = *v
		}
	}
	return out
}

func (o *identityOptions) serverDryRun() []string {
	if o.DryRun == "server" {
		return []string{metav1.DryRunAll}
	}
	return nil
}

func (o *identityOptions) dryRunSuffix() string {
	switch o.DryRun {
	case "client":
		return " (dry run)"
	case "server":
		return " (server dry run)"
	}
	return ""
}

// summaryOut is where the per-object summary goes: Out, unless Out carries -o data.
func (o *identityOptions) summaryOut() io.Writer {
	if o.Output != "" {
		return o.ErrOut
	}
	return o.Out
}

// ref renders kind/name, with the namespace when the run spans namespaces.
func (o *identityOptions) ref(kindName, namespace string) string {
	if o.AllNamespaces {
		return kindName + " -n " + namespace
	}
	return kindName
}

// accountLine is the summary of one account, kubectl style:
// serviceaccount/app annotated (role-arn, audience-).
func (o *identityOptions) accountLine(a *account, want *identity.Config) string {
	ref := o.ref("serviceaccount/"+a.name, a.namespace)
	if len(a.changes) == 0 {
		return ref + " unchanged"
	}
	keys := identity.ChangedKeys(a.changes)
	parts := make([]string, len(keys))
	for i, k := range keys {
		short := strings.TrimPrefix(k, identity.AnnotationPrefix)
		switch v := a.changes[k]; {
		case v == nil && want != nil:
			parts[i] = short + "-"
		case v == nil:
			parts[i] = short
		case o.DryRun != "none":
			parts[i] = short + "=" + *v
		default:
			parts[i] = short
		}
	}
	verb := "annotated"
	switch {
	case a.sa == nil:
		verb = "created"
	case want == nil:
		verb = "identity removed"
	}
	return fmt.Sprintf("%s %s (%s)%s", ref, verb, strings.Join(parts, ", "), o.dryRunSuffix())
}

// actionLine is the summary of one workload decision.
func (o *identityOptions) actionLine(a *restart.Action) string {
	ref := o.ref(a.Ref(), a.Namespace)
	switch a.Type {
	case restart.Restart:
		return fmt.Sprintf("%s restarted%s: %s", ref, o.dryRunSuffix(), a.Reason)
	case restart.Manual:
		return fmt.Sprintf("%s needs a manual restart: %s  # %s", ref, a.Command, a.Reason)
	case restart.InProgress:
		return fmt.Sprintf("%s not restarted: %s", ref, a.Reason)
	case restart.Current, restart.NoPods:
		return fmt.Sprintf("%s unchanged: %s", ref, a.Reason)
	}
	return ref
}

// warnHelm warns that a Helm upgrade would undo a hand-written annotation on a chart's
// service account, with the values line that makes the chart write it.
func (o *identityOptions) warnHelm(a *account, want *identity.Config) {
	if a.sa == nil || len(a.changes) == 0 {
		return
	}
	// A chart the registry knows, recognised by the account's name, release or chart, keeps
	// the annotations under its own values key (customtargets.go).
	if chart, how := o.targetRegistry().Chart(a.sa); chart != nil {
		o.warnChart(a, want, chart, how)
		return
	}
	if !helmManaged(a.sa) {
		return
	}
	release := a.sa.Annotations["meta.helm.sh/release-name"]
	if release == "" {
		release = "(unknown)"
	}
	if want == nil {
		fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is managed by Helm release %s; remove the eks.amazonaws.com/ annotations from the chart's values too, or the next helm upgrade puts them back\n", a.name, release)
		return
	}
	var sets []string
	for _, k := range identity.ChangedKeys(a.changes) {
		if v := a.changes[k]; v != nil {
			sets = append(sets, fmt.Sprintf("--set-string 'serviceAccount.annotations.%s=%s'", strings.ReplaceAll(k, ".", `\.`), *v))
		}
	}
	fmt.Fprintf(o.ErrOut, "Warning: serviceaccount/%s is managed by Helm release %s; the next helm upgrade drops annotations the chart does not set. Set them in the chart's values (the key depends on the chart), e.g.: helm upgrade %s ... %s\n",
		a.name, release, release, strings.Join(sets, " "))
}

// printAccounts prints the resulting service accounts and custom resources for -o: one
// object, or a v1 List when a selector or several targets were used.
func (o *identityOptions) printAccounts(accounts []*account, custom []runtime.Object) error {
	if o.Output == "" {
		return nil
	}
	objs := make([]runtime.Object, 0, len(accounts))
	for _, a := range accounts {
		sa := a.result.DeepCopy()
		sa.ManagedFields = nil
		sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
		objs = append(objs, sa)
	}
	objs = append(objs, custom...)
	var p printers.ResourcePrinter
	switch o.Output {
	case "name":
		p = &printers.NamePrinter{}
		for _, obj := range objs {
			if err := p.PrintObj(obj, o.Out); err != nil {
				return err
			}
		}
		return nil
	case "json":
		p = &printers.JSONPrinter{}
	case "yaml":
		p = &printers.YAMLPrinter{}
	default: // jsonpath=TEMPLATE, checked by validate
		tmpl, _ := strings.CutPrefix(o.Output, "jsonpath=")
		jp, err := printers.NewJSONPathPrinter(tmpl)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("-o jsonpath: %w", err)}
		}
		jp.AllowMissingKeys(true)
		p = jp
	}
	if len(objs) == 1 && o.Selector == "" {
		return p.PrintObj(objs[0], o.Out)
	}
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, obj := range objs {
		list.Items = append(list.Items, runtime.RawExtension{Object: obj})
	}
	return p.PrintObj(list, o.Out)
}

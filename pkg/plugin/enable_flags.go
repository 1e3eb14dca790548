package plugin

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// identityOptions are what enable and disable share: which service accounts, how to restart,
// dry run and output. Their run is pkg/annotate's (enable_run.go).
type identityOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	podIdentityOptions

	Restart       string
	Wait          bool
	Timeout       time.Duration
	DryRun        string // the flag; dryRun is what Complete read from it
	Output        string
	Selector      string
	AllNamespaces bool
	TargetsFile   string

	args       []string
	namespace  string
	timeoutSet bool
	// want is the identity enable gives; nil: none (disable).
	want *identity.Config
	// keep are the identity annotations this run leaves as they are: enable's settings not
	// named on the command line (unless --reset).
	keep []string
	// overwrite lets enable replace a role an account or custom resource already has; create
	// creates the missing accounts TARGET names.
	overwrite, create bool
	refs              []targets.Ref // service accounts and workloads
	customRefs        []targets.Ref // custom resources that take the role themselves
	registry          *targets.Registry
	restartMode       restart.Mode
	dryRun            dryRun
	canCreate         bool // the command has --create (enable), so a missing account's error suggests it
	// modeErr is a flag of one mode given in the other (checkPodIdentityFlags), for Validate
	// to refuse first.
	modeErr error

	deps deps
}

func newIdentityOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) identityOptions {
	return identityOptions{
		configFlags: cf,
		IOStreams:   streams,
		Restart:     string(restart.Auto),
		Timeout:     5 * time.Minute,
		deps:        d,
	}
}

func (o *identityOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Restart, "restart", o.Restart, "Which workloads using the service accounts to restart: auto (those with stale pods), always, never")
	f.BoolVar(&o.Wait, "wait", false, "Wait for the restarted workloads to finish rolling out")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --wait waits for the rollouts")
	addDryRunFlag(cmd, &o.DryRun, "Only show what would change: client sends nothing, server has the server validate and store nothing", dryRunNone, dryRunClient, dryRunServer)
	f.StringVarP(&o.Output, "output", "o", "", "Print the resulting service accounts: yaml, json, name or jsonpath=TEMPLATE; the summary then goes to stderr")
	f.StringVarP(&o.Selector, "selector", "l", "", "Select service accounts by label instead of naming them (e.g. -l team=payments)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "With -l, select service accounts in every namespace")
	f.StringVar(&o.TargetsFile, "targets", "", "A targets file adding custom resource kinds TARGET may name (default: kubectl-wi/targets.yaml under the user's config directory, if it exists)")
	completeValues(cmd, "restart", string(restart.Auto), string(restart.Always), string(restart.Never))
	completeValues(cmd, "output", "yaml", "json", "name", "jsonpath=")
}

// complete reads the namespace and the targets file, and builds from the flags what Validate
// checks: the restart mode, the dry-run strategy, the targets split by kind. A value that does
// not parse is left for Validate to refuse, in its order.
func (o *identityOptions) complete(cmd *cobra.Command, args []string) error {
	o.args = args
	o.timeoutSet = cmd.Flags().Changed("timeout")
	var err error
	if o.namespace, err = namespaceOf(o.configFlags, false); err != nil {
		return err
	}
	if o.registry, err = loadRegistry(o.TargetsFile); err != nil {
		return err
	}
	if o.PodIdentity {
		o.completeCluster()
		o.targetRole, o.targetRoleErr = parseRoleFlag("target-role-arn", o.TargetRoleARN)
	}
	o.restartMode, _ = restart.ParseMode(o.Restart)
	o.dryRun = parseDryRun(o.ErrOut, o.DryRun)
	o.refs, o.customRefs = o.refs[:0], o.customRefs[:0]
	for _, arg := range args {
		ref, err := o.registry.Parse(arg)
		switch {
		case err != nil:
		case ref.IsCustom():
			o.customRefs = append(o.customRefs, ref)
		default:
			o.refs = append(o.refs, ref)
		}
	}
	return nil
}

func (o *identityOptions) validate() error {
	if _, err := restart.ParseMode(o.Restart); err != nil {
		return &FlagError{Err: err}
	}
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunClient, dryRunServer); err != nil {
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
	if o.Wait && o.restartMode == restart.Never {
		return FlagErrorf("--wait waits for restarts, and --restart=never makes none")
	}
	if o.Wait && o.dryRun != dryRunNone {
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
	for _, arg := range o.args {
		if _, err := o.targetRegistry().Parse(arg); err != nil {
			return &FlagError{Err: err}
		}
	}
	return o.validateCustom()
}

// targetRegistry is the kinds TARGET may name: the built-in ones until complete loads the
// user's.
func (o *identityOptions) targetRegistry() *targets.Registry {
	if o.registry == nil {
		return targets.Builtin()
	}
	return o.registry
}

// Package annotate is what `kubectl wi enable` and `disable` do once their flags are parsed:
// find the service accounts the targets name, bring their eks.amazonaws.com/ annotations (or
// their EKS Pod Identity associations, or the role field of operators' custom resources) to
// the identity asked for, and restart exactly the workloads whose live pods need it. Every read
// and every check comes before the first write.
//
// The engine prints nothing itself: it tells a Reporter what it did, and the command renders
// it. The name says what the engine writes (annotations); it does not collide with the
// commands of pkg/plugin, which are named after their verbs.
package annotate

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Dry-run modes, as kubectl's --dry-run names them.
const (
	DryRunNone   = "none"
	DryRunClient = "client" // nothing is sent
	DryRunServer = "server" // the server validates, nothing is stored
)

// Config is what one run writes, and to which objects.
type Config struct {
	// Namespace is where TARGETs are looked up, and -l selects without AllNamespaces.
	Namespace     string
	AllNamespaces bool
	Selector      string        // -l: select service accounts by label instead of Refs
	Refs          []targets.Ref // service accounts and workloads
	CustomRefs    []targets.Ref // custom resources whose operators take the role themselves

	// Want is the identity the accounts get; nil removes it (disable).
	Want *identity.Config
	// Keep are the identity annotations left as they are: enable's settings not named on the
	// command line (unless --reset).
	Keep []string
	// Create creates a missing service account that Refs names.
	Create bool
	// Overwrite lets the run replace a role an account or custom resource already has.
	Overwrite bool
	// CanCreate says the command has --create (enable, not disable): errors suggest it.
	CanCreate bool

	Restart restart.Mode
	Wait    bool          // wait for the restarted workloads' rollouts, then check their pods
	Timeout time.Duration // of Wait, and the bound of the wait for the webhook
	DryRun  string        // DryRunNone, DryRunClient or DryRunServer

	// Cluster is the EKS cluster of RunPodIdentity, and ClusterFrom where its name came from.
	Cluster, ClusterFrom string
	// SkipPreflight leaves out the IAM reads of RunPodIdentity's pre-flight (the role, its
	// trust, the target role's), for credentials that may not read IAM.
	SkipPreflight bool
}

// CustomClients are what custom resource targets need besides the typed client: discovery,
// to tell a kind that is not installed, and the dynamic client, to read and write objects of
// kinds this binary has no types for.
type CustomClients struct {
	Discovery discovery.DiscoveryInterface
	Dynamic   dynamic.Interface
}

// Deps are the clients and timings of a run.
type Deps struct {
	Client kubernetes.Interface
	// Custom are the clients of custom resource targets; only needed when Config has some.
	Custom *CustomClients
	// AWS builds the EKS client of RunPodIdentity, once the accounts are found.
	AWS func(context.Context) (podidentity.AWS, error)
	// Restarter makes a workload's restart patch (the restartedAt annotation and its clock).
	Restarter restart.ObjectRestarterFunc
	// RolloutPoll is how often Wait polls the rollouts.
	RolloutPoll time.Duration
	// AdmissionTimeout and AdmissionPoll bound how long and how often a restart asks the
	// webhook whether it admits pods with the new identity (its cache lags by about a second
	// on EKS).
	AdmissionTimeout, AdmissionPoll time.Duration
}

// Reporter is told what the run does, as it does it; the command renders it.
type Reporter interface {
	// Custom is one custom resource, once written (or found as asked).
	Custom(t *CustomTarget)
	// Account is one service account, once written (or found as asked).
	Account(a *Account)
	// Association is one account's Pod Identity association, once applied (or planned).
	Association(c *podidentity.Change, cluster string)
	// Restart is one workload decision, once carried out.
	Restart(a *restart.Action)
	// Written is every write and restart done, before the wait for the rollouts.
	Written(res *Result) error
	// Checked is a line of a pre-flight check that passed, for a dry run to show.
	Checked(line string)
	// Warn is a line for the error stream: a warning, or why a check failed.
	Warn(line string)
	// Streams are where the rollout wait writes its lines and its progress.
	Streams() (out, progress io.Writer)
}

// Result is what the run wrote, for the command to print (-o).
type Result struct {
	Accounts []*Account
	Custom   []*CustomTarget
	// Associations are RunPodIdentity's changes, applied (or planned, for a dry run), in the
	// EKS cluster Cluster.
	Associations []podidentity.Change
	Cluster      string
}

// InputError is bad input found in the cluster (a missing object, a role held): exit 2.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// FailedError is a run that went to the end and found restarted workloads whose new pods lack
// the identity; the reporter has been told which.
type FailedError struct{ Failed int }

func (e *FailedError) Error() string { return fmt.Sprintf("%d check(s) failed", e.Failed) }

package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// deps are what the commands reach outside the process through, and their timings: built
// once by Main with the real clients (defaultDeps), and by tests with fakes. root.go hands
// them to every command that reaches the cluster or AWS.
type deps struct {
	// newClient builds the kubernetes client from the kubectl flags, for every command and the
	// names completion lists.
	newClient func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error)
	// newCustom builds the clients of custom resource targets (enable, disable, verify, status).
	newCustom func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error)
	// newAWS builds the EKS and IAM client of --pod-identity and migrate.
	newAWS func(context.Context, awsconfig.Options) (podidentity.AWS, error)
	// associations read an EKS cluster's Pod Identity associations for status and verify.
	associations associationReads
	// prover builds migrate's proofs: verify's probe pod.
	prover func(verify.Config, verify.Deps) podidentity.ProveFunc
	// now is the clock of a restart's restartedAt, and of verify's and explain's timings.
	now func() time.Time
	// rolloutPoll is how often --wait polls the rollouts; admissionTimeout and admissionPoll
	// how long and how often a restart asks the webhook whether it admits pods with the new
	// identity (its cache lags by about a second on EKS).
	rolloutPoll, admissionTimeout, admissionPoll time.Duration
}

// defaultDeps are the real clients and timings.
func defaultDeps() deps {
	return deps{
		newClient:        newClientset,
		newCustom:        newCustomClients,
		newAWS:           newPodIdentityAWS,
		associations:     defaultAssociationReads(),
		prover:           podidentity.Prover,
		now:              time.Now,
		rolloutPoll:      time.Second,
		admissionTimeout: 30 * time.Second,
		admissionPoll:    250 * time.Millisecond,
	}
}

// newCustomClients builds the clients of custom resource targets from the kubectl flags. Discovery is not cached: a CRD
// installed a moment ago must be found.
func newCustomClients(cf *genericclioptions.ConfigFlags) (*annotate.CustomClients, error) {
	cfg, err := cf.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS = -1 // as newClientset: no client-side rate limiter
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to build a dynamic client: %w", err)
	}
	return &annotate.CustomClients{Discovery: disc, Dynamic: dyn}, nil
}

// newPodIdentityAWS is the user's SDK configuration, which must name a region, since EKS is
// regional.
func newPodIdentityAWS(ctx context.Context, opts awsconfig.Options) (podidentity.AWS, error) {
	cfg, err := awsconfig.Load(ctx, opts)
	var pe *awsconfig.ProfileError
	switch {
	case errors.As(err, &pe):
		return nil, &InputError{Err: err}
	case err != nil:
		return nil, err
	case cfg.Region == "":
		return nil, FlagErrorf("the EKS cluster's region is unknown: pass --region or set AWS_REGION")
	}
	return podidentity.NewSDK(cfg), nil
}

// depsKey is the context key of the deps: cobra's completion functions get only the command,
// and its context is the one Main executes with.
type depsKey struct{}

// depsOf are the deps Main runs the command with; the defaults when it is run otherwise.
func depsOf(ctx context.Context) deps {
	if ctx != nil {
		if d, ok := ctx.Value(depsKey{}).(deps); ok {
			return d
		}
	}
	return defaultDeps()
}

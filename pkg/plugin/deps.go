package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/term"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
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
	// newCustom builds the clients of custom resource targets (enable, disable, verify, status;
	// nil: status lists none).
	newCustom func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error)
	// loadAWS is the user's AWS SDK configuration, the one every AWS client below is built on.
	loadAWS func(context.Context, awsconfig.Options) (aws.Config, error)
	// podIdentityClient is the EKS and IAM client of --pod-identity and migrate (newAWS),
	// associationReader the EKS reads of status's and verify's associations, and
	// explainClients explain's IAM and EKS reads and its STS.
	podIdentityClient func(aws.Config) podidentity.AWS
	associationReader func(aws.Config) podidentity.AssociationReader
	explainClients    func(aws.Config) (awsread.Reader, explain.STS)
	// prover builds migrate's proofs: verify's probe pod.
	prover func(verify.Config, verify.Deps) podidentity.ProveFunc
	// kubeconfig reads the kubeconfig as the kubectl flags select its context: the EKS
	// cluster's default (--eks-cluster) comes from it.
	kubeconfig func(*genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error)
	// discovery reads the apiserver's OIDC discovery document for verify and explain, and
	// issuer the cluster's issuer for trust-policy.
	discovery func(kubernetes.Interface) apicall.DiscoveryFunc
	issuer    func(context.Context, kubernetes.Interface) (string, error)
	// explainRefusal explains a probe's STS refusal from IAM in verify; nil: not explained.
	explainRefusal func(kubernetes.Interface, apicall.DiscoveryFunc) func(context.Context, string, string, string) []check.Event
	// logs streams a probe's log (nil: through the apiserver); podName names probe pods (nil:
	// wi-probe- and random letters).
	logs    verify.LogFunc
	podName func() string
	// isTerminal tells whether w is a terminal, where the default output is the TUI.
	isTerminal func(w io.Writer) bool
	// env is what the commands take from the environment, read once.
	env environment
	// hostname names a monitor replica that has no $POD_NAME.
	hostname func() (string, error)
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
		newClient:         newClientset,
		newCustom:         newCustomClients,
		loadAWS:           awsconfig.Load,
		podIdentityClient: func(cfg aws.Config) podidentity.AWS { return podidentity.NewSDK(cfg) },
		associationReader: func(cfg aws.Config) podidentity.AssociationReader { return awsread.NewSDK(cfg) },
		explainClients:    func(cfg aws.Config) (awsread.Reader, explain.STS) { return awsread.NewSDK(cfg), explain.NewSTS(cfg) },
		prover:            podidentity.Prover,
		kubeconfig:        selectedConfig,
		discovery:         apicall.APIServerDiscovery,
		issuer:            apicall.ClusterIssuer,
		explainRefusal:    explain.Refusal,
		isTerminal:        isTerminal,
		env:               readEnvironment(os.Getenv),
		hostname:          os.Hostname,
		now:               time.Now,
		rolloutPoll:       time.Second,
		admissionTimeout:  30 * time.Second,
		admissionPoll:     250 * time.Millisecond,
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

// newAWS is the EKS and IAM client of --pod-identity and migrate on the user's SDK
// configuration, which must name a region, since EKS is regional.
func (d deps) newAWS(ctx context.Context, opts awsconfig.Options) (podidentity.AWS, error) {
	cfg, err := d.loadAWS(ctx, opts)
	var pe *awsconfig.ProfileError
	switch {
	case errors.As(err, &pe):
		return nil, &InputError{Err: err}
	case err != nil:
		return nil, err
	case cfg.Region == "":
		return nil, FlagErrorf("the EKS cluster's region is unknown: pass --region or set AWS_REGION")
	}
	return d.podIdentityClient(cfg), nil
}

// environment is what the commands take from the process's environment (the AWS SDK reads
// its own): read once, by defaultDeps.
type environment struct {
	// stsEndpoint and caBundle are the defaults of --sts-endpoint and --ca-bundle (stsFlags).
	stsEndpoint, caBundle string
	// podNamespace and podName: the monitor's Deployment sets them from the downward API
	// (envPodNamespace, envPodName).
	podNamespace, podName string
	// regionSet: AWS_REGION or AWS_DEFAULT_REGION names a region, which then wins over the
	// region of the kubeconfig's EKS cluster.
	regionSet bool
}

// The environment that gives --sts-endpoint and --ca-bundle (stsFlags) their defaults: set
// once, for a private STS endpoint or a proxy's CA, instead of on every run.
const (
	EnvSTSEndpoint = "KUBECTL_WI_STS_ENDPOINT"
	EnvCABundle    = "KUBECTL_WI_CA_BUNDLE"
)

// readEnvironment reads the environment through getenv.
func readEnvironment(getenv func(string) string) environment {
	return environment{
		stsEndpoint: getenv(EnvSTSEndpoint),
		caBundle:    getenv(EnvCABundle),
		regionSet:   getenv("AWS_REGION") != "" || getenv("AWS_DEFAULT_REGION") != "",

		podNamespace: getenv(envPodNamespace),
		podName:      getenv(envPodName),
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

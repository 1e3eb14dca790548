package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

// Env the monitor's Deployment sets from the downward API.
const (
	envPodNamespace = "POD_NAMESPACE"
	envPodName      = "POD_NAME"
)

// The help of the flags monitor run and monitor install share (install passes them on).
const (
	monitorRegionHelp     = "AWS region of the probe's STS calls and of the monitor's own AWS reads"
	monitorEKSClusterHelp = "EKS cluster whose Pod Identity associations the monitor reads with its own AWS credentials"
)

// MonitorRunOptions are the flags of `kubectl-wi monitor run`.
type MonitorRunOptions struct {
	genericiooptions.IOStreams
	configFlags *genericclioptions.ConfigFlags
	deps        deps

	Interval, Debounce, Timeout time.Duration
	Jitter                      float64
	Parallel, Budget            int
	Namespaces                  []string
	ClusterName, MetricsAddr    string
	LeaderElect                 bool
	LeaseName, StatusConfigMap  string
	Image, ImagePullPolicy      string
	Region, EKSCluster          string
	stsFlags

	namespace string // of the Lease and the status object
	identity  string
}

// newCmdMonitorRun builds `kubectl-wi monitor run`, the monitor itself, which `monitor
// install` runs in the cluster (and which runs out of it with the kubeconfig).
func newCmdMonitorRun(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *cobra.Command {
	o := &MonitorRunOptions{
		IOStreams: streams, configFlags: cf, deps: d,
		Interval: monitor.DefaultInterval, Jitter: monitor.DefaultJitter, Parallel: monitor.DefaultParallel,
		Debounce: monitor.DefaultDebounce, Timeout: 2 * time.Minute,
		MetricsAddr: ":8080", LeaderElect: true, LeaseName: monitor.DefaultLeaseName, StatusConfigMap: monitor.DefaultStatusConfigMap,
		Image: ProbeImage(), ImagePullPolicy: string(corev1.PullIfNotPresent),
	}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Prove every identity account continuously, with Prometheus metrics, Events and a status object",
		Long: `Run the monitor: watch service accounts, pods, the pod identity webhook and the Pod Identity
agent, and prove each account with an identity from a probe pod, every --interval (jittered)
and soon after a change that can break it. Only the leader of the Lease proves; every replica
serves /metrics and /healthz on --metrics-addr. kubectl wi monitor install runs it in the
cluster; it runs outside with the kubeconfig too.`,
		Args: cobra.NoArgs,
		RunE: completeValidateRun(o, nil),
	}
	f := cmd.Flags()
	f.DurationVar(&o.Interval, "interval", o.Interval, "How often each account is proven")
	f.Float64Var(&o.Jitter, "jitter", o.Jitter, "Fraction of --interval by which each account's next proof moves at random, so proofs spread out")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "Probe pods at once")
	f.IntVar(&o.Budget, "budget", o.Budget, "Proofs per interval at most (0: every account)")
	f.DurationVar(&o.Debounce, "debounce", o.Debounce, "How long after a change that can break an account it is proven (a burst of changes gives one proof)")
	f.StringSliceVar(&o.Namespaces, "namespaces", o.Namespaces, "Namespaces to watch and prove (default: all)")
	f.StringVar(&o.ClusterName, "cluster-name", o.ClusterName, `Adds the label cluster="<name>" to every series, for one Prometheus over many clusters`)
	f.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "Address of /metrics and /healthz")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Prove only while holding the Lease, so replicas never prove an account twice")
	f.StringVar(&o.LeaseName, "lease-name", o.LeaseName, "Name of the Lease (in $"+envPodNamespace+", else "+monitor.DefaultNamespace+")")
	f.StringVar(&o.StatusConfigMap, "status-configmap", o.StatusConfigMap, "ConfigMap the last results are written to (in $"+envPodNamespace+", else "+monitor.DefaultNamespace+")")
	f.StringVar(&o.Image, "image", o.Image, "Probe image to run")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "When the node pulls the probe image. One of: Always|IfNotPresent|Never")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "Bound on one account's proof")
	f.StringVar(&o.STSEndpoint, "sts-endpoint", o.STSEndpoint, "STS endpoint URL the probe calls (default $"+EnvSTSEndpoint+", else the SDK's)")
	f.StringVar(&o.CABundle, "ca-bundle", o.CABundle, "PEM file of CA certificates the probe trusts beside the public roots (default $"+EnvCABundle+")")
	f.StringVar(&o.Region, "region", o.Region, monitorRegionHelp)
	f.StringVar(&o.EKSCluster, "eks-cluster", o.EKSCluster, monitorEKSClusterHelp)
	return cmd
}

// Complete reads the env defaults, the CA bundle and this replica's names.
func (o *MonitorRunOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.complete(cmd, o.deps.env)
	o.namespace = o.deps.env.podNamespace
	if o.namespace == "" {
		o.namespace = monitor.DefaultNamespace
	}
	o.identity = o.deps.env.podName
	if o.identity == "" {
		h, err := o.deps.hostname()
		if err != nil {
			return fmt.Errorf("failed to name this replica (no $%s, no hostname): %w", envPodName, err)
		}
		o.identity = h
	}
	return nil
}

// Validate checks the flags before a client is built: the schedule as monitor.New does.
func (o *MonitorRunOptions) Validate() error {
	if err := o.config().Validate(); err != nil {
		return &FlagError{Err: err}
	}
	if o.Debounce <= 0 {
		return FlagErrorf("--debounce must be positive, got %s", o.Debounce)
	}
	if err := checkTimeout(o.Timeout); err != nil {
		return err
	}
	if err := checkProbeImage(o.Image, o.ImagePullPolicy); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
		return FlagErrorf("--metrics-addr %q is not host:port: %w", o.MetricsAddr, err)
	}
	return o.validate()
}

// config is the monitor's Config of the flags.
func (o *MonitorRunOptions) config() monitor.Config {
	return monitor.Config{
		Interval: o.Interval, Jitter: o.Jitter, Parallel: o.Parallel, Budget: o.Budget, Debounce: o.Debounce,
		Namespaces: o.Namespaces, ClusterName: o.ClusterName, Namespace: o.namespace, Identity: o.identity,
		LeaderElect: o.LeaderElect, LeaseName: o.LeaseName, StatusConfigMap: o.StatusConfigMap,
	}
}

// Run serves the metrics and runs the monitor until the context ends (SIGTERM) or the Lease
// is lost.
func (o *MonitorRunOptions) Run(ctx context.Context) error {
	client, err := o.deps.newClient(o.configFlags)
	if err != nil {
		return err
	}
	log := klog.Background().WithName("monitor")
	aws, why := monitor.LoadAWSReads(ctx, o.EKSCluster, o.Region)
	awsReads := monitor.AWSReadsEnabled
	if aws == nil {
		awsReads = "not configured: " + why
	}
	prover := monitor.NewFleetProver(client, monitor.ProofSettings{
		Image: o.Image, PullPolicy: o.ImagePullPolicy, Timeout: o.Timeout,
		STSEndpoint: o.STSEndpoint, Region: o.Region, CABundle: o.caBundle,
	}, monitor.ProbeLabels(), aws, o.deps.now)
	m, err := monitor.New(o.config(), monitor.Deps{Client: client, Prover: prover, Associations: prover.Associations, Log: log, AWSReads: awsReads})
	if err != nil {
		return &InputError{Err: err}
	}
	ln, err := net.Listen("tcp", o.MetricsAddr)
	if err != nil {
		return fmt.Errorf("failed to listen on --metrics-addr %s: %w", o.MetricsAddr, err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving /metrics and /healthz", "address", ln.Addr().String(), "replica", o.identity)

	runErr := m.Run(ctx)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && runErr == nil {
		runErr = fmt.Errorf("the metrics server stopped: %w", err)
	}
	return runErr
}

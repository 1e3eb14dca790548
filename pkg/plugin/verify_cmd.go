package plugin

import (
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

const verifyLong = `Prove that a service account's pods can assume their IAM role, from inside a real pod.

verify checks the cluster from outside (the service account and its role, the pod identity
webhook, the cluster's issuer), then starts a short-lived probe pod as the service account,
checks the pod as the apiserver stored it (what the webhook injected), and runs the probe in
it: it reads the projected token, checks its claims, calls AssumeRoleWithWebIdentity and
GetCallerIdentity, and names the broken link and the fix when one fails. The probe pod runs
with the restricted Pod Security profile, and is deleted on every exit path unless --keep.

For a deployment, statefulset or daemonset the probe pod copies its service account, pod
securityContext, nodeSelector, tolerations and hostNetwork, and the identity env of one
container (AWS_* and proxies, never credentials; --container, else kubectl's default container),
so it proves what that container gets. verify also judges the workload's running pods: those
created before the account changed, and for each container the credential source the AWS
SDKs' default chain picks there (static keys, web identity, container credentials, or the
node's role through instance metadata) and the role it names.

A custom resource TARGET (storagecluster/NAME, deploymentruntimeconfig/NAME, or a kind of
--targets) is proven through the service accounts its operator runs as: those that carry the
role the object sets, in its namespace (any namespace for a cluster-scoped kind).

With no TARGET, verify proves every service account with a role in the namespace, in every
namespace (-A), or those matching -l, --parallel at a time: one live row per account in a
terminal, each line or JSON event led by its account otherwise, a summary, and exit 1 when any
account failed, or when none is selected (No service accounts found, on stderr; --allow-empty
makes that exit 0).

The probe trusts the public CA roots it embeds; --ca-bundle adds private ones (a private STS
endpoint, a TLS-inspecting proxy), handed to the probe in a ConfigMap deleted with the pod.
For a workload, the probe also carries its containers' HTTPS_PROXY, HTTP_PROXY and NO_PROXY,
so it takes the network path the workload takes. --sts-endpoint and --ca-bundle default to
$` + EnvSTSEndpoint + ` and $` + EnvCABundle + ` when they are set.

EKS Pod Identity associations are not visible in the cluster: with AWS credentials at hand and
the EKS cluster known (--eks-cluster, else the kubeconfig's), verify reads them
(eks:ListPodIdentityAssociations, eks:DescribePodIdentityAssociation). With no TARGET, every
account with an association is then proven, whatever its pods carry; for an account whose
probe pod gets no container credentials, it tells an account without an association from a
webhook that does not inject Pod Identity. When they were not read, verify says so.

When STS refuses the probe and AWS credentials are at hand (the environment or the shared
config files), verify also reads the role's trust policy and the OIDC provider as
kubectl wi explain does, so the refusal names the statement and condition at fault.

With --in-pod, for a deployment, statefulset, daemonset or pod TARGET, the probe runs in the
app's own pod instead: an ephemeral container (what kubectl debug adds, through the
pods/ephemeralcontainers subresource) in the newest Ready pod of the app (--pod names another),
in the process and network namespaces of its container (-c, else kubectl's default), with that
container's env as stored, its mounts of the identity tokens and its user. It makes the probe
pod's checks from there (the app's network path: a NetworkPolicy, a proxy, a mesh; a token the
app's user cannot read), then finds the AWS SDKs of the app's processes and judges each against
the minimum version AWS documents for the identity. It is opt-in because an ephemeral
container cannot be removed: it stays in the pod's spec, terminated, until the pod is replaced
(verify says so before it adds it). It needs RBAC verb patch on pods/ephemeralcontainers.
--dry-run=client prints the patch and writes nothing. --ca-bundle travels as PEM in the
container's env, since an ephemeral container cannot add a volume; CA certificates are
public. When the cluster refuses the ephemeral container (RBAC, ephemeral containers not
served, Pod Security or another admission policy) or the app's pod does not run, verify says
why and runs a probe pod instead: its result follows, and verify exits 3 unless one of its
checks failed (1), since the app's own pod was not proven. With no TARGET, --in-pod proves
each deployment, statefulset and daemonset of the accounts it selects, in one of its pods,
--parallel at a time; one with no running pod is proven by a probe pod, and does not make
verify exit 3.

A terminal gets a live checklist (q or Ctrl-C cancels and cleans up); otherwise one line per
check and the verdict last. -o json writes the events as JSON lines. NO_COLOR is honoured.
The token and the credentials never appear in any output.

` + exitCodesHelp

const verifyExample = `  # Prove the role of the service account checkout in the namespace shop
  kubectl wi verify checkout -n shop

  # Prove what the pods of a deployment get, with its securityContext and node placement
  kubectl wi verify deployment/checkout -n shop

  # Expect a particular role, and print plain text for a CI log
  kubectl wi verify serviceaccount/checkout -n shop --role-arn arn:aws:iam::111122223333:role/checkout -o text

  # Prove what the container api of a deployment gets, with its own AWS_* env
  kubectl wi verify deployment/checkout -n shop -c api

  # Prove every service account with a role in every namespace, 10 at a time
  kubectl wi verify -A --parallel 10

  # Prove the service accounts the Portworx operator runs as
  kubectl wi verify storagecluster/px-cluster -n portworx

  # Run the probe from a mirror of the probe image, and keep the pod to look at it
  kubectl wi verify checkout -n shop --image registry.example.com/kubectl-wi:v1.0.0 --keep

  # Prove it from inside the newest Ready pod of the deployment, with its network, user and SDKs
  kubectl wi verify deployment/checkout -n shop --in-pod

  # Show the ephemeral container --in-pod would add to a given pod, and add nothing
  kubectl wi verify deployment/checkout -n shop --in-pod --pod checkout-7d9f8-x2x7q --dry-run=client

  # A private STS endpoint whose certificate a private CA issued
  kubectl wi verify checkout -n shop --sts-endpoint https://sts.internal.example.com --ca-bundle corp-ca.pem`

// VerifyOptions holds everything `kubectl wi verify` needs. Flags bind to fields.
type VerifyOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	RoleARN         string
	Audience        string
	Image           string
	ImagePullPolicy string
	Timeout         time.Duration
	Keep            bool
	Output          string // "tui" | "text" | "json"; empty: tui on a terminal, text otherwise
	stsFlags
	Region        string
	Timings       bool // hidden: print the run's timings to ErrOut
	Container     string
	AllNamespaces bool
	Selector      string
	Parallel      int
	TargetsFile   string
	InPod         bool
	Pod           string
	DryRun        string // the flag; dryRun is what Complete read from it
	AllowEmpty    bool
	EKSCluster    string

	audienceSet bool
	dryRun      dryRun // none, or client with --in-pod

	target       checktarget.Target // zero for a fleet run
	custom       *targets.Ref       // a custom resource target
	targetErr    error              // why TARGET did not parse, for Validate to say
	namespace    string
	imageDefault bool // --image was not given
	terminal     bool // Out is a terminal

	deps deps
	// client and engine are what Run builds from deps: the cluster's client, and the engine's
	// deps on it.
	client kubernetes.Interface
	engine verify.Deps
}

// newVerifyOptions are the defaults, reaching outside through d.
func newVerifyOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *VerifyOptions {
	return &VerifyOptions{
		configFlags:     cf,
		IOStreams:       streams,
		Image:           ProbeImage(),
		ImagePullPolicy: string(corev1.PullIfNotPresent),
		Timeout:         2 * time.Minute,
		Parallel:        verify.DefaultParallel,
		deps:            d,
	}
}

// newCmdVerify builds `kubectl wi verify` around o. runF, when not nil, replaces Run after
// Complete and Validate, so tests can look at the parsed options.
func newCmdVerify(o *VerifyOptions, runF func(*VerifyOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "verify [[serviceaccount/]NAME | deployment|statefulset|daemonset|pod/NAME | KIND/NAME]",
		Short:   "Prove from inside a pod that a service account can assume its IAM role",
		Long:    verifyLong,
		Example: verifyExample,
		Args: func(_ *cobra.Command, args []string) error {
			if err := targets.Builtin().CheckArgs(args); err != nil {
				return &FlagError{Err: err}
			}
			if len(args) > 1 {
				return FlagErrorf("verify takes at most one TARGET, [serviceaccount/]NAME, deployment|statefulset|daemonset/NAME or a custom resource KIND/NAME, got %d; "+
					"with none it proves every service account with a role (-n, -A, -l)", len(args))
			}
			return nil
		},
		RunE: completeValidateRun(o, runF),
	}
	f := cmd.Flags()
	f.StringVar(&o.RoleARN, "role-arn", o.RoleARN, "Role the pods must get (default: the service account's eks.amazonaws.com/role-arn)")
	f.StringVar(&o.Audience, "audience", o.Audience, "Audience the token must carry (default: the service account's eks.amazonaws.com/audience, else sts.amazonaws.com)")
	f.StringVar(&o.Image, "image", o.Image, "Probe image to run")
	f.StringVar(&o.ImagePullPolicy, "image-pull-policy", o.ImagePullPolicy, "When the node pulls the probe image. One of: Always|IfNotPresent|Never")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "Bound on the whole run (the probe pod's activeDeadlineSeconds is 10s more, a backstop)")
	f.BoolVar(&o.Keep, "keep", o.Keep, "Keep the probe pod after the run (it is deleted otherwise; with --in-pod, the one that runs when the app's pod refuses the probe)")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: tui|text|json (default: tui on a terminal, text otherwise); with --dry-run=client, yaml (the default) or json")
	f.StringVar(&o.STSEndpoint, "sts-endpoint", o.STSEndpoint, "STS endpoint URL for the probe (sets AWS_ENDPOINT_URL_STS in the probe pod; default $"+EnvSTSEndpoint+")")
	f.StringVar(&o.CABundle, "ca-bundle", o.CABundle, "PEM file of CA certificates the probe trusts beside the public roots, for a private STS endpoint or a TLS-inspecting proxy (sets AWS_CA_BUNDLE in the probe pod; default $"+EnvCABundle+")")
	f.StringVar(&o.Region, "region", o.Region, "STS region when the pod's env names none")
	f.StringVarP(&o.Container, "container", "c", o.Container, "For a workload or pod TARGET: the container whose identity env (AWS_*, proxies) the probe takes, or with --in-pod joins (default: kubectl's default container, else the first)")
	f.BoolVar(&o.InPod, "in-pod", o.InPod, "For a workload or pod TARGET: run the probe as an ephemeral container in a running pod of the app, in its network and with its user, env and SDKs; it stays in the pod's spec, terminated, until the pod is replaced. With no TARGET: in one pod of each running workload of the accounts")
	f.StringVar(&o.Pod, "pod", o.Pod, "With --in-pod: the pod of the app to join (default: its newest Ready pod)")
	addDryRunFlag(cmd, &o.DryRun, "With --in-pod: client prints the ephemeral container's patch (-o yaml or json) and writes nothing", dryRunNone, dryRunClient)
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", o.AllNamespaces, "With no TARGET: prove the service accounts with a role in every namespace")
	f.StringVarP(&o.Selector, "selector", "l", o.Selector, "With no TARGET: prove only the service accounts with these labels (e.g. -l team=payments)")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "With many service accounts: how many to prove at once")
	f.BoolVar(&o.AllowEmpty, "allow-empty", o.AllowEmpty, "With no TARGET: exit 0 when no service account is selected (default: exit 1, as a gate that checked nothing has not passed)")
	f.StringVar(&o.EKSCluster, "eks-cluster", o.EKSCluster, eksClusterFlagHelp)
	f.StringVar(&o.TargetsFile, "targets", o.TargetsFile, "A targets file of more custom resource kinds (see kubectl wi enable --help)")
	f.BoolVar(&o.Timings, "timings", o.Timings, "Print how long each step took to the error stream")
	_ = f.MarkHidden("timings")
	cmd.ValidArgsFunction = completeTargets(o.configFlags, o.deps, workloadTargetKinds, 1)
	completeValues(cmd, "output", "tui", "text", "json", "yaml")
	completeValues(cmd, "image-pull-policy", string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever))
	return cmd
}

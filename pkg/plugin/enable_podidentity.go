package plugin

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// podIdentityOptions are enable's and disable's --pod-identity flags: which cluster, which AWS
// credentials, and for enable what the association gives.
type podIdentityOptions struct {
	PodIdentity        bool
	TargetRoleARN      string
	DisableSessionTags bool
	Cluster            string
	Profile            string
	Region             string
	SkipPreflight      bool

	clusterFrom string // "--eks-cluster" or "the kubeconfig", for messages
	// targetRole is --target-role-arn as Complete parsed it, and targetRoleErr why it did not
	// parse, for Validate to say.
	targetRole    identity.RoleARN
	targetRoleErr error
}

const podIdentityHelp = `With --pod-identity, enable creates or updates the EKS Pod Identity association of each
service account instead (eks:CreatePodIdentityAssociation, eks:UpdatePodIdentityAssociation,
with your own AWS credentials: the SDK's configuration, --profile, --region), and restarts the
workloads whose live pods lack its container credentials; disable --pod-identity deletes it and
restarts those that still carry them. Either restarts only once the webhook admits new pods
accordingly (EKS pushes an association to it seconds after the call); when it does not within
30 s, or on Ctrl-C, nothing is restarted and the command fails (exit 1, or 130), naming the
association it wrote and how to finish or undo. An
association that already gives the role makes no call; one that gives another role is updated,
with --overwrite. The EKS cluster is --eks-cluster, else the kubeconfig's (the cluster of its
context named by ARN, or its aws eks get-token --cluster-name); --cluster stays kubectl's, a
cluster of the kubeconfig. --dry-run shows the AWS CLI command of each call: EKS has no dry
run, so with --dry-run=server only the restarts go to the apiserver as dry runs.

Before any write, enable --pod-identity makes the pre-flight checks migrate makes, with your
credentials' reads (iam:GetRole): the role exists, is in the cluster's account, and its trust
lets pods.eks.amazonaws.com call sts:AssumeRole and sts:TagSession (sts:AssumeRole alone with
--disable-session-tags); a --target-role-arn's trust lets the role assume it; the Pod Identity
agent's DaemonSet, when there is one, is ready. A problem refuses the run with exit 1, nothing
written, and gives the fix; --dry-run shows the checks too. --skip-preflight is for
credentials that may not read IAM. --create creates a missing service account TARGET names, as
without --pod-identity; -o json|yaml prints the association as the EKS API returns it (with
--dry-run, the association as it would be).`

func (o *podIdentityOptions) addFlags(cmd *cobra.Command, enable bool) {
	f := cmd.Flags()
	verb := "Create or update the EKS Pod Identity association of the service accounts, instead of annotating them"
	if !enable {
		verb = "Delete the EKS Pod Identity association of the service accounts, instead of their annotations"
	}
	f.BoolVar(&o.PodIdentity, "pod-identity", false, verb)
	if enable {
		f.StringVar(&o.TargetRoleARN, "target-role-arn", "", "With --pod-identity: a role the association's role assumes in turn (role chaining, e.g. into another account)")
		f.BoolVar(&o.DisableSessionTags, "disable-session-tags", false, "With --pod-identity: EKS does not tag the sessions (the role's trust then needs no sts:TagSession)")
		f.BoolVar(&o.SkipPreflight, "skip-preflight", false, "With --pod-identity: do not read IAM before writing, for credentials without iam:GetRole; then nothing checks that the role exists, that its trust admits pods.eks.amazonaws.com, or that the target role's trust admits the role, until pods get no credentials")
	}
	f.StringVar(&o.Cluster, "eks-cluster", "", "With --pod-identity: the EKS cluster's name ("+eksClusterHelp+")")
	f.StringVar(&o.Profile, "profile", "", "With --pod-identity: the AWS profile of the shared config files (default: AWS_PROFILE, else the default profile)")
	f.StringVar(&o.Region, "region", "", "With --pod-identity: the EKS cluster's region (default: AWS_REGION or the profile's, else the kubeconfig's EKS cluster's)")
}

// podIdentityOnly are the flags that mean nothing without --pod-identity.
var podIdentityOnly = []string{"target-role-arn", "disable-session-tags", "skip-preflight", "eks-cluster", "profile", "region"}

// checkPodIdentityFlags refuses the flags of one mode given in the other: the --pod-identity
// flags without it, and with it the flags of IRSA's annotations (annotationOnly).
func (o *identityOptions) checkPodIdentityFlags(cmd *cobra.Command, annotationOnly []string) error {
	if !o.PodIdentity {
		for _, name := range podIdentityOnly {
			if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
				return FlagErrorf("--%s only applies with --pod-identity", name)
			}
		}
		return nil
	}
	for _, name := range annotationOnly {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return FlagErrorf("--%s does not apply with --pod-identity: the association sets no annotation", name)
		}
	}
	return nil
}

// validatePodIdentity checks --pod-identity's input, with no API call: the role ARNs as
// Complete parsed them (roleErr: --role-arn's error, enable's), the targets, and the cluster's
// name from --eks-cluster or the kubeconfig.
func (o *identityOptions) validatePodIdentity(roleErr error) error {
	if roleErr != nil {
		return roleErr
	}
	if o.targetRoleErr != nil {
		return o.targetRoleErr
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.Output == "name" {
		return FlagErrorf("-o name names Kubernetes objects, and an association is an EKS object: use -o jsonpath={.associationId}")
	}
	if len(o.customRefs) > 0 {
		return FlagErrorf("--pod-identity associates service accounts, and %s is a custom resource whose operator takes the role itself", o.customRefs[0])
	}
	return o.checkCluster()
}

// completeCluster fills Cluster from the kubeconfig's EKS context (as kubectl's --context,
// --cluster and --user select it) when --eks-cluster is not given, and the region from its ARN
// when nothing else names one.
func (o *identityOptions) completeCluster() {
	o.Cluster, o.Region, o.clusterFrom = eksClusterAndRegion(o.deps, o.configFlags, o.Cluster, o.Region)
}

// checkCluster refuses a run with no EKS cluster: neither --eks-cluster nor the kubeconfig names one.
func (o *identityOptions) checkCluster() error {
	if o.Cluster == "" {
		return FlagErrorf("--pod-identity needs the EKS cluster's name, and the kubeconfig's context names no EKS cluster: pass --eks-cluster NAME")
	}
	return nil
}

// associationLine is the summary of one account's association, kubectl style:
// podidentityassociation a-1 created (serviceaccount/app, role R).
func (o *identityOptions) associationLine(c *podidentity.Change, cluster string) string {
	sa := o.ref("serviceaccount/"+c.ServiceAccount, c.Namespace)
	id := ""
	switch {
	case c.Result != nil:
		id = c.Result.ID
	case c.Have != nil:
		id = c.Have.ID
	}
	name := "podidentityassociation " + id
	if id == "" {
		name = "podidentityassociation of " + sa
	}
	switch {
	case c.Op == podidentity.OpNone && c.Have == nil:
		return sa + " has no Pod Identity association: unchanged"
	case c.Op == podidentity.OpNone:
		return fmt.Sprintf("%s unchanged (%s, %s)", name, sa, podidentity.Describe(podidentity.SpecOf(c.Have)))
	case o.dryRun == dryRunClient:
		return fmt.Sprintf("%s %s (dry run): %s", name, c.Op, c.Command(cluster))
	case o.dryRun == dryRunServer:
		return fmt.Sprintf("%s %s (server dry run: EKS has no dry run, the call is shown, not sent): %s", name, c.Op, c.Command(cluster))
	case c.Op == podidentity.OpDelete:
		return fmt.Sprintf("%s deleted (%s)", name, sa)
	case c.Op == podidentity.OpUpdate:
		return fmt.Sprintf("%s updated (%s, %s: %s)", name, sa, strings.Join(c.Fields, ", "), podidentity.Describe(*c.Want))
	}
	return fmt.Sprintf("%s created (%s, %s)", name, sa, podidentity.Describe(*c.Want))
}

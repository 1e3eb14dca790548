package plugin

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// eksClusterFlagHelp is the help of --eks-cluster in status and verify, where --cluster is
// kubectl's (the kubeconfig's cluster).
const eksClusterFlagHelp = "EKS cluster name, to read its Pod Identity associations with your AWS credentials (" + eksClusterHelp + ")"

// readAssociations reads the Pod Identity associations of the EKS cluster (eksCluster, else
// the kubeconfig's) in namespace ("" for all) and of serviceAccount ("" for all), with the
// user's AWS credentials as explain finds them (d.loadAWS, d.associationReader). What keeps them from being read is not an
// error: the answer says so (NotRead), with the flag or credentials that read them.
func readAssociations(ctx context.Context, d deps, eksCluster string, raw func() (clientcmdapi.Config, error), namespace, serviceAccount string) podidentity.ClusterAssociations {
	const how = "pass --eks-cluster NAME, with AWS credentials that may call eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation"
	cluster, region, _ := eksClusterDefault(eksCluster, raw)
	if cluster == "" {
		return podidentity.ClusterAssociations{NotRead: "no EKS cluster known (the kubeconfig's context names none): " + how}
	}
	notRead := func(why string) podidentity.ClusterAssociations {
		return podidentity.ClusterAssociations{Cluster: cluster, NotRead: why}
	}
	// Without the instance metadata service: status and verify do without associations, and
	// must not wait for, or reach, an address a laptop does not have on every run (as
	// explain.Refusal does not). explain, which needs AWS, takes the whole chain.
	cfg, err := d.loadAWS(ctx, awsconfig.Options{NoIMDS: true})
	if err != nil {
		return notRead(err.Error())
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	if cfg.Region == "" {
		return notRead(fmt.Sprintf("the region of the EKS cluster %s is unknown: set AWS_REGION", cluster))
	}
	if !awsconfig.CredentialsAtHand(ctx, cfg) {
		return notRead(fmt.Sprintf("no AWS credentials at hand to read those of the EKS cluster %s: set AWS_PROFILE, log in (aws sso login) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation", cluster))
	}
	got, err := podidentity.ReadAssociations(ctx, d.associationReader(cfg), cluster, namespace, serviceAccount)
	if err != nil {
		return notRead(err.Error())
	}
	return got
}

// collectWithAssociations is status's report, with the associations when they were read, and
// whether they were.
func collectWithAssociations(ctx context.Context, client kubernetes.Interface, namespace, selector string, assoc podidentity.ClusterAssociations) (*inventory.Report, error) {
	scope := inventory.Scope{Namespace: namespace, Selector: selector, Cluster: assoc.Cluster}
	for _, a := range assoc.Items {
		scope.Associations = append(scope.Associations, inventory.Association{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN})
	}
	report, err := inventory.CollectScope(ctx, client, scope)
	if err != nil {
		return nil, err
	}
	report.PodIdentityAssociations = &inventory.AssociationsRead{Read: assoc.Read, Cluster: assoc.Cluster, Count: len(scope.Associations), NotRead: assoc.NotRead}
	return report, nil
}

// associationsNotReadNote is the one line that says the associations were not read: accounts
// on Pod Identity whose pods lack its credentials are not listed, which is not "none".
func associationsNotReadNote(assoc podidentity.ClusterAssociations) string {
	return "note: EKS Pod Identity associations were not read (" + assoc.NotRead + "): an account with an association shows only through pods that carry its credentials"
}

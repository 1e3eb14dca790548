package podidentity

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
)

// AssociationReader is the EKS reads that list a cluster's associations and name their roles:
// ListPodIdentityAssociations lists no role, DescribePodIdentityAssociation gives it.
type AssociationReader interface {
	ListPodIdentityAssociations(ctx context.Context, cluster, namespace, serviceAccount string) ([]awsread.AssociationRef, error)
	DescribePodIdentityAssociation(ctx context.Context, cluster, id string) (awsread.Association, error)
}

// describeParallel is how many associations are described at once.
const describeParallel = 8

// ClusterAssociations is what a command knows of an EKS cluster's Pod Identity associations:
// read (Items, every page), or not read and why. A command that could not read them says so
// (NotRead), never that there are none.
type ClusterAssociations struct {
	Cluster string
	Read    bool
	// NotRead says why they were not read and what reads them; empty when Read.
	NotRead string
	Items   []awsread.Association
}

// ReadAssociations lists the associations of cluster in namespace ("" for every namespace)
// and of serviceAccount ("" for every one), every page, and describes each for its role. A
// failed call is the error, naming the action (*awsconfig.CallError).
func ReadAssociations(ctx context.Context, r AssociationReader, cluster, namespace, serviceAccount string) (ClusterAssociations, error) {
	refs, err := r.ListPodIdentityAssociations(ctx, cluster, namespace, serviceAccount)
	if err != nil {
		return ClusterAssociations{}, err
	}
	items := make([]awsread.Association, len(refs))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(describeParallel)
	for i, ref := range refs {
		g.Go(func() error {
			a, err := r.DescribePodIdentityAssociation(ctx, cluster, ref.ID)
			if err != nil {
				return err
			}
			mu.Lock()
			items[i] = a
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return ClusterAssociations{}, err
	}
	return ClusterAssociations{Cluster: cluster, Read: true, Items: items}, nil
}

// Of is the association of namespace/serviceAccount; false when it has none (or they were
// not read).
func (c ClusterAssociations) Of(namespace, serviceAccount string) (awsread.Association, bool) {
	for _, a := range c.Items {
		if a.Namespace == namespace && a.ServiceAccount == serviceAccount {
			return a, true
		}
	}
	return awsread.Association{}, false
}

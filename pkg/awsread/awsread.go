// Package awsread is what the engines read of AWS with the user's credentials: the IAM and
// EKS objects (a role, an OIDC provider, a cluster, a Pod Identity association), the Reader
// interface over the read-only calls, and its AWS SDK implementation on the clients that
// NewClients builds, once, for every engine.
package awsread

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
)

// The IAM and EKS actions the reads call: read-only, each named in an error when it is denied.
const (
	ActionGetRole                        = "iam:GetRole"
	ActionListOpenIDConnectProviders     = "iam:ListOpenIDConnectProviders"
	ActionGetOpenIDConnectProvider       = "iam:GetOpenIDConnectProvider"
	ActionDescribeCluster                = "eks:DescribeCluster"
	ActionListPodIdentityAssociations    = "eks:ListPodIdentityAssociations"
	ActionDescribePodIdentityAssociation = "eks:DescribePodIdentityAssociation"
)

// Role is what iam:GetRole says of a role.
type Role struct {
	ARN string
	// TrustPolicy is the AssumeRolePolicyDocument as IAM returns it (URL-encoded JSON).
	TrustPolicy string
}

// OIDCProvider is what iam:GetOpenIDConnectProvider says of a provider.
type OIDCProvider struct {
	ARN       string
	URL       string // without the scheme, as IAM keeps it
	ClientIDs []string
}

// Cluster is what eks:DescribeCluster says of a cluster.
type Cluster struct {
	Name, ARN string
	Issuer    string // the OIDC issuer URL
}

// Association is an EKS Pod Identity association.
type Association struct {
	ID, ARN                   string
	ClusterName               string
	Namespace, ServiceAccount string
	RoleARN, TargetRoleARN    string
	ExternalID                string
	DisableSessionTags        bool
	// Policy is the association's inline session policy (JSON), "" when it has none.
	Policy                string
	Tags                  map[string]string
	CreatedAt, ModifiedAt time.Time
	OwnerARN              string // the EKS add-on that owns it, "" when none does
}

// AssociationOf is EKS's answer (CreatePodIdentityAssociation's, Describe's, Update's) as
// Association.
func AssociationOf(a *ekstypes.PodIdentityAssociation) Association {
	if a == nil {
		return Association{}
	}
	return Association{
		ID: aws.ToString(a.AssociationId), ARN: aws.ToString(a.AssociationArn), ClusterName: aws.ToString(a.ClusterName),
		Namespace: aws.ToString(a.Namespace), ServiceAccount: aws.ToString(a.ServiceAccount),
		RoleARN: aws.ToString(a.RoleArn), TargetRoleARN: aws.ToString(a.TargetRoleArn),
		ExternalID: aws.ToString(a.ExternalId), DisableSessionTags: aws.ToBool(a.DisableSessionTags),
		Policy: aws.ToString(a.Policy), Tags: a.Tags, CreatedAt: aws.ToTime(a.CreatedAt), ModifiedAt: aws.ToTime(a.ModifiedAt), OwnerARN: aws.ToString(a.OwnerArn),
	}
}

// AssociationRef is an association as ListPodIdentityAssociations lists it.
type AssociationRef struct {
	ID, Namespace, ServiceAccount string
}

// Reader is the read-only IAM and EKS calls. Errors are *awsconfig.CallError, naming the
// action; awsconfig.IsNotFound tells a missing object.
type Reader interface {
	GetRole(ctx context.Context, name string) (Role, error)
	ListOpenIDConnectProviders(ctx context.Context) ([]string, error)
	GetOpenIDConnectProvider(ctx context.Context, arn string) (OIDCProvider, error)
	DescribeCluster(ctx context.Context, name string) (Cluster, error)
	// ListPodIdentityAssociations lists every page; namespace and serviceAccount filter when
	// not empty.
	ListPodIdentityAssociations(ctx context.Context, cluster, namespace, serviceAccount string) ([]AssociationRef, error)
	DescribePodIdentityAssociation(ctx context.Context, cluster, id string) (Association, error)
}

// Clients are the IAM and EKS clients of one AWS configuration: the reads here and
// podidentity's writes go through the same ones.
type Clients struct {
	IAM *iam.Client
	EKS *eks.Client
}

// NewClients builds the IAM and EKS clients from cfg. IAM is global: without a region it
// signs for awsconfig.GlobalRegion.
func NewClients(cfg aws.Config) Clients {
	iamCfg := cfg.Copy()
	if iamCfg.Region == "" {
		iamCfg.Region = awsconfig.GlobalRegion
	}
	return Clients{IAM: iam.NewFromConfig(iamCfg), EKS: eks.NewFromConfig(cfg)}
}

// SDK is Reader through the AWS SDK, with the user's configuration.
type SDK struct {
	Clients
}

// NewSDK is Reader on the clients NewClients builds from cfg.
func NewSDK(cfg aws.Config) *SDK { return &SDK{Clients: NewClients(cfg)} }

// GetRole implements Reader.
func (s *SDK) GetRole(ctx context.Context, name string) (Role, error) {
	out, err := s.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return Role{}, awsconfig.Wrap(err, ActionGetRole, "role "+name)
	}
	return Role{ARN: aws.ToString(out.Role.Arn), TrustPolicy: aws.ToString(out.Role.AssumeRolePolicyDocument)}, nil
}

// ListOpenIDConnectProviders implements Reader.
func (s *SDK) ListOpenIDConnectProviders(ctx context.Context) ([]string, error) {
	out, err := s.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, awsconfig.Wrap(err, ActionListOpenIDConnectProviders, "")
	}
	arns := make([]string, 0, len(out.OpenIDConnectProviderList))
	for _, p := range out.OpenIDConnectProviderList {
		arns = append(arns, aws.ToString(p.Arn))
	}
	return arns, nil
}

// GetOpenIDConnectProvider implements Reader.
func (s *SDK) GetOpenIDConnectProvider(ctx context.Context, arn string) (OIDCProvider, error) {
	out, err := s.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		return OIDCProvider{}, awsconfig.Wrap(err, ActionGetOpenIDConnectProvider, arn)
	}
	return OIDCProvider{ARN: arn, URL: aws.ToString(out.Url), ClientIDs: out.ClientIDList}, nil
}

// DescribeCluster implements Reader.
func (s *SDK) DescribeCluster(ctx context.Context, name string) (Cluster, error) {
	out, err := s.EKS.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		return Cluster{}, awsconfig.Wrap(err, ActionDescribeCluster, "cluster "+name)
	}
	c := Cluster{Name: name, ARN: aws.ToString(out.Cluster.Arn)}
	if id := out.Cluster.Identity; id != nil && id.Oidc != nil {
		c.Issuer = aws.ToString(id.Oidc.Issuer)
	}
	return c, nil
}

// ListPodIdentityAssociations implements Reader.
func (s *SDK) ListPodIdentityAssociations(ctx context.Context, cluster, namespace, serviceAccount string) ([]AssociationRef, error) {
	in := &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(cluster)}
	if namespace != "" {
		in.Namespace = aws.String(namespace)
	}
	if serviceAccount != "" {
		in.ServiceAccount = aws.String(serviceAccount)
	}
	var refs []AssociationRef
	p := eks.NewListPodIdentityAssociationsPaginator(s.EKS, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsconfig.Wrap(err, ActionListPodIdentityAssociations, "cluster "+cluster)
		}
		for _, a := range out.Associations {
			refs = append(refs, AssociationRef{ID: aws.ToString(a.AssociationId), Namespace: aws.ToString(a.Namespace), ServiceAccount: aws.ToString(a.ServiceAccount)})
		}
	}
	return refs, nil
}

// DescribePodIdentityAssociation implements Reader.
func (s *SDK) DescribePodIdentityAssociation(ctx context.Context, cluster, id string) (Association, error) {
	out, err := s.EKS.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(cluster), AssociationId: aws.String(id)})
	if err != nil {
		return Association{}, awsconfig.Wrap(err, ActionDescribePodIdentityAssociation, "association "+id+" of cluster "+cluster)
	}
	return AssociationOf(out.Association), nil
}

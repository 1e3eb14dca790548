package podidentity

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// The IAM and EKS actions that write, each named in an error when it is denied. The reads are
// awsread's (awsread.ActionDescribeCluster and the others).
const (
	ActionCreateAssociation      = "eks:CreatePodIdentityAssociation"
	ActionUpdateAssociation      = "eks:UpdatePodIdentityAssociation"
	ActionDeleteAssociation      = "eks:DeletePodIdentityAssociation"
	ActionUpdateAssumeRolePolicy = "iam:UpdateAssumeRolePolicy"
)

// Spec is what an association gives a service account: the role, a target role it chains to,
// and whether EKS tags the sessions.
type Spec struct {
	RoleARN            string
	TargetRoleARN      string
	DisableSessionTags bool
}

// ParsedSpec is a Spec with its role ARNs parsed, once, where they were read (enable parses
// its flags in Complete): the pre-flight judges the roles themselves, and Spec is what EKS is
// sent.
type ParsedSpec struct {
	Role identity.RoleARN
	// TargetRole is nil when the association has none.
	TargetRole         *identity.RoleARN
	DisableSessionTags bool
}

// Spec is the association as EKS takes it.
func (p *ParsedSpec) Spec() Spec {
	s := Spec{RoleARN: p.Role.String(), DisableSessionTags: p.DisableSessionTags}
	if p.TargetRole != nil {
		s.TargetRoleARN = p.TargetRole.String()
	}
	return s
}

// AWS is the IAM and EKS calls of Pod Identity's set-up, with the user's credentials: the
// reads of awsread.Reader, and the writes. Errors are *awsconfig.CallError, naming the action.
type AWS interface {
	DescribeCluster(ctx context.Context, name string) (awsread.Cluster, error)
	ListPodIdentityAssociations(ctx context.Context, cluster, namespace, serviceAccount string) ([]awsread.AssociationRef, error)
	DescribePodIdentityAssociation(ctx context.Context, cluster, id string) (awsread.Association, error)
	GetRole(ctx context.Context, name string) (awsread.Role, error)

	CreatePodIdentityAssociation(ctx context.Context, cluster, namespace, serviceAccount string, s Spec) (awsread.Association, error)
	// UpdatePodIdentityAssociation sends only the members fields names (roleArn,
	// targetRoleArn, disableSessionTags): EKS keeps the others.
	UpdatePodIdentityAssociation(ctx context.Context, cluster, id string, s Spec, fields []string) (awsread.Association, error)
	DeletePodIdentityAssociation(ctx context.Context, cluster, id string) error
	UpdateAssumeRolePolicy(ctx context.Context, roleName, document string) error
}

// SDK is AWS through the AWS SDK: awsread's reads, and the writes on the same clients.
type SDK struct {
	*awsread.SDK
}

// NewSDK builds the clients from cfg (awsread.NewClients).
func NewSDK(cfg aws.Config) *SDK { return &SDK{SDK: awsread.NewSDK(cfg)} }

// Association members, as UpdatePodIdentityAssociation names them.
const (
	FieldRoleARN            = "roleArn"
	FieldTargetRoleARN      = "targetRoleArn"
	FieldDisableSessionTags = "disableSessionTags"
)

// CreatePodIdentityAssociation implements AWS. The SDK fills the idempotency token, so a retry
// of a request that did reach EKS creates nothing twice.
func (s *SDK) CreatePodIdentityAssociation(ctx context.Context, cluster, namespace, serviceAccount string, spec Spec) (awsread.Association, error) {
	in := &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(cluster), Namespace: aws.String(namespace), ServiceAccount: aws.String(serviceAccount),
		RoleArn: aws.String(spec.RoleARN),
	}
	if spec.TargetRoleARN != "" {
		in.TargetRoleArn = aws.String(spec.TargetRoleARN)
	}
	if spec.DisableSessionTags {
		in.DisableSessionTags = aws.Bool(true)
	}
	out, err := s.EKS.CreatePodIdentityAssociation(ctx, in)
	if err != nil {
		return awsread.Association{}, awsconfig.Wrap(err, ActionCreateAssociation, "cluster "+cluster)
	}
	return awsread.AssociationOf(out.Association), nil
}

// UpdatePodIdentityAssociation implements AWS.
func (s *SDK) UpdatePodIdentityAssociation(ctx context.Context, cluster, id string, spec Spec, fields []string) (awsread.Association, error) {
	in := &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String(cluster), AssociationId: aws.String(id)}
	for _, f := range fields {
		switch f {
		case FieldRoleARN:
			in.RoleArn = aws.String(spec.RoleARN)
		case FieldTargetRoleARN:
			in.TargetRoleArn = aws.String(spec.TargetRoleARN) // "" removes it
		case FieldDisableSessionTags:
			in.DisableSessionTags = aws.Bool(spec.DisableSessionTags)
		}
	}
	out, err := s.EKS.UpdatePodIdentityAssociation(ctx, in)
	if err != nil {
		return awsread.Association{}, awsconfig.Wrap(err, ActionUpdateAssociation, "association "+id+" of cluster "+cluster)
	}
	return awsread.AssociationOf(out.Association), nil
}

// DeletePodIdentityAssociation implements AWS.
func (s *SDK) DeletePodIdentityAssociation(ctx context.Context, cluster, id string) error {
	_, err := s.EKS.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String(cluster), AssociationId: aws.String(id)})
	return awsconfig.Wrap(err, ActionDeleteAssociation, "association "+id+" of cluster "+cluster)
}

// UpdateAssumeRolePolicy implements AWS.
func (s *SDK) UpdateAssumeRolePolicy(ctx context.Context, roleName, document string) error {
	_, err := s.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(roleName), PolicyDocument: aws.String(document)})
	return awsconfig.Wrap(err, ActionUpdateAssumeRolePolicy, "role "+roleName)
}

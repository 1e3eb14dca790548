// Package awstest is EKS and IAM in memory for the tests of Pod Identity's set-up: one
// cluster, its associations, the roles' trust policies, the calls made and the actions
// denied. Only tests import it.
package awstest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// The cluster, and two roles.
const (
	Cluster    = "prod"
	ClusterARN = "arn:aws:eks:us-west-2:111122223333:cluster/prod"
	Role       = "arn:aws:iam::111122223333:role/app"
	OtherRole  = "arn:aws:iam::111122223333:role/other"
)

// Now is when the associations made here are created and modified.
var Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// IRSAStatement is a role's trust for one service account's web identity: what migrate must
// keep as it is.
const IRSAStatement = `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/X:sub":"system:serviceaccount:shop:app"}}}`

// PodIdentityStatement is a role's trust for EKS Pod Identity.
const PodIdentityStatement = `{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`

// TrustOf is a trust policy of the statements.
func TrustOf(statements ...string) string {
	out := `{"Version":"2012-10-17","Statement":[`
	for i, s := range statements {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out + "]}"
}

// AWS is EKS and IAM in memory. Tests set its maps before the run and read them after.
type AWS struct {
	mu     sync.Mutex
	Assocs map[string]*awsread.Association // by id
	Roles  map[string]string               // role name -> trust policy
	Calls  map[string]int                  // by action
	Deny   []string                        // actions answered AccessDeniedException
	next   int
}

// New is an AWS with no association and no role.
func New() *AWS {
	return &AWS{Assocs: map[string]*awsread.Association{}, Roles: map[string]string{}, Calls: map[string]int{}}
}

func (f *AWS) call(action string) error {
	f.Calls[action]++
	if slices.Contains(f.Deny, action) {
		return awsconfig.Wrap(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:iam::111122223333:user/u is not authorized to perform: " + action}, action, "cluster "+Cluster)
	}
	return nil
}

func notFound(action, resource string) error {
	return awsconfig.Wrap(&smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "not found"}, action, resource)
}

// Writes counts the calls that change something.
func (f *AWS) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Calls[podidentity.ActionCreateAssociation] + f.Calls[podidentity.ActionUpdateAssociation] + f.Calls[podidentity.ActionDeleteAssociation] + f.Calls[podidentity.ActionUpdateAssumeRolePolicy]
}

// Associated reports whether ns/sa has an association, as the webhook learns it.
func (f *AWS) Associated(ns, sa string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.Assocs {
		if a.Namespace == ns && a.ServiceAccount == sa {
			return true
		}
	}
	return false
}

// DescribeCluster implements podidentity.AWS.
func (f *AWS) DescribeCluster(_ context.Context, name string) (awsread.Cluster, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(awsread.ActionDescribeCluster); err != nil {
		return awsread.Cluster{}, err
	}
	if name != Cluster {
		return awsread.Cluster{}, notFound(awsread.ActionDescribeCluster, "cluster "+name)
	}
	return awsread.Cluster{Name: name, ARN: ClusterARN}, nil
}

// ListPodIdentityAssociations implements podidentity.AWS.
func (f *AWS) ListPodIdentityAssociations(_ context.Context, cluster, ns, sa string) ([]awsread.AssociationRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(awsread.ActionListPodIdentityAssociations); err != nil {
		return nil, err
	}
	if cluster != Cluster {
		return nil, notFound(awsread.ActionListPodIdentityAssociations, "cluster "+cluster)
	}
	var out []awsread.AssociationRef
	for _, a := range f.Assocs {
		if (ns == "" || a.Namespace == ns) && (sa == "" || a.ServiceAccount == sa) {
			out = append(out, awsread.AssociationRef{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount})
		}
	}
	return out, nil
}

// DescribePodIdentityAssociation implements podidentity.AWS.
func (f *AWS) DescribePodIdentityAssociation(_ context.Context, _, id string) (awsread.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(awsread.ActionDescribePodIdentityAssociation); err != nil {
		return awsread.Association{}, err
	}
	a, ok := f.Assocs[id]
	if !ok {
		return awsread.Association{}, notFound(awsread.ActionDescribePodIdentityAssociation, "association "+id)
	}
	return *a, nil
}

// GetRole implements podidentity.AWS.
func (f *AWS) GetRole(_ context.Context, name string) (awsread.Role, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(awsread.ActionGetRole); err != nil {
		return awsread.Role{}, err
	}
	doc, ok := f.Roles[name]
	if !ok {
		return awsread.Role{}, awsconfig.Wrap(&smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no role"}, awsread.ActionGetRole, "role "+name)
	}
	return awsread.Role{ARN: "arn:aws:iam::111122223333:role/" + name, TrustPolicy: doc}, nil
}

// CreatePodIdentityAssociation implements podidentity.AWS.
func (f *AWS) CreatePodIdentityAssociation(_ context.Context, _, ns, sa string, s podidentity.Spec) (awsread.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(podidentity.ActionCreateAssociation); err != nil {
		return awsread.Association{}, err
	}
	for _, a := range f.Assocs {
		if a.Namespace == ns && a.ServiceAccount == sa {
			return awsread.Association{}, awsconfig.Wrap(&smithy.GenericAPIError{Code: "ResourceInUseException", Message: "Association already exists: " + a.ID}, podidentity.ActionCreateAssociation, "")
		}
	}
	f.next++
	id := fmt.Sprintf("a-%d", f.next)
	a := &awsread.Association{ID: id, ARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/" + Cluster + "/" + id, ClusterName: Cluster,
		Namespace: ns, ServiceAccount: sa, RoleARN: s.RoleARN, TargetRoleARN: s.TargetRoleARN, DisableSessionTags: s.DisableSessionTags,
		CreatedAt: Now, ModifiedAt: Now}
	if s.TargetRoleARN != "" {
		a.ExternalID = "ext-" + id // EKS gives an association with a target role an external ID
	}
	f.Assocs[a.ID] = a
	return *a, nil
}

// UpdatePodIdentityAssociation implements podidentity.AWS.
func (f *AWS) UpdatePodIdentityAssociation(_ context.Context, _, id string, s podidentity.Spec, fields []string) (awsread.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(podidentity.ActionUpdateAssociation); err != nil {
		return awsread.Association{}, err
	}
	a, ok := f.Assocs[id]
	if !ok {
		return awsread.Association{}, notFound(podidentity.ActionUpdateAssociation, "association "+id)
	}
	for _, fl := range fields {
		switch fl {
		case podidentity.FieldRoleARN:
			a.RoleARN = s.RoleARN
		case podidentity.FieldTargetRoleARN:
			a.TargetRoleARN = s.TargetRoleARN
		case podidentity.FieldDisableSessionTags:
			a.DisableSessionTags = s.DisableSessionTags
		}
	}
	return *a, nil
}

// DeletePodIdentityAssociation implements podidentity.AWS.
func (f *AWS) DeletePodIdentityAssociation(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(podidentity.ActionDeleteAssociation); err != nil {
		return err
	}
	if _, ok := f.Assocs[id]; !ok {
		return notFound(podidentity.ActionDeleteAssociation, "association "+id)
	}
	delete(f.Assocs, id)
	return nil
}

// UpdateAssumeRolePolicy implements podidentity.AWS.
func (f *AWS) UpdateAssumeRolePolicy(_ context.Context, role, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(podidentity.ActionUpdateAssumeRolePolicy); err != nil {
		return err
	}
	f.Roles[role] = doc
	return nil
}

var _ podidentity.AWS = (*AWS)(nil)

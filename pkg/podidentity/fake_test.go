package podidentity

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/smithy-go"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
)

const (
	testCluster    = "prod"
	testClusterARN = "arn:aws:eks:us-west-2:111122223333:cluster/prod"
	testRole       = "arn:aws:iam::111122223333:role/app"
	otherRole      = "arn:aws:iam::111122223333:role/other"
)

// irsaStatement is a role's trust for one service account's web identity: what migrate must
// keep as it is.
const irsaStatement = `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/X:sub":"system:serviceaccount:shop:app"}}}`

const podIdentityStatement = `{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`

// trustOf is a trust policy of the statements.
func trustOf(statements ...string) string {
	out := `{"Version":"2012-10-17","Statement":[`
	for i, s := range statements {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out + "]}"
}

// fakeAWS is EKS and IAM in memory: one cluster, its associations, the roles' trust policies,
// the calls made by action and the actions denied.
type fakeAWS struct {
	mu     sync.Mutex
	assocs map[string]*explain.Association // by id
	roles  map[string]string               // role name -> trust policy
	calls  map[string]int
	deny   []string
	next   int
}

func newFakeAWS() *fakeAWS {
	return &fakeAWS{assocs: map[string]*explain.Association{}, roles: map[string]string{}, calls: map[string]int{}}
}

func (f *fakeAWS) call(action string) error {
	f.calls[action]++
	if slices.Contains(f.deny, action) {
		return awsconfig.Wrap(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:iam::111122223333:user/u is not authorized to perform: " + action}, action, "cluster "+testCluster)
	}
	return nil
}

func notFound(action, resource string) error {
	return awsconfig.Wrap(&smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "not found"}, action, resource)
}

// writes counts the calls that change something.
func (f *fakeAWS) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ActionCreateAssociation] + f.calls[ActionUpdateAssociation] + f.calls[ActionDeleteAssociation] + f.calls[ActionUpdateAssumeRolePolicy]
}

// associated reports whether ns/sa has an association, as the webhook learns it.
func (f *fakeAWS) associated(ns, sa string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.assocs {
		if a.Namespace == ns && a.ServiceAccount == sa {
			return true
		}
	}
	return false
}

func (f *fakeAWS) DescribeCluster(_ context.Context, name string) (explain.Cluster, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(explain.ActionDescribeCluster); err != nil {
		return explain.Cluster{}, err
	}
	if name != testCluster {
		return explain.Cluster{}, notFound(explain.ActionDescribeCluster, "cluster "+name)
	}
	return explain.Cluster{Name: name, ARN: testClusterARN}, nil
}

func (f *fakeAWS) ListPodIdentityAssociations(_ context.Context, cluster, ns, sa string) ([]explain.AssociationRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(explain.ActionListPodIdentityAssociations); err != nil {
		return nil, err
	}
	if cluster != testCluster {
		return nil, notFound(explain.ActionListPodIdentityAssociations, "cluster "+cluster)
	}
	var out []explain.AssociationRef
	for _, a := range f.assocs {
		if (ns == "" || a.Namespace == ns) && (sa == "" || a.ServiceAccount == sa) {
			out = append(out, explain.AssociationRef{ID: a.ID, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount})
		}
	}
	return out, nil
}

func (f *fakeAWS) DescribePodIdentityAssociation(_ context.Context, _, id string) (explain.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(explain.ActionDescribePodIdentityAssociation); err != nil {
		return explain.Association{}, err
	}
	a, ok := f.assocs[id]
	if !ok {
		return explain.Association{}, notFound(explain.ActionDescribePodIdentityAssociation, "association "+id)
	}
	return *a, nil
}

func (f *fakeAWS) GetRole(_ context.Context, name string) (explain.Role, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(explain.ActionGetRole); err != nil {
		return explain.Role{}, err
	}
	doc, ok := f.roles[name]
	if !ok {
		return explain.Role{}, awsconfig.Wrap(&smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no role"}, explain.ActionGetRole, "role "+name)
	}
	return explain.Role{ARN: "arn:aws:iam::111122223333:role/" + name, TrustPolicy: doc}, nil
}

func (f *fakeAWS) CreatePodIdentityAssociation(_ context.Context, _, ns, sa string, s Spec) (explain.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ActionCreateAssociation); err != nil {
		return explain.Association{}, err
	}
	for _, a := range f.assocs {
		if a.Namespace == ns && a.ServiceAccount == sa {
			return explain.Association{}, awsconfig.Wrap(&smithy.GenericAPIError{Code: "ResourceInUseException", Message: "Association already exists: " + a.ID}, ActionCreateAssociation, "")
		}
	}
	f.next++
	a := &explain.Association{ID: fmt.Sprintf("a-%d", f.next), Namespace: ns, ServiceAccount: sa, RoleARN: s.RoleARN, TargetRoleARN: s.TargetRoleARN, DisableSessionTags: s.DisableSessionTags}
	f.assocs[a.ID] = a
	return *a, nil
}

func (f *fakeAWS) UpdatePodIdentityAssociation(_ context.Context, _, id string, s Spec, fields []string) (explain.Association, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ActionUpdateAssociation); err != nil {
		return explain.Association{}, err
	}
	a, ok := f.assocs[id]
	if !ok {
		return explain.Association{}, notFound(ActionUpdateAssociation, "association "+id)
	}
	for _, fl := range fields {
		switch fl {
		case FieldRoleARN:
			a.RoleARN = s.RoleARN
		case FieldTargetRoleARN:
			a.TargetRoleARN = s.TargetRoleARN
		case FieldDisableSessionTags:
			a.DisableSessionTags = s.DisableSessionTags
		}
	}
	return *a, nil
}

func (f *fakeAWS) DeletePodIdentityAssociation(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ActionDeleteAssociation); err != nil {
		return err
	}
	if _, ok := f.assocs[id]; !ok {
		return notFound(ActionDeleteAssociation, "association "+id)
	}
	delete(f.assocs, id)
	return nil
}

func (f *fakeAWS) UpdateAssumeRolePolicy(_ context.Context, role, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(ActionUpdateAssumeRolePolicy); err != nil {
		return err
	}
	f.roles[role] = doc
	return nil
}

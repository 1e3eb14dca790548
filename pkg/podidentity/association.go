package podidentity

import (
	"context"
	"strings"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
)

// Op is what a run does to one account's association.
type Op string

// Ops.
const (
	OpNone   Op = "unchanged"
	OpCreate Op = "created"
	OpUpdate Op = "updated"
	OpDelete Op = "deleted"
)

// Change is one service account's association: as it is, as the run wants it, and what that
// takes.
type Change struct {
	Namespace, ServiceAccount string
	Have                      *awsread.Association // nil: none
	Want                      *Spec                // nil: none (disable)
	Op                        Op
	// Fields are the members an update changes, in EKS's order.
	Fields []string
	// Result is the association after Apply; nil when there is none.
	Result *awsread.Association
}

// Plan works out the change from have to want. Only what differs is written: the same role,
// target role and session tags make no call, so a rerun writes nothing.
func Plan(namespace, serviceAccount string, have *awsread.Association, want *Spec) Change {
	c := Change{Namespace: namespace, ServiceAccount: serviceAccount, Have: have, Want: want, Op: OpNone, Result: have}
	switch {
	case want == nil && have == nil:
	case want == nil:
		c.Op = OpDelete
	case have == nil:
		c.Op = OpCreate
	default:
		if have.RoleARN != want.RoleARN {
			c.Fields = append(c.Fields, FieldRoleARN)
		}
		if have.TargetRoleARN != want.TargetRoleARN {
			c.Fields = append(c.Fields, FieldTargetRoleARN)
		}
		if have.DisableSessionTags != want.DisableSessionTags {
			c.Fields = append(c.Fields, FieldDisableSessionTags)
		}
		if len(c.Fields) > 0 {
			c.Op = OpUpdate
		}
	}
	return c
}

// ReplacesRole is true when the change gives the account another role than the one its
// association names now.
func (c Change) ReplacesRole() bool {
	for _, f := range c.Fields {
		if f == FieldRoleARN {
			return true
		}
	}
	return false
}

// Read finds the association of namespace/serviceAccount, nil when it has none: a filtered
// list, then a describe. EKS keeps at most one per service account.
func Read(ctx context.Context, a AWS, cluster, namespace, serviceAccount string) (*awsread.Association, error) {
	refs, err := a.ListPodIdentityAssociations(ctx, cluster, namespace, serviceAccount)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if r.Namespace != namespace || r.ServiceAccount != serviceAccount {
			continue // a list that ignored its filters
		}
		as, err := a.DescribePodIdentityAssociation(ctx, cluster, r.ID)
		if awsconfig.IsNotFound(err) {
			continue // deleted since the list
		}
		if err != nil {
			return nil, err
		}
		return &as, nil
	}
	return nil, nil
}

// WriteContext is the context of an AWS write whose outcome the run must know, to undo it or
// to name it: a write cancelled in flight (Ctrl-C) can still be made by AWS after the client
// gave up. So a write ends on AWS's answer, within 30 s, and the run's end is noticed after
// it. migrate's rollback writes on it too.
func WriteContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// Apply makes the change in cluster. A create that EKS refuses because an association was
// made since Read (ResourceInUseException) reads it and plans again, once: a concurrent
// creator's association is updated, not duplicated; a delete of one already gone is done.
func Apply(ctx context.Context, a AWS, cluster string, c *Change) error {
	switch c.Op {
	case OpNone:
		return nil
	case OpCreate:
		got, err := a.CreatePodIdentityAssociation(ctx, cluster, c.Namespace, c.ServiceAccount, *c.Want)
		if awsconfig.Code(err) == "ResourceInUseException" {
			have, rerr := Read(ctx, a, cluster, c.Namespace, c.ServiceAccount)
			if rerr != nil || have == nil {
				return err
			}
			*c = Plan(c.Namespace, c.ServiceAccount, have, c.Want)
			if c.Op == OpCreate {
				return err
			}
			return Apply(ctx, a, cluster, c)
		}
		if err != nil {
			return err
		}
		c.Result = &got
	case OpUpdate:
		got, err := a.UpdatePodIdentityAssociation(ctx, cluster, c.Have.ID, *c.Want, c.Fields)
		if err != nil {
			return err
		}
		c.Result = &got
	case OpDelete:
		if err := a.DeletePodIdentityAssociation(ctx, cluster, c.Have.ID); err != nil && !awsconfig.IsNotFound(err) {
			return err
		}
		c.Result = nil
	}
	return nil
}

// Command is the AWS CLI command that makes the change, for a dry run to show; "" for none.
func (c Change) Command(cluster string) string {
	args := []string{"aws", "eks"}
	switch c.Op {
	case OpCreate:
		args = append(args, "create-pod-identity-association", "--cluster-name", cluster,
			"--namespace", c.Namespace, "--service-account", c.ServiceAccount, "--role-arn", c.Want.RoleARN)
		if c.Want.TargetRoleARN != "" {
			args = append(args, "--target-role-arn", c.Want.TargetRoleARN)
		}
		if c.Want.DisableSessionTags {
			args = append(args, "--disable-session-tags")
		}
	case OpUpdate:
		args = append(args, "update-pod-identity-association", "--cluster-name", cluster, "--association-id", c.Have.ID)
		for _, f := range c.Fields {
			switch f {
			case FieldRoleARN:
				args = append(args, "--role-arn", c.Want.RoleARN)
			case FieldTargetRoleARN:
				args = append(args, "--target-role-arn", shellArg(c.Want.TargetRoleARN))
			case FieldDisableSessionTags:
				if c.Want.DisableSessionTags {
					args = append(args, "--disable-session-tags")
				} else {
					args = append(args, "--no-disable-session-tags")
				}
			}
		}
	case OpDelete:
		args = append(args, "delete-pod-identity-association", "--cluster-name", cluster, "--association-id", c.Have.ID)
	default:
		return ""
	}
	return strings.Join(args, " ")
}

// Describe says what the association gives, for a summary line: "role R" and its target role
// and session tags when set.
func Describe(s Spec) string {
	out := "role " + s.RoleARN
	if s.TargetRoleARN != "" {
		out += ", target role " + s.TargetRoleARN
	}
	if s.DisableSessionTags {
		out += ", session tags disabled"
	}
	return out
}

// SpecOf is what an association gives.
func SpecOf(a *awsread.Association) Spec {
	return Spec{RoleARN: a.RoleARN, TargetRoleARN: a.TargetRoleARN, DisableSessionTags: a.DisableSessionTags}
}

// shellArg quotes an empty argument, which a shell would drop.
func shellArg(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Document is an association as the EKS API returns it: the association member of the answers
// of CreatePodIdentityAssociation and DescribePodIdentityAssociation, its members named and
// ordered as the EKS API Reference's PodIdentityAssociation data type has them, for -o json
// and yaml. Timestamps are RFC 3339, as the AWS CLI prints them; members EKS has not given
// (before the association exists) are left out.
type Document struct {
	ClusterName        string            `json:"clusterName"`
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	RoleARN            string            `json:"roleArn"`
	AssociationARN     string            `json:"associationArn,omitempty"`
	AssociationID      string            `json:"associationId,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	CreatedAt          *time.Time        `json:"createdAt,omitempty"`
	ModifiedAt         *time.Time        `json:"modifiedAt,omitempty"`
	OwnerARN           string            `json:"ownerArn,omitempty"`
	DisableSessionTags bool              `json:"disableSessionTags"`
	TargetRoleARN      string            `json:"targetRoleArn,omitempty"`
	ExternalID         string            `json:"externalId,omitempty"`
}

// DocumentOf is the association a as EKS returns it; cluster names its cluster when EKS's
// answer did not.
func DocumentOf(a *awsread.Association, cluster string) Document {
	d := Document{
		ClusterName: a.ClusterName, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, RoleARN: a.RoleARN,
		AssociationARN: a.ARN, AssociationID: a.ID, Tags: a.Tags, OwnerARN: a.OwnerARN,
		DisableSessionTags: a.DisableSessionTags, TargetRoleARN: a.TargetRoleARN, ExternalID: a.ExternalID,
	}
	if d.ClusterName == "" {
		d.ClusterName = cluster
	}
	if !a.CreatedAt.IsZero() {
		d.CreatedAt = ptrTo(a.CreatedAt.UTC())
	}
	if !a.ModifiedAt.IsZero() {
		d.ModifiedAt = ptrTo(a.ModifiedAt.UTC())
	}
	return d
}

// Planned is the association as the change would leave it, for a dry run: the one there with
// the members the change sets, or for a create what the request gives (EKS fills the ARN, the
// ID and the times when it creates it); nil when the change deletes it or there is none.
func (c Change) Planned(cluster string) *Document {
	if c.Want == nil {
		return nil
	}
	d := Document{ClusterName: cluster, Namespace: c.Namespace, ServiceAccount: c.ServiceAccount}
	if c.Have != nil {
		d = DocumentOf(c.Have, cluster)
	}
	d.RoleARN, d.TargetRoleARN, d.DisableSessionTags = c.Want.RoleARN, c.Want.TargetRoleARN, c.Want.DisableSessionTags
	return &d
}

package podidentity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

func TestPlanAssociation(t *testing.T) {
	have := &awsread.Association{ID: "a-1", Namespace: ns, ServiceAccount: "app", RoleARN: awstest.Role}
	tests := []struct {
		name    string
		have    *awsread.Association
		want    *podidentity.Spec
		op      podidentity.Op
		fields  string
		command string
	}{
		{name: "none wanted, none there", op: podidentity.OpNone},
		{name: "create", want: &podidentity.Spec{RoleARN: awstest.Role, TargetRoleARN: awstest.OtherRole, DisableSessionTags: true}, op: podidentity.OpCreate,
			command: "aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account app --role-arn " + awstest.Role + " --target-role-arn " + awstest.OtherRole + " --disable-session-tags"},
		{name: "the same", have: have, want: &podidentity.Spec{RoleARN: awstest.Role}, op: podidentity.OpNone},
		{name: "another role", have: have, want: &podidentity.Spec{RoleARN: awstest.OtherRole}, op: podidentity.OpUpdate, fields: podidentity.FieldRoleARN,
			command: "aws eks update-pod-identity-association --cluster-name prod --association-id a-1 --role-arn " + awstest.OtherRole},
		{name: "a target role and no tags", have: have, want: &podidentity.Spec{RoleARN: awstest.Role, TargetRoleARN: awstest.OtherRole, DisableSessionTags: true}, op: podidentity.OpUpdate,
			fields: podidentity.FieldTargetRoleARN + "," + podidentity.FieldDisableSessionTags},
		{name: "delete", have: have, op: podidentity.OpDelete, command: "aws eks delete-pod-identity-association --cluster-name prod --association-id a-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := podidentity.Plan(ns, "app", tt.have, tt.want)
			if c.Op != tt.op || strings.Join(c.Fields, ",") != tt.fields {
				t.Fatalf("Plan = %s %v; want %s %s", c.Op, c.Fields, tt.op, tt.fields)
			}
			if c.ReplacesRole() != strings.Contains(tt.fields, podidentity.FieldRoleARN) {
				t.Fatalf("ReplacesRole = %t", c.ReplacesRole())
			}
			if tt.command != "" && c.Command(awstest.Cluster) != tt.command {
				t.Fatalf("Command =\n%s\nwant\n%s", c.Command(awstest.Cluster), tt.command)
			}
		})
	}
}

// TestApplyRaced: an association made between the read and the create is updated, not
// duplicated; a delete of one already gone is done.
func TestApplyRaced(t *testing.T) {
	f := awstest.New()
	c := podidentity.Plan(ns, "app", nil, &podidentity.Spec{RoleARN: awstest.Role})
	f.Assocs["a-0"] = &awsread.Association{ID: "a-0", Namespace: ns, ServiceAccount: "app", RoleARN: awstest.OtherRole}
	if err := podidentity.Apply(context.Background(), f, awstest.Cluster, &c); err != nil {
		t.Fatal(err)
	}
	if c.Op != podidentity.OpUpdate || len(f.Assocs) != 1 || f.Assocs["a-0"].RoleARN != awstest.Role {
		t.Fatalf("op %s, associations %+v", c.Op, f.Assocs)
	}
	gone := podidentity.Plan(ns, "app", &awsread.Association{ID: "a-9"}, nil)
	if err := podidentity.Apply(context.Background(), f, awstest.Cluster, &gone); err != nil || gone.Result != nil {
		t.Fatalf("delete of a missing association: %v", err)
	}
}

// TestReadKeepsTheAccount: podidentity.Read finds the account's association, and none of another.
func TestReadKeepsTheAccount(t *testing.T) {
	f := awstest.New()
	f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: ns, ServiceAccount: "other", RoleARN: awstest.Role}
	if got, err := podidentity.Read(context.Background(), f, awstest.Cluster, ns, "app"); err != nil || got != nil {
		t.Fatalf("Read = %+v, %v", got, err)
	}
	f.Assocs["a-2"] = &awsread.Association{ID: "a-2", Namespace: ns, ServiceAccount: "app", RoleARN: awstest.Role}
	if got, err := podidentity.Read(context.Background(), f, awstest.Cluster, ns, "app"); err != nil || got == nil || got.ID != "a-2" {
		t.Fatalf("Read = %+v, %v", got, err)
	}
}

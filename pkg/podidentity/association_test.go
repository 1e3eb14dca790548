package podidentity

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
)

func TestPlanAssociation(t *testing.T) {
	have := &explain.Association{ID: "a-1", Namespace: ns, ServiceAccount: "app", RoleARN: testRole}
	tests := []struct {
		name    string
		have    *explain.Association
		want    *Spec
		op      Op
		fields  string
		command string
	}{
		{name: "none wanted, none there", op: OpNone},
		{name: "create", want: &Spec{RoleARN: testRole, TargetRoleARN: otherRole, DisableSessionTags: true}, op: OpCreate,
			command: "aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account app --role-arn " + testRole + " --target-role-arn " + otherRole + " --disable-session-tags"},
		{name: "the same", have: have, want: &Spec{RoleARN: testRole}, op: OpNone},
		{name: "another role", have: have, want: &Spec{RoleARN: otherRole}, op: OpUpdate, fields: FieldRoleARN,
			command: "aws eks update-pod-identity-association --cluster-name prod --association-id a-1 --role-arn " + otherRole},
		{name: "a target role and no tags", have: have, want: &Spec{RoleARN: testRole, TargetRoleARN: otherRole, DisableSessionTags: true}, op: OpUpdate,
			fields: FieldTargetRoleARN + "," + FieldDisableSessionTags},
		{name: "delete", have: have, op: OpDelete, command: "aws eks delete-pod-identity-association --cluster-name prod --association-id a-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Plan(ns, "app", tt.have, tt.want)
			if c.Op != tt.op || strings.Join(c.Fields, ",") != tt.fields {
				t.Fatalf("Plan = %s %v; want %s %s", c.Op, c.Fields, tt.op, tt.fields)
			}
			if c.ReplacesRole() != strings.Contains(tt.fields, FieldRoleARN) {
				t.Fatalf("ReplacesRole = %t", c.ReplacesRole())
			}
			if tt.command != "" && c.Command(testCluster) != tt.command {
				t.Fatalf("Command =\n%s\nwant\n%s", c.Command(testCluster), tt.command)
			}
		})
	}
}

// TestApplyRaced: an association made between the read and the create is updated, not
// duplicated; a delete of one already gone is done.
func TestApplyRaced(t *testing.T) {
	f := newFakeAWS()
	c := Plan(ns, "app", nil, &Spec{RoleARN: testRole})
	f.assocs["a-0"] = &explain.Association{ID: "a-0", Namespace: ns, ServiceAccount: "app", RoleARN: otherRole}
	if err := Apply(context.Background(), f, testCluster, &c); err != nil {
		t.Fatal(err)
	}
	if c.Op != OpUpdate || len(f.assocs) != 1 || f.assocs["a-0"].RoleARN != testRole {
		t.Fatalf("op %s, associations %+v", c.Op, f.assocs)
	}
	gone := Plan(ns, "app", &explain.Association{ID: "a-9"}, nil)
	if err := Apply(context.Background(), f, testCluster, &gone); err != nil || gone.Result != nil {
		t.Fatalf("delete of a missing association: %v", err)
	}
}

// TestReadKeepsTheAccount: Read finds the account's association, and none of another.
func TestReadKeepsTheAccount(t *testing.T) {
	f := newFakeAWS()
	f.assocs["a-1"] = &explain.Association{ID: "a-1", Namespace: ns, ServiceAccount: "other", RoleARN: testRole}
	if got, err := Read(context.Background(), f, testCluster, ns, "app"); err != nil || got != nil {
		t.Fatalf("Read = %+v, %v", got, err)
	}
	f.assocs["a-2"] = &explain.Association{ID: "a-2", Namespace: ns, ServiceAccount: "app", RoleARN: testRole}
	if got, err := Read(context.Background(), f, testCluster, ns, "app"); err != nil || got == nil || got.ID != "a-2" {
		t.Fatalf("Read = %+v, %v", got, err)
	}
}

package podidentity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

func TestReadAssociations(t *testing.T) {
	tests := []struct {
		name          string
		namespace, sa string
		deny          []string
		wantIDs       string
		wantErr       string
		wantDescribes int
		wantOfTeamApp bool
	}{
		{name: "every namespace", wantIDs: "a-1,a-2,a-3", wantDescribes: 3, wantOfTeamApp: true},
		{name: "one namespace", namespace: "team", wantIDs: "a-1,a-2", wantDescribes: 2, wantOfTeamApp: true},
		{name: "one account", namespace: "other", sa: "app", wantIDs: "a-3", wantDescribes: 1},
		{name: "list denied", deny: []string{awsread.ActionListPodIdentityAssociations}, wantErr: "may not call eks:ListPodIdentityAssociations"},
		{name: "describe denied", deny: []string{awsread.ActionDescribePodIdentityAssociation}, wantErr: "may not call eks:DescribePodIdentityAssociation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := awstest.New()
			f.Deny = tt.deny
			f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "app", RoleARN: awstest.Role}
			f.Assocs["a-2"] = &awsread.Association{ID: "a-2", Namespace: "team", ServiceAccount: "db", RoleARN: awstest.OtherRole}
			f.Assocs["a-3"] = &awsread.Association{ID: "a-3", Namespace: "other", ServiceAccount: "app", RoleARN: awstest.Role}
			got, err := podidentity.ReadAssociations(context.Background(), f, awstest.Cluster, tt.namespace, tt.sa)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if got.Read {
					t.Error("read, after a failed call")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got.Items {
				if a.RoleARN == "" {
					t.Errorf("%s has no role: not described", a.ID)
				}
				ids = append(ids, a.ID)
			}
			// the fake's map has no order: compare as a set
			for _, id := range strings.Split(tt.wantIDs, ",") {
				if !strings.Contains(","+strings.Join(ids, ",")+",", ","+id+",") {
					t.Errorf("items %v lack %s", ids, id)
				}
			}
			if len(ids) != len(strings.Split(tt.wantIDs, ",")) || !got.Read || got.Cluster != awstest.Cluster {
				t.Errorf("got %+v, want %s read from %s", got, tt.wantIDs, awstest.Cluster)
			}
			if n := f.Calls[awsread.ActionDescribePodIdentityAssociation]; n != tt.wantDescribes {
				t.Errorf("%d describes, want %d", n, tt.wantDescribes)
			}
			a, ok := got.Of("team", "app")
			if ok != tt.wantOfTeamApp || (ok && a.ID != "a-1") {
				t.Errorf("Of(team, app) = %+v, %t; want %t", a, ok, tt.wantOfTeamApp)
			}
		})
	}
}
